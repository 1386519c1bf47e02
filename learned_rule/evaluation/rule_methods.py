"""Methods of the transfer evaluation that run a rule on a base model.

- ``learned_rule``: the meta-trained rule applied once per unlabeled batch
  (spec §8.1).
- ``theta_init``: the same rule at its initial, never meta-trained θ (the
  paired baseline of meta-training).
- ``random_init``: the base model as initialised, never updated; its
  features are the same at every step (spec §8.2: random init + readout).

All three build the same base model from the setting's seed (weights and
input permutation), so at step 0 they are the same features.
"""

import math
import weakref

import numpy as np
import tensorflow as tf

from learned_rule.model import base_model as base_model_lib
from learned_rule.unroll import inner_loop as inner_loop_lib
from learned_rule.reporting import method_names
from learned_rule.evaluation import protocol

# Longest unroll compiled at once (ours): bounds the batches a while-loop
# holds (10,000 steps of 128 × 784 floats would be 4 GB); equal to
# protocol.MAX_CHUNK, the most the stream hands over at once.
MAX_UNROLL = 250


def common_piece(steps, max_unroll=MAX_UNROLL, shortest=16):
  """One unroll length that divides every chunk of a step list, or None.

  Each new unroll length costs a compile; with the usual step lists (0,
  100, 300, 1000, ...) every chunk is a whole number of 100-step pieces.
  Pieces shorter than ``shortest`` (ours: 16) would cost more calls than
  compiles.
  """
  gaps = [b - a for a, b in zip((0,) + tuple(steps), steps) if b > a]
  if not gaps:
    return None
  divisor = math.gcd(*gaps)
  piece = max((d for d in range(1, min(divisor, max_unroll) + 1)
               if divisor % d == 0), default=None)
  return piece if piece is not None and piece >= shortest else None


def unroll_pieces(length, max_unroll=MAX_UNROLL, piece=None):
  """Splits ``length`` inner steps into pieces of at most ``max_unroll``.

  Uses ``piece`` when it divides ``length``; else equal pieces where
  possible, else full pieces and one remainder.
  """
  if length <= 0:
    return []
  if piece and piece <= max_unroll and length % piece == 0:
    return [piece] * (length // piece)
  fewest = math.ceil(length / max_unroll)
  for count in range(fewest, 2 * fewest + 1):
    if length % count == 0:
      return [length // count] * count
  full, remainder = divmod(length, max_unroll)
  return [max_unroll] * full + ([remainder] if remainder else [])


# Compiled feature functions, per rule (held while the rule lives, as
# inner_loop.cached holds its unrolls) and base-model architecture.
_FEATURE_FUNCTIONS = weakref.WeakKeyDictionary()


def feature_function(rule, model):
  """The compiled ``(state, inputs [N, D]) → features`` of ``model``'s
  architecture, shared by every seed and method of ``rule``.

  ``stateless_call`` runs the model it closes over on the variables of the
  ``state`` argument, so the first model of an architecture
  (:attr:`BaseMLP.signature`) serves all of them; the input signature
  leaves the number of examples open. One trace per architecture, where a
  function per state retraced for every seed.
  """
  functions = _FEATURE_FUNCTIONS.setdefault(rule, {})
  if model.signature not in functions:
    functions[model.signature] = tf.function(
        lambda state, inputs: model.functional_forward(state, inputs)[1][-1],
        input_signature=(model.state_spec(), tf.TensorSpec(
            [None, model.input_dim], model.compute_dtype)),
        autograph=False)
  return functions[model.signature]


class _BaseModelState:
  """A base model, its state nest φ and its architecture's compiled
  feature function (:func:`feature_function`)."""

  def __init__(self, model, state, features):
    self.model = model
    self.state = state
    self.features = features


class RuleMethod(protocol.UnsupervisedMethod):
  """Features of a base model trained by a rule on the unlabeled stream.

  Args:
    rule: An :class:`UnsupervisedUpdate`.
    name: Name in the results (e.g. 'learned_rule', 'theta_init').
    permute_inputs: Give the base model a fixed random input permutation
      drawn from the setting's seed (the paper always does, spec §2.3);
      False keeps the pixels in order (the permuted-input ablation).
    jit_compile: XLA for the unroll.
  """

  def __init__(self, rule, name=method_names.LEARNED_RULE,
               permute_inputs=True, jit_compile=True):
    self.rule = rule
    self.name = name
    self.permute_inputs = permute_inputs
    self.jit_compile = jit_compile

  def build_model(self, setting):
    """The base model of ``setting``; raises ValueError if the rule can't
    train it (top width, memory)."""
    model = base_model_lib.BaseMLP(
        setting.data.input_dim, setting.widths, setting.activation,
        memory_size=self.rule.config.memory_size,
        permutation_seed=setting.seed if self.permute_inputs else None,
        dtype=self.rule.compute_dtype)
    self.rule.check_compatible(model)
    return model

  def start(self, setting):
    model = self.build_model(setting)
    self._piece = common_piece(setting.steps)
    return _BaseModelState(model, model.initial_state(setting.seed),
                           feature_function(self.rule, model))

  def train(self, state, batches):
    loop = inner_loop_lib.cached(self.rule, self.jit_compile)
    done = 0
    for length in unroll_pieces(len(batches), piece=self._piece):
      state.state = loop.unroll(state.model, state.state,
                                batches[done:done + length])
      done += length
    return state

  def features(self, state, inputs):
    return state.features(state.state, tf.constant(
        inputs, state.model.compute_dtype)).numpy()

  def first_layer(self, state):
    kernel = state.state[base_model_lib.LAYERS][0][base_model_lib.KERNEL]
    permutation = state.state[base_model_lib.PERMUTATION].numpy()
    # Row i weighs input pixel permutation[i]; back to pixel order.
    return kernel.numpy()[np.argsort(permutation)]


class RandomInit(RuleMethod):
  """The base model as initialised: the rule's step 0, never updated."""

  def __init__(self, rule, name=method_names.RANDOM_INIT,
               permute_inputs=True):
    super().__init__(rule, name, permute_inputs)

  def train(self, state, batches):
    del batches  # Never trained.
    return state
