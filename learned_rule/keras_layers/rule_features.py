"""RuleFeatures: an exported learned rule and its base model as a Keras layer.

The layer holds the state φ of a base model (spec §2: input permutation,
forward weights W, feedback weights V, offsets b and, as our extension, a
per-neuron memory) as non-trainable Keras weights, and the rule θ that
trains it without labels. :meth:`RuleFeatures.adapt` applies the rule to
unlabeled batches (spec §3.1); calling the layer returns the top features
x^L (spec §2.5), so that a classifier trained with ``model.fit`` can sit on
top of it::

  features = RuleFeatures('cpu_60min', widths=(64, 64, 64, 32))
  features.adapt(unlabeled_images, steps=200)
  model = keras.Sequential([features, keras.layers.Dense(10)])
  model.compile(...)
  model.fit(images, labels)
  features.export_serving('/tmp/features')  # keras.layers.TFSMLayer(...)

The math is the package's own (:func:`learned_rule.model.base_model.forward` and
:class:`learned_rule.update_rule.rule.UnsupervisedUpdate`), the same as the
endpoints of :mod:`learned_rule.export`; unlike those it works for any depth
and compiles with XLA.
"""

import math
import os
import time

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from learned_rule.model import activations as activations_lib
from learned_rule.storage import atomic_files
from learned_rule.model import base_model
from learned_rule import export
from learned_rule.storage import file_io
from learned_rule.model import local_dense
from learned_rule import rules
from learned_rule.storage import run_dirs

# Batch size when adapt() batches a NumPy array: the released code trains
# the base model on batches of 128 (spec §7.1).
DEFAULT_BATCH_SIZE = 128
# Endpoint of export_serving(): Keras' default `call_endpoint` of
# keras.layers.TFSMLayer; also the SavedModel's `serving_default` signature.
SERVE_ENDPOINT = 'serve'
# adapt() logs its progress about this many times (our choice).
_PROGRESS_LINES = 10


def _constant_initializer(value):
  """A Keras initializer that returns ``value`` exactly."""

  def initializer(shape, dtype=None):
    del shape  # The weight is created with the shape of ``value``.
    return tf.cast(value, dtype)

  return initializer


def _export_directory(rule):
  """The exported rule that ``rule`` names: an export, a meta-training run
  directory (its ``export/``) or a shipped rule's name."""
  if not (file_io.exists(rule) or os.sep in rule or
          rule in rules.available()):
    raise export.RuleLoadError(
        f'RuleFeatures: rule={rule!r} is neither a directory nor a shipped '
        f'rule (available: {", ".join(rules.available()) or "none"}).')
  directory = rules.resolve(rule)
  run_export = run_dirs.path(directory, run_dirs.EXPORT)
  if not export.is_export(directory) and export.is_export(run_export):
    return run_export
  return directory


@keras.saving.register_keras_serializable(package='learned_rule')
class RuleFeatures(keras.layers.Layer):
  """The base model of an exported rule, adapted without labels.

  Args:
    rule: Directory of an exported rule (written by
      :func:`learned_rule.export.export_rule`), a meta-training run
      directory (its ``export/`` is used) or the name of a shipped rule
      (:func:`learned_rule.rules.available`).
    widths: Output width of every weight layer of the base model, bottom to
      top; the last is the feature width and must equal the rule's top width
      (spec §3.2: the top-signal network is sized for it; 32 in the paper).
    activation: Nonlinearity of the base model, one of
      :data:`learned_rule.model.activations.ACTIVATIONS`.
    seed: int seed of φ_0. The input permutation and weights are those of
      the export's ``initial_state(input_dim, widths, [seed, 0])``.
    **kwargs: Passed to ``keras.layers.Layer``; ``dtype`` defaults to the
      rule's, in which the layer always computes.

  Call arguments:
    inputs: ``[batch, ...]``, flattened to ``[batch, input_dim]`` (spec
      §2.3). Batch norm uses the statistics of the batch (spec §2.2), so a
      feature depends on the batch its example is in: call the layer on
      batches of at least 2 examples, ideally of the size used in adapt().

  Returns:
    The top features x^L, ``[batch, widths[-1]]`` (spec §2.5). No gradient
    flows into the state; gradients to ``inputs`` do flow.

  Weights:
    All weights are non-trainable: φ (``input_permutation``, then per layer
    i ``kernel_i`` W, ``feedback_kernel_i`` V, ``offset_i`` b and, if the
    rule has a memory, ``memory_i``) and θ (in the sublayer of the rule).
    ``model.fit`` leaves them unchanged; only adapt() writes φ.

  Serialisation:
    :meth:`get_config` holds ``rule`` as given (a path or a shipped name),
    ``widths``, ``activation`` and ``seed``. ``keras.models.load_model``
    (after importing this module) reads the rule again from ``rule``, which
    must exist on the loading machine, then restores θ and the adapted φ
    from the saved weights. The loaded :class:`UnsupervisedUpdate` itself
    and compiled adapt() steps are not part of the config. For use without
    this package or the rule's directory, see :meth:`export_serving`.

  Reference:
    paper_spec.md §2 (base model), §3 (the rule), §8.1 (features x^L feed
    a classifier).
  """

  def __init__(self, rule, widths, activation='relu', seed=0, **kwargs):
    rule = os.fspath(rule)
    directory = _export_directory(rule)
    update_rule, _ = export.load_rule(directory)
    top_width = update_rule.config.top_width
    widths = tuple(widths)
    if not widths:
      raise ValueError('RuleFeatures: `widths` must name at least one layer, '
                       f'the last of width {top_width} (the rule\'s top '
                       'width).')
    for i, width in enumerate(widths):
      local_dense.check_positive_int(f'widths[{i}]', width)
    widths = tuple(int(w) for w in widths)
    if widths[-1] != top_width:
      raise ValueError(
          f'RuleFeatures: `widths`={widths} ends in a top width of '
          f'{widths[-1]}, but the rule {rule!r} trains base models with a '
          f'top width of {top_width} (its top-signal network is sized for '
          f'it, spec §3.2). Make the last width {top_width}, e.g. '
          f'widths={widths[:-1] + (top_width,)}.')
    activations_lib.check_activation(activation)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
      raise ValueError(f'RuleFeatures: `seed` must be an int, got {seed!r}.')
    kwargs.setdefault('dtype', update_rule.compute_dtype)
    super().__init__(**kwargs)
    self.rule = rule
    self.rule_directory = directory
    self.widths = widths
    self.activation = activation
    self.seed = int(seed)
    self.memory_size = update_rule.config.memory_size
    self.state_dtype = update_rule.compute_dtype
    update_rule.trainable = False
    self.update_rule = update_rule
    self.input_dim = None
    self._feature_shape = None
    self._state_weights = []
    self._adapt_step = None

  @property
  def trainable(self):
    return keras.layers.Layer.trainable.fget(self)

  @trainable.setter
  def trainable(self, value):
    """Sets the flag as Keras does, but θ stays frozen: features do not
    depend on θ, only adapt() does, so ``fit`` could not train it."""
    keras.layers.Layer.trainable.fset(self, value)
    update_rule = getattr(self, 'update_rule', None)
    if update_rule is not None:
      update_rule.trainable = False

  # -- Building and the state. -----------------------------------------------

  def build(self, input_shape):
    feature_shape = tuple(input_shape[1:])
    if not feature_shape or any(d is None for d in feature_shape):
      raise ValueError(
          f'RuleFeatures needs inputs of a known shape [batch, features...]; '
          f'got input shape {tuple(input_shape)}. Give the model a '
          f'`keras.Input(shape=...)` or build the layer with '
          f'`build((None, input_dim))`.')
    self._feature_shape = tuple(int(d) for d in feature_shape)
    self.input_dim = math.prod(self._feature_shape)
    state = self._initial_state()
    self._state_weights = [
        self.add_weight(name=name, shape=tuple(value.shape),
                        dtype=value.dtype.name,
                        initializer=_constant_initializer(value),
                        trainable=False)
        for name, value in zip(self._leaf_names(), self._leaves(state))]
    self.built = True

  def _initial_state(self):
    """φ_0 as the export's ``initial_state`` endpoint draws it (§2.2)."""
    seed = tf.constant([self.seed, 0], tf.int64)
    permutation_seed, weight_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 2))
    permutation = tf.random.experimental.stateless_shuffle(
        tf.range(self.input_dim, dtype=tf.int32), permutation_seed)
    return base_model.initial_state(
        self.input_dim, self.widths, weight_seed, permutation=permutation,
        memory_size=self.memory_size, dtype=self.state_dtype)

  def _layer_keys(self):
    keys = (base_model.KERNEL, base_model.FEEDBACK_KERNEL, base_model.OFFSET)
    return keys + ((base_model.MEMORY,) if self.memory_size else ())

  def _leaf_names(self):
    return [base_model.PERMUTATION] + [
        f'{key}_{i}' for i in range(len(self.widths))
        for key in self._layer_keys()]

  def _leaves(self, state):
    """A state nest as a flat list, in the order of the weights."""
    leaves = [state[base_model.PERMUTATION]]
    for entry in state[base_model.LAYERS]:
      leaves.extend(entry[key] for key in self._layer_keys())
    return leaves

  def _pack(self, leaves):
    """The inverse of :meth:`_leaves`."""
    keys = self._layer_keys()
    layers = tuple(
        dict(zip(keys, leaves[1 + i * len(keys):1 + (i + 1) * len(keys)]))
        for i in range(len(self.widths)))
    return {base_model.PERMUTATION: leaves[0], base_model.LAYERS: layers}

  def _check_built(self, what):
    if not self.built:
      raise ValueError(
          f'RuleFeatures.{what}: the layer is not built yet; call it on a '
          f'batch, call adapt(), or build it with `build((None, input_dim))`.')

  def get_state(self):
    """φ as a state nest of tensors, the ``state`` of the export's
    endpoints (see :func:`learned_rule.model.base_model.initial_state`)."""
    self._check_built('get_state')
    return self._pack([tf.identity(w.value) for w in self._state_weights])

  def set_state(self, state):
    """Assigns a state nest of the layer's architecture to the weights."""
    self._check_built('set_state')
    for weight, value in zip(self._state_weights, self._leaves(state),
                             strict=True):
      weight.assign(value)

  # -- Features. --------------------------------------------------------------

  def _flatten(self, inputs):
    inputs = tf.convert_to_tensor(inputs)
    local_dense.check_batch(inputs, 'inputs', check_finite=False)
    features = inputs.shape[1:].num_elements()
    if features is not None and features != self.input_dim:
      raise ValueError(
          f'RuleFeatures: inputs have {features} features per example '
          f'(shape {inputs.shape}) but the layer was built for '
          f'{self.input_dim} (input shape {self._feature_shape}); give inputs '
          f'of that shape, or make a new RuleFeatures layer for yours.')
    return tf.reshape(tf.cast(inputs, self.state_dtype), [-1, self.input_dim])

  def _features(self, state, inputs):
    _, activations = base_model.forward(
        state, inputs, activations_lib.get(self.activation))
    return activations[-1]

  def call(self, inputs):
    state = self._pack([tf.stop_gradient(w.value)
                        for w in self._state_weights])
    return self._features(state, self._flatten(inputs))

  def compute_output_shape(self, input_shape):
    return (input_shape[0], self.widths[-1])

  # -- Adapting φ with the rule. ----------------------------------------------

  def _update(self, state, batch):
    """φ_t → φ_{t+1} on one batch (spec §3.1)."""
    pre_activations, activations = base_model.forward(
        state, batch, activations_lib.get(self.activation))
    return self.update_rule(state, pre_activations, activations)

  def _batches(self, data, batch_size):
    """``data`` as a tf.data.Dataset of batches (or (x, y, ...) tuples)."""
    if isinstance(data, tf.data.Dataset):
      return data
    if isinstance(data, (tuple, list, dict)):
      raise ValueError(
          'RuleFeatures.adapt takes a tf.data.Dataset or one NumPy array of '
          f'inputs [examples, features...], not a {type(data).__name__}; '
          'labels are not needed.')
    array = np.asarray(data)
    if array.ndim < 2 or len(array) < max(batch_size, 2):
      raise ValueError(
          f'RuleFeatures.adapt: the array of shape {array.shape} must hold at '
          f'least batch_size={batch_size} examples (and at least 2: batch '
          'norm, spec §2.2); pass more data or a smaller `batch_size`.')
    return tf.data.Dataset.from_tensor_slices(array).batch(
        batch_size, drop_remainder=True).repeat()

  def adapt(self, data, steps, batch_size=DEFAULT_BATCH_SIZE):
    """Applies the rule's unsupervised update for ``steps`` batches.

    The state is carried as tensors through a compiled step and written
    into the weights once at the end; on an error the weights are left as
    they were.

    Args:
      data: A ``tf.data.Dataset`` of ``[batch, ...]`` input batches, or of
        ``(x, y, ...)`` tuples whose ``x`` is used and the rest ignored; or a
        NumPy array ``[examples, ...]``, cut into batches of ``batch_size``
        (a final partial batch is dropped) and repeated as needed.
      steps: Number of batches, i.e. of rule applications (spec §3.1).
      batch_size: Batch size for a NumPy ``data``; ignored for a dataset.

    Raises:
      ValueError: ``data`` has another form, a batch holds NaN or infinite
        values, or the dataset ends before ``steps`` batches.
    """
    local_dense.check_positive_int('steps', steps)
    local_dense.check_positive_int('batch_size', batch_size)
    iterator = iter(self._batches(data, batch_size))
    if self._adapt_step is None:
      self._adapt_step = tf.function(self._update, reduce_retracing=True)
    every = max(1, steps // _PROGRESS_LINES)
    start = time.monotonic()
    state = None
    for step in range(1, steps + 1):
      try:
        element = next(iterator)
      except StopIteration:
        raise ValueError(
            f'RuleFeatures.adapt: the dataset ended after {step - 1} of '
            f'steps={steps} batches; repeat it (`dataset.repeat()`) or ask '
            'for fewer steps. The layer was left unchanged.') from None
      if isinstance(element, (tuple, list)):
        element = element[0]
      if isinstance(element, dict):
        raise ValueError(
            'RuleFeatures.adapt: dataset elements must be input batches or '
            '(x, y) tuples, not dicts; map the dataset to its input tensor.')
      if not self.built:
        self.build(tuple(element.shape))
      if state is None:
        state = self.get_state()
      batch = self._flatten(element)
      if not bool(tf.reduce_all(tf.math.is_finite(batch))):
        raise ValueError(
            f'RuleFeatures.adapt: batch {step} holds NaN or infinite values '
            '(the rule would spread them through the whole state); replace '
            'or drop them in the data. The layer was left unchanged.')
      state = self._adapt_step(state, batch)
      if step % every == 0 or step == steps:
        logging.info('RuleFeatures.adapt: %d/%d batches, %.1f s.', step,
                     steps, time.monotonic() - start)
    self.set_state(state)

  # -- Serving and config. ----------------------------------------------------

  def export_serving(self, path):
    """Writes the adapted layer as a SavedModel that serves its features.

    The SavedModel has one endpoint, ``serve(inputs)`` → x^L, also its
    ``serving_default`` signature; ``keras.layers.TFSMLayer(path)`` loads
    it, in a process without this package. The directory is replaced
    atomically (:func:`learned_rule.storage.atomic_files.replacing_directory`).

    Args:
      path: Target directory (replaced if it exists).

    Returns:
      ``path`` as a string.
    """
    self._check_built('export_serving')
    archive = keras.export.ExportArchive()
    archive.track(self)

    def serve(inputs):
      return self.call(inputs)

    archive.add_endpoint(
        SERVE_ENDPOINT, serve,
        input_signature=[tf.TensorSpec((None,) + self._feature_shape,
                                       self.state_dtype, name='inputs')])
    with atomic_files.replacing_directory(
        path, last_file='saved_model.pb') as staging:
      archive.write_out(staging, verbose=False)
    return os.fspath(path)

  def get_config(self):
    config = super().get_config()
    config.update(rule=self.rule, widths=list(self.widths),
                  activation=self.activation, seed=self.seed)
    return config
