"""Baseline: a variational autoencoder with the base model as its encoder.

Spec §8.2 compares the learned rule with a VAE of the "same base-model
architecture", without further details; ours:

* Encoder: the base model's hidden layers ``widths[:-1]`` (its
  :class:`LocalDense` layers: linear without bias, batch norm with batch
  statistics and no scale, offset, activation; spec §2.2), then two linear
  heads of size ``widths[-1]`` (the latent size, the base model's feature
  width) for the mean and the log-variance of q(z|x).
* Decoder: the hidden widths in reverse, same layer type, then a linear map
  to the input dimension.
* Likelihood: Gaussian, −log p(x|z) = ‖x − x̂‖² / (2σ²) + (D/2) log σ²
  (the constant dropped), with one variance σ² shared by all inputs,
  learned, starting at 1. A Gaussian applies to every modality (images in
  [0, 1], bag-of-words counts, toy data with negative values), where a
  Bernoulli would not. With σ² fixed at 1 the model collapses to the prior
  on 8×8 digits (mean pixel variance 0.07): the loss settles at
  half the data's total variance and the latent means stop depending on
  the input; a learned σ² scales the likelihood to the data.
* Loss: the negative ELBO, −log p(x|z) + KL(q(z|x) ‖ N(0, I)), with one
  reparameterised sample per example, averaged over the batch; one Adam
  step per unlabeled batch of the protocol.
* Features: the latent mean.

The paper reports that on 16×16 CIFAR-10 this baseline's few-shot accuracy
falls sharply late in training while its objective keeps improving, an
objective mismatch (spec §8.2, Fig. 2 left); expect the same shape here.
"""

import gin
import keras
import numpy as np
import tensorflow as tf

from learned_rule.model import local_dense
from learned_rule.reporting import method_names
from learned_rule.evaluation import protocol

# Adam learning rate. Spec §8.2 gives no details of the VAE; 1e-3 is our
# choice (Keras' default).
LEARNING_RATE = 1e-3
# Initializer seeds are ``seed + _SEED_STRIDE * layer`` as in BaseMLP, so the
# encoder's hidden layers start as those of ``BaseMLP(seed=seed)``; the
# heads and the decoder take the layer indices after them.
_SEED_STRIDE = 10
# Key that separates the reparameterisation noise from other seed streams.
_NOISE_KEY = 3


class VaeState:
  """The encoder, decoder and optimizer of one setting, and its losses.

  Args:
    input_dim: Size of the flattened input.
    widths: Base-model widths; ``widths[:-1]`` are hidden, ``widths[-1]``
      is the latent size.
    activation: Name of the nonlinearity of the hidden layers.
    seed: Seeds the initializers and the reparameterisation noise.
    learning_rate: Adam learning rate.

  Attributes:
    encoder_layers: The encoder's :class:`LocalDense` hidden layers.
    mean_head, log_variance_head: Linear heads to the latent size.
    decoder_layers: The decoder's hidden :class:`LocalDense` layers.
    output_layer: Linear map to the input dimension.
    output_log_variance: log σ² of the Gaussian likelihood (learned).
    optimizer: The Adam optimizer.
    losses: The negative ELBO of every Adam step taken, in order.
  """

  def __init__(self, input_dim, widths, activation, seed, learning_rate):
    self.seed = seed
    seeds = iter(range(seed, seed + _SEED_STRIDE * 2 * (len(widths) + 1),
                       _SEED_STRIDE))
    hidden, latent = widths[:-1], widths[-1]
    self.encoder_layers = [
        local_dense.LocalDense(width, activation, seed=next(seeds))
        for width in hidden]
    self.mean_head = _linear(latent, next(seeds))
    self.log_variance_head = _linear(latent, next(seeds))
    self.decoder_layers = [
        local_dense.LocalDense(width, activation, seed=next(seeds))
        for width in reversed(hidden)]
    self.output_layer = _linear(input_dim, next(seeds))
    self._build(input_dim, latent)
    # log σ² of the Gaussian likelihood, 0 (unit variance) at the start.
    self.output_log_variance = keras.Variable(
        0.0, dtype='float32', name='output_log_variance')
    self.optimizer = keras.optimizers.Adam(learning_rate)
    self.optimizer.build(self.trainable_variables)
    self.losses = []
    self.train_on = _train_function(self)

  def _build(self, input_dim, latent):
    width = input_dim
    for layer in self.encoder_layers:
      layer.build((None, width))
      width = layer.units
    self.mean_head.build((None, width))
    self.log_variance_head.build((None, width))
    width = latent
    for layer in self.decoder_layers:
      layer.build((None, width))
      width = layer.units
    self.output_layer.build((None, width))

  @property
  def trainable_variables(self):
    """Everything that trains; the unused feedback kernels V stay out."""
    variables = []
    for layer in self.encoder_layers + self.decoder_layers:
      variables += [layer.kernel, layer.offset]
    for layer in (self.mean_head, self.log_variance_head, self.output_layer):
      variables += layer.trainable_variables
    return variables + [self.output_log_variance]

  def encode(self, inputs):
    """``[N, D]`` → latent mean and log-variance, each ``[N, latent]``."""
    x = inputs
    for layer in self.encoder_layers:
      _, x = layer(x)
    return self.mean_head(x), self.log_variance_head(x)

  def decode(self, latents):
    """``[N, latent]`` → reconstructions ``[N, D]``."""
    x = latents
    for layer in self.decoder_layers:
      _, x = layer(x)
    return self.output_layer(x)

  def negative_elbo(self, inputs, noise_seed):
    """Batch mean of −log p(x|z) + KL(q(z|x) ‖ N(0, I)), one sample of z."""
    mean, log_variance = self.encode(inputs)
    noise = tf.random.stateless_normal(tf.shape(mean), noise_seed)
    reconstruction = self.decode(mean + tf.exp(0.5 * log_variance) * noise)
    output_log_variance = tf.convert_to_tensor(self.output_log_variance)
    input_dim = tf.cast(tf.shape(inputs)[1], tf.float32)
    negative_log_likelihood = 0.5 * (
        tf.reduce_sum(tf.square(inputs - reconstruction), axis=1) *
        tf.exp(-output_log_variance) + input_dim * output_log_variance)
    kl = 0.5 * tf.reduce_sum(
        tf.square(mean) + tf.exp(log_variance) - 1.0 - log_variance, axis=1)
    return tf.reduce_mean(negative_log_likelihood + kl)


def _linear(units, seed):
  return keras.layers.Dense(
      units, kernel_initializer=keras.initializers.GlorotUniform(seed=seed))


def _train_function(state):
  """A compiled ``batches [T, B, D] → losses [T]``: one Adam step a batch.

  The noise of step t is drawn from ``(seed, t)`` with stateless RNG, so a
  run is a function of its seed and batches alone.
  """
  variables = state.trainable_variables
  optimizer = state.optimizer

  @tf.function(input_signature=[tf.TensorSpec([None, None, None],
                                              tf.float32)])
  def train(batches):
    count = tf.shape(batches)[0]
    losses = tf.TensorArray(tf.float32, size=count, element_shape=[])
    for index in tf.range(count):
      noise_seed = tf.stack([
          tf.constant(state.seed, tf.int64),
          _NOISE_KEY * 2**32 + tf.cast(optimizer.iterations, tf.int64)])
      with tf.GradientTape() as tape:
        loss = state.negative_elbo(batches[index], noise_seed)
      # Unconnected gradients are zero: the 'step' activation has none.
      gradients = tape.gradient(
          loss, variables,
          unconnected_gradients=tf.UnconnectedGradients.ZERO)
      optimizer.apply_gradients(zip(gradients, variables))
      losses = losses.write(index, loss)
    return losses.stack()

  return train


@gin.configurable
class VariationalAutoencoder(protocol.UnsupervisedMethod):
  """The VAE baseline of spec §8.2 (see the module docstring).

  Its few-shot accuracy can fall late in training while the ELBO keeps
  improving (spec §8.2, Fig. 2 left).

  Args:
    learning_rate: Adam learning rate (ours, spec §8.2 gives none).
  """

  name = method_names.VAE

  def __init__(self, learning_rate=LEARNING_RATE):
    if not learning_rate > 0:
      raise ValueError(f'`learning_rate` must be > 0, got {learning_rate}.')
    self.learning_rate = learning_rate

  def start(self, setting):
    """A fresh :class:`VaeState` for ``setting``, seeded by its seed."""
    return VaeState(setting.data.input_dim, setting.widths,
                    setting.activation, setting.seed, self.learning_rate)

  def train(self, state, batches):
    """One Adam step per batch of ``batches`` ``[T, B, D]``; ``state``."""
    batches = np.asarray(batches, np.float32)
    if len(batches):
      state.losses.extend(state.train_on(tf.constant(batches)).numpy())
    return state

  def features(self, state, inputs):
    """The latent mean of ``inputs`` ``[N, D]``: ``[N, widths[-1]]``."""
    mean, _ = state.encode(tf.constant(inputs, tf.float32))
    return mean.numpy()

  def first_layer(self, state):
    """The first encoder kernel ``[D, widths[0]]``.

    That of the mean head when the encoder has no hidden layer.
    """
    layer = (state.encoder_layers[0] if state.encoder_layers else
             state.mean_head)
    return layer.kernel.numpy()
