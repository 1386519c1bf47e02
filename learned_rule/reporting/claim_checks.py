"""Checks of the paper's claims, each reading a transfer summary.

A check is ``summary → verdicts.Verdict``, over the rows of
:func:`results.summarize`; :mod:`published` pairs each claim of the paper
with one. Checks compare the final rows of methods ("final" means the
largest step a method has) and decide as :mod:`verdicts` reads intervals.
The thresholds that turn the paper's words into numbers are ours.
"""

import dataclasses

from learned_rule.reporting import method_names
from learned_rule.reporting import statistics
from learned_rule.reporting import verdicts

# Our choices (not the paper's): accuracy differences within this many
# points count as "invariant" (spec §7.3, Fig. 2 right) / "little to no
# decrease" (spec §8.3, Fig. 5 right); a permutation drop must exceed
# SAME_TOLERANCE to count as "greatly reduced".
SAME_TOLERANCE = 0.02
SMALL_DECREASE = 0.03
# Spec §8.3 (Fig. 5 right): the step activation reaches "about double" the
# random-init performance. Our reading: a ratio >= 1.5.
STEP_RATIO_FLOOR = 1.5


# -- Reading summaries. --------------------------------------------------------


def _activation(row):
  """A summary row's activation (else its architecture name's last
  word)."""
  return row.get('activation') or row['architecture'].split()[-1]


def final_rows(summary, method, datasets=None):
  """(dataset, architecture) → the row of ``method`` at its largest step."""
  final = {}
  for row in summary:
    if row['method'] != method or not row[verdicts.METRIC]['n'] or (
        datasets is not None and row['dataset'] not in datasets):
      continue
    key = (row['dataset'], row['architecture'])
    if key not in final or row['step'] > final[key]['step']:
      final[key] = row
  return final


# -- Checks. -------------------------------------------------------------------


def beats(baselines, datasets, extra='', every_dataset=True):
  """Check: the learned rule's final accuracy beats each baseline's.

  Compares on every dataset × architecture where the run put at least one
  of ``baselines`` beside the learned rule; the others listed as not run.
  With ``every_dataset``, datasets without the learned rule are listed too.
  """

  def check(summary):
    ours = final_rows(summary, method_names.LEARNED_RULE, datasets)
    if not ours:
      return verdicts.not_measured(
          f'{method_names.LEARNED_RULE} not run on '
          f'{", ".join(datasets) or "a dataset of this kind"}.')
    finals = {name: final_rows(summary, name, datasets) for name in baselines}
    outcomes, lines, missing, compared = [], [], [], {}
    for key, row in ours.items():
      present = [name for name in baselines if key in finals[name]]
      missing += [f'{name} on {" ".join(key)}' for name in baselines
                  if present and name not in present]
      for name in present:
        outcome, text = verdicts.versus(row, finals[name][key])
        outcomes.append(outcome)
        lines.append(text)
        compared.setdefault(key[0], {})[name] = True
    if every_dataset:
      missing += [f'{method_names.LEARNED_RULE} on {d}' for d in datasets
                  if d not in {key[0] for key in ours}]
    if not outcomes:
      return verdicts.not_measured(
          f'None of {", ".join(baselines)} run beside '
          f'{method_names.LEARNED_RULE} on {", ".join(datasets)}.')
    covered = f'{method_names.LEARNED_RULE} vs ' + ' and '.join(
        f'{", ".join(names)} on {dataset}'
        for dataset, names in compared.items())
    return verdicts.verdict(outcomes, lines, missing, extra, covered,
                            datasets=compared)

  return check


def check_vae_falls(summary, datasets=None):
  """Check: the VAE's final accuracy is below its peak (Fig. 2 left), on
  ``datasets`` (default: every dataset of the summary)."""
  outcomes, lines, read = [], [], []
  for (dataset, architecture) in final_rows(summary, method_names.VAE,
                                            datasets):
    curve = sorted((row for row in summary
                    if row['method'] == method_names.VAE and
                    (row['dataset'], row['architecture']) == (
                        dataset, architecture) and
                    row[verdicts.METRIC]['mean'] is not None),
                   key=lambda row: row['step'])
    if len(curve) < 2:
      continue
    read.append(dataset)
    peak = max(curve, key=lambda row: row[verdicts.METRIC]['mean'])
    final = curve[-1]
    if peak is final:
      outcomes.append(-1)
      lines.append(f'{dataset} {architecture}: no fall up to step '
                   f'{final["step"]}, the best vae step is the last: '
                   f'{verdicts.row_text(final)}')
      continue
    prefix = (f'{dataset} {architecture}: peak {verdicts.row_text(peak)}, '
              f'final {verdicts.row_text(final)}')
    interval = statistics.difference_interval(final, peak, verdicts.METRIC)
    outcomes.append(-verdicts.decide(interval))
    lines.append(
        f'{prefix}, {verdicts.interval_text(interval, "final − peak")}')
  if not outcomes:
    return verdicts.not_measured('vae not run at two or more steps.')
  return verdicts.verdict(outcomes, lines, extra=(
      'The peak is the best of several noisy means, so the test is '
      'optimistic; the paper shows this on 16×16 CIFAR-10'), datasets=read)


def _permutation_pairs(summary, method, datasets=None):
  intact = final_rows(summary, method, datasets)
  permuted = final_rows(summary, method_names.permuted(method), datasets)
  return [(intact[key], permuted[key]) for key in intact if key in permuted]


def check_permutation(summary, datasets=None):
  """Check: permuting inputs leaves the learned rule's accuracy as it is
  and greatly reduces the prototypical network's (Fig. 2 right), on
  ``datasets`` (default: every dataset of the summary)."""
  outcomes, lines, missing, covered, read = [], [], [], [], []
  for method, wanted in ((method_names.LEARNED_RULE, 'invariant'),
                         (method_names.PROTOTYPICAL, 'reduced')):
    pairs = _permutation_pairs(summary, method, datasets)
    if not pairs:
      missing.append(f'{method} and {method_names.permuted(method)}')
    else:
      covered.append(f'{method} and {method_names.permuted(method)}')
    for intact, permuted in pairs:
      read.append(intact['dataset'])
      interval = statistics.difference_interval(intact, permuted,
                                                verdicts.METRIC)
      if wanted == 'invariant':
        outcomes.append(verdicts.within(interval, SAME_TOLERANCE))
      else:
        outcomes.append(verdicts.decide(interval, SAME_TOLERANCE,
                                        SAME_TOLERANCE))
      lines.append(f'{intact["dataset"]} {intact["architecture"]}: '
                   f'{verdicts.row_text(intact)} vs '
                   f'{verdicts.row_text(permuted)}, '
                   f'{verdicts.interval_text(interval, "intact − permuted")}')
  if not outcomes:
    return verdicts.not_measured(
        f'Neither {method_names.LEARNED_RULE} nor '
        f'{method_names.PROTOTYPICAL} run with and without '
        f'{method_names.PERMUTED}.')
  return verdicts.verdict(outcomes, lines, missing, extra=(
      f'Invariant: drop within ±{SAME_TOLERANCE * 100:g} points; greatly '
      f'reduced: drop above {SAME_TOLERANCE * 100:g} points (our thresholds)'),
                          covered=', '.join(covered), datasets=read)


def beyond_training_range(measure, limit, paper_limit, what, datasets):
  """Check: the rule beats random init on architectures beyond ``limit``."""

  def check(summary):
    ours = final_rows(summary, method_names.LEARNED_RULE, datasets)
    sizes = [measure(row['widths']) for row in ours.values()]
    beyond = {key: row for key, row in ours.items()
              if measure(row['widths']) > limit}
    if not beyond:
      largest = max(sizes) if sizes else 'none'
      return verdicts.not_measured(
          f'No architecture with more than {limit} {what} (the rule\'s '
          f'meta-training range) on '
          f'{", ".join(datasets) or "no image dataset"}; largest measured: '
          f'{largest}.')
    largest = max(measure(row['widths']) for row in beyond.values())
    summary_beyond = [row for row in summary if (
        row['dataset'], row['architecture']) in beyond]
    verdict = beats((method_names.RANDOM_INIT,), datasets,
                    every_dataset=False)(summary_beyond)
    note = (f'Meta-trained up to {limit} {what}; largest measured: {largest} '
            f'{what}; the paper: up to {paper_limit}')
    verdict = dataclasses.replace(
        verdict, measurement=f'{verdict.measurement} {note}.')
    if verdict.measured and largest < paper_limit:
      verdict = verdicts.narrowed(verdict, f'up to {largest} {what}',
                                  [f'{largest + 1} to {paper_limit} {what}'])
    return verdict

  return check


def check_more_units(summary, datasets):
  """Check: the widest of architectures that differ only in width beats
  the narrowest (Fig. 5 left)."""
  groups = {}
  for row in final_rows(summary, method_names.LEARNED_RULE, datasets).values():
    key = (row['dataset'], _activation(row), len(row['widths']))
    groups.setdefault(key, []).append(row)
  outcomes, lines = [], []
  for rows in groups.values():
    if len({sum(row['widths']) for row in rows}) < 2:
      continue
    rows.sort(key=lambda row: sum(row['widths']))
    outcome, text = verdicts.versus(rows[-1], rows[0])
    outcomes.append(outcome)
    lines.append(f'widest − narrowest: {text}')
  if not outcomes:
    return verdicts.not_measured('No two architectures of one depth and '
                                 'activation that differ in width.')
  return verdicts.verdict(outcomes, lines,
                          datasets=[key[0] for key in groups])


def _by_activation(summary, method, datasets):
  """(dataset, widths) → activation → final row of ``method``."""
  table = {}
  for row in final_rows(summary, method, datasets).values():
    key = (row['dataset'], tuple(row['widths']))
    table.setdefault(key, {})[_activation(row)] = row
  return table


def check_all_activations(summary, datasets):
  """Check: the rule beats random init with every activation (Fig. 5
  right)."""
  activations = {activation for rows in _by_activation(
      summary, method_names.LEARNED_RULE, datasets).values()
                 for activation in rows}
  if len(activations) < 2:
    return verdicts.not_measured(
        'Fewer than two activations measured '
        f'({", ".join(sorted(activations)) or "none"}).')
  verdict = beats((method_names.RANDOM_INIT,), datasets,
                  every_dataset=False)(summary)
  if not verdict.measured:
    return verdict
  return dataclasses.replace(verdict, measurement=(
      f'Activations: {", ".join(sorted(activations))}. '
      f'{verdict.measurement}'))


def check_small_decrease(summary, datasets):
  """Check: leaky ReLU and swish lose little or nothing against ReLU
  (Fig. 5 right)."""
  outcomes, lines, missing, covered, read = [], [], [], [], []
  for activations in _by_activation(summary, method_names.LEARNED_RULE,
                                    datasets).values():
    if 'relu' not in activations:
      continue
    for name in ('leaky_relu', 'swish'):
      if name not in activations:
        missing.append(name)
        continue
      covered.append(name)
      read.append(activations['relu']['dataset'])
      relu, other = activations['relu'], activations[name]
      interval = statistics.difference_interval(relu, other, verdicts.METRIC)
      outcomes.append(verdicts.at_most(interval, SMALL_DECREASE))
      lines.append(f'{relu["dataset"]}: relu {verdicts.row_text(relu)} vs '
                   f'{name} {verdicts.row_text(other)}, '
                   f'{verdicts.interval_text(interval, "drop")}')
  if not outcomes:
    return verdicts.not_measured('relu and leaky_relu or swish not both run.')
  return verdicts.verdict(outcomes, lines, sorted(set(missing)), extra=(
      f'"Little to no decrease": drop at most {SMALL_DECREASE * 100:g} '
      'points (our threshold)'), covered=', '.join(sorted(set(covered))),
                          datasets=read)


def _ratio_interval(row, other):
  """Mean ratio ``row`` / ``other``, its interval and how it was read:
  over the seeds both measured with a positive ``other`` when there are
  two, else from the two rows' intervals."""
  ours, theirs = row[verdicts.METRIC], other[verdicts.METRIC]
  common = [seed for seed in ours['per_seed'] if seed in theirs['per_seed']
            and ours['per_seed'][seed] is not None
            and (theirs['per_seed'][seed] or 0) > 0]
  if len(common) >= 2:
    ratio = statistics.describe(
        [ours['per_seed'][seed] / theirs['per_seed'][seed]
         for seed in common])
    return ratio['mean'], ratio['ci95'], 'paired'
  if ours['mean'] is None or not theirs['mean']:
    return None, [None, None], 'undefined'
  (low, high), (other_low, other_high) = ours['ci95'], theirs['ci95']
  bounds = [None, None]
  if low is not None and other_low is not None and other_low > 0:
    bounds = [low / other_high, high / other_low]
  return ours['mean'] / theirs['mean'], bounds, 'from the two CIs'


def check_step_ratio(summary, datasets):
  """Check: with the step activation the rule reaches about double the
  random-init accuracy (Fig. 5 right)."""
  ours = _by_activation(summary, method_names.LEARNED_RULE, datasets)
  theirs = _by_activation(summary, method_names.RANDOM_INIT, datasets)
  outcomes, lines, read = [], [], []
  for key, rows in ours.items():
    if 'step' not in rows or 'step' not in theirs.get(key, {}):
      continue
    read.append(key[0])
    row, other = rows['step'], theirs[key]['step']
    ratio, (low, high), reading = _ratio_interval(row, other)
    outcome = 0 if low is None else (
        1 if low >= STEP_RATIO_FLOOR else -1 if high < STEP_RATIO_FLOOR else 0)
    outcomes.append(outcome)
    bounds = 'no CI' if low is None else f'[{low:.2f}, {high:.2f}]'
    ratio = 'nan' if ratio is None else f'{ratio:.2f}'
    lines.append(f'{row["dataset"]} {row["architecture"]}: '
                 f'{verdicts.row_text(row)} vs {verdicts.row_text(other)}, '
                 f'ratio {ratio} {bounds} ({reading})')
  if not outcomes:
    return verdicts.not_measured(
        f'{method_names.LEARNED_RULE} and {method_names.RANDOM_INIT} not both '
        'run with the step activation.')
  return verdicts.verdict(outcomes, lines, extra=(
      f'"About double" read as a ratio >= {STEP_RATIO_FLOOR:g} (ours)'),
                          datasets=read)


def check_compute(unused_summary):
  """The paper's compute (Fig. 3, spec §10) is a budget: not measured."""
  return verdicts.not_measured('A budget, not a result: this run\'s compute '
                               'is stated above the table.')
