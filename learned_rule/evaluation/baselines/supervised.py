"""Baseline: the base model trained by backprop on the labelled support set.

"Supervised learning on the same labelled examples, same architecture"
(spec §8.2): for every few-shot draw of a :class:`Setting`, a freshly
initialised base model (spec §2.2: linear without bias, batch norm with
batch statistics and no scale, offset, activation) gets a linear softmax
head and is trained full-batch on that draw's support set with Adam on the
cross-entropy. Its top hidden layer is then probed like every other method.

All draws start from the same initial weights, those of
``BaseMLP(seed=setting.seed)``, and are trained side by side as one stack of
independent models: every weight carries a leading draw axis and the loss
is the sum of the per-draw losses. Adam acts elementwise, so this is exactly
one model and one optimizer per draw, in a single compiled step.
"""

import gin
import keras
import numpy as np
import tensorflow as tf

from learned_rule.model import activations as activations_lib
from learned_rule.model import base_model
from learned_rule.model import local_dense
from learned_rule.reporting import method_names
from learned_rule.evaluation import protocol

# Adam learning rate. Spec §8.2 gives no details of this baseline; 1e-3 is
# our choice (Keras' default).
LEARNING_RATE = 1e-3
# Offset added to the seed of the head's initializer, so it draws other
# numbers than the base model's layers (which use seed + 10 * layer).
_HEAD_SEED_OFFSET = 7919


class StackedClassifiers(keras.Model):
  """``copies`` independent base models with softmax heads, as one model.

  Args:
    initial_model: A :class:`BaseMLP` whose weights every copy starts from.
    num_classes: Outputs of the linear softmax head.
    copies: Number of independent models (one per few-shot draw).
    seed: Seed of the head's initializer (shared by the copies).
    **kwargs: Passed to ``keras.Model``.

  Call arguments:
    inputs: ``[copies, batch, input_dim]``; copy r sees ``inputs[r]``.

  Returns:
    ``(features, logits)``: ``[copies, batch, widths[-1]]`` top hidden-layer
    activations and ``[copies, batch, num_classes]`` head outputs.
  """

  def __init__(self, initial_model, num_classes, copies, seed, **kwargs):
    super().__init__(**kwargs)
    self.activation = activations_lib.get(initial_model.activation_name)
    self.kernels, self.offsets = [], []
    for i, layer in enumerate(initial_model.dense_layers):
      self.kernels.append(self._stacked(f'kernel_{i}', layer.kernel, copies))
      self.offsets.append(self._stacked(f'offset_{i}', layer.offset, copies))
    head_kernel = keras.initializers.GlorotUniform(seed=seed)(
        (initial_model.widths[-1], num_classes))
    self.head_kernel = self._stacked('head_kernel', head_kernel, copies)
    self.head_bias = self._stacked('head_bias', np.zeros(num_classes),
                                   copies)

  def _stacked(self, name, value, copies):
    value = tf.convert_to_tensor(value, tf.float32).numpy()
    return self.add_weight(
        name=name, shape=(copies,) + value.shape,
        initializer=keras.initializers.Constant(
            np.broadcast_to(value, (copies,) + value.shape)))

  def call(self, inputs):
    x = inputs
    for kernel, offset in zip(self.kernels, self.offsets):
      # The base-model layer of spec §2.2, per copy: batch statistics over
      # that copy's examples (axis 1).
      linear = tf.matmul(x, kernel)
      mean, variance = tf.nn.moments(linear, axes=[1], keepdims=True)
      x = self.activation(
          (linear - mean) * tf.math.rsqrt(
              variance + local_dense.BATCH_NORM_EPSILON) +
          offset[:, tf.newaxis, :])
    logits = tf.matmul(x, self.head_kernel) + self.head_bias[:, tf.newaxis]
    return x, logits


@gin.configurable
class SupervisedBackprop(protocol.FeatureMethod):
  """Backprop on each draw's support labels (spec §8.2).

  The unlabeled stream is not used. At probed step ``s`` every draw's model
  has taken exactly ``s`` full-batch Adam steps on its support set (step 0:
  untrained); the features are the top hidden layer's activations on that
  draw's support and query, computed in one call as in
  :func:`protocol.draw_features`.

  With the 'step' activation no gradient reaches the hidden layers, so only
  the head trains and the features stay those of the initial model.

  Args:
    learning_rate: Adam learning rate (ours, spec §8.2 gives none).

  Attributes:
    loss_history: float ``[steps, num_draws]``: the support-set
      cross-entropy of every draw's model before each Adam step of the last
      trajectory (row ``t`` is the loss at step ``t``).
  """

  name = method_names.SUPERVISED

  def __init__(self, learning_rate=LEARNING_RATE):
    if not learning_rate > 0:
      raise ValueError(f'`learning_rate` must be > 0, got {learning_rate}.')
    self.learning_rate = learning_rate
    self.loss_history = np.zeros((0, 0), np.float32)

  def trajectory(self, setting):
    draws = setting.draws()
    support_x = np.stack([draw.support_x for draw in draws])
    support_y = np.stack([draw.support_y for draw in draws])
    all_x = np.concatenate(
        [support_x, np.stack([draw.query_x for draw in draws])], axis=1)
    count = support_x.shape[1]

    model = StackedClassifiers(
        base_model.BaseMLP(setting.data.input_dim, setting.widths,
                           setting.activation, seed=setting.seed),
        setting.data.num_classes, len(draws),
        seed=setting.seed + _HEAD_SEED_OFFSET)
    train = _train_function(model,
                            keras.optimizers.Adam(self.learning_rate))
    support_x = tf.constant(support_x)
    support_y = tf.constant(support_y)

    losses = []
    self.loss_history = np.zeros((0, len(draws)), np.float32)
    previous = 0
    for step in setting.steps:
      if step > previous:
        losses.append(train(support_x, support_y,
                            tf.constant(step - previous)).numpy())
        self.loss_history = np.concatenate(losses)
      previous = step
      features = model(all_x)[0].numpy()
      yield step, [(draw_features[:count], draw_features[count:])
                   for draw_features in features]


def _train_function(model, optimizer):
  """A compiled ``(x, y, num_steps) → losses [num_steps, copies]``.

  Takes ``num_steps`` full-batch Adam steps on the sum over copies of each
  copy's mean cross-entropy; traced once per model.
  """
  variables = model.trainable_variables
  optimizer.build(variables)
  copies = model.head_bias.shape[0]

  @tf.function
  def train(inputs, labels, num_steps):
    losses = tf.TensorArray(tf.float32, size=num_steps,
                            element_shape=[copies])
    for step in tf.range(num_steps):
      with tf.GradientTape() as tape:
        _, logits = model(inputs)
        per_copy = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits),
            axis=1)
        total = tf.reduce_sum(per_copy)
      # Unconnected gradients are zero: the 'step' activation has none.
      gradients = tape.gradient(
          total, variables,
          unconnected_gradients=tf.UnconnectedGradients.ZERO)
      optimizer.apply_gradients(zip(gradients, variables))
      losses = losses.write(step, per_copy)
    return losses.stack()

  return train
