"""Learned rules as SavedModels with named endpoints.

An exported rule is self-contained: a process that never imports
``learned_rule`` loads it with plain ``tf.saved_model.load`` and calls

* ``metadata()`` → JSON string: format version, package version, the
  :class:`RuleConfig`, θ's names and shapes, and free-form provenance
  (e.g. the training config);
* ``initial_state(input_dim, widths, seed)`` → a fresh base-model state φ_0
  for any architecture with the rule's top width (spec §2.2);
* ``unsupervised_update(state, batch, activation)`` → φ_{t+1} (spec §3.1);
* ``features(state, inputs, activation)`` → the top features x^L (§2.5);
* ``serve_features({'inputs': ..., 'state': ..., 'activation': ...})`` →
  the same features from one structured argument, the calling convention of
  ``keras.layers.TFSMLayer(directory, call_endpoint='serve_features')``.
  Exports written before this endpoint existed (the shipped rules among
  them) lack it and keep working with the other endpoints; re-export a rule
  to add it.

Widths, batch size and input size are dynamic; one concrete function is
traced per depth in ``depths``. ``activation`` is a string tensor naming any
of :data:`learned_rule.model.activations.ACTIVATIONS`.

:func:`load_rule` brings an export back into the package as an
:class:`UnsupervisedUpdate` for further training or evaluation, and says
what is wrong with a corrupt or incompatible directory.
"""

import json
import os

import tensorflow as tf

from learned_rule.model import activations as activations_lib
from learned_rule.storage import atomic_files
from learned_rule.model import base_model
from learned_rule.storage import file_io
from learned_rule import version
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

# Version of the layout below; bump on any incompatible change.
FORMAT_VERSION = 1
FORMAT_NAME = 'learned_rule.UnsupervisedUpdate'
# Depths traced by default: the paper meta-trains on 2–5 layers and its
# evaluation model has 5 weight layers (spec §6.2, §8.1). Tracing costs time
# roughly linear in the depth (about 2.5 minutes for depths 1–11 at the
# paper's sizes on 2 cores), so deeper ones (the paper transfers to 11
# layers, §8.3) are exported on request: ``depths=range(1, 12)``.
DEFAULT_DEPTHS = (2, 3, 4, 5, 6)
_ACTIVATION_NAMES = tuple(sorted(activations_lib.ACTIVATIONS))


class RuleLoadError(ValueError):
  """An exported rule is missing, corrupt or incompatible."""


def _apply_named_activation(name, z):
  """Applies the activation whose name is the string tensor ``name``."""
  matches = tf.equal(tf.constant(_ACTIVATION_NAMES), name)
  check = tf.debugging.assert_equal(
      tf.reduce_any(matches), True,
      message=f'Unknown activation; allowed: {", ".join(_ACTIVATION_NAMES)}')
  with tf.control_dependencies([check]):
    index = tf.argmax(tf.cast(matches, tf.int32), output_type=tf.int32)
  branches = [lambda fn=activations_lib.ACTIVATIONS[n]: fn(z)
              for n in _ACTIVATION_NAMES]
  return tf.switch_case(index, branches)


class ExportedRule(tf.Module):
  """The tf.Module that is saved: θ, metadata and the endpoints."""

  def __init__(self, rule, metadata, depths):
    super().__init__(name='learned_rule')
    self.rule = rule
    self.theta = list(rule.trainable_variables)
    self._metadata = tf.constant(json.dumps(metadata, sort_keys=True))
    self._top_width = rule.config.top_width
    self._memory_size = rule.config.memory_size
    self._dtype = tf.as_dtype(rule.compute_dtype)
    self.depths = tuple(depths)

  @tf.function(input_signature=[])
  def metadata(self):
    return self._metadata

  def _state_spec(self, depth):
    layers = []
    for index in range(depth):
      width = self._top_width if index == depth - 1 else None
      entry = {base_model.KERNEL: tf.TensorSpec([None, width], self._dtype),
               base_model.FEEDBACK_KERNEL: tf.TensorSpec([None, width],
                                                         self._dtype),
               base_model.OFFSET: tf.TensorSpec([width], self._dtype)}
      if self._memory_size:
        entry[base_model.MEMORY] = tf.TensorSpec(
            [width, self._memory_size], self._dtype)
      layers.append(entry)
    return {base_model.PERMUTATION: tf.TensorSpec([None], tf.int32),
            base_model.LAYERS: tuple(layers)}

  @tf.function
  def initial_state(self, input_dim, widths, seed):
    permutation_seed, weight_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 2))
    permutation = tf.random.experimental.stateless_shuffle(
        tf.range(input_dim, dtype=tf.int32), permutation_seed)
    return base_model.initial_state(
        input_dim, tf.unstack(widths), weight_seed, permutation=permutation,
        memory_size=self._memory_size, dtype=self._dtype)

  @tf.function
  def unsupervised_update(self, state, batch, activation):
    pre_activations, activations = base_model.forward(
        state, batch, lambda z: _apply_named_activation(activation, z))
    return self.rule(state, pre_activations, activations)

  @tf.function
  def features(self, state, inputs, activation):
    return self._top_features(state, inputs, activation)

  @tf.function
  def serve_features(self, inputs):
    """``features`` with one structured argument, for ``TFSMLayer``.

    ``keras.layers.TFSMLayer`` calls an endpoint with a single ``inputs``
    argument; this one takes ``{'inputs': [batch, input_dim], 'state': a
    state nest, 'activation': a string scalar}``. Added without a format
    version bump: older exports lack it and stay readable.
    """
    return self._top_features(inputs['state'], inputs['inputs'],
                              inputs['activation'])

  def _top_features(self, state, inputs, activation):
    """x^L of the base model with state ``state`` (spec §2.5)."""
    _, activations = base_model.forward(
        state, inputs, lambda z: _apply_named_activation(activation, z))
    return activations[-1]

  def trace(self):
    """Traces one concrete function per depth for every endpoint."""
    self.metadata.get_concrete_function()
    for depth in self.depths:
      widths = tf.TensorSpec([depth], tf.int32)
      self.initial_state.get_concrete_function(
          tf.TensorSpec([], tf.int32), widths, tf.TensorSpec([2], tf.int64))
      state = self._state_spec(depth)
      batch = tf.TensorSpec([None, None], self._dtype)
      name = tf.TensorSpec([], tf.string)
      self.unsupervised_update.get_concrete_function(state, batch, name)
      self.features.get_concrete_function(state, batch, name)
      self.serve_features.get_concrete_function(
          {'inputs': batch, 'state': state, 'activation': name})


def rule_metadata(rule, extra=None):
  """The metadata dict stored with an export."""
  return {
      'format': FORMAT_NAME,
      'format_version': FORMAT_VERSION,
      'package_version': version.__version__,
      'rule_config': rule.config.to_dict(),
      'dtype': rule.compute_dtype,
      'theta': [{'name': name, 'shape': list(v.shape)}
                for name, v in zip(rule.theta_names(),
                                   rule.trainable_variables)],
      'activations': list(_ACTIVATION_NAMES),
      'extra': extra or {},
  }


def export_rule(rule, directory, metadata=None, depths=DEFAULT_DEPTHS):
  """Writes ``rule`` as a SavedModel to ``directory``, atomically.

  The SavedModel is written to a temporary sibling and renamed into place
  (:func:`learned_rule.storage.atomic_files.replacing_directory`): ``directory``
  holds the previous or the new complete export, except for the instant
  between two renames; if the second rename fails, the previous export is
  put back. On a filesystem without one-step directory renames (object
  stores such as ``gs://``; ``ram://``) it is moved file by file instead,
  ``saved_model.pb`` last, so :func:`is_export` is true only of a complete
  export.

  Args:
    rule: An :class:`UnsupervisedUpdate`.
    directory: Target directory (replaced if it exists), a local path or a
      URL of any TensorFlow filesystem.
    metadata: Optional JSON-serialisable provenance (training config, step).
    depths: Numbers of weight layers to trace endpoints for.

  Returns:
    ``directory``.
  """
  depths = tuple(int(d) for d in depths)
  if not depths or min(depths) < 1:
    raise ValueError(f'`depths` must be positive ints, got {depths}.')
  directory = file_io.absolute(directory)
  module = ExportedRule(rule, rule_metadata(rule, metadata), depths)
  module.trace()
  with atomic_files.replacing_directory(
      directory, last_file='saved_model.pb') as staging:
    tf.saved_model.save(module, staging)
  return directory


def read_metadata(loaded, directory=''):
  """The metadata dict of a loaded SavedModel, or a RuleLoadError."""
  if not hasattr(loaded, 'metadata'):
    raise RuleLoadError(
        f'{directory} is a SavedModel but not an exported learned rule: it '
        f'has no `metadata` endpoint.')
  try:
    metadata = json.loads(loaded.metadata().numpy().decode('utf-8'))
  except (ValueError, tf.errors.OpError) as error:
    raise RuleLoadError(
        f'The metadata of {directory} cannot be read: {error}') from error
  if metadata.get('format') != FORMAT_NAME:
    raise RuleLoadError(
        f'{directory} holds format {metadata.get("format")!r}, not '
        f'{FORMAT_NAME!r}.')
  found = metadata.get('format_version')
  if found != FORMAT_VERSION:
    writer = metadata.get('package_version', 'an unknown version')
    newer = isinstance(found, int) and found > FORMAT_VERSION
    raise RuleLoadError(
        f'{directory} has format version {found} (written by learned_rule '
        f'{writer}); this package, learned_rule {version.__version__}, reads '
        f'version {FORMAT_VERSION}. '
        + (f'Install learned_rule {writer} or newer (pip install -U '
           'learned_rule) to load it.' if newer else
           'Export the rule again with this version.'))
  return metadata


def is_export(directory):
  """Whether ``directory`` holds a SavedModel (a rule or not)."""
  path = os.path.join(directory, 'saved_model.pb')
  return tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path)


def load_saved_model(directory):
  """``tf.saved_model.load`` with clear errors for what is wrong."""
  if not tf.io.gfile.isdir(directory):
    raise RuleLoadError(f'No exported rule at {directory}: not a directory.')
  if not tf.io.gfile.exists(os.path.join(directory, 'saved_model.pb')):
    raise RuleLoadError(
        f'{directory} is not a SavedModel: saved_model.pb is missing.')
  try:
    return tf.saved_model.load(directory)
  except Exception as error:  # pylint: disable=broad-except
    reason = str(error).strip().split('\n', 1)[0]
    raise RuleLoadError(
        f'The SavedModel at {directory} is corrupt and cannot be loaded '
        f'({type(error).__name__}: {reason}). Export the rule again, or copy '
        'it again from where it was made (a shipped rule: reinstall '
        'learned_rule).') from error


def load_rule(directory, expected_config=None):
  """Loads an exported rule back into an :class:`UnsupervisedUpdate`.

  Args:
    directory: A directory written by :func:`export_rule`.
    expected_config: Optional :class:`RuleConfig` the rule must match;
      differences are named in the error.

  Returns:
    ``(rule, metadata)``.

  Raises:
    RuleLoadError: the directory is missing, corrupt or incompatible.
  """
  loaded = load_saved_model(directory)
  metadata = read_metadata(loaded, directory)
  try:
    config = config_lib.RuleConfig.from_dict(metadata['rule_config'])
  except (KeyError, TypeError, ValueError) as error:
    raise RuleLoadError(
        f'{directory} has an unusable rule config: {error}') from error
  if expected_config is not None and config != expected_config:
    raise RuleLoadError(
        f'{directory} holds a rule with a different configuration: ' +
        '; '.join(config.differences(expected_config)) + ' (saved vs expected)')
  try:
    rule = rule_lib.UnsupervisedUpdate(config, dtype=metadata.get('dtype'))
    found = [(entry['name'], tuple(entry['shape']))
             for entry in metadata['theta']]
  except (KeyError, TypeError, ValueError) as error:
    raise RuleLoadError(
        f'{directory} has unusable metadata: {type(error).__name__}: '
        f'{error}') from error
  saved = list(getattr(loaded, 'theta', []))
  expected = [(name, tuple(v.shape)) for name, v in
              zip(rule.theta_names(), rule.trainable_variables)]
  if found != expected or len(saved) != len(expected):
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    raise RuleLoadError(
        f'θ in {directory} does not fit this package\'s rule: '
        f'{len(saved)} saved tensors for {len(expected)} expected; missing '
        f'{missing[:5]}, unexpected {unexpected[:5]}.')
  for name, variable, value in zip(rule.theta_names(),
                                  rule.trainable_variables, saved):
    if tuple(value.shape) != tuple(variable.shape):
      raise RuleLoadError(
          f'θ tensor {name} in {directory} has shape {tuple(value.shape)}, '
          f'its metadata says {tuple(variable.shape)}.')
    variable.assign(value)
  return rule, metadata
