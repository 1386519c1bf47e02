r"""Transfer evaluation of a learned rule against baselines (spec §8).

Science goes in gin (``TransferConfig``, the baselines' hyperparameters);
execution in flags. Example, on a meta-training run directory:

  learned-rule-transfer-eval --rule=runs/demo --root_dir=runs/transfer \
      --gin_file=transfer/offline.gin

Writes ROOT_DIR/results.json, results.md, plots/ and tensorboard/, and
prints the table of ridge few-shot accuracies; a stopped run is resumed
from the cells it finished.
"""

from absl import logging

from learned_rule.cli import evaluation_flags
from learned_rule.cli import startup

FLAGS = evaluation_flags.FLAGS


def main(argv):
  from learned_rule.storage import run_dirs  # pylint: disable=g-import-not-at-top
  from learned_rule.reporting import results  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import transfer  # pylint: disable=g-import-not-at-top

  evaluation, source = evaluation_flags.prepared_runner(
      argv, lambda root_dir, source: transfer.TransferEvaluation(
          root_dir, source, transfer.TransferConfig()))
  logging.info('Transfer evaluation of %s into %s.', source.path,
               FLAGS.root_dir)
  summary = evaluation.run()
  print(results.markdown_table(summary))
  print(f'Tables and the paper\'s claims: '
        f'{run_dirs.path(FLAGS.root_dir, run_dirs.RESULTS_MARKDOWN)}\n'
        f'Plots: {run_dirs.path(FLAGS.root_dir, run_dirs.PLOTS)}/\n'
        f'TensorBoard: tensorboard --logdir='
        f'{run_dirs.path(FLAGS.root_dir, run_dirs.DASHBOARD)}')


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
