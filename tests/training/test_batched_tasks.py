"""Batched tasks (learned_rule.unroll.batched_loop, MetaTrainer.batch_tasks).

Covers: in float64, the batched meta-gradient of T stacked tasks against
the mean of the per-task meta-gradients of the sequential inner loop (paper
eq. 1, spec §6.1), with their losses and final states; MetaTrainer with
``batch_tasks`` on and off from one seed ending on the same θ; a NaN task
inside a batched group skipped and counted while the others are applied;
two architectures forming two groups with one compiled function each.
"""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule.unroll import batched_loop
from learned_rule import configuration
from learned_rule.unroll import inner_loop
from learned_rule.tasks import distribution as task_distribution_lib
from learned_rule.data import few_shot
# Its HeldOutEvaluation is bound in the meta-training configs.
from learned_rule.evaluation import held_out  # pylint: disable=unused-import
# Its train.num_steps is bound there too.
from learned_rule.training import loop  # pylint: disable=unused-import
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib
from learned_rule.training import batched_tasks
from learned_rule.training import meta_trainer

INPUT_DIM = 7
WIDTHS = (6, 4)
TASKS = 3
STEPS = 3
BATCH = 8
NUM_CLASSES = 3
PER_CLASS = 2
EXTRA = 2
TINY = 'meta_train/tiny.gin'


def _numpy(nest):
  return [np.asarray(t) for t in tf.nest.flatten(nest)]


def _relative_error(actual, expected):
  """Global relative error over a list of arrays (θ as one vector)."""
  squared = sum(np.sum((np.asarray(a) - np.asarray(e))**2)
                for a, e in zip(actual, expected))
  return np.sqrt(squared / sum(np.sum(np.asarray(e)**2) for e in expected))


def _few_shot(rng):
  labels = np.tile(np.arange(NUM_CLASSES), PER_CLASS)
  count = len(labels)
  return few_shot.FewShotBatch(
      rng.randn(count, INPUT_DIM), rng.permutation(labels).astype(np.int32),
      rng.randn(count, INPUT_DIM), rng.permutation(labels).astype(np.int32),
      rng.randn(count, EXTRA), rng.randn(count, EXTRA))


def test_batched_meta_gradient_is_the_mean_of_the_task_gradients():
  keras.utils.set_random_seed(4321)
  config = config_lib.RuleConfig(top_width=4, hidden_size=6, delta_dim=3,
                                 num_grad_channels=2, top_signal_channels=5,
                                 step_size=0.05)
  rule = rule_lib.UnsupervisedUpdate(config, dtype='float64')
  model = base_model.BaseMLP(INPUT_DIM, WIDTHS, dtype='float64')
  sequential = inner_loop.InnerLoop(rule, jit_compile=False)
  # pfor + XLA (the defaults), the 3 tasks as one computation.
  batched = batched_loop.BatchedLoop(sequential, shards=1)
  rng = np.random.RandomState(0)
  # Each task its own φ_0, permutation, batches and few-shot task (with
  # extra regression targets, spec §6.2).
  states = [base_model.initial_state(
      INPUT_DIM, WIDTHS, seed,
      permutation=rng.permutation(INPUT_DIM).astype(np.int32),
      dtype='float64') for seed in range(TASKS)]
  batches = [rng.randn(STEPS, BATCH, INPUT_DIM) for _ in range(TASKS)]
  meta_batches = [_few_shot(rng) for _ in range(TASKS)]
  expected = [sequential.meta_gradient(model, s, b, m, NUM_CLASSES)
              for s, b, m in zip(states, batches, meta_batches)]
  result = batched.meta_gradient(
      model, batched_loop.stack(states), np.stack(batches),
      batched_loop.stack_few_shot(meta_batches), NUM_CLASSES)
  assert result.loss.shape == (TASKS,)
  assert result.losses.shape == result.accuracies.shape == (TASKS, STEPS)
  np.testing.assert_allclose(result.loss, [r.loss for r in expected],
                             rtol=1e-6)
  np.testing.assert_allclose(result.losses, [r.losses for r in expected],
                             rtol=1e-6)
  np.testing.assert_allclose(result.accuracies,
                             [r.accuracies for r in expected])
  mean = [np.mean([r.gradients[i] for r in expected], axis=0)
          for i in range(len(expected[0].gradients))]
  assert _relative_error(result.gradients, mean) < 1e-6
  # Not the gradient of one task: the tasks' gradients differ.
  assert _relative_error(expected[0].gradients, mean) > 1e-2
  for task, own in enumerate(expected):
    final = batched_loop.unstack(result.state, TASKS)[task]
    tf.nest.assert_same_structure(final, own.state)
    for got, want in zip(_numpy(final), _numpy(own.state)):
      np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
  assert batched.tracing_count(model) == 1
  with pytest.raises(ValueError, match='3 tasks of .batches. on axis 0'):
    batched.meta_gradient(model, batched_loop.stack(states[:2]),
                          np.stack(batches), batched_loop.stack_few_shot(
                              meta_batches), NUM_CLASSES)


@pytest.mark.parametrize('count, shards, expected', [
    (5, 1, [(0, 5)]),
    (3, 2, [(0, 1), (1, 3)]),
    (4, 4, [(0, 1), (1, 2), (2, 3), (3, 4)]),
    (2, 8, [(0, 1), (1, 2)]),
    (7, 3, [(0, 2), (2, 4), (4, 7)]),
])
def test_shards_cover_the_tasks_in_near_equal_slices(count, shards,
                                                     expected):
  assert batched_loop.shard_bounds(count, shards) == expected


def test_shards_must_be_positive():
  loop = inner_loop.InnerLoop(rule_lib.UnsupervisedUpdate(
      config_lib.RuleConfig(top_width=4, hidden_size=6, delta_dim=3,
                            num_grad_channels=2, top_signal_channels=5)))
  with pytest.raises(ValueError, match='`shards` must be >= 1'):
    batched_loop.BatchedLoop(loop, shards=0)


def _tiny_trainer(parse=True, seed=0, **kwargs):
  """A trainer on tiny.gin. Plain SGD on θ where the θ of two executions
  are compared: Adam's first steps are ±learning rate for any gradient above
  its ε, and the gradients of the conv biases in front of θ's batch norms
  are exactly zero up to float32 noise (~1e-9), which Adam would blow up to
  the learning rate."""
  if parse:  # Once per test: gin locks its config once parsed.
    configuration.parse_gin([TINY], [])
  keras.utils.set_random_seed(seed)
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
  kwargs.setdefault('optimizer', keras.optimizers.SGD(learning_rate=0.1))
  return meta_trainer.MetaTrainer(
      rule, task_distribution_lib.TaskDistribution(), seed=seed, **kwargs)


def _theta(trainer):
  return [v.numpy() for v in trainer.rule.trainable_variables]


def test_batched_and_sequential_training_end_on_the_same_theta():
  # The 3 tasks as 3 concurrent shards of one step (the float64 test above
  # keeps them in one computation, compiled by XLA).
  batched = _tiny_trainer(tasks_in_flight=3, task_shards=3, xla_step=False)
  sequential = _tiny_trainer(parse=False, tasks_in_flight=3,
                             batch_tasks=False)
  np.testing.assert_array_equal(_theta(batched)[0], _theta(sequential)[0])
  for _ in range(3):
    ours, theirs = batched.train_step(), sequential.train_step()
    assert ours['meta_loss'] == pytest.approx(theirs['meta_loss'], rel=1e-4)
    assert ours['gradient_norm'] == pytest.approx(theirs['gradient_norm'],
                                                  rel=1e-3)
  assert [t.task for t in batched.in_flight] == [
      t.task for t in sequential.in_flight]
  for ours, theirs in zip(_theta(batched), _theta(sequential)):
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
  # θ moved, and every task ran in one batched call per step.
  assert _relative_error(_theta(batched), [
      v.numpy() for v in _tiny_trainer(parse=False).rule.trainable_variables
  ]) > 1e-4
  assert batched.inner_loop.tracing_count(
      batched.in_flight[0].model, 'gradient') == 0


def test_nan_task_in_a_batched_group_is_skipped_and_the_others_applied():
  trainers = [_tiny_trainer(tasks_in_flight=3, xla_step=False),
              _tiny_trainer(parse=False, tasks_in_flight=3,
                            batch_tasks=False)]
  poisoned = []
  for trainer in trainers:
    trainer.fill()
    task = trainer.in_flight[1]
    kernel = task.state[base_model.LAYERS][0][base_model.KERNEL]
    task.state[base_model.LAYERS][0][base_model.KERNEL] = kernel * np.nan
    poisoned.append(task)
  before = _theta(trainers[0])
  outcomes = [trainer.train_step() for trainer in trainers]
  for trainer, task, outcome in zip(trainers, poisoned, outcomes):
    assert outcome['skipped_tasks'] == 1
    assert outcome['skipped_updates'] == 0
    assert task not in trainer.in_flight  # Dropped: a fresh one replaces it.
    assert all(t.unrolls_done == 1 for t in trainer.in_flight)
    assert len(trainer.in_flight) == 2
    assert all(np.all(np.isfinite(v)) for v in _theta(trainer))
  assert _relative_error(_theta(trainers[0]), before) > 1e-6
  # The update is the mean of the two finite tasks' gradients, as when
  # the tasks run one after another.
  for ours, theirs in zip(_theta(trainers[0]), _theta(trainers[1])):
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_two_architectures_form_two_groups_with_one_function_each():
  trainer = _tiny_trainer(tasks_in_flight=4, xla_step=False)
  rng = np.random.default_rng(0)
  tasks = []
  for index in range(4):
    task = trainer.distribution.sample(rng)
    widths = (8, 4) if index % 2 == 0 else (5, 4)
    tasks.append(dataclasses.replace(task, widths=widths, total_steps=100))
  trainer.in_flight = [trainer.new_task(task) for task in tasks]
  inputs = [trainer.task_inputs(t) for t in trainer.in_flight]
  assert batched_tasks.groups(trainer.in_flight, inputs) == [[0, 2], [1, 3]]
  models = [trainer.in_flight[0].model, trainer.in_flight[1].model]
  assert models[0] is not models[1]
  for _ in range(2):
    outcome = trainer.train_step()
    assert outcome['skipped_tasks'] == 0
  assert [t.task.widths for t in trainer.in_flight] == [
      (8, 4), (5, 4), (8, 4), (5, 4)]
  for model in models:
    assert trainer.batched_loop.tracing_count(model) == 1
    assert trainer.inner_loop.tracing_count(model, 'gradient') == 0
