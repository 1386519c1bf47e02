r"""Draws the curves of a meta-training run (or a shipped rule's run) as PNG.

The meta-loss of every θ update, smoothed, and the periodic held-out ridge
accuracy (``learned-rule-meta-train --evaluate_every_steps``), read from the
run's TensorBoard events (``learned_rule/reporting/training_curves.py``).
For a run started from an earlier rule (``--start_from``), the x axes count
the updates behind that rule too (recorded by the run's newest export, or
else by its newest checkpoint). With ``--output_json=X.json`` it also
writes the held-out evaluations, with the command that made them, and
their table as ``X.md``. Example:

  learned-rule-plot-training --root_dir=runs/cpu_long \
      --output=learned_rule/rules/cpu_long/curves.png \
      --output_json=runs/cpu_long/held_out_curve.json
"""

import os

from absl import app
from absl import flags

from learned_rule.cli import startup

flags.DEFINE_string('root_dir', None, 'A meta-training run directory.')
flags.DEFINE_string('output', None, 'The PNG to write.')
flags.DEFINE_string('title', None, 'Figure title (default: the run '
                    'directory).')
flags.DEFINE_string('output_json', None, 'Also write the held-out '
                    'evaluations here, and their table beside it (.md).')
flags.mark_flag_as_required('root_dir')
flags.mark_flag_as_required('output')

FLAGS = flags.FLAGS


def updates_before(root_dir):
  """θ updates behind the run's starting point, from its newest export or,
  in a run directory without one, its newest checkpoint; 0 without
  either."""
  # pylint: disable=g-import-not-at-top
  from learned_rule import export
  from learned_rule.storage import run_dirs
  from learned_rule.training import checkpoints
  from learned_rule.training import warm_start
  # pylint: enable=g-import-not-at-top
  path = run_dirs.path(root_dir, run_dirs.EXPORT)
  if export.is_export(path):
    _, metadata = export.load_rule(path)
    return warm_start.updates_behind(metadata) - int(
        (metadata.get('extra') or {}).get('step') or 0)
  latest = checkpoints.CheckpointManager(
      run_dirs.path(root_dir, run_dirs.CHECKPOINTS)).latest()
  if latest is None:
    return 0
  _, _, metadata = checkpoints.read_checkpoint(latest)
  return int(((metadata or {}).get('started_from') or {}).get(
      'updates_before', 0))


def write_held_out_curve(scalars, offset, path):
  """Writes the held-out evaluations of ``scalars`` to the JSON ``path``
  and their table beside it; returns the table's path."""
  # pylint: disable=g-import-not-at-top
  from learned_rule import package_info
  from learned_rule.reporting import training_curves
  from learned_rule.storage import atomic_files
  # pylint: enable=g-import-not-at-top
  found = {'root_dir': FLAGS.root_dir, 'updates_before': offset,
           'rows': training_curves.held_out_curve(scalars, offset),
           **package_info.provenance()}
  atomic_files.write_json(path, found, indent=1)
  table = os.path.splitext(path)[0] + '.md'
  atomic_files.write_text(table, training_curves.held_out_markdown(found))
  return table


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  from learned_rule.reporting import training_curves  # pylint: disable=g-import-not-at-top
  try:
    scalars = training_curves.read_scalars(FLAGS.root_dir)
    offset = updates_before(FLAGS.root_dir)
    training_curves.plot(scalars, FLAGS.output, step_offset=offset,
                         title=FLAGS.title or FLAGS.root_dir)
    table = FLAGS.output_json and write_held_out_curve(
        scalars, offset, FLAGS.output_json)
  except (ValueError, OSError) as error:
    raise app.UsageError(str(error)) from error
  print(f'Wrote {FLAGS.output} ({len(scalars["meta_loss"][0])} θ updates '
        f'of this run, {offset} before it).')
  if table:
    print(f'Wrote {FLAGS.output_json} and {table}.')


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
