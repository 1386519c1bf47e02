r"""Maps the paper's released θ (a TF1 checkpoint) to an exported rule.

The released rule is ``tf_graph_data.ckpt`` in ``200_tf_graph.zip`` (spec
§9). This reads its θ into a rule of this package at the paper's sizes
(α = 1e-4, H = 64, top width 32; spec §3) and exports it as a SavedModel
that every binary takes as ``--rule``. How the checkpoint's names were
derived is in ``learned_rule/rules/paper_checkpoint.py``; a checkpoint whose
names differ is refused with the missing and unexpected names listed.
Example:

  learned-rule-import-paper-rule \
      --checkpoint=200_tf_graph/tf_graph_data.ckpt --output=rules_in/paper
  learned-rule-transfer-eval --rule=rules_in/paper \
      --root_dir=runs/paper_fig4 --gin_file=transfer/fig4_left.gin

The export records no meta-training seed, so evaluations compare it with a
θ-init redrawn at seed 0, not the paper's own θ-init (which was not
released).
"""

from absl import app
from absl import flags
from absl import logging

from learned_rule.cli import startup

flags.DEFINE_string('checkpoint', None, 'Prefix of the released TF1 '
                    'checkpoint, e.g. .../tf_graph_data.ckpt.')
flags.DEFINE_string('output', None, 'Directory of the exported rule '
                    '(replaced if it exists).')
flags.DEFINE_list('depths', None, 'Numbers of weight layers the export '
                  'traces (default: export.DEFAULT_DEPTHS; the paper '
                  'transfers to up to 11, spec §8.3).')
flags.mark_flag_as_required('checkpoint')
flags.mark_flag_as_required('output')

FLAGS = flags.FLAGS


def import_rule(checkpoint, output, depths=None):
  """Reads ``checkpoint`` and exports its θ to ``output``, traced for
  ``depths``; returns the :class:`paper_checkpoint.ImportReport`."""
  # pylint: disable=g-import-not-at-top
  from learned_rule import export
  from learned_rule.rules import paper_checkpoint
  # pylint: enable=g-import-not-at-top
  rule, report = paper_checkpoint.import_theta(checkpoint)
  provenance = {
      'imported_from': checkpoint,
      'module_scope': report.scope,
      'source': 'the paper\'s released θ, 200_tf_graph.zip (spec §9)',
  }
  export.export_rule(rule, output, metadata=provenance,
                     depths=depths or export.DEFAULT_DEPTHS)
  return report


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    depths = [int(depth) for depth in FLAGS.depths or ()]
    report = import_rule(FLAGS.checkpoint, FLAGS.output, depths)
  except (ValueError, OSError) as error:
    raise app.UsageError(str(error)) from error
  logging.info('Ignored %d checkpoint entries that carry no θ: %s',
               len(report.ignored), ', '.join(report.ignored))
  print(f'Imported {report.imported} θ tensors from {FLAGS.checkpoint} '
        f'(scope {report.scope}); exported the rule to {FLAGS.output}. '
        f'{len(report.ignored)} entries without θ were left aside.')


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
