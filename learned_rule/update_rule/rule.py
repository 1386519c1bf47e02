"""UnsupervisedUpdate: one application of the learned rule, φ_t → φ_{t+1}.

Order of computation (spec §3.1): the top-signal network turns x^L into d^L;
walking from the top layer down to the input, the update network emits h^l
for every unit layer and the signal is sent one layer down through V^l; then
every weight layer gets ΔW from its twelve terms and their merge, and Δb
from the bias rule; V^l receives the same ΔW as W^l. All changes come from
φ_t and are applied at once with the rolling step P ← (1 − α)P − αΔP.

θ is the set of Keras trainable variables of this layer. None of their
shapes depends on the hidden widths or the depth, so one θ trains any
architecture with the top width it was built for (spec §2.1, §3.2).
"""

import keras
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule.update_rule import bias_rule
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import downward_signal
from learned_rule.update_rule import merge
from learned_rule.update_rule import top_signal
from learned_rule.update_rule import update_network
from learned_rule.update_rule import weight_terms


def rolling_step(value, change, step_size):
  """P ← (1 − α)P − αΔP: SGD-like step plus decay with the same α (§3.9)."""
  return (1.0 - step_size) * value - step_size * change


class UnsupervisedUpdate(keras.layers.Layer):
  """The learned, neuron-local unsupervised update rule with parameters θ.

  Args:
    config: A :class:`RuleConfig`; its defaults are the paper's sizes
      (spec §3, §3.11: ≈115k parameters). ``None`` takes ``RuleConfig()``,
      which gin may configure.
    **kwargs: Passed to ``keras.layers.Layer`` (e.g. ``dtype``).

  Call arguments:
    state: φ_t, the state nest of :meth:`BaseMLP.initial_state`.
    pre_activations: z^1..z^L of the base model on this batch.
    activations: x^0..x^L of the base model on this batch.

  Returns:
    φ_{t+1}, a state nest of the same structure.

  Reference:
    paper_spec.md §3 (MoreLocalWeightUpdateProcess, compute_next_state).
  """

  def __init__(self, config=None, **kwargs):
    kwargs.setdefault('name', 'unsupervised_update')
    super().__init__(**kwargs)
    if isinstance(config, dict):
      config = config_lib.RuleConfig.from_dict(config)
    self.config = config or config_lib.RuleConfig()
    c = self.config
    self.step_size = c.step_size
    self.memory_size = c.memory_size
    self.top_width = c.top_width
    dtype = self.dtype_policy
    self.top_signal = top_signal.TopSignal(
        c.top_width, c.top_signal_channels, c.top_signal_layers, c.delta_dim,
        name='top_signal', dtype=dtype)
    self.update_network = update_network.UpdateNetwork(
        c.hidden_size, c.delta_dim, c.update_network_layers, c.memory_size,
        name='update_network', dtype=dtype)
    self.downward_signal = downward_signal.DownwardSignal(
        c.hidden_size, c.delta_dim, name='downward_signal', dtype=dtype)
    self.weight_terms = weight_terms.WeightTerms(
        c.hidden_size, c.num_grad_channels, name='weight_terms', dtype=dtype)
    self.weight_merge = merge.WeightMerge(
        c.normalize_epsilon, c.anti_collapse_scale, name='weight_merge',
        dtype=dtype)
    self.bias_rule = bias_rule.BiasRule(
        c.hidden_size, c.bias_normalize_epsilon, name='bias_rule',
        dtype=dtype)
    self.build()

  def build(self, input_shape=None):
    for sublayer in (self.top_signal, self.update_network,
                     self.downward_signal, self.weight_terms,
                     self.weight_merge, self.bias_rule):
      sublayer.build()
    self.built = True

  def theta_names(self):
    """Names of θ's tensors relative to the rule, in variable order."""
    return [v.path.split('/', 1)[-1] for v in self.trainable_variables]

  def check_compatible(self, model):
    """Raises ValueError if this rule cannot train ``model``."""
    if model.widths[-1] != self.top_width:
      raise ValueError(
          f'This rule trains base models with a top width of '
          f'{self.top_width} (its top-signal network is sized for it, spec '
          f'§3.2); the base model has widths {model.widths}.')
    if model.memory_size != self.memory_size:
      raise ValueError(
          f'The rule reads a per-neuron memory of size {self.memory_size} '
          f'but the base model has memory_size={model.memory_size}.')

  def compute_h(self, state, pre_activations, activations):
    """Runs the top signal and the update network top-down (§3.1–§3.4).

    Returns:
      The list h^0..h^L, each [n_l, B, H] (units first, §3.3).
    """
    layers = state[base_model.LAYERS]
    depth = len(layers)
    signal = self.top_signal(activations[-1])
    hs = [None] * (depth + 1)
    for level in range(depth, -1, -1):
      below = layers[level - 1] if level >= 1 else None
      above = layers[level] if level < depth else None
      x = activations[level]
      z = pre_activations[level - 1] if below else x
      offset = (below[base_model.OFFSET] if below else
                tf.zeros(tf.shape(x)[1:], x.dtype))
      memory = None
      if self.memory_size:
        memory = (below[base_model.MEMORY] if below else
                  tf.zeros(tf.stack([tf.shape(x)[1], self.memory_size]),
                           x.dtype))
      hs[level] = self.update_network(
          x, z, signal, offset,
          below[base_model.KERNEL] if below else None,
          above[base_model.KERNEL] if above else None, memory)
      if below:
        signal = self.downward_signal(signal, z, hs[level],
                                      below[base_model.FEEDBACK_KERNEL])
    return hs

  def layer_changes(self, kernel, upper_h, lower_h, upper_activations,
                    lower_activations):
    """(ΔW, Δb) of one weight layer from φ_t (§3.5–§3.7)."""
    terms, w_tilde = self.weight_terms(kernel, upper_h, lower_h,
                                       upper_activations, lower_activations)
    return self.weight_merge(terms, w_tilde), self.bias_rule(upper_h)

  def call(self, state, pre_activations, activations):
    hs = self.compute_h(state, pre_activations, activations)
    new_layers = []
    for index, entry in enumerate(state[base_model.LAYERS]):
      level = index + 1
      kernel_change, offset_change = self.layer_changes(
          entry[base_model.KERNEL], hs[level], hs[level - 1],
          activations[level], activations[level - 1])
      new_entry = {
          base_model.KERNEL: rolling_step(entry[base_model.KERNEL],
                                          kernel_change, self.step_size),
          # §3.8: identical updates, V gets the ΔW computed from W.
          base_model.FEEDBACK_KERNEL: rolling_step(
              entry[base_model.FEEDBACK_KERNEL], kernel_change,
              self.step_size),
          base_model.OFFSET: rolling_step(entry[base_model.OFFSET],
                                          offset_change, self.step_size),
      }
      if self.memory_size:
        new_entry[base_model.MEMORY] = self.update_network.next_memory(
            entry[base_model.MEMORY], hs[level])
      new_layers.append(new_entry)
    return {base_model.PERMUTATION: state[base_model.PERMUTATION],
            base_model.LAYERS: tuple(new_layers)}

  def get_config(self):
    config = super().get_config()
    config.update(config=self.config.to_dict())
    return config
