"""The long meta-training run is resumable from what is committed:
long_run/ names its recipe and holds a complete checkpoint (θ, Adam's
slots, the tasks in flight) that a trainer of that recipe restores, and the
θ-init it is compared with (`make long-run`, docs/recipes.md); its held-out
curve (long_run/curve.json) is what its committed events say."""

import json
import os

import numpy as np
import pytest

from conftest import REPO_ROOT
from learned_rule import configuration
from learned_rule import export
from learned_rule.evaluation import held_out  # pylint: disable=unused-import
from learned_rule.reporting import training_curves
from learned_rule.tasks import distribution as task_distribution
from learned_rule.training import checkpoints
from learned_rule.training import loop  # pylint: disable=unused-import
from learned_rule.training import meta_trainer
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

LONG_RUN = os.path.join(REPO_ROOT, 'long_run')


def test_the_committed_long_run_restores_into_its_recipe():
  with open(os.path.join(LONG_RUN, 'RECIPE'), encoding='utf-8') as stream:
    recipe = stream.read().strip()
  configuration.parse_gin([f'meta_train/recipes/{recipe}.gin'], [])
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
  trainer = meta_trainer.MetaTrainer(
      rule, task_distribution.TaskDistribution(), batch_tasks=False)
  manager = checkpoints.CheckpointManager(
      os.path.join(LONG_RUN, 'run', 'ckpt'))
  step = trainer.restore(manager)
  assert step is not None and step > 0
  assert trainer.cpu_seconds > 0
  assert trainer.started_from is not None  # It went on from a shipped rule.
  assert trainer.in_flight  # The tasks in flight come back too.
  for variable in rule.trainable_variables + trainer.optimizer.variables:
    assert np.all(np.isfinite(np.asarray(variable)))
  init_rule, _ = export.load_rule(
      os.path.join(LONG_RUN, 'run', 'export_init'),
      expected_config=rule.config)
  assert any(not np.array_equal(np.asarray(a), np.asarray(b)) for a, b in
             zip(init_rule.trainable_variables, rule.trainable_variables))


def test_the_committed_curve_is_that_of_the_committed_events():
  with open(os.path.join(LONG_RUN, 'curve.json'), encoding='utf-8') as stream:
    found = json.load(stream)
  manager = checkpoints.CheckpointManager(
      os.path.join(LONG_RUN, 'run', 'ckpt'))
  step, _, metadata = checkpoints.read_checkpoint(manager.latest())
  before = metadata['started_from']['updates_before']
  assert found['updates_before'] == before
  rows = training_curves.held_out_curve(
      training_curves.read_scalars(os.path.join(LONG_RUN, 'run')), before)
  # The events go on past the last evaluation up to the checkpoint's step.
  assert rows and rows[-1]['step'] <= step
  assert [row['step'] for row in found['rows']] == [
      row['step'] for row in rows]
  for committed, read in zip(found['rows'], rows):
    assert committed == pytest.approx(read)
