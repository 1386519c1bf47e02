"""Oja's subspace rule on the base-model MLP: a hand-designed local rule.

This is the non-learned counterpart of the learned rule: the same MLP
(widths and activation of the :class:`Setting`), trained layer by layer on
the same unlabeled batches by a local Hebbian rule instead of θ. The
baseline is ours; the paper's baselines are a VAE, supervised learning,
random initialisation and prototypical networks (spec §8.2).

Every layer l computes, as the base model does (spec §2.2),
``x^l = act(BN(x^{l-1} W^l))`` with batch statistics, biased variance,
no scale and ε = 1e-6. Oja's rule has no update for the offset b, so the
offset is 0 here. After the forward pass on a batch, each W^l takes one
step of Oja's subspace rule (:func:`oja_update`) on its own input,
centred with the mean of that batch: the base model uses batch statistics
everywhere and keeps no running averages (spec §2.2), and the centring
leaves the forward pass unchanged since BN removes the mean of x W.
"""

import gin
import numpy as np
import tensorflow as tf

from learned_rule.model import activations as activations_lib
from learned_rule.model import local_dense
from learned_rule.reporting import method_names
from learned_rule.evaluation import protocol

# Our choice: the step size η of Oja's rule. The discrete rule settles at
# unit-norm weights when η·λ_max < 1, λ_max the top eigenvalue of the input
# covariance, which is at most its trace. Pixels in [0, 1] (trace ≤ D/4,
# 49 for the paper's 196 inputs, spec §8.1) and batch-normalised hidden
# activations (trace ≤ the width, 128 in the paper, spec §2.1) keep
# η·λ_max ≤ 0.13 at 1e-3. On digits with the paper's widths, 1e-3 and 1e-2
# both stay finite over 3000 steps; 1e-2 reaches its best probe accuracy
# sooner (step 300) and then loses a little.
LEARNING_RATE = 1e-3

# Seed stream of the initial weights, apart from the stream and draw keys
# of protocol.py (1, 2) and the PCA sample (3).
_INIT_KEY = 4

# Keras' TruncatedNormal redraws values beyond two standard deviations.
_TRUNCATION = 2.0


def oja_update(weights, inputs, learning_rate):
  """One step of Oja's subspace rule on a batch.

  With y = x W the linear pre-activation of an example x,
  ``ΔW = η · mean over the batch of (x yᵀ − W y yᵀ)``. One neuron
  (n = 1) converges to the leading principal component with unit norm;
  n neurons converge to an orthonormal basis of the span of the top n
  (Oja, 1982; Oja, 1989). Inputs should have zero mean.

  Args:
    weights: ``[D, n]``.
    inputs: ``[B, D]``, centred.
    learning_rate: η > 0.

  Returns:
    The updated ``[D, n]`` weights (a new float64 array).

  Raises:
    ValueError: If the shapes do not match or η is not a finite positive
      number.
  """
  weights = np.asarray(weights, np.float64)
  inputs = np.asarray(inputs, np.float64)
  if weights.ndim != 2 or inputs.ndim != 2 or not len(inputs):
    raise ValueError(f'`weights` must be [D, n] and `inputs` a non-empty '
                     f'[B, D], got shapes {weights.shape} and '
                     f'{inputs.shape}.')
  if inputs.shape[1] != weights.shape[0]:
    raise ValueError(f'`inputs` has {inputs.shape[1]} features but '
                     f'`weights` has {weights.shape[0]} rows.')
  if not (np.isfinite(learning_rate) and learning_rate > 0):
    raise ValueError(f'`learning_rate` must be a finite number > 0, got '
                     f'{learning_rate}.')
  outputs = inputs @ weights
  hebbian = inputs.T @ outputs
  decay = weights @ (outputs.T @ outputs)
  return weights + learning_rate * (hebbian - decay) / len(inputs)


def _truncated_normal(rng, shape, stddev):
  """Normal draws with values beyond ±2 std drawn again, as in Keras."""
  values = rng.standard_normal(shape)
  outside = np.abs(values) > _TRUNCATION
  while outside.any():
    values[outside] = rng.standard_normal(int(outside.sum()))
    outside = np.abs(values) > _TRUNCATION
  return stddev * values


def _layer_output(weights, inputs, activation):
  """``act(BN(x W))`` with batch statistics and no scale (spec §2.2)."""
  linear = inputs @ weights
  normalised = (linear - linear.mean(axis=0)) / np.sqrt(
      linear.var(axis=0) + local_dense.BATCH_NORM_EPSILON)
  return np.asarray(activation(tf.constant(normalised)))


@gin.configurable
class OjaRule(protocol.UnsupervisedMethod):
  """The base-model MLP trained layer by layer with Oja's subspace rule.

  The state is ``(weights, activation)``: the tuple of every layer's W
  ``[n_in, n_out]``, bottom first, and the activation function. W starts
  as the base model's (truncated normal, std 0.01, spec §2.2), seeded by
  ``setting.seed``. The features are the top layer's outputs x^L.

  Args:
    learning_rate: η of Oja's rule (our default, see LEARNING_RATE).

  Raises:
    ValueError: If η is not a finite positive number.
  """

  name = method_names.HEBBIAN

  def __init__(self, learning_rate=LEARNING_RATE):
    if not (np.isfinite(learning_rate) and learning_rate > 0):
      raise ValueError(f'`learning_rate` must be a finite number > 0, got '
                       f'{learning_rate}.')
    self.learning_rate = learning_rate

  def start(self, setting):
    rng = np.random.default_rng([setting.seed, _INIT_KEY])
    sizes = (setting.data.input_dim,) + setting.widths
    weights = tuple(
        _truncated_normal(rng, (fan_in, width),
                          local_dense.KERNEL_INIT_STDDEV)
        for fan_in, width in zip(sizes, sizes[1:]))
    return weights, activations_lib.get(setting.activation)

  def train(self, state, batches):
    weights, activation = state
    for batch in np.asarray(batches, np.float64):
      layer_inputs = [batch]
      for kernel in weights[:-1]:
        layer_inputs.append(_layer_output(kernel, layer_inputs[-1],
                                          activation))
      weights = tuple(
          oja_update(kernel, inputs - inputs.mean(axis=0),
                     self.learning_rate)
          for kernel, inputs in zip(weights, layer_inputs))
    return weights, activation

  def features(self, state, inputs):
    weights, activation = state
    outputs = np.asarray(inputs, np.float64)
    for kernel in weights:
      outputs = _layer_output(kernel, outputs, activation)
    return outputs

  def first_layer(self, state):
    return state[0][0]
