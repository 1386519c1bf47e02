"""The rule never differentiates the base model, and runs on any base model.

The Heaviside step has no useful gradient (spec §8.3), so the update path
must not need one: a base model whose activation raises when differentiated
must still be trained by the rule. The same rule, with its θ unchanged, must
also run on base models of other widths, depths and nonlinearities than the
ones it was built next to (spec §8.3).
"""

import numpy as np
import pytest
import tensorflow as tf

from learned_rule.model import activations
from learned_rule.model import base_model as base_model_lib
from learned_rule.unroll import inner_loop as inner_loop_lib
from learned_rule.data import digits
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

POISONED = 'poisoned_step'
STEPS = 3
BATCH_SIZE = 8
TOP_WIDTH = 4


class DifferentiatedActivationError(RuntimeError):
  """Raised by the gradient of the poisoned activation."""


@tf.custom_gradient
def poisoned_step(z):
  """The Heaviside step, whose gradient raises instead of returning."""

  def gradient(upstream):
    del upstream
    raise DifferentiatedActivationError(
        'the base model\'s activation was differentiated')

  return tf.cast(z > 0, z.dtype), gradient


@pytest.fixture(scope='module')
def data():
  return digits.load_split('test')


@pytest.fixture(scope='module')
def loop():
  """One small rule and its graph-mode inner loop, shared by every test."""
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig(
      top_width=TOP_WIDTH, hidden_size=6, delta_dim=3, num_grad_channels=2,
      top_signal_channels=5, step_size=0.05))
  return inner_loop_lib.InnerLoop(rule, jit_compile=False)


@pytest.fixture
def poisoned(monkeypatch):
  monkeypatch.setitem(activations.ACTIVATIONS, POISONED, poisoned_step)
  return POISONED


def _batches(data):
  rng = np.random.default_rng(0)
  rows = rng.choice(len(data), size=STEPS * BATCH_SIZE, replace=False)
  return data.features[rows].reshape(STEPS, BATCH_SIZE, -1)


def _flat(state):
  """Every float entry of a state nest, as NumPy (the permutation dropped)."""
  return [entry.numpy() for entry in tf.nest.flatten(
      state[base_model_lib.LAYERS])]


def _model_and_state(data, widths, activation):
  model = base_model_lib.BaseMLP(data.input_dim, widths, activation,
                                 permutation_seed=1)
  return model, model.initial_state(2)


def _run_eagerly(loop, data, widths, activation):
  """(φ_0, φ_3) of a fresh base model trained three steps by the rule.

  Runs the inner loop's step function eagerly, one batch at a time: the
  same math as the compiled unroll, without tracing a graph per model.
  """
  model, start = _model_and_state(data, widths, activation)
  theta, state = loop.theta(), start
  for batch in _batches(data):
    state = loop.apply_rule(model, theta, state, tf.constant(batch))
  return start, state


def _assert_trained(start, end):
  before, after = _flat(start), _flat(end)
  assert len(before) == len(after)
  for value in after:
    assert np.all(np.isfinite(value))
  assert max(np.abs(a - b).max() for a, b in zip(before, after)) > 1e-4


def test_the_poisoned_activation_fails_when_differentiated(data, poisoned):
  model = base_model_lib.BaseMLP(data.input_dim, (8, TOP_WIDTH), poisoned)
  state = model.initial_state(0)
  inputs = tf.constant(data.features[:BATCH_SIZE])
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    features = model.functional_forward(state, inputs)[1][-1]
    total = tf.reduce_sum(features)
  # The forward pass is the step function ...
  assert set(np.unique(features.numpy())) <= {0.0, 1.0}
  # ... and any gradient through it raises: the poison works.
  with pytest.raises(DifferentiatedActivationError):
    tape.gradient(total, inputs)


def test_the_rule_never_differentiates_the_activation(loop, data, poisoned):
  model, start = _model_and_state(data, (8, TOP_WIDTH), poisoned)
  end = loop.unroll(model, start, _batches(data))
  _assert_trained(start, end)
  eager_start, eager_end = _run_eagerly(loop, data, (8, TOP_WIDTH), poisoned)
  _assert_trained(eager_start, eager_end)
  for compiled, eager in zip(_flat(end), _flat(eager_end)):
    np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('widths', [
    (16, TOP_WIDTH), (64, TOP_WIDTH), (256, TOP_WIDTH),  # Widths.
    (16, 16, 16, TOP_WIDTH),  # 4 layers.
    (16, 16, 16, 16, 16, TOP_WIDTH),  # 6 layers.
])
def test_one_rule_runs_on_many_architectures(loop, data, widths):
  start, end = _run_eagerly(loop, data, widths, 'relu')
  assert len(end[base_model_lib.LAYERS]) == len(widths)
  _assert_trained(start, end)


@pytest.mark.parametrize('activation', sorted(activations.ACTIVATIONS))
def test_one_rule_runs_on_every_activation(loop, data, activation):
  start, end = _run_eagerly(loop, data, (16, TOP_WIDTH), activation)
  _assert_trained(start, end)
