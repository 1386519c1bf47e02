"""θ from the paper's released TF1 checkpoint (spec §9).

The released rule (``200_tf_graph.zip``, checkpoint prefix
``tf_graph_data.ckpt``) is a TF1 name-based checkpoint of the Sonnet v1
module ``MoreLocalWeightUpdateProcess``. Its variable names are not
documented, so :func:`released_names` derives them from the module structure
of the released code and Sonnet v1's naming rules:

* The module is built at the root of the graph, so every θ variable lives
  under its scope, ``MoreLocalWeightUpdateProcess/``. (The released
  ``run_eval.py`` checks for unrestored variables under
  ``LocalWeightUpdateProcess``, which hints that the checkpoint may use that
  name instead; :func:`import_theta` accepts either.)
* Methods decorated with ``snt.reuse_variables`` add a name scope for ops
  only, so method names never appear in variable names. The exception is
  ``compute_top_delta``, which opens an explicit variable scope of that
  name.
* Sonnet names sub-modules by class: ``conv_1d``, ``batch_norm``, ``linear``;
  a second instance in the same scope becomes ``conv_1d_1``, and so on, and
  each reuse of a method counts from zero again, so every call maps to the
  same variables. ``ConcatUnitConv`` keeps its explicit name, the second
  instance is ``ConcatUnitConv_1``, and its convolutions are numbered inside
  its own scope.
* Conv1D and Linear hold ``w`` ([k, in, out] / [in, out], as Keras
  kernels) and ``b``; BatchNorm (offset only, §3.10) holds ``beta`` of
  shape [1, 1, C] with ``moving_mean`` and ``moving_variance``, which the
  rule never reads (it normalises with batch statistics).
* The low-rank readouts are built by name with the prefix ``forward`` glued
  on without a separator (``forwardweight_readout_0_top/linear``); the
  ``psd`` readout has only a ``_top`` map. The mixture is
  ``forward_weight_readout_coeffs``, its 12 rows in sorted term order, the
  order of ``weight_terms.TERM_NAMES``.
* The creation order: the top signal, then the update network (first batch
  norm over the 36 normalised channels, conv 45→64, its batch norm, a
  ``ConcatUnitConv``, conv 64→64, its batch norm, a second
  ``ConcatUnitConv``), the projection to D (``linear``), the readouts, the
  mixture and ``bias_readout``.

A checkpoint that holds other names is refused with the missing and the
unexpected ones listed, so a holder of the real file can say what differs.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

# The Sonnet module's scope in the released code, and the name its
# evaluation script checks for (see the module docstring).
MODULE_SCOPES = ('MoreLocalWeightUpdateProcess', 'LocalWeightUpdateProcess')
# Variables of the checkpoint that carry no θ: the global step, batch-norm
# moving statistics the rule never uses (§3.10), and meta-optimizer state.
_IGNORED_SUFFIXES = ('/moving_mean', '/moving_variance', '/Adam', '/Adam_1',
                     '/Momentum', '/RMSProp', '/RMSProp_1')
_IGNORED_NAMES = ('global_step', 'beta1_power', 'beta2_power')
# The base model's scope in the released code (its φ, not θ).
_BASE_MODEL_SCOPE = 'LocalWeightUpdateWLearner/'


def _sonnet(name, index):
  """Sonnet's name for the ``index``-th module of default name ``name``."""
  return name if index == 0 else f'{name}_{index}'


def _kernel_and_bias(released, ours):
  """Sonnet's w and b (Conv1D or Linear) → the Keras kernel and bias."""
  return [(f'{released}/w', f'{ours}/kernel'),
          (f'{released}/b', f'{ours}/bias')]


def _norm(released, ours):
  """Sonnet's batch-norm offset beta → our offset."""
  return [(f'{released}/beta', f'{ours}/offset')]


def _top_signal_pairs(config):
  """``compute_top_delta`` (§3.2): an input conv and norm, two unit-mixing
  blocks, ``top_delta_layers`` blocks and an output conv, numbered in
  creation order."""
  ours = (['input', 'unit_mixing_0', 'unit_mixing_1'] +
          [f'block_{i}' for i in range(config.top_signal_layers)])
  pairs = []
  scope = 'compute_top_delta'
  for index, name in enumerate(ours):
    pairs += _kernel_and_bias(f'{scope}/{_sonnet("conv_1d", index)}',
                              f'top_signal/{name}_conv')
    pairs += _norm(f'{scope}/{_sonnet("batch_norm", index)}',
                   f'top_signal/{name}_bn')
  pairs += _kernel_and_bias(f'{scope}/{_sonnet("conv_1d", len(ours))}',
                            'top_signal/output_conv')
  return pairs


def _update_network_pairs(config):
  """``compute_h`` (§3.3): the input norm is Sonnet's first batch norm of
  the scope, then each block is a conv, a norm and a ``ConcatUnitConv``."""
  pairs = _norm('batch_norm', 'update_network/input_bn')
  for block in range(config.update_network_layers + 1):
    pairs += _kernel_and_bias(_sonnet('conv_1d', block),
                              f'update_network/conv_{block}')
    pairs += _norm(_sonnet('batch_norm', block + 1),
                   f'update_network/bn_{block}')
    unit_conv = _sonnet('ConcatUnitConv', block)
    for inner in range(2):
      pairs += _kernel_and_bias(
          f'{unit_conv}/{_sonnet("conv_1d", inner)}',
          f'update_network/unit_conv_{block}/conv_{inner}')
      pairs += _norm(f'{unit_conv}/{_sonnet("batch_norm", inner)}',
                     f'update_network/unit_conv_{block}/bn_{inner}')
  return pairs


def _readout_pairs(rule):
  """The low-rank readouts (§3.5), by the names the rule gives them."""
  pairs = []
  for name in rule.theta_names():
    parts = name.split('/')
    if parts[0] == 'weight_terms' and parts[-1] == 'kernel':
      readout, side = parts[1], parts[2]
      pairs += _kernel_and_bias(f'forward{readout}_{side}/linear',
                                f'weight_terms/{readout}/{side}')
  return pairs


def released_names(rule):
  """``[(released name without scope, θ name of ``rule``)]`` for all of θ."""
  config = rule.config
  return (_top_signal_pairs(config) + _update_network_pairs(config) +
          _kernel_and_bias('linear', 'downward_signal/projection') +
          _readout_pairs(rule) +
          _kernel_and_bias('forward_weight_readout_coeffs',
                           'weight_merge/mixture') +
          _kernel_and_bias('bias_readout', 'bias_rule/readout'))


class CheckpointMismatchError(ValueError):
  """The checkpoint's names or shapes are not those of the released rule."""


@dataclasses.dataclass(frozen=True)
class ImportReport:
  """What :func:`import_theta` read and what it left aside.

  Attributes:
    scope: The module scope the checkpoint uses.
    imported: Number of θ tensors read.
    ignored: Checkpoint names that carry no θ (moving statistics, global
      step, base model, optimizer slots).
  """

  scope: str
  imported: int
  ignored: tuple


def _ignored(name):
  return (name in _IGNORED_NAMES or name.endswith(_IGNORED_SUFFIXES) or
          name.startswith(_BASE_MODEL_SCOPE))


def _fits(found, target, is_offset):
  """Whether a released shape holds a θ tensor of shape ``target``.

  Sonnet's batch-norm offsets are [1, 1, C] where ours are [C]; every other
  tensor has the same layout in both.
  """
  if is_offset:
    return (int(np.prod(found)) == int(np.prod(target)) and
            tuple(found[-1:]) == tuple(target[-1:]))
  return tuple(found) == tuple(target)


def _best_scope(found):
  """The module scope that explains the most checkpoint names."""
  return max(MODULE_SCOPES, key=lambda scope: sum(
      name.startswith(scope + '/') for name in found))


def import_theta(prefix, config=None):
  """Reads the released θ into a rule of this package.

  Args:
    prefix: The checkpoint prefix (``.../tf_graph_data.ckpt``).
    config: The :class:`RuleConfig`; default: the paper's (α = 1e-4,
      H = 64, C = 32; spec §3).

  Returns:
    ``(rule, report)``: an :class:`UnsupervisedUpdate` holding the released
    θ exactly, and an :class:`ImportReport`.

  Raises:
    CheckpointMismatchError: a θ name is missing, a name is unexpected, or
      a shape differs; every one is listed.
    ValueError: ``prefix`` is not a readable checkpoint.
  """
  try:
    reader = tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, ValueError) as error:
    raise ValueError(
        f'Cannot read a TF checkpoint at {prefix!r} (give the prefix, e.g. '
        f'.../tf_graph_data.ckpt): {error}') from error
  shapes = reader.get_variable_to_shape_map()
  rule = rule_lib.UnsupervisedUpdate(config or config_lib.RuleConfig())
  scope = _best_scope(shapes)
  pairs = [(f'{scope}/{released}', ours)
           for released, ours in released_names(rule)]
  variables = dict(zip(rule.theta_names(), rule.trainable_variables))
  expected = {released for released, _ in pairs}
  missing = sorted(expected - set(shapes))
  unexpected = sorted(name for name in shapes
                      if name not in expected and not _ignored(name))
  if missing or unexpected:
    raise CheckpointMismatchError(
        f'{prefix} is not the released rule as derived here (module scope '
        f'{scope!r}, {len(expected)} θ names): {len(missing)} missing '
        f'{missing}; {len(unexpected)} unexpected {unexpected}. See '
        'learned_rule/rules/paper_checkpoint.py for how the names were derived.')
  wrong = [f'{released}: {tuple(shapes[released])}, expected '
           f'{tuple(variables[ours].shape)}'
           for released, ours in pairs
           if not _fits(shapes[released], tuple(variables[ours].shape),
                        released.endswith('/beta'))]
  if wrong:
    raise CheckpointMismatchError(
        f'{prefix} has θ tensors of other shapes than a rule of '
        f'{rule.config} (is it another configuration?): ' + '; '.join(wrong))
  for released, ours in pairs:
    variable = variables[ours]
    value = np.reshape(reader.get_tensor(released), variable.shape)
    variable.assign(value.astype(variable.dtype))
  ignored = tuple(sorted(name for name in shapes if _ignored(name)))
  return rule, ImportReport(scope=scope, imported=len(pairs), ignored=ignored)
