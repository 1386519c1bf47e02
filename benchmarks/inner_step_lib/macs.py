"""Multiply-adds of one rule step and of one SGD step, counted analytically.

:func:`rule_step_macs` counts convolutions, linear maps, matmuls and outer
products; elementwise work, batch norms and reductions are not counted. The
count equals that of the Conv2D, MatMul and Einsum ops of the traced step at
both configurations of :mod:`inner_step_lib.benches`.
"""

import collections

from benchmarks.inner_step_lib import benches

# Kernel sizes fixed by the rule's layers (spec §3.2, §3.3), not RuleConfig.
TOP_FIRST_KERNEL = 5
KERNEL = 3
# Weight-update terms mixed by the merge (spec §3.5).
NUM_TERMS = 12


def rule_step_mac_breakdown(input_dim, widths, batch, config):
  """Multiply-adds of one rule step, by part (spec §3.1–§3.7).

  Counts what the implementation computes: every unit layer (the input
  layer included) runs the update network; every readout map is applied per
  call, so h^l is read out again by each layer and readout that uses it.

  Args:
    input_dim: n_0.
    widths: n_1..n_L.
    batch: B.
    config: A :class:`RuleConfig`.

  Returns:
    A dict from part name to multiply-adds.
  """
  b, h, d, g = (batch, config.hidden_size, config.delta_dim,
                config.num_grad_channels)
  top, channels = widths[-1], config.top_signal_channels
  units = [input_dim] + list(widths)
  pairs = list(zip(units[:-1], units[1:]))
  in_channels = 9 + config.memory_size + 4 + d  # §3.3: stats, b, [x,z,id,d].
  blocks = config.update_network_layers
  parts = collections.OrderedDict()
  parts['base_forward'] = b * sum(n_in * n_out for n_in, n_out in pairs)
  # §3.2: conv k5 1→ch, 2 × conv k3 C→C (channels as conv batch), blocks of
  # conv k3 ch→ch, output conv k3 ch→D; all along the batch axis.
  parts['top_signal'] = (
      top * b * TOP_FIRST_KERNEL * channels + 2 * channels * b * KERNEL *
      top * top + config.top_signal_layers * top * b * KERNEL * channels**2 +
      top * b * KERNEL * channels * d)
  # §3.3: per (unit, example), conv k3 C_in→H then `blocks` conv k3 H→H
  # along the batch axis ...
  parts['update_net_batch_convs'] = sum(units) * b * KERNEL * (
      in_channels * h + blocks * h * h)
  # ... and (blocks + 1) UnitConvs of two conv k3 H→H along the unit axis.
  parts['update_net_unit_convs'] = sum(units) * b * (blocks + 1) * 2 * (
      KERNEL * h * h)
  # §3.4: Linear(h → D) per unit of layers 1..L, then δ · Vᵀ.
  parts['downward_projection'] = b * sum(widths) * h * d
  parts['downward_feedback'] = b * d * sum(
      n_in * n_out for n_in, n_out in pairs)
  # §3.5: 15 maps H→G per weight layer: 3 pair readouts (top on n_out,
  # bottom on n_in), 2 lower symm (both maps on n_in), upper psd (one map on
  # n_out), 2 upper symm (both maps on n_out).
  parts['readout_maps'] = sum(b * h * g * (7 * n_in + 8 * n_out)
                              for n_in, n_out in pairs)
  # Σ_{g,b} outer products: 3 [n_in, n_out], 2 [n_in, n_in], 3 [n_out, n_out].
  parts['readout_outer_products'] = sum(
      b * g * (3 * n_in * n_out + 2 * n_in**2 + 3 * n_out**2)
      for n_in, n_out in pairs)
  # U·w̃ (2 lower) and w̃·U (3 upper).
  parts['symm_matmuls'] = sum(2 * n_in**2 * n_out + 3 * n_in * n_out**2
                              for n_in, n_out in pairs)
  # decorr_x: sᵀs [n_out, n_out] and w̃·C; hebb: s_lowerᵀ s_upper.
  parts['correlation_terms'] = sum(
      b * n_out**2 + n_in * n_out**2 + b * n_in * n_out
      for n_in, n_out in pairs)
  # §3.6: Linear(12 → 1) per weight entry; §3.7: Linear(h → 1) per unit.
  parts['mixture'] = sum(NUM_TERMS * n_in * n_out for n_in, n_out in pairs)
  parts['bias_readout'] = b * sum(widths) * h
  if config.memory_size:
    parts['memory_write'] = sum(widths) * h * config.memory_size
  return parts


def rule_step_macs(input_dim, widths, batch, config):
  """Total multiply-adds of one rule step (see rule_step_mac_breakdown)."""
  return sum(rule_step_mac_breakdown(input_dim, widths, batch,
                                     config).values())


def sgd_step_macs(input_dim, widths, batch, num_classes=benches.NUM_CLASSES):
  """≈ multiply-adds of one SGD step: forward + head, backward ≈ 2×."""
  sizes = [input_dim] + list(widths) + [num_classes]
  forward = batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
  return 3 * forward
