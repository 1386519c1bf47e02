"""bin/transfer_eval.py end to end on a tiny meta-training run, resuming,
and its startup errors."""

import json
import os
import re

import matplotlib.image
import pytest

from conftest import run_repo_binary
from learned_rule import configuration
from learned_rule import version
from learned_rule.cli import rule_flags
from learned_rule.reporting import headline
from learned_rule.reporting import method_names
from learned_rule.evaluation import report
from learned_rule.reporting import results as results_lib
from learned_rule.evaluation import rule_source
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
  assert metadata['package_version'] == version.__version__
  assert metadata['command'].startswith('python bin/transfer_eval.py --rule=')
  assert metadata['date']
  assert 'export_init' in metadata['theta_init']
  # The short table quoted from it, made from the file alone.
  with open(os.path.join(root, 'headline.md'), encoding='utf-8') as stream:
    assert stream.read() == headline.markdown(saved)


def test_the_hparams_dashboard_has_a_run_per_method(tiny_transfer):
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  from tensorboard.plugins.hparams import plugin_data_pb2  # pylint: disable=g-import-not-at-top
  root, _ = tiny_transfer
  runs = sorted(path for path in (root / 'tensorboard').iterdir()
                if path.is_dir())
  assert len(runs) == len(transfer.DEFAULT_METHODS)
  methods = set()
  for run in runs:
    events = event_accumulator.EventAccumulator(
        str(run), size_guidance={'tensors': 0})
    events.Reload()
    content = events.PluginTagToContent('hparams')
    session = plugin_data_pb2.HParamsPluginData.FromString(
        content['_hparams_/session_start_info']).session_start_info
    assert session.hparams['dataset'].string_value == 'digits'
    methods.add(session.hparams['method'].string_value)
    steps = [event.step for event in events.Tensors('ridge_accuracy')]
    assert steps == [0, 2, 4]
  assert methods == set(transfer.DEFAULT_METHODS)


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
  assert 'Resuming: 16 of 16' in result.stderr  # Logged.
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


BAD_CONFIGURATIONS = [
    ('TransferConfig.widths = ((8, 5),)', 'top width'),
    ('TransferConfig.activations = ()', 'empty'),
    ('TransferConfig.activations = ("relu", "softplusx")', 'step, swish'),
    ('TransferConfig.methods = ("learned_rule", "magic")', "'magic'"),
    ('TransferConfig.widths = ((200000, 200000, 4),)', 'GiB'),
    ('TransferConfig.stepz = (0, 1)', 'stepz'),
    ('TransferConfig.seeds = (0, 1, 0)', 'repeats'),
    ('TransferConfig.methods = ("learned_rule/permuted",)', 'permute_inputs'),
    ('TransferConfig.widths = (8, 4)', 'write ((8, 4),) for one'),
    ('TransferConfig.widths = ((8, "wide"),)', 'e.g. (64, 64, 32)'),
    ('TransferConfig.steps = (4, 2, 0)',
     'TransferConfig.steps must be strictly increasing'),
    ('TransferConfig.batch_size = 100000', 'TransferConfig.batch_size = '
     '100000, but the held-out split of digits has 599 examples'),
]


def test_bad_configuration_fails_at_startup(tiny_meta_run, tmp_path):
  result = run_transfer(tiny_meta_run, tmp_path / 'out', TINY,
                        '--gin_bindings=TransferConfig.steps = (0, 4, 2)')
  assert result.returncode != 0
  assert 'strictly increasing' in result.stderr
  assert 'Traceback' not in result.stderr
  assert not (tmp_path / 'out' / 'cells').exists()


@pytest.mark.parametrize('binding, message', BAD_CONFIGURATIONS)
def test_bad_configuration_is_refused_before_any_cell(tiny_meta_run, tmp_path,
                                                      binding, message):
  # The binary's start-up (evaluation_flags.prepared_runner) in process:
  # each of these errors is one the binary reports as a usage error.
  root = tmp_path / 'out'
  with pytest.raises(rule_flags.STARTUP_ERRORS, match=re.escape(message)):
    configuration.parse_gin([TINY.split('=', 1)[1]], [binding])
    source = rule_source.load(str(tiny_meta_run))
    transfer.TransferEvaluation(str(root), source,
                                transfer.TransferConfig()).prepare()
  assert not (root / 'cells').exists()


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
  assert 'learned-rule-prepare-data --dataset=mnist' in result.stderr
