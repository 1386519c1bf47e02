r"""Draws the curves of a meta-training run (or a shipped rule's run) as PNG.

The meta-loss of every θ update, smoothed, and the periodic held-out ridge
accuracy (``learned-rule-meta-train --evaluate_every_steps``), read from the
run's TensorBoard events (``learned_rule/reporting/training_curves.py``).
For a run started from an earlier rule (``--start_from``), the x axes count
the updates behind that rule too. Example:

  learned-rule-plot-training --root_dir=runs/cpu_long \
      --output=learned_rule/rules/cpu_long/curves.png
"""

from absl import app
from absl import flags

from learned_rule.cli import startup

flags.DEFINE_string('root_dir', None, 'A meta-training run directory.')
flags.DEFINE_string('output', None, 'The PNG to write.')
flags.DEFINE_string('title', None, 'Figure title (default: the run '
                    'directory).')
flags.mark_flag_as_required('root_dir')
flags.mark_flag_as_required('output')

FLAGS = flags.FLAGS


def updates_before(root_dir):
  """θ updates behind the run's starting point, from its newest export."""
  # pylint: disable=g-import-not-at-top
  from learned_rule import export
  from learned_rule.storage import run_dirs
  from learned_rule.training import warm_start
  # pylint: enable=g-import-not-at-top
  path = run_dirs.path(root_dir, run_dirs.EXPORT)
  if not export.is_export(path):
    return 0
  _, metadata = export.load_rule(path)
  return warm_start.updates_behind(metadata) - int(
      (metadata.get('extra') or {}).get('step') or 0)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  from learned_rule.reporting import training_curves  # pylint: disable=g-import-not-at-top
  try:
    scalars = training_curves.read_scalars(FLAGS.root_dir)
    offset = updates_before(FLAGS.root_dir)
    training_curves.plot(scalars, FLAGS.output, step_offset=offset,
                         title=FLAGS.title or FLAGS.root_dir)
  except (ValueError, OSError) as error:
    raise app.UsageError(str(error)) from error
  print(f'Wrote {FLAGS.output} ({len(scalars["meta_loss"][0])} θ updates '
        f'of this run, {offset} before it).')


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
