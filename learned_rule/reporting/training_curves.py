"""Curves of a meta-training run, read back from its TensorBoard events.

Meta-training writes its scalars with ``training.summaries`` under
``ROOT_DIR/summaries``. :func:`read_scalars` reads every event file there
(a run resumed several times has one per process) and :func:`plot` draws
the two curves a rule card shows: the meta-loss of the θ updates, smoothed,
and the periodic held-out ridge accuracy of the trained rule, θ-init and
random init (``--evaluate_every_steps``). :func:`held_out_curve` lists
those evaluations, and :func:`held_out_markdown` writes them as a table.
"""

import os

import matplotlib

matplotlib.use('Agg')

# pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from learned_rule.storage import run_dirs
from learned_rule.reporting import method_names
from learned_rule.reporting import plots
# pylint: enable=g-import-not-at-top,wrong-import-position

META_LOSS = 'meta_loss'
HELD_OUT_PREFIX = 'held_out/ridge_accuracy/'
# Ours: the window of the meta-loss's moving average, in θ updates; a
# single update's loss varies with the tasks drawn.
SMOOTHING_WINDOW = 50
# The meta-loss split by base-model age rather than by dataset.
_NOT_DATASETS = ('fresh', 'trained')
# The methods of a held-out evaluation (evaluation/held_out.py,
# TrainingCallback) and the differences it writes, paired over its seeds,
# each with its '_stderr'.
HELD_OUT_METHODS = method_names.RULE_METHODS
HELD_OUT_DIFFERENCES = tuple(
    f'{method_names.LEARNED_RULE}_minus_{baseline}'
    for baseline in HELD_OUT_METHODS if baseline != method_names.LEARNED_RULE)
CPU_MINUTES = 'cpu_minutes'


def read_scalars(root_dir):
  """``{tag: (steps, values)}`` of every scalar of a run, sorted by step.

  Where a resumed run wrote a step twice (the steps after its last
  checkpoint), the later write wins.

  Raises:
    ValueError: the run has no event files.
  """
  pattern = os.path.join(run_dirs.path(root_dir, run_dirs.SUMMARIES),
                         'events.out.tfevents.*')
  # Oldest first; the names (which hold the creation time) break ties.
  files = sorted(tf.io.gfile.glob(pattern),
                 key=lambda path: (tf.io.gfile.stat(path).mtime_nsec, path))
  if not files:
    raise ValueError(f'No TensorBoard events under {pattern}: is '
                     f'{root_dir} a meta-training run directory?')
  found = {}
  for path in files:
    for record in tf.data.TFRecordDataset(path):
      event = tf.compat.v1.Event.FromString(record.numpy())
      for value in event.summary.value:
        if value.HasField('tensor'):
          array = tf.make_ndarray(value.tensor)
          if array.shape == () and array.dtype.kind == 'f':
            found.setdefault(value.tag, {})[event.step] = float(array)
  return {tag: (np.array(sorted(by_step)),
                np.array([by_step[s] for s in sorted(by_step)]))
          for tag, by_step in found.items()}


def moving_average(values, window):
  """The mean of the last ``window`` values at each point (fewer at the
  start)."""
  values = np.asarray(values, np.float64)
  sums = np.cumsum(np.insert(values, 0, 0.0))
  ends = np.arange(1, len(values) + 1)
  starts = np.maximum(ends - window, 0)
  return (sums[ends] - sums[starts]) / (ends - starts)


def plot(scalars, path, step_offset=0, title=None,
         window=SMOOTHING_WINDOW):
  """Draws the meta-loss and held-out accuracy curves to a PNG.

  Args:
    scalars: :func:`read_scalars` of a run.
    path: The PNG to write.
    step_offset: θ updates before this run (a run started from an earlier
      rule), added to the steps on the x axes.
    title: Figure title.
    window: Moving-average window of the meta-loss.

  Returns:
    The (closed) matplotlib Figure.

  Raises:
    ValueError: the run wrote no meta-loss.
  """
  if META_LOSS not in scalars:
    raise ValueError(f'The run wrote no {META_LOSS!r} scalar; found '
                     f'{sorted(scalars)}.')
  figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
  steps, values = scalars[META_LOSS]
  loss_axis.plot(steps + step_offset, values, color='0.8', linewidth=0.5,
                 label='per update')
  loss_axis.plot(steps + step_offset, moving_average(values, window),
                 color='k', label=f'all tasks, moving average of {window}')
  # Per dataset: the mean loss moves with the mix of tasks in flight.
  for tag in sorted(tag for tag in scalars if tag.startswith(META_LOSS + '/')
                    and tag[len(META_LOSS) + 1:] not in _NOT_DATASETS):
    steps, values = scalars[tag]
    loss_axis.plot(steps + step_offset, moving_average(values, window),
                   linewidth=1, label=tag[len(META_LOSS) + 1:])
  loss_axis.set_xlabel('θ updates')
  loss_axis.set_ylabel('meta-loss (§5)')
  loss_axis.legend(fontsize='small')
  held_out = sorted(tag for tag in scalars if tag.startswith(HELD_OUT_PREFIX))
  for tag in held_out:
    steps, values = scalars[tag]
    accuracy_axis.plot(steps + step_offset, 100 * values, marker='o',
                       label=tag[len(HELD_OUT_PREFIX):])
  accuracy_axis.set_xlabel('θ updates')
  accuracy_axis.set_ylabel('held-out ridge accuracy (%)')
  if held_out:
    accuracy_axis.legend()
  else:
    accuracy_axis.text(0.5, 0.5, 'no held-out evaluation in this run',
                       ha='center', transform=accuracy_axis.transAxes)
  if title:
    figure.suptitle(title)
  figure.tight_layout()
  plots.save_figure(figure, path)
  return figure


def held_out_curve(scalars, step_offset=0):
  """The run's held-out evaluations, one row per evaluated step.

  Args:
    scalars: :func:`read_scalars` of a run.
    step_offset: θ updates before this run, added as ``updates``.

  Returns:
    A list of dicts, by step: ``step`` (of this run), ``updates`` (in all),
    ``cpu_minutes`` (the run's process CPU time at that step, or None), the
    ridge accuracy of each of :data:`HELD_OUT_METHODS` and each of
    :data:`HELD_OUT_DIFFERENCES` with its ``_stderr`` (None where not
    written).
  """
  by_tag = {tag: dict(zip(steps.tolist(), values.tolist()))
            for tag, (steps, values) in scalars.items()}
  evaluated = sorted({step for method in HELD_OUT_METHODS
                      for step in by_tag.get(HELD_OUT_PREFIX + method, {})})
  names = [(method, HELD_OUT_PREFIX + method) for method in HELD_OUT_METHODS]
  for difference in HELD_OUT_DIFFERENCES:
    names += [(difference, 'held_out/' + difference),
              (difference + '_stderr', 'held_out/' + difference + '_stderr')]
  names.append((CPU_MINUTES, CPU_MINUTES))
  return [{'step': int(step), 'updates': int(step) + int(step_offset),
           **{name: by_tag.get(tag, {}).get(step) for name, tag in names}}
          for step in evaluated]


def _cell(value, scale=100.0, sign=''):
  return '—' if value is None else f'{scale * value:{sign}.1f}'


def held_out_markdown(found):
  """The table of a held-out curve's JSON (``learned-rule-plot-training
  --output_json``): a caption, then one row per evaluation.

  Args:
    found: ``rows`` (:func:`held_out_curve`), ``root_dir``,
      ``updates_before`` and the provenance (``command``,
      ``git_revision``, ``date``).
  """
  lines = ['| run step | θ updates in all | CPU minutes | '
           + ' | '.join(f'{method} (%)' for method in HELD_OUT_METHODS)
           + ' | ' + ' | '.join(
               difference.replace('_minus_', ' − ') + ' (points ± s.e.)'
               for difference in HELD_OUT_DIFFERENCES) + ' |',
           '|' + '---|' * (3 + len(HELD_OUT_METHODS)
                           + len(HELD_OUT_DIFFERENCES))]
  for row in found['rows']:
    cells = [str(row['step']), str(row['updates']),
             _cell(row[CPU_MINUTES], scale=1.0)]
    cells += [_cell(row[method]) for method in HELD_OUT_METHODS]
    for difference in HELD_OUT_DIFFERENCES:
      error = row[difference + '_stderr']
      cells.append(_cell(row[difference], sign='+')
                   + ('' if error is None else f' ± {_cell(error)}'))
    lines.append('| ' + ' | '.join(cells) + ' |')
  caption = (
      f'Held-out ridge few-shot accuracy of the meta-training run '
      f'{found["root_dir"]} at each of its evaluations '
      f'(`--evaluate_every_steps`), with θ-init and random init on the same '
      f'seeds; differences paired over those seeds. '
      f'{found["updates_before"]} θ updates before the run; CPU minutes of '
      f'the run\'s processes. Made by '
      f'`{found.get("command", "not recorded")}` at revision '
      f'{found.get("git_revision", "not recorded")}, '
      f'{found.get("date", "date not recorded")}.')
  return caption + '\n\n' + '\n'.join(lines) + '\n'
