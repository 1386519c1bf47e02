"""bin/permuted_ablation.py end to end on a tiny meta-training run, the
prototypical method's permutations, and the refusal of TransferConfig
bindings the ablation sets itself."""

import os

import gin
import matplotlib.image
import numpy as np
import pytest

from conftest import run_repo_binary
from learned_rule.evaluation import ablation
from learned_rule.evaluation import protocol
from learned_rule.reporting import results as results_lib


@pytest.fixture(scope='module')
def tiny_ablation(tiny_meta_run, tmp_path_factory):
  root = tmp_path_factory.mktemp('ablation') / 'out'
  result = run_ablation(tiny_meta_run, root)
  assert result.returncode == 0, result.stderr[-3000:]
  return root


def run_ablation(rule, root, *args):
  return run_repo_binary('permuted_ablation', f'--rule={rule}',
                         f'--root_dir={root}', '--gin_file=ablation/tiny.gin',
                         *args)


def test_every_method_runs_intact_and_permuted(tiny_ablation):
  saved = results_lib.read_results(
      os.path.join(tiny_ablation, 'results.json'))
  methods = {row['method'] for row in saved['summary']}
  assert methods == {name + suffix for name in (
      'learned_rule', 'theta_init', 'random_init', 'prototypical')
                     for suffix in ('', '/permuted')}
  for row in saved['summary']:
    assert row['dataset'] == 'digits_held_out_classes'
    assert row['n'] == 2
    # Three held-out classes: accuracies are fractions, chance is 1/3.
    assert 0.0 <= row['ridge_accuracy']['mean'] <= 1.0
  bars = tiny_ablation / 'plots' / 'permutation__8_4_relu__ridge_accuracy.png'
  assert matplotlib.image.imread(bars).shape[0] > 50
  table = (tiny_ablation / 'results.md').read_text()
  assert 'Fig. 2 right' in table


def test_rule_methods_see_pixels_in_order_unless_permuted(tiny_ablation):
  # At step 0 the intact and permuted base models differ only in the order
  # of their inputs, and the draws are the same.
  saved = results_lib.read_results(
      os.path.join(tiny_ablation, 'results.json'))
  rows = {(r['method'], r['step']): r for r in saved['summary']}
  intact = rows[('random_init', 0)]['ridge_accuracy']['per_seed']
  permuted = rows[('random_init/permuted', 0)]['ridge_accuracy']['per_seed']
  assert intact != permuted


def test_prototypical_method_permutes_every_draw_afresh():
  evaluation, training = ablation.ablation_data(ablation.AblationConfig(
      dataset='digits', held_out_classes=(7, 8, 9), ways=3))
  assert evaluation.num_classes == 3 and training.num_classes == 7
  assert set(np.unique(evaluation.labels)) == {0, 1, 2}
  # The prototypical network trains on the meta-training split.
  assert training.split.startswith('train')
  assert evaluation.split.startswith('test')
  setting = protocol.Setting(evaluation, (8, 4), 'relu', 16, 0, (0,),
                             num_draws=3)
  intact = ablation.PrototypicalMethod(training, permute=False, ways=3)
  permuted = ablation.PrototypicalMethod(training, permute=True, ways=3)
  (_, intact_features), = intact.trajectory(setting)
  (_, permuted_features), = permuted.trajectory(setting)
  assert permuted.name == 'prototypical/permuted'
  for (a, _), (b, _) in zip(intact_features, permuted_features):
    assert a.shape == b.shape == (30, 4)
    assert not np.allclose(a, b)


def test_held_out_classes_outside_the_dataset_are_refused():
  with pytest.raises(ValueError, match=r'not classes of digits'):
    ablation.ablation_data(ablation.AblationConfig(
        dataset='digits', held_out_classes=(8, 12)))
  with pytest.raises(ValueError, match='at least two'):
    ablation.AblationConfig(held_out_classes=(3,))


def test_more_ways_than_training_classes_are_refused():
  _, training = ablation.ablation_data(ablation.AblationConfig(
      dataset='digits', held_out_classes=(7, 8, 9)))
  with pytest.raises(ValueError, match='trains on 7 classes'):
    ablation.PrototypicalMethod(training, permute=False, ways=10)


@pytest.mark.parametrize('parameter, value', [
    ('datasets', "('digits',)"), ('methods', "('learned_rule',)"),
    ('permute_inputs', 'False')])
def test_a_transfer_binding_the_ablation_sets_is_refused(parameter, value):
  gin.parse_config(f'TransferConfig.{parameter} = {value}')
  with pytest.raises(ValueError) as raised:
    ablation.PermutedAblation('unused', source=None)
  message = str(raised.value)
  assert f'binds TransferConfig.{parameter}' in message
  assert ablation.SET_BY_ABLATION[parameter] in message


def test_the_binary_refuses_a_binding_the_ablation_sets(tiny_meta_run,
                                                        tmp_path):
  result = run_ablation(tiny_meta_run, tmp_path / 'out',
                        '--gin_bindings=TransferConfig.datasets = ("mnist",)')
  assert result.returncode != 0
  assert 'binds TransferConfig.datasets' in result.stderr
  assert 'AblationConfig.held_out_classes instead' in result.stderr
  assert not (tmp_path / 'out').exists()
