r"""A rule's transfer results against its targets, as a markdown table.

Reads the ``results.json`` of transfer evaluations
(``learned-rule-transfer-eval`` run directories, or the folders of
``results/rules/``) of the rule and, optionally, of a reference rule run
with the same configuration, and writes the table of
``learned_rule/reporting/rule_comparison.py``: the rule against random
init, Oja's rule, the VAE and the raw pixels on images, against random
init on text and at every base model of its sweeps (``--architectures``),
and against the reference rule on images and text. Example (a rule card's
targets):

  learned-rule-compare-rules --transfer=runs/card/new/transfer \
      --reference_transfer=runs/card/cpu_60min/transfer \
      --modality=runs/card/new/modality \
      --reference_modality=runs/card/cpu_60min/modality \
      --reference_name=cpu_60min \
      --architectures=runs/card/new/width,runs/card/new/depth \
      --output_md=targets.md
"""

from absl import app
from absl import flags

from learned_rule.cli import startup

flags.DEFINE_string('transfer', None, 'Transfer run directory of the rule '
                    '(images; transfer/offline.gin).')
flags.DEFINE_string('reference_transfer', None, 'The same for the '
                    'reference rule.')
flags.DEFINE_string('modality', None, 'Transfer run directory of the rule '
                    'on text (sweeps/modality_offline.gin).')
flags.DEFINE_string('reference_modality', None, 'The same for the '
                    'reference rule.')
flags.DEFINE_string('reference_name', 'reference rule', 'How the table '
                    'names the reference rule.')
flags.DEFINE_list('architectures', [], 'Transfer run directories of the '
                  'rule over base models (sweeps/width_offline.gin, '
                  'sweeps/depth_offline.gin), comma-separated.')
flags.DEFINE_string('output_md', None, 'Write the table here (besides '
                    'printing it).')
flags.mark_flag_as_required('transfer')

FLAGS = flags.FLAGS


def _summary(root_dir):
  if root_dir is None:
    return None
  # pylint: disable=g-import-not-at-top
  from learned_rule.storage import run_dirs
  from learned_rule.reporting import results
  # pylint: enable=g-import-not-at-top
  return results.read_results(
      run_dirs.path(root_dir, run_dirs.RESULTS_JSON))['summary']


def table():
  """The markdown table that the flags ask for."""
  from learned_rule.reporting import rule_comparison  # pylint: disable=g-import-not-at-top
  return rule_comparison.markdown(rule_comparison.targets(
      _summary(FLAGS.transfer), _summary(FLAGS.modality),
      reference_transfer=_summary(FLAGS.reference_transfer),
      reference_text=_summary(FLAGS.reference_modality),
      reference_name=FLAGS.reference_name,
      architectures=[_summary(root_dir) for root_dir in FLAGS.architectures]))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  from learned_rule.storage import atomic_files  # pylint: disable=g-import-not-at-top
  try:
    text = table()
  except (ValueError, OSError, KeyError) as error:
    raise app.UsageError(f'{type(error).__name__}: {error}') from error
  print(text, end='')
  if FLAGS.output_md:
    atomic_files.write_text(FLAGS.output_md, text)


def run():
  """Console-script entry point."""
  startup.run(main, uses_tensorflow=False)


if __name__ == '__main__':
  run()
