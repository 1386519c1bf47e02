"""The profile's op classes and self times, and the benchmark's targets."""

import os
import sys

from benchmarks.inner_step_lib import op_profile
from benchmarks.inner_step_lib import targets


def test_self_time_subtracts_nested_spans_once():
  # A loop [0, 100) holding a conv [10, 50) that holds a copy [20, 30),
  # then an add [60, 70); a later span [200, 210) on its own.
  spans = [(0, 100), (10, 40), (20, 10), (60, 10), (200, 10)]
  assert op_profile.self_times(spans) == [50, 30, 10, 10, 10]


def test_op_classes_of_graph_and_xla_names():
  prefix = 'while/body/_1/while/unsupervised_update_1/'
  cases = {
      (prefix + 'update_network_3/unit_conv_0_1/conv_1_1/convolution',
       '_MklNativeFusedConv2D'): 'update network: unit convs',
      (prefix + 'update_network_3/conv_0_1/convolution', 'Conv2D'):
          'update network: batch convs',
      (prefix + 'update_network_3/unit_conv_0_1/bn_1_1/moments/mean',
       'Mean'): 'batch norm (θ)',
      (prefix + 'update_network_3/Relu', 'Relu'):
          'update network: elementwise',
      (prefix + 'update_network_3/transpose', 'Transpose'):
          'transposes and copies',
      (prefix + 'weight_terms_1/MatMul', 'dot'): 'readouts and terms',
      (prefix + 'weight_terms_1/concat', 'copy_concatenate_fusion'):
          'transposes and copies',
      ('gradients/meta_objective/Cholesky', 'Cholesky'):
          'meta-objective (ridge solve)',
      (prefix + 'add_2', 'AddV2'): 'other',
  }
  for (scope, op_type), label in cases.items():
    assert op_profile.op_class(scope, op_type) == label, (scope, op_type)


def _results(paper_ratio, gradient_ms, delta_128):
  def steps(ratio, step_ms):
    return {'by_mode': {'graph': {
        'rule_gflops_over_matmul': ratio,
        'rule': {'call_times_s': [1.0, 1.2, 0.9], 'step_ms': step_ms}}}}

  def gradient(step_ms, delta_mb):
    return {'status': 'ok', 'step_ms': step_ms, 'delta_mb': delta_mb,
            'call_times_s': [2.0, 2.0]}

  return {'configs': {
      'paper': {'steps': steps(paper_ratio, 100.0)},
      'cpu': {'steps': steps(0.7, 10.0), 'meta_gradient': {
          'graph/8/on': gradient(gradient_ms, 90.0),
          'graph/16/on': gradient(20.0, 100.0),
          'graph/128/on': gradient(20.0, delta_128),
          'graph/16/off': gradient(5.0, 900.0)}}}}


def test_targets_are_ratios_with_their_goals():
  result = targets.compute_targets(_results(0.9, 30.0, 120.0))
  assert result['rule_over_matmul']['paper']['met']
  assert result['rule_over_matmul']['cpu']['value'] == 0.7
  ratio = result['meta_gradient_over_forward']['cpu/graph/8/on']
  assert ratio['value'] == 3.0 and not ratio['met']
  memory = result['memory_over_k16']
  assert memory['cpu/graph/128/on']['value'] == 1.2
  assert memory['cpu/graph/128/on']['met']
  # Recompute off is not the meta-trainer's setting: no target.
  assert not any('off' in key for group in result.values() for key in group)


def test_targets_not_met_are_reported_as_such():
  result = targets.compute_targets(_results(0.5, 20.0, 200.0))
  assert not result['rule_over_matmul']['paper']['met']
  assert result['meta_gradient_over_forward']['cpu/graph/8/on']['met']
  assert not result['memory_over_k16']['cpu/graph/128/on']['met']
  text = targets.format_targets(result)
  assert 'rule_over_matmul paper: 0.50 (goal >= 0.85) NOT met' in text
