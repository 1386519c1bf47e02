"""A rule against its targets: differences, with intervals, in one table.

A rule card states what a rule does on data it was or was not meta-trained
on by comparing it, at the final probed step of transfer evaluations, with
the methods it should beat. Every comparison is a difference of ridge
few-shot accuracy with its 95% interval (:func:`statistics.
difference_interval`: paired over seeds, since equal seeds mean equal
unlabeled streams and few-shot draws, also between two runs of the same
configuration). A target is met when the whole interval lies above 0, or
above −tolerance for "no worse than".
"""

import dataclasses

from learned_rule.reporting import claim_checks
from learned_rule.reporting import method_names
from learned_rule.reporting import statistics

METRIC = 'ridge_accuracy'


@dataclasses.dataclass(frozen=True)
class Comparison:
  """One line of the table.

  Attributes:
    dataset: The dataset of both rows.
    architecture: The base model of both rows (``'64-64-64-32 relu'``).
    step: The inner step compared (the final one).
    method: The description of the rule's row.
    baseline: The description of the row subtracted.
    difference: :func:`statistics.difference_interval` of the two.
    goal: 'above' (interval above 0) or 'no worse' (mean ≥ 0 or interval
      reaching 0).
  """

  dataset: str
  architecture: str
  step: int
  method: str
  baseline: str
  difference: dict
  goal: str

  @property
  def met(self):
    low = self.difference['ci95'][0]
    high = self.difference['ci95'][1]
    if self.goal == 'above':
      return low is not None and low > 0
    return high is not None and high >= 0  # 'no worse': 0 not excluded.


def compare(summary, baselines, goal='above', reference=None,
            reference_name='reference rule'):
  """Comparisons of the learned rule of ``summary`` at its final step.

  Args:
    summary: Rows of a transfer evaluation (``results.summarize``).
    baselines: Methods of the same run to compare with.
    goal: The goal of each of those comparisons.
    reference: Optional summary of another rule's run of the same
      configuration; its learned rule is compared with 'no worse'.
    reference_name: How the table names that rule.

  Returns:
    A list of :class:`Comparison`, by dataset and architecture (in the
    order of the run), then baseline.
  """
  # (name, goal, final rows) of everything the rule is compared with.
  others = [(baseline, goal, claim_checks.final_rows(summary, baseline))
            for baseline in baselines]
  if reference is not None:
    others.append((reference_name, 'no worse', claim_checks.final_rows(
        reference, method_names.LEARNED_RULE)))
  ours = claim_checks.final_rows(summary, method_names.LEARNED_RULE)
  found = []
  for key, row in sorted(ours.items(), key=lambda item: item[0][0]):
    dataset, architecture = key
    for name, other_goal, rows in others:
      other = rows.get(key)
      if other is not None and other['step'] == row['step']:
        found.append(Comparison(
            dataset, architecture, row['step'], method_names.LEARNED_RULE,
            name, statistics.difference_interval(row, other, METRIC),
            other_goal))
  return found


# What a rule is compared with at its final step (its card's targets): on
# images, random init, Oja's rule, the VAE (spec §8.2) and the raw pixels
# (DESIGN §1); on text, random init; at other widths and depths (spec
# §8.3, paper Fig. 5), random init.
IMAGE_BASELINES = (method_names.RANDOM_INIT, method_names.HEBBIAN,
                   method_names.VAE, method_names.RAW_INPUTS)
TEXT_BASELINES = (method_names.RANDOM_INIT,)
ARCHITECTURE_BASELINES = (method_names.RANDOM_INIT,)


def targets(transfer, text=None, reference_transfer=None,
            reference_text=None, reference_name='reference rule',
            architectures=()):
  """A rule card's comparisons.

  Args:
    transfer: Summary of its transfer run on images.
    text: Optional summary of its run on text.
    reference_transfer: Optional summary of a reference rule's run of the
      transfer configuration, compared with 'no worse'.
    reference_text: The same for the text configuration.
    reference_name: How the table names the reference rule.
    architectures: Summaries of its sweeps over base models (width, depth),
      each architecture against random init; one measured by an earlier
      sweep at the same step is not repeated.

  Returns:
    A list of :class:`Comparison`: images, text, then the sweeps.
  """
  found = compare(transfer, IMAGE_BASELINES, reference=reference_transfer,
                  reference_name=reference_name)
  if text is not None:
    found += compare(text, TEXT_BASELINES, reference=reference_text,
                     reference_name=reference_name)
  seen = set()
  for sweep in architectures:
    for item in compare(sweep, ARCHITECTURE_BASELINES):
      key = (item.dataset, item.architecture, item.step, item.baseline)
      if key not in seen:
        seen.add(key)
        found.append(item)
  return found


def _points(value):
  return '—' if value is None else f'{100 * value:+.1f}'


def markdown(comparisons):
  """The comparisons as a markdown table (points)."""
  lines = ['| dataset | architecture | step | rule − | difference (points) '
           '| 95% interval | pairing | goal | met |',
           '|---|---|---|---|---|---|---|---|---|']
  for item in comparisons:
    low, high = item.difference['ci95']
    pairing = ('paired, n = {}'.format(item.difference['n'])
               if item.difference['paired'] else 'unpaired')
    lines.append(
        f'| {item.dataset} | {item.architecture} | {item.step} | '
        f'{item.baseline} | '
        f'{_points(item.difference["mean"])} | [{_points(low)}, '
        f'{_points(high)}] | {pairing} | {item.goal} | '
        f'{"yes" if item.met else "**no**"} |')
  return '\n'.join(lines) + '\n'
