"""Persistent evolution strategies: an unbiased meta-gradient of truncations.

Truncated backprop through time (spec §6.1) differentiates each truncation
of k inner steps on its own: what θ did to the state before the truncation
is ignored, so the gradient is biased towards short horizons. Persistent
evolution strategies (PES; Vicol, Metz and Sohl-Dickstein, ICML 2021)
remove that bias without a backward pass. Each truncation of a task draws
a Gaussian perturbation ε ~ N(0, σ²I) of θ and runs two unrolls,
antithetic: θ + ε from the positive branch's state and θ − ε from the
negative branch's, each branch carrying its own state from truncation to
truncation. The perturbations of the task so far are summed in an
accumulator ξ (ε included); the estimate of the truncation is

    g = ξ · (L⁺ − L⁻) / (2σ²),

with L^± the summed meta-losses of the k new states of each branch. Summed
over a task's truncations, g is an unbiased estimate of the gradient of the
Gaussian-smoothed meta-loss of the whole episode, E_ε[Σ_t L_t(θ + ε_1, …,
θ + ε_t)]; a fresh task starts with ξ = 0 and both branches at its φ_0.
Only forward unrolls are needed (``InnerLoop.scored_unroll``), so a
truncation costs two compiled forward passes instead of a forward and a
recomputed backward one; the estimate's variance grows with θ's size.

The estimator here is independent of the rule and of the base model: it
sees an ``unroll(theta, state) → (state, losses, accuracies)`` function,
so that ``tests/training/test_pes.py`` checks it in float64 on a problem whose
smoothed gradient is known exactly.
"""

import dataclasses

import gin
import numpy as np

# σ of the perturbation of θ: learned_optimization's PES examples use 0.01
# (google/learned_optimization, outer_trainers/truncated_pes.py); ours too.
DEFAULT_STD = 0.01

ESTIMATORS = ('tbptt', 'pes')


def check_estimator(name):
  """Returns ``name`` if it is one of :data:`ESTIMATORS`."""
  if name not in ESTIMATORS:
    raise ValueError(f'Unknown meta-gradient estimator {name!r}; allowed: '
                     f'{", ".join(ESTIMATORS)}.')
  return name


@dataclasses.dataclass
class PESCarry:
  """What a task carries between truncations besides its positive state.

  Attributes:
    negative_state: The state of the θ − ε branch.
    accumulator: ξ, the sum of the task's perturbations so far, one array
      per θ tensor.
  """

  negative_state: object
  accumulator: list


@dataclasses.dataclass
class PESGradient:
  """One truncation's PES estimate for one task.

  Attributes:
    gradients: g, one array per θ tensor.
    loss: The mean of the two branches' summed meta-losses.
    accuracy: The mean per-step accuracy of the two branches.
    state: The positive branch's new state (the task's state).
    carry: The :class:`PESCarry` for the next truncation.
    finite: Whether both losses and g are finite.
  """

  gradients: list
  loss: float
  accuracy: float
  state: object
  carry: PESCarry
  finite: bool


@gin.configurable
class PESEstimator:
  """Antithetic persistent evolution strategies (module docstring).

  Args:
    std: σ, the standard deviation of each perturbation of θ.
  """

  def __init__(self, std=DEFAULT_STD):
    if not (isinstance(std, (int, float)) and np.isfinite(std) and std > 0):
      raise ValueError(f'PESEstimator.std must be a finite number > 0, got '
                       f'{std!r}.')
    self.std = float(std)

  def initial_carry(self, state, theta):
    """The carry of a fresh task: both branches at ``state``, ξ = 0."""
    return PESCarry(state, [np.zeros(np.shape(t), np.asarray(t).dtype)
                            for t in theta])

  def perturbation(self, rng, theta):
    """ε, one array per θ tensor, drawn from ``rng`` (a NumPy generator)."""
    return [(self.std * rng.standard_normal(np.shape(t))).astype(
        np.asarray(t).dtype) for t in theta]

  def task_gradient(self, unroll, theta, state, carry, rng):
    """Runs one truncation of a task's two branches; returns its estimate.

    Args:
      unroll: ``(theta, state) → (state', losses [k], accuracies [k])``,
        the truncation's unroll scored at every new state.
      theta: θ, a list of arrays or tensors.
      state: The positive branch's state.
      carry: The task's :class:`PESCarry`, or None for a fresh task.
      rng: NumPy generator of the perturbations.

    Returns:
      A :class:`PESGradient`.
    """
    theta = [np.asarray(t) for t in theta]
    if carry is None:
      carry = self.initial_carry(state, theta)
    epsilon = self.perturbation(rng, theta)
    accumulator = [a + e for a, e in zip(carry.accumulator, epsilon,
                                         strict=True)]
    positive = unroll([t + e for t, e in zip(theta, epsilon)], state)
    negative = unroll([t - e for t, e in zip(theta, epsilon)],
                      carry.negative_state)
    loss_positive = float(np.sum(np.asarray(positive[1], np.float64)))
    loss_negative = float(np.sum(np.asarray(negative[1], np.float64)))
    scale = (loss_positive - loss_negative) / (2 * self.std**2)
    gradients = [(scale * a).astype(a.dtype) for a in accumulator]
    finite = bool(np.isfinite(loss_positive) and np.isfinite(loss_negative)
                  and all(np.all(np.isfinite(g)) for g in gradients))
    accuracy = float(np.mean([np.mean(np.asarray(positive[2])),
                              np.mean(np.asarray(negative[2]))]))
    return PESGradient(
        gradients=gradients, loss=(loss_positive + loss_negative) / 2,
        accuracy=accuracy, state=positive[0],
        carry=PESCarry(negative[0], accumulator), finite=finite)
