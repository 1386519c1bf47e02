"""Flags of the binaries that evaluate a rule into a run directory
(transfer_eval, permuted_ablation), and their shared start-up: the rule
flags of :mod:`rule_flags` and ``--root_dir``."""

from absl import flags

from learned_rule.cli import rule_flags

flags.DEFINE_string('root_dir', None, 'Output directory (created or '
                    'resumed).')
flags.mark_flags_as_required(['rule', 'root_dir'])

FLAGS = flags.FLAGS


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
  # pylint: disable=g-import-not-at-top
  from learned_rule.storage import run_dirs
  from learned_rule.storage import run_lock
  # pylint: enable=g-import-not-at-top
  rule_flags.check_no_arguments(argv)
  with rule_flags.usage_errors():
    run_dirs.check_directory(FLAGS.root_dir, '--root_dir')
    rule_flags.parse_gin()
    source = rule_flags.load_source()
    runner = make_runner(FLAGS.root_dir, source)
    runner.prepare()
    # One run per directory: the cells of two would clash. Taken after the
    # checks, so that a refused configuration leaves no directory behind
    # (prepare writes only the run's configuration, the same for both).
    run_lock.hold(FLAGS.root_dir, 'evaluation run')
  return runner, source
