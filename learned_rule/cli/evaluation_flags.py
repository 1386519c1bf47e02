"""Flags of the binaries that evaluate a rule into a run directory
(transfer_eval, permuted_ablation), and their shared start-up."""

from absl import app
from absl import flags

flags.DEFINE_string('rule', None, 'An exported rule (SavedModel) or a '
                    'meta-training run directory.')
flags.DEFINE_string('init_rule', None, 'Exported θ-init rule (default: the '
                    'run directory\'s export_init/, else redrawn from the '
                    'seed in the rule\'s metadata).')
flags.DEFINE_string('root_dir', None, 'Output directory (created or '
                    'resumed).')
flags.DEFINE_multi_string('gin_file', [], 'Gin files.')
flags.DEFINE_multi_string('gin_bindings', [], 'Gin bindings.')
flags.mark_flags_as_required(['rule', 'root_dir'])

FLAGS = flags.FLAGS

# What bad input raises before any compute: a misspelled binding, a path
# that is not a rule, a missing dataset, an inconsistent configuration.
STARTUP_ERRORS = (ValueError, RuntimeError, OSError)


def prepared_runner(argv, make_runner):
  """Parses gin, loads the rule, builds and prepares the runner.

  Args:
    argv: The binary's positional arguments (only its name is allowed).
    make_runner: ``(root_dir, rule_source) →`` an object with
      ``prepare()`` and ``run()``.

  Returns:
    ``(runner, source)``, every start-up check passed.

  Raises:
    app.UsageError: with the reason, for any bad input.
  """
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  from learned_rule import configuration  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import rule_source  # pylint: disable=g-import-not-at-top
  try:
    configuration.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    source = rule_source.load(FLAGS.rule, FLAGS.init_rule)
    runner = make_runner(FLAGS.root_dir, source)
    runner.prepare()
  except STARTUP_ERRORS as error:
    raise app.UsageError(str(error)) from error
  return runner, source
