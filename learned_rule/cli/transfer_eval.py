r"""Transfer evaluation of a learned rule against baselines (spec §8).

Science goes in gin (``TransferConfig``, the baselines' hyperparameters);
execution in flags. Example, on a meta-training run directory:

  python bin/transfer_eval.py --rule=runs/demo --root_dir=runs/transfer \
      --gin_file=transfer/offline.gin

Writes ROOT_DIR/results.json, results.md and plots/; a stopped run is
resumed from the cells it finished.
"""

from absl import app
from absl import logging

from learned_rule.cli import evaluation_flags

FLAGS = evaluation_flags.FLAGS


def main(argv):
  from learned_rule.evaluation import transfer  # pylint: disable=g-import-not-at-top

  evaluation, source = evaluation_flags.prepared_runner(
      argv, lambda root_dir, source: transfer.TransferEvaluation(
          root_dir, source, transfer.TransferConfig()))
  logging.info('Transfer evaluation of %s into %s.', source.path,
               FLAGS.root_dir)
  evaluation.run()


def run():
  """Console-script entry point."""
  app.run(main)


if __name__ == '__main__':
  run()
