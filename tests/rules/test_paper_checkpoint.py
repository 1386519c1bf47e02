"""Tests of the importer of the paper's released θ
(learned_rule/rules/paper_checkpoint.py, bin/import_paper_rule.py) on synthetic
TF1 checkpoints written with the derived names."""

import numpy as np
import pytest
import tensorflow as tf

from learned_rule import export
from learned_rule.rules import paper_checkpoint
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib
from conftest import run_repo_binary


def _released_entries(config=None, scope='MoreLocalWeightUpdateProcess'):
  """``{name: value}`` of a checkpoint as the released code would write
  it for a rule of ``config``, θ random, with the entries that carry none."""
  rule = rule_lib.UnsupervisedUpdate(config or config_lib.RuleConfig())
  shapes = dict(zip(rule.theta_names(),
                    (tuple(v.shape) for v in rule.trainable_variables)))
  rng = np.random.default_rng(0)
  entries = {}
  for released, ours in paper_checkpoint.released_names(rule):
    shape = shapes[ours]
    if released.endswith('/beta'):  # Sonnet's [1, 1, C] offsets.
      shape = (1, 1) + shape
      stem = f'{scope}/{released[:-len("/beta")]}'
      entries[f'{stem}/moving_mean'] = np.zeros(shape, np.float32)
      entries[f'{stem}/moving_variance'] = np.ones(shape, np.float32)
    entries[f'{scope}/{released}'] = rng.normal(size=shape).astype(np.float32)
  entries['global_step'] = np.int64(123)
  entries['LocalWeightUpdateWLearner/LinearBatchNorm/linear/w'] = np.ones(
      (196, 128), np.float32)
  return entries


def _write_tf1_checkpoint(directory, entries):
  """Writes ``entries`` with a ``tf.compat.v1`` Saver; returns the prefix."""
  with tf.Graph().as_default():
    variables = [tf.compat.v1.get_variable(name, initializer=value)
                 for name, value in entries.items()]
    saver = tf.compat.v1.train.Saver(variables)
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      return saver.save(session, str(directory / 'tf_graph_data.ckpt'))


def _assert_theta_is(rule, entries, scope='MoreLocalWeightUpdateProcess'):
  found = dict(zip(rule.theta_names(), rule.trainable_variables))
  for released, ours in paper_checkpoint.released_names(rule):
    expected = entries[f'{scope}/{released}']
    np.testing.assert_array_equal(found[ours].numpy(),
                                  expected.reshape(found[ours].shape))


def test_derived_names_cover_theta_once_each():
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
  pairs = paper_checkpoint.released_names(rule)
  assert sorted(ours for _, ours in pairs) == sorted(rule.theta_names())
  assert len({released for released, _ in pairs}) == len(pairs) == 72
  released = dict((ours, name) for name, ours in pairs)
  # Spot checks against the released module structure (spec §3, §9).
  assert released['top_signal/output_conv/kernel'] == (
      'compute_top_delta/conv_1d_5/w')
  assert released['update_network/unit_conv_1/bn_1/offset'] == (
      'ConcatUnitConv_1/batch_norm_1/beta')
  assert released['update_network/bn_1/offset'] == 'batch_norm_2/beta'
  assert released['weight_terms/lin_upper_psd/top/kernel'] == (
      'forwardlin_upper_psd_top/linear/w')
  assert released['weight_merge/mixture/kernel'] == (
      'forward_weight_readout_coeffs/w')


@pytest.mark.parametrize('scope', paper_checkpoint.MODULE_SCOPES)
def test_a_synthetic_checkpoint_comes_back_as_theta_exactly(tmp_path, scope):
  entries = _released_entries(scope=scope)
  prefix = _write_tf1_checkpoint(tmp_path, entries)
  rule, report = paper_checkpoint.import_theta(prefix)
  _assert_theta_is(rule, entries, scope)
  assert report.scope == scope and report.imported == 72
  assert 'global_step' in report.ignored
  assert rule.config == config_lib.RuleConfig()
  assert rule.config.step_size == 1e-4 and rule.config.hidden_size == 64


def test_a_foreign_checkpoint_is_refused_with_its_names(tmp_path):
  entries = _released_entries()
  entries.pop('MoreLocalWeightUpdateProcess/linear/w')
  entries['MoreLocalWeightUpdateProcess/to_delta/linear/w'] = np.zeros(
      (64, 32), np.float32)
  prefix = _write_tf1_checkpoint(tmp_path, entries)
  with pytest.raises(paper_checkpoint.CheckpointMismatchError) as raised:
    paper_checkpoint.import_theta(prefix)
  message = str(raised.value)
  assert "1 missing ['MoreLocalWeightUpdateProcess/linear/w']" in message
  assert ("1 unexpected ['MoreLocalWeightUpdateProcess/to_delta/linear/w']"
          in message)


def test_a_checkpoint_of_other_sizes_is_refused_with_the_shapes(tmp_path):
  prefix = _write_tf1_checkpoint(
      tmp_path, _released_entries(config_lib.RuleConfig(hidden_size=32)))
  with pytest.raises(paper_checkpoint.CheckpointMismatchError,
                     match=r'conv_1d/w: \(3, 45, 32\), expected \(3, 45, 64\)'):
    paper_checkpoint.import_theta(prefix)


def test_a_path_that_is_no_checkpoint_is_refused(tmp_path):
  with pytest.raises(ValueError, match='Cannot read a TF checkpoint'):
    paper_checkpoint.import_theta(str(tmp_path / 'nothing.ckpt'))


def test_the_binary_exports_the_released_theta_and_refuses_a_foreign_one(
    tmp_path):
  entries = _released_entries()
  prefix = _write_tf1_checkpoint(tmp_path, entries)
  output = tmp_path / 'paper_rule'
  result = run_repo_binary('import_paper_rule', f'--checkpoint={prefix}',
                           f'--output={output}', '--depths=2')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Imported 72 θ tensors' in result.stdout
  rule, metadata = export.load_rule(str(output))
  _assert_theta_is(rule, entries)
  assert metadata['extra']['imported_from'] == prefix
  foreign = tmp_path / 'foreign'
  foreign.mkdir()
  foreign_prefix = _write_tf1_checkpoint(foreign, {'net/w': np.zeros(3)})
  result = run_repo_binary('import_paper_rule',
                           f'--checkpoint={foreign_prefix}',
                           f'--output={tmp_path / "nothing"}')
  assert result.returncode != 0
  assert '72 missing' in result.stderr and "['net/w']" in result.stderr
  assert 'Traceback' not in result.stderr
