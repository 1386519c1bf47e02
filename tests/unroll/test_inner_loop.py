"""Tests of the compiled inner loop (learned_rule.unroll.inner_loop).

Covers: one θ training several architectures and nonlinearities, N-step
unrolls against chained single steps, XLA against plain graph mode, the
meta-gradient modes (per-step recompute, XLA) against each other, the
meta-loss as the sum of the objective at the N *new* states (paper eq. 1,
paper_spec.md §1, §6.1), the meta-gradient against central finite
differences in float64, no retracing for new data of the same shapes, and
the input checks.

θ and the base models are tiny so that the file runs in about a minute and
a half on two CPU cores; meta-gradient compiles are the slow part.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule.unroll import inner_loop
from learned_rule import meta_objective
from learned_rule.data import few_shot
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

INPUT_DIM = 7
WIDTHS = (6, 4)
BATCH = 8
STEPS = 3
NUM_CLASSES = 3
PER_CLASS = 2


def _config(**overrides):
  values = dict(top_width=4, hidden_size=6, delta_dim=3, num_grad_channels=2,
                top_signal_channels=5)
  values.update(overrides)
  return config_lib.RuleConfig(**values)


def _batches(steps=STEPS, seed=0, dtype=np.float32, batch=BATCH,
             input_dim=INPUT_DIM):
  return np.random.RandomState(seed).randn(steps, batch,
                                           input_dim).astype(dtype)


def _meta_batch(seed=0, dtype=np.float32):
  rng = np.random.RandomState(seed)
  labels = np.tile(np.arange(NUM_CLASSES), PER_CLASS)
  count = len(labels)
  return few_shot.FewShotBatch(
      rng.randn(count, INPUT_DIM).astype(dtype), rng.permutation(labels),
      rng.randn(count, INPUT_DIM).astype(dtype), rng.permutation(labels))


def _numpy(nest):
  return [np.asarray(t) for t in tf.nest.flatten(nest)]


def _assert_states_close(actual, expected, rtol, atol):
  tf.nest.assert_same_structure(actual, expected)
  for got, want in zip(_numpy(actual), _numpy(expected)):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.fixture(scope='module')
def rule():
  keras.utils.set_random_seed(1234)
  return rule_lib.UnsupervisedUpdate(_config())


@pytest.fixture(scope='module')
def graph_loop(rule):
  """One InnerLoop without XLA, shared so that its compiles are reused."""
  return inner_loop.InnerLoop(rule, jit_compile=False)


@pytest.fixture(scope='module')
def model():
  return base_model.BaseMLP(INPUT_DIM, WIDTHS, permutation_seed=1, seed=2)


# -- Shapes: one θ, many architectures. ----------------------------------------


# Every activation on the small model, and each deeper model with one of them
# (each case is a compile of its own).
@pytest.mark.parametrize('widths, activation', [
    ((6, 4), 'relu'),
    ((6, 4), 'tanh'),
    ((6, 4), 'step'),
    ((9, 5, 4), 'tanh'),
    ((3, 3, 3, 4), 'step'),
])
def test_one_rule_trains_several_architectures(rule, graph_loop, widths,
                                               activation):
  model = base_model.BaseMLP(INPUT_DIM, widths, activation=activation,
                             permutation_seed=3, seed=4)
  state = model.initial_state(5)
  final = graph_loop.unroll(model, state, _batches(steps=2, seed=6))
  tf.nest.assert_same_structure(final, state)
  changed = 0
  for before, after in zip(_numpy(state), _numpy(final)):
    assert after.shape == before.shape
    assert after.dtype == before.dtype
    assert np.all(np.isfinite(after))
    changed += int(not np.array_equal(before, after))
  # Every float tensor (W, V, b of each layer) moves; the permutation not.
  assert changed == 3 * len(widths)
  np.testing.assert_array_equal(final['input_permutation'],
                                state['input_permutation'])
  assert len(rule.trainable_variables) == len(graph_loop.theta())


def test_unroll_equals_chained_single_step_unrolls(graph_loop):
  model = base_model.BaseMLP(INPUT_DIM, (9, 5, 4), seed=7)
  state = model.initial_state(8)
  batches = _batches(seed=9)
  unrolled = graph_loop.unroll(model, state, batches)
  chained = state
  for step in range(STEPS):
    chained = graph_loop.unroll(model, chained, batches[step:step + 1])
  _assert_states_close(unrolled, chained, rtol=1e-6, atol=1e-9)
  # The test can see a wrong step count: two steps differ from three.
  two = graph_loop.unroll(model, state, batches[:2])
  assert max(np.max(np.abs(a - b)) for a, b in
             zip(_numpy(two), _numpy(unrolled))) > 1e-7


def test_module_level_unroll_with_xla_matches_graph_unroll(rule, graph_loop,
                                                          model):
  state = model.initial_state(10)
  batches = _batches(seed=11)
  # The module-level helper compiles with XLA by default.
  xla = inner_loop.unroll(rule, model, state, batches)
  graph = graph_loop.unroll(model, state, batches)
  _assert_states_close(xla, graph, rtol=1e-4, atol=1e-7)
  with pytest.raises(ValueError, match='steps'):
    inner_loop.unroll(rule, model, state, batches, steps=STEPS + 1)


# -- Meta-gradient modes. ------------------------------------------------------


@pytest.fixture(scope='module')
def baseline(rule, model):
  """(loop, state, batches, meta_batch, result): recompute on, no XLA."""
  loop = inner_loop.InnerLoop(rule, jit_compile=False, recompute=True,
                              jit_compile_gradient=False)
  state = model.initial_state(14)
  batches = _batches(seed=15)
  meta_batch = _meta_batch(seed=16)
  result = loop.meta_gradient(model, state, batches, meta_batch, NUM_CLASSES)
  return loop, state, batches, meta_batch, result


@pytest.mark.parametrize('recompute, jit_compile_gradient, jit_compile_step', [
    (False, False, False),
    (True, True, False),  # The one XLA meta-gradient compile (~30 s on CPU).
    (True, False, True),  # XLA step and XLA recompute-and-backprop.
])
def test_meta_gradient_modes_agree(rule, model, baseline, recompute,
                                   jit_compile_gradient, jit_compile_step):
  _, state, batches, meta_batch, want = baseline
  loop = inner_loop.InnerLoop(rule, jit_compile=False, recompute=recompute,
                              jit_compile_gradient=jit_compile_gradient,
                              jit_compile_step=jit_compile_step)
  got = loop.meta_gradient(model, state, batches, meta_batch, NUM_CLASSES)
  np.testing.assert_allclose(got.loss.numpy(), want.loss.numpy(), rtol=1e-5)
  np.testing.assert_allclose(got.losses.numpy(), want.losses.numpy(),
                             rtol=1e-5)
  np.testing.assert_allclose(got.accuracies.numpy(),
                             want.accuracies.numpy())
  _assert_states_close(got.state, want.state, rtol=1e-4, atol=1e-7)
  assert len(got.gradients) == len(rule.trainable_variables)
  scale = max(np.max(np.abs(g.numpy())) for g in want.gradients)
  assert scale > 0
  for variable, g_got, g_want in zip(rule.trainable_variables,
                                     got.gradients, want.gradients):
    assert g_got.shape == variable.shape
    np.testing.assert_allclose(g_got.numpy(), g_want.numpy(), rtol=1e-3,
                               atol=1e-4 * scale, err_msg=variable.path)


def test_meta_gradient_is_finite_and_reaches_every_part_of_theta(rule,
                                                                 baseline):
  *_, result = baseline
  assert result.losses.shape == (STEPS,)
  assert result.accuracies.shape == (STEPS,)
  np.testing.assert_allclose(result.loss.numpy(),
                             np.sum(result.losses.numpy()), rtol=1e-6)
  parts = set()
  for variable, gradient in zip(rule.trainable_variables, result.gradients):
    assert np.all(np.isfinite(gradient.numpy())), variable.path
    if np.max(np.abs(gradient.numpy())) > 0:
      parts.add(variable.path.split('/')[1])
  assert parts == {'top_signal', 'update_network', 'downward_signal',
                   'weight_terms', 'weight_merge', 'bias_rule'}


# -- Float64: the meta-loss and finite differences. ----------------------------


@pytest.fixture(scope='module')
def float64_setup():
  """A float64 rule with a large step so that θ's effect is measurable."""
  keras.utils.set_random_seed(4321)
  rule = rule_lib.UnsupervisedUpdate(_config(step_size=0.05),
                                     dtype='float64')
  model = base_model.BaseMLP(INPUT_DIM, WIDTHS, permutation_seed=17, seed=18,
                             dtype='float64')
  loop = inner_loop.InnerLoop(rule, jit_compile=False)
  state = model.initial_state(19)
  batches = _batches(seed=20, dtype=np.float64)
  meta_batch = _meta_batch(seed=21, dtype=np.float64)
  result = loop.meta_gradient(model, state, batches, meta_batch, NUM_CLASSES)
  return rule, model, loop, state, batches, meta_batch, result


def test_meta_loss_is_the_objective_at_the_new_states(float64_setup):
  _, model, loop, state, batches, meta_batch, result = float64_setup
  assert result.loss.dtype == tf.float64
  objective = meta_objective.MetaObjective()
  current = state
  before = float(objective(model, state, meta_batch, NUM_CLASSES)[0])
  for step in range(STEPS):
    current = loop.unroll(model, current, batches[step:step + 1])
    after, metrics = objective(model, current, meta_batch, NUM_CLASSES)
    np.testing.assert_allclose(result.losses[step].numpy(), after.numpy(),
                               rtol=1e-10)
    np.testing.assert_allclose(result.accuracies[step].numpy(),
                               metrics['accuracy'].numpy())
    # The objective moves with every step: scoring φ_t instead of φ_{t+1}
    # would fail the check above.
    assert abs(after.numpy() - before) > 1e-6
    before = float(after)
  np.testing.assert_allclose(result.loss.numpy(),
                             np.sum(result.losses.numpy()), rtol=1e-12)
  _assert_states_close(result.state, current, rtol=1e-10, atol=1e-14)


def test_meta_gradient_matches_finite_differences(float64_setup):
  rule, model, loop, state, batches, meta_batch, result = float64_setup
  theta = [v.numpy() for v in rule.trainable_variables]
  gradients = [g.numpy() for g in result.gradients]
  eps = 1e-5

  def summed_loss(values):
    unrolled = loop.meta_gradient(
        model, state, batches, meta_batch, NUM_CLASSES,
        theta=[tf.constant(v) for v in values])
    return float(np.sum(unrolled.losses.numpy()))

  np.testing.assert_allclose(summed_loss(theta), result.loss.numpy(),
                             rtol=1e-12)

  def central_difference(direction):
    plus = [t + eps * d for t, d in zip(theta, direction)]
    minus = [t - eps * d for t, d in zip(theta, direction)]
    return (summed_loss(plus) - summed_loss(minus)) / (2 * eps)

  def relative_error(numeric, analytic):
    return abs(numeric - analytic) / max(abs(numeric), abs(analytic))

  rng = np.random.RandomState(22)
  scale = max(np.max(np.abs(g)) for g in gradients)
  # Variables whose gradient is not zero up to round-off (a conv bias in
  # front of a batch norm, for one, has an exactly zero gradient).
  candidates = [i for i, g in enumerate(gradients)
                if np.max(np.abs(g)) > 1e-3 * scale]
  assert len(candidates) >= 6
  for index in rng.choice(candidates, size=6, replace=False):
    flat = np.abs(gradients[index]).ravel()
    entry = rng.choice(np.flatnonzero(flat > 0.1 * flat.max()))
    direction = [np.zeros_like(t) for t in theta]
    direction[index].ravel()[entry] = 1.0
    numeric = central_difference(direction)
    analytic = gradients[index].ravel()[entry]
    assert relative_error(numeric, analytic) < 1e-4, (
        rule.trainable_variables[index].path, entry, numeric, analytic)

  direction = [rng.randn(*t.shape) for t in theta]
  norm = np.sqrt(sum(np.sum(d ** 2) for d in direction))
  direction = [d / norm for d in direction]
  numeric = central_difference(direction)
  analytic = sum(np.sum(g * d) for g, d in zip(gradients, direction))
  assert relative_error(numeric, analytic) < 1e-4, (numeric, analytic)


def test_compiled_step_gradient_equals_the_graph_one_in_float64(
    float64_setup):
  rule, model, _, state, batches, meta_batch, want = float64_setup
  loop = inner_loop.InnerLoop(rule, jit_compile=False, jit_compile_step=True)
  got = loop.meta_gradient(model, state, batches, meta_batch, NUM_CLASSES)
  np.testing.assert_allclose(got.loss.numpy(), want.loss.numpy(), rtol=1e-12)
  _assert_states_close(got.state, want.state, rtol=1e-10, atol=1e-14)
  for variable, g_got, g_want in zip(rule.trainable_variables,
                                     got.gradients, want.gradients):
    np.testing.assert_allclose(g_got.numpy(), g_want.numpy(), rtol=1e-8,
                               atol=1e-14, err_msg=variable.path)


def test_compiled_step_needs_recompute(rule):
  with pytest.raises(ValueError, match='recompute'):
    inner_loop.InnerLoop(rule, recompute=False, jit_compile_step=True)


# -- No retracing. -------------------------------------------------------------


def test_unroll_does_not_retrace_for_new_data(rule, model):
  loop = inner_loop.InnerLoop(rule, jit_compile=False)
  assert loop.tracing_count(model, 'unroll') == 0
  first = loop.unroll(model, model.initial_state(23), _batches(seed=24))
  second = loop.unroll(model, model.initial_state(25), _batches(seed=26))
  assert loop.tracing_count(model, 'unroll') == 1
  assert not np.array_equal(_numpy(first)[1], _numpy(second)[1])
  # Another instance of the same architecture shares the compiled function.
  twin = base_model.BaseMLP(INPUT_DIM, WIDTHS, permutation_seed=99, seed=27)
  loop.unroll(twin, twin.initial_state(28), _batches(seed=29))
  assert loop.tracing_count(twin, 'unroll') == 1
  # A different architecture compiles its own function.
  deeper = base_model.BaseMLP(INPUT_DIM, (9, 5, 4), seed=30)
  assert loop.tracing_count(deeper, 'unroll') == 0
  loop.unroll(deeper, deeper.initial_state(31), _batches(seed=32))
  assert loop.tracing_count(deeper, 'unroll') == 1
  assert loop.tracing_count(model, 'unroll') == 1
  assert loop.tracing_count(model, 'gradient') == 0


def test_meta_gradient_does_not_retrace_for_new_data(model, baseline):
  loop, _, _, _, first = baseline
  second = loop.meta_gradient(model, model.initial_state(33),
                              _batches(seed=34), _meta_batch(seed=35),
                              NUM_CLASSES)
  assert loop.tracing_count(model, 'gradient') == 1
  assert second.loss.numpy() != first.loss.numpy()


# -- Bad input. ----------------------------------------------------------------


@pytest.mark.parametrize('batches, word', [
    (_batches()[0], 'steps, batch'),  # Rank 2.
    (_batches(input_dim=INPUT_DIM + 1), 'input_dim'),
    (_batches(batch=1), 'at least 2'),
    (_batches(steps=0), 'no step'),
    (np.where(np.arange(INPUT_DIM) == 3, np.nan, _batches()).astype(
        np.float32), 'NaN'),
])
def test_bad_batches_raise(graph_loop, model, batches, word):
  state = model.initial_state(36)
  with pytest.raises(ValueError, match=word):
    graph_loop.unroll(model, state, batches)
  with pytest.raises(ValueError, match=word):
    graph_loop.meta_gradient(model, state, batches, _meta_batch(),
                             NUM_CLASSES)


def test_theta_of_wrong_length_raises(graph_loop, model):
  theta = graph_loop.theta()[:-1]
  with pytest.raises(ValueError, match='`theta` has'):
    graph_loop.unroll(model, model.initial_state(37), _batches(), theta=theta)


@pytest.mark.parametrize('kwargs, word', [
    ({'widths': (6, 5)}, 'top width'),
    ({'widths': WIDTHS, 'memory_size': 2}, 'memory'),
])
def test_incompatible_base_model_raises(graph_loop, kwargs, word):
  model = base_model.BaseMLP(INPUT_DIM, **kwargs)
  with pytest.raises(ValueError, match=word):
    graph_loop.unroll(model, model.initial_state(38), _batches())
