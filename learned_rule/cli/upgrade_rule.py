r"""Brings the exports of a meta-training run up to the current provenance.

Rewrites ``export/`` and ``export_init/`` of a run directory (or a shipped
rule, which has the same layout) with the provenance that meta-training
records today: the complete operative gin config and the meta-training
range as JSON (``training/provenance.py``), and writes ``config.gin``. θ is
not touched: every tensor is checked bit for bit after the rewrite. The gin
config must be the one the run was trained with; a rule configuration that
differs from the exported one is refused, field by field. Example:

  learned-rule-upgrade-rule --rule=cpu_60min \
      --gin_file=meta_train/cpu.gin
"""

import os

from absl import app
from absl import flags

from learned_rule.cli import startup

flags.DEFINE_string('rule', None, 'A meta-training run directory or a '
                    'shipped rule\'s name (its manifest is rewritten).')
flags.DEFINE_multi_string('gin_file', [], 'The run\'s gin files.')
flags.DEFINE_multi_string('gin_bindings', [], 'The run\'s gin bindings.')
flags.mark_flag_as_required('rule')

FLAGS = flags.FLAGS


def upgrade(root_dir, log=print):
  """Rewrites the exports of ``root_dir`` with today's provenance.

  The gin config must already be parsed.

  Raises:
    RuleLoadError: An export is missing, or its rule configuration differs
      from the gin config's.
    RuntimeError: θ changed in the rewrite (the export is left rewritten;
      this never happens unless the SavedModel writer is broken).
  """
  # pylint: disable=g-import-not-at-top
  import numpy as np
  from learned_rule import export
  from learned_rule.storage import run_dirs
  from learned_rule.tasks import distribution as task_distribution
  from learned_rule.evaluation import held_out
  from learned_rule.update_rule import config as config_lib
  from learned_rule.rules import manifest
  from learned_rule.update_rule import rule as rule_lib
  from learned_rule.training import meta_trainer
  from learned_rule.training import provenance
  from learned_rule.training import summaries
  # pylint: enable=g-import-not-at-top

  rule_config = config_lib.RuleConfig()
  distribution = task_distribution.TaskDistribution()
  # Built, as meta-training builds them, so the operative config holds them.
  meta_trainer.MetaTrainer(rule_lib.UnsupervisedUpdate(rule_config),
                           distribution)
  held_out.HeldOutEvaluation()
  training_range = provenance.meta_training_range(distribution, rule_config)
  for name in (run_dirs.EXPORT, run_dirs.EXPORT_INIT):
    path = run_dirs.path(root_dir, name)
    rule, metadata = export.load_rule(path, expected_config=rule_config)
    before = [v.numpy() for v in rule.trainable_variables]
    extra = dict(metadata.get('extra') or {})
    extra.update(provenance.export_metadata(
        extra.get('step', 0), extra.get('seed', 0), training_range))
    export.export_rule(rule, path, metadata=extra,
                       depths=provenance.export_depths(distribution))
    reloaded, _ = export.load_rule(path)
    after = [v.numpy() for v in reloaded.trainable_variables]
    if len(before) != len(after) or not all(
        a.dtype == b.dtype and np.array_equal(a, b)
        for a, b in zip(before, after)):
      raise RuntimeError(f'θ of {path} changed in the rewrite.')
    log(f'Rewrote {path} (step {extra["step"]}): θ identical, bit for bit, '
        f'in {len(after)} tensors.')
  log(f'Wrote {summaries.write_operative_config(root_dir)}')
  if os.path.isfile(os.path.join(root_dir, manifest.FILENAME)):
    log(f'Wrote {manifest.write(root_dir)}')  # A shipped rule's.


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  # pylint: disable=g-import-not-at-top,unused-import
  # Every configurable of a meta-training config, before gin locks.
  from learned_rule import configuration
  from learned_rule import rules
  from learned_rule.evaluation import held_out
  from learned_rule.training import loop
  # pylint: enable=g-import-not-at-top,unused-import
  try:
    configuration.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    upgrade(rules.resolve(FLAGS.rule))
  except (ValueError, OSError) as error:
    raise app.UsageError(str(error)) from error


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
