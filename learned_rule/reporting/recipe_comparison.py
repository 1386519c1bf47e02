"""Meta-training recipes compared at equal compute, from their evaluations.

Every recipe starts from the same rule (the shared start) and meta-trains
with the same budget of process CPU time (``--max_cpu_minutes``). Each run
and the start are then measured by ``bin/paired_eval.py`` on the same
seeds, so that the start's per-seed accuracy pairs with each run's: the
gain of a recipe is the paired difference run − start at the last probed
step, with its 95% t interval (:mod:`statistics`). The evaluation seeds
are chosen apart from the transfer evaluation's, so that nothing is chosen
on the seeds that later report the shipped rule.

:func:`compare` turns the paired-evaluation files and the runs' export
metadata into one JSON-ready table; :func:`markdown` prints it.
"""

from learned_rule.reporting import method_names
from learned_rule.reporting import statistics


def final_accuracy_per_seed(paired, method=method_names.LEARNED_RULE,
                            metric='ridge_accuracy'):
  """Seed → ``metric`` of ``method`` at the last step of a paired-eval file.

  Args:
    paired: The JSON that ``bin/paired_eval.py --output_json`` wrote.
  """
  records = [r for r in paired['records'] if r['method'] == method]
  if not records:
    raise ValueError(f'The paired evaluation of {paired.get("rule")!r} has '
                     f'no records of {method!r}.')
  last = max(r['step'] for r in records)
  return {int(r['seed']): r[metric] for r in records if r['step'] == last}


def compare(runs, start, datasets):
  """The table of recipes against the shared start.

  Args:
    runs: Dicts ``{'recipe', 'seed', 'updates', 'cpu_minutes', 'paired':
      {dataset: paired-eval JSON}}``, one per meta-training run.
    start: ``{'rule', 'paired': {dataset: paired-eval JSON}}`` of the
      shared start.
    datasets: The datasets to report, in order; the first is the one
      recipes are ranked on.

  Returns:
    A list of rows, best first by the gain on ``datasets[0]``: ``{'recipe',
    'seed', 'updates', 'cpu_minutes', 'datasets': {dataset: {'accuracy',
    'start_accuracy', 'gain'}}, 'gain_per_cpu_hour'}``, where ``gain`` is
    the paired difference of :func:`statistics.paired_difference` (as
    fractions) and ``gain_per_cpu_hour`` the mean gain on the first
    dataset per hour of CPU time.
  """
  rows = []
  for run in runs:
    row = {key: run[key] for key in ('recipe', 'seed', 'updates',
                                     'cpu_minutes')}
    row['datasets'] = {}
    for dataset in datasets:
      ours = final_accuracy_per_seed(run['paired'][dataset])
      theirs = final_accuracy_per_seed(start['paired'][dataset])
      if set(ours) != set(theirs):
        raise ValueError(
            f'{run["recipe"]} (seed {run["seed"]}) was evaluated on seeds '
            f'{sorted(ours)} of {dataset}, the start on {sorted(theirs)}: '
            f'the comparison pairs the same seeds.')
      row['datasets'][dataset] = {
          'accuracy': statistics.describe(list(ours.values())),
          'start_accuracy': statistics.describe(list(theirs.values())),
          'gain': statistics.paired_difference(ours, theirs)}
    gain = row['datasets'][datasets[0]]['gain']['mean']
    hours = run['cpu_minutes'] / 60
    row['gain_per_cpu_hour'] = (None if gain is None or not hours else
                                gain / hours)
    rows.append(row)
  return sorted(rows, key=lambda row: -(
      row['datasets'][datasets[0]]['gain']['mean'] or float('-inf')))


def _points(value, sign=False):
  if value is None:
    return '—'
  return f'{100 * value:+.1f}' if sign else f'{100 * value:.1f}'


def markdown(rows, datasets):
  """The table of :func:`compare` as Markdown (accuracies and gains in
  points, gains with their paired 95% intervals)."""
  header = ['recipe', 'seed', 'θ updates', 'CPU min']
  for dataset in datasets:
    header += [f'{dataset} (%)', f'{dataset} gain [95% CI]']
  header.append(f'{datasets[0]} gain / CPU-hour')
  lines = ['| ' + ' | '.join(header) + ' |',
           '|' + '---|' * len(header)]
  for row in rows:
    cells = [row['recipe'], str(row['seed']), str(row['updates']),
             f'{row["cpu_minutes"]:.1f}']
    for dataset in datasets:
      entry = row['datasets'][dataset]
      low, high = entry['gain']['ci95']
      cells += [_points(entry['accuracy']['mean']),
                f'{_points(entry["gain"]["mean"], True)} '
                f'[{_points(low, True)}, {_points(high, True)}]']
    cells.append(_points(row['gain_per_cpu_hour'], True))
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'
