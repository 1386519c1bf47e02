"""The hyper-parameters of a learned rule, in one gin-configurable record.

A :class:`RuleConfig` fixes the shapes and constants of θ. It travels with
every exported rule and checkpoint, so a rule can be rebuilt, and a mismatch
reported field by field. Defaults are the paper's (spec §3, §3.11).
"""

import dataclasses

import gin

from learned_rule.update_rule import bias_rule
from learned_rule.update_rule import merge

# §2.1 / §3.2: the top width the released θ was built for.
PAPER_TOP_WIDTH = 32
# §3.9: α of the rolling step, hard-coded to 1e-4 in the released rule.
PAPER_STEP_SIZE = 1e-4


@gin.configurable
@dataclasses.dataclass(frozen=True)
class RuleConfig:
  """Hyper-parameters of :class:`UnsupervisedUpdate`.

  Attributes:
    top_width: Top width C of the base models the rule trains (§3.2: 32).
    hidden_size: H, channels of h, ``compute_h_size`` (§3.3: 64).
    delta_dim: D, channels of the top-down signal (§3.2: 32).
    num_grad_channels: G of every low-rank readout (§3.5: 4).
    top_signal_channels: ``top_delta_size`` (§3.2: 64).
    top_signal_layers: ``top_delta_layers`` (§3.2: 2).
    update_network_layers: ``compute_h_layers`` (§3.3: 1).
    memory_size: Per-neuron memory channels M. 0 is the paper, which keeps
      no per-neuron state (§4); M > 0 is our extension.
    step_size: α of the rolling step P ← (1 − α)P − αΔP (§3.9: 1e-4).
    normalize_epsilon: ε of the merge's soft normalisation (§3.6: 1.0).
    anti_collapse_scale: Scale of the −w̃ term of the merge (§3.6: 1/7).
    bias_normalize_epsilon: ε of the bias normalisation (§3.7: 0.5).
  """

  top_width: int = PAPER_TOP_WIDTH
  hidden_size: int = 64
  delta_dim: int = 32
  num_grad_channels: int = 4
  top_signal_channels: int = 64
  top_signal_layers: int = 2
  update_network_layers: int = 1
  memory_size: int = 0
  step_size: float = PAPER_STEP_SIZE
  normalize_epsilon: float = merge.NORMALIZE_EPSILON
  anti_collapse_scale: float = merge.ANTI_COLLAPSE_SCALE
  bias_normalize_epsilon: float = bias_rule.NORMALIZE_EPSILON

  def __post_init__(self):
    for name in ('top_width', 'hidden_size', 'delta_dim', 'num_grad_channels',
                 'top_signal_channels'):
      value = getattr(self, name)
      if isinstance(value, bool) or int(value) != value or value <= 0:
        raise ValueError(f'`{name}` must be a positive int, got {value!r}.')
    for name in ('top_signal_layers', 'update_network_layers', 'memory_size'):
      value = getattr(self, name)
      if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f'`{name}` must be an int >= 0, got {value!r}.')
    for name in ('step_size', 'normalize_epsilon', 'anti_collapse_scale',
                 'bias_normalize_epsilon'):
      if not getattr(self, name) > 0:
        raise ValueError(f'`{name}` must be > 0, got {getattr(self, name)!r}.')

  def to_dict(self):
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values):
    """Builds a config, naming any field it does not know."""
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
      raise ValueError(f'Unknown RuleConfig fields {unknown}; known fields: '
                       f'{sorted(known)}.')
    return cls(**values)

  def differences(self, other):
    """Lines 'field: ours vs theirs' for every field that differs."""
    ours, theirs = self.to_dict(), other.to_dict()
    return [f'{name}: {ours[name]!r} vs {theirs[name]!r}'
            for name in ours if ours[name] != theirs[name]]
