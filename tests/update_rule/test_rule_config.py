"""θ's structure at the paper's sizes, and RuleConfig validation."""

import numpy as np
import pytest

from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib


def _count(variables):
  return sum(int(np.prod(v.shape)) for v in variables)


def test_paper_theta_has_the_spec_parameter_counts():
  # Spec §3.11: top signal ≈37.7k, update network ≈70.9k, to_delta 2.1k,
  # bias readout 65, 15 readouts 3.9k, mixture 13; ≈115k in all. Exactly,
  # with (k·in·out + out) per conv and one offset per BN channel (§3.2,
  # §3.3): top signal = (5·64 + 64 + 64) + 2·(3·32·32 + 32 + 32)
  # + 2·(3·64·64 + 64 + 64) + (3·64·32 + 32).
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
  conv_bn = lambda k, i, o: k * i * o + o + o
  unit_conv = 2 * conv_bn(3, 64, 64)
  assert _count(rule.top_signal.trainable_variables) == (
      conv_bn(5, 1, 64) + 2 * conv_bn(3, 32, 32) + 2 * conv_bn(3, 64, 64) +
      3 * 64 * 32 + 32) == 37_728
  # Update network: BN of the 36 normalised channels, conv 45 → 64 + BN,
  # UnitConv, conv 64 → 64 + BN, UnitConv.
  assert _count(rule.update_network.trainable_variables) == (
      36 + conv_bn(3, 45, 64) + unit_conv + conv_bn(3, 64, 64) +
      unit_conv) == 70_884
  assert _count(rule.downward_signal.trainable_variables) == 64 * 32 + 32
  assert _count(rule.bias_rule.trainable_variables) == 65
  assert _count(rule.weight_terms.trainable_variables) == 15 * (64 * 4 + 4)
  assert _count(rule.weight_merge.trainable_variables) == 13
  assert _count(rule.trainable_variables) == 114_670


@pytest.mark.parametrize('field, value', [
    ('hidden_size', 0), ('top_width', -1), ('delta_dim', 2.5),
    ('memory_size', -1), ('step_size', 0.0), ('normalize_epsilon', -1.0),
    ('anti_collapse_scale', 0.0), ('bias_normalize_epsilon', 0.0),
])
def test_bad_rule_config_names_the_field(field, value):
  with pytest.raises(ValueError, match=field):
    config_lib.RuleConfig(**{field: value})


def test_config_round_trip_and_differences():
  config = config_lib.RuleConfig(hidden_size=16, step_size=1e-3)
  assert config_lib.RuleConfig.from_dict(config.to_dict()) == config
  assert config.differences(config_lib.RuleConfig()) == [
      'hidden_size: 16 vs 64', 'step_size: 0.001 vs 0.0001']
  with pytest.raises(ValueError, match='hiden_size'):
    config_lib.RuleConfig.from_dict({'hiden_size': 3})
