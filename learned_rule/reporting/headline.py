"""One evaluation run in one table: every method at the last step probed.

A transfer evaluation, an ablation or a sweep writes ``results.json``
(:mod:`results`); this is the short table that the README, ``docs/`` and the
rule cards quote from it, written beside it as ``headline.md``. Rows are
dataset × architecture, columns are the methods (ridge few-shot accuracy,
mean ± 95% CI half-width over seeds, spec §8.1), and the last columns are
paired differences in points with their 95% interval: the learned rule
against random init (the question every claim of spec §8.3 starts from)
and, in an ablation, each method on permuted inputs against itself on
intact ones (spec §7.3). The caption says where the numbers come from: the
rule's meta-training, the command, the revision and the date, all read
from the file, so the table can be made again from it alone.
"""

from learned_rule.reporting import method_names
from learned_rule.reporting import results
from learned_rule.reporting import statistics

METRIC = 'ridge_accuracy'


def _final_rows(summary):
  """(dataset, architecture) → method → its row at the setting's last step."""
  last = {}
  for row in summary:
    key = (row['dataset'], row['architecture'])
    last[key] = max(last.get(key, row['step']), row['step'])
  found = {}
  for row in summary:
    key = (row['dataset'], row['architecture'])
    if row['step'] == last[key]:
      found.setdefault(key, {})[row['method']] = row
  return found


def differences(methods):
  """The (method, baseline) pairs the table shows, of ``methods`` present.

  The learned rule − random init; where methods ran on permuted inputs,
  each of them − itself on intact inputs.
  """
  pairs = [(method_names.LEARNED_RULE, method_names.RANDOM_INIT)]
  pairs += [(method, method_names.split_permuted(method)[0])
            for method in methods if method_names.split_permuted(method)[1]]
  return [(method, baseline) for method, baseline in pairs
          if method in methods and baseline in methods]


def _points(value):
  return '—' if value is None else f'{100 * value:+.1f}'


def _difference_cell(row, other):
  if row is None or other is None:
    return results.MISSING_CELL
  found = statistics.difference_interval(row, other, METRIC)
  low, high = found['ci95']
  if low is None:
    return _points(found['mean'])
  return f'{_points(found["mean"])} [{_points(low)}, {_points(high)}]'


def _caption(metadata, steps, seeds):
  steps = ', '.join(str(step) for step in sorted(steps))
  return (f'Ridge few-shot accuracy (%) after {steps} inner steps, mean ± '
          f'95% CI half-width over {seeds} seeds; differences in points, '
          f'paired over seeds, [95% interval]. Rule: '
          f'{metadata.get("compute_note", "not recorded")}. Made by '
          f'`{metadata.get("command", "not recorded")}` at revision '
          f'{metadata.get("git_revision", "not recorded")}, '
          f'{metadata.get("date", "date not recorded")}.')


def markdown(found):
  """The table of a results file.

  Args:
    found: :func:`results.read_results` of the file (or its JSON, whose
      seed keys this does not need).

  Returns:
    Markdown: a caption and one table.
  """
  rows = _final_rows(found['summary'])
  methods = sorted({method for by_method in rows.values()
                    for method in by_method}, key=results.method_sort_key)
  pairs = differences(methods)
  header = (['dataset', 'architecture'] + methods +
            [f'{method} − {baseline}' for method, baseline in pairs])
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  for (dataset, architecture), by_method in rows.items():
    cells = [dataset, architecture]
    cells += [results.format_cell(by_method[method].get(METRIC), METRIC)
              if method in by_method else results.MISSING_CELL
              for method in methods]
    cells += [_difference_cell(by_method.get(method), by_method.get(baseline))
              for method, baseline in pairs]
    lines.append('| ' + ' | '.join(cells) + ' |')
  steps = {row['step'] for by_method in rows.values()
           for row in by_method.values()}
  seeds = sorted({row['n'] for by_method in rows.values()
                  for row in by_method.values()})
  seeds = (str(seeds[0]) if len(seeds) == 1
           else f'{seeds[0]}–{seeds[-1]}') if seeds else '0'
  return (_caption(found['metadata'], steps, seeds) + '\n\n' +
          '\n'.join(lines) + '\n')


def paired_markdown(found):
  """The table of a paired evaluation's JSON (``learned-rule-paired-eval
  --output_json``): the rule's paired differences at its last step.

  Args:
    found: The JSON's content: ``differences`` (baseline → the row of
      :func:`results.paired_differences`), ``evaluation`` (the
      ``HeldOutEvaluation``), the rule's ``rule_step`` and the provenance.

  Returns:
    Markdown: a caption and one table, a row per baseline.
  """
  evaluation = found['evaluation']
  lines = ['| difference | mean ± s.e. (points) | 95% interval | seeds |',
           '|---|---|---|---|']
  for baseline, row in found['differences'].items():
    low, high = row['ci95']
    error = row['std_error']
    spread = '' if error is None else f' ± {100 * error:.1f}'
    lines.append(f'| {row["method"]} − {baseline} | '
                 f'{_points(row["mean"])}{spread} | '
                 f'[{_points(low)}, {_points(high)}] | {row["n"]} |')
  widths = '-'.join(str(width) for width in evaluation['widths'])
  caption = (
      f'Ridge few-shot accuracy after {evaluation["steps"]} rule '
      f'applications on {evaluation["dataset"]}, {widths} '
      f'{evaluation["activation"]}, batch {evaluation["batch_size"]}, '
      f'differences paired over seeds. Rule: '
      f'{found.get("compute_note", found.get("rule"))}. '
      f'Made by `{found.get("command", "not recorded")}` at revision '
      f'{found.get("git_revision", "not recorded")}, '
      f'{found.get("date", "date not recorded")}.')
  return caption + '\n\n' + '\n'.join(lines) + '\n'
