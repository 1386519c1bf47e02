r"""Permuted-input ablation: a learned rule and a prototypical network with
intact and with permuted pixels (spec §7.3, paper Fig. 2 right).

Science goes in gin (``AblationConfig``: dataset and held-out classes;
``TransferConfig``: widths, steps, seeds, batch size, draws); execution in
flags. Example:

  learned-rule-permuted-ablation --rule=runs/demo --root_dir=runs/ablation \
      --gin_file=ablation/offline.gin

Writes ROOT_DIR/results.json, results.md and plots/ (a bar plot of intact
vs permuted, and accuracy curves); a stopped run resumes.
"""

from absl import logging

from learned_rule.cli import evaluation_flags
from learned_rule.cli import startup

FLAGS = evaluation_flags.FLAGS


def main(argv):
  from learned_rule.evaluation import ablation  # pylint: disable=g-import-not-at-top

  runner, source = evaluation_flags.prepared_runner(
      argv, ablation.PermutedAblation)
  logging.info('Permuted-input ablation of %s into %s.', source.path,
               FLAGS.root_dir)
  runner.run()


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
