r"""Transfer evaluation of a learned rule against baselines (spec §8).

Science goes in gin (``TransferConfig``, the baselines' hyperparameters);
execution in flags. Example, on a meta-training run directory:

  python bin/transfer_eval.py --rule=runs/demo --root_dir=runs/transfer \
      --gin_file=transfer/offline.gin

Writes ROOT_DIR/results.json, results.md and plots/; a stopped run is
resumed from the cells it finished.
"""

from absl import app
from absl import flags
from absl import logging

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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  from learned_rule import configuration  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import rule_source  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import transfer  # pylint: disable=g-import-not-at-top

  try:
    configuration.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    config = transfer.TransferConfig()
    source = rule_source.load(FLAGS.rule, FLAGS.init_rule)
    evaluation = transfer.TransferEvaluation(FLAGS.root_dir, source, config)
    evaluation.prepare()
  except (ValueError, RuntimeError, OSError) as error:
    raise app.UsageError(str(error)) from error
  logging.info('Transfer evaluation of %s into %s.', source.path,
               FLAGS.root_dir)
  evaluation.run()


def run():
  """Console-script entry point."""
  app.run(main)


if __name__ == '__main__':
  run()
