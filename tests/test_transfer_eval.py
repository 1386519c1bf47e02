"""bin/transfer_eval.py end to end on a tiny meta-training run, resuming,
and its startup errors."""

import json
import os

import matplotlib.image
import pytest

from conftest import run_repo_binary
from learned_rule.evaluation import method_names
from learned_rule.evaluation import report
from learned_rule.evaluation import results as results_lib
from learned_rule.evaluation import transfer

TINY = '--gin_file=transfer/tiny.gin'


def run_transfer(rule, root, *args, **environment):
  return run_repo_binary('transfer_eval', f'--rule={rule}',
                         f'--root_dir={root}', *args, **environment)


@pytest.fixture(scope='module')
def tiny_transfer(tiny_meta_run, tmp_path_factory):
  root = tmp_path_factory.mktemp('transfer') / 'out'
  result = run_transfer(tiny_meta_run, root, TINY)
  assert result.returncode == 0, result.stderr[-3000:]
  return root, result


def test_results_hold_every_method_step_and_seed(tiny_transfer):
  root, _ = tiny_transfer
  saved = results_lib.read_results(os.path.join(root, 'results.json'))
  rows = {(row['method'], row['step']): row for row in saved['summary']}
  assert set(rows) == {(method, step) for method in transfer.DEFAULT_METHODS
                       for step in (0, 2, 4)}
  for row in rows.values():
    assert row['dataset'] == 'digits' and row['n'] == 2
    assert 0.0 <= row['ridge_accuracy']['mean'] <= 1.0
    assert sorted(row['ridge_accuracy']['per_seed']) == [0, 1]
  # Every rule method starts from the same base model.
  at_zero = {rows[(m, 0)]['ridge_accuracy']['mean']
             for m in method_names.RULE_METHODS}
  assert len(at_zero) == 1
  metadata = saved['metadata']
  assert metadata['rule']['training']['step'] == 2
  assert metadata['seeds'] == [0, 1]
  assert metadata['git_revision']
  assert 'export_init' in metadata['theta_init']


def test_table_comparison_and_plots_are_written(tiny_transfer):
  root, result = tiny_transfer
  table = (root / 'results.md').read_text()
  for method in ('learned_rule', 'theta_init', 'random_init', 'supervised',
                 'vae', 'hebbian', 'pca', 'raw_inputs'):
    assert method in table
  assert 'The paper\'s claims' in table and '200' in table
  curves = list((root / 'plots').glob('curves__digits__*.png'))
  filters = list((root / 'plots').glob('filters__digits__*.png'))
  assert len(curves) == 1
  assert {p.name.rsplit('__', 1)[1] for p in filters} == {
      f'{m}.png' for m in report.FILTER_METHODS}
  for path in curves + filters:
    assert matplotlib.image.imread(path).shape[0] > 50
  assert 'transfer evaluation' in result.stderr  # The progress line.


def test_a_finished_run_resumes_without_recomputing(tiny_transfer,
                                                    tiny_meta_run):
  root, _ = tiny_transfer
  before = (root / 'results.json').read_text()
  cell = next((root / 'cells').glob('*.json'))
  stamp = cell.stat().st_mtime_ns
  result = run_transfer(tiny_meta_run, root, TINY)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Resuming: 16 of 16' in result.stdout
  assert cell.stat().st_mtime_ns == stamp
  again = json.loads((root / 'results.json').read_text())
  assert again['summary'] == json.loads(before)['summary']


def test_another_configuration_in_the_same_root_is_refused(tiny_transfer,
                                                           tiny_meta_run):
  root, _ = tiny_transfer
  result = run_transfer(tiny_meta_run, root, TINY,
                        '--gin_bindings=TransferConfig.num_draws = 2')
  assert result.returncode != 0
  assert 'another configuration' in result.stderr
  assert 'num_draws' in result.stderr


@pytest.mark.parametrize('binding, message', [
    ('TransferConfig.steps = (0, 4, 2)', 'strictly increasing'),
    ('TransferConfig.widths = ((8, 5),)', 'top width'),
    ('TransferConfig.activations = ()', 'empty'),
    ('TransferConfig.activations = ("relu", "softplusx")', 'step, swish'),
    ('TransferConfig.methods = ("learned_rule", "magic")', "'magic'"),
    ('TransferConfig.widths = ((200000, 200000, 4),)', 'GiB'),
    ('TransferConfig.stepz = (0, 1)', 'stepz'),
    ('TransferConfig.seeds = (0, 1, 0)', 'repeats'),
    ('TransferConfig.methods = ("learned_rule/permuted",)', 'permute_inputs'),
])
def test_bad_configuration_fails_at_startup(tiny_meta_run, tmp_path, binding,
                                            message):
  result = run_transfer(tiny_meta_run, tmp_path / 'out', TINY,
                        f'--gin_bindings={binding}')
  assert result.returncode != 0
  assert message in result.stderr
  assert not (tmp_path / 'out' / 'cells').exists()


def test_a_path_that_is_not_a_rule_is_refused(tmp_path):
  (tmp_path / 'empty').mkdir()
  result = run_transfer(tmp_path / 'empty', tmp_path / 'out', TINY)
  assert result.returncode != 0
  assert 'is not a learned rule' in result.stderr


def test_a_dataset_not_available_offline_names_the_command(tiny_meta_run,
                                                           tmp_path):
  (tmp_path / 'empty_tfds').mkdir()
  result = run_transfer(tiny_meta_run, tmp_path / 'out', TINY,
                        '--gin_bindings=TransferConfig.datasets = ("mnist",)',
                        TFDS_DATA_DIR=str(tmp_path / 'empty_tfds'))
  assert result.returncode != 0
  assert 'prepare_data.py' in result.stderr
