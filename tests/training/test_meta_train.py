"""Meta-training: the real binary on tiny.gin, resume after SIGKILL, NaN
handling, the direction of the update, and startup errors."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO_ROOT
from conftest import final_theta
from learned_rule import configuration
from learned_rule import export
from learned_rule.tasks import distribution as task_distribution_lib
from learned_rule.tasks import task as tasks_lib
from learned_rule import version
from learned_rule.reporting import headline
# Its HeldOutEvaluation is bound in the meta-training configs.
from learned_rule.evaluation import held_out  # pylint: disable=unused-import
# Its train.num_steps is bound there too.
from learned_rule.training import loop  # pylint: disable=unused-import
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib
from learned_rule.training import checkpoints
from learned_rule.training import meta_trainer
from learned_rule.training import stop_request

REPO = REPO_ROOT
TINY = 'meta_train/tiny.gin'


def run_binary(root_dir, *args, wait=True, batched=False, **environment):
  # Runs of a few steps: tracing the batched step, and its XLA compile, cost
  # more than they save (tests/training/test_batched_tasks.py covers that path);
  # ``batched`` keeps the default batching, uncompiled.
  execution = '--noxla_step' if batched else '--nobatch_tasks'
  command = [sys.executable, os.path.join(REPO, 'bin', 'meta_train.py'),
             f'--root_dir={root_dir}', f'--gin_file={TINY}', execution,
             *args]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='',
             **environment)
  if not wait:
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
  return subprocess.run(command, env=env, capture_output=True, text=True,
                        timeout=600, check=False)


def test_tiny_run_writes_checkpoints_config_events_and_export(tmp_path):
  root = tmp_path / 'run'
  result = run_binary(root, '--num_steps=4', '--checkpoint_every_steps=2',
                      '--export_every_steps=4', '--evaluate_every_steps=4',
                      batched=True)
  assert result.returncode == 0, result.stderr[-3000:]
  manager = checkpoints.CheckpointManager(os.path.join(root, 'ckpt'))
  step, _, metadata = manager.restore()
  assert step == 4 and metadata['step'] == 4
  config = (root / 'config.gin').read_text()
  assert 'TaskDistribution.hidden_widths = (8,)' in config
  # Written after every configurable was built: the evaluation's too.
  assert 'HeldOutEvaluation.seeds = (0, 1)' in config
  assert 'train.checkpoint_every_steps' not in config  # A flag, not gin.
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  events = glob.glob(str(root / 'summaries' / 'events.out.tfevents.*'))
  assert events
  accumulator = event_accumulator.EventAccumulator(
      str(root / 'summaries'), size_guidance={'tensors': 0})
  accumulator.Reload()
  tags = accumulator.Tags()['tensors']
  for tag in ('_hparams_/session_start_info', 'meta_loss', 'gradient_norm',
              'skipped_tasks',
              'steps_per_second', 'meta_loss/digits',
              'few_shot_accuracy/digits', 'meta_loss/fresh',
              'held_out/learned_rule_minus_theta_init',
              'held_out/learned_rule_minus_random_init',
              'held_out/ridge_accuracy/learned_rule'):
    assert tag in tags, tags
  losses = [tf.make_ndarray(e.tensor_proto)
            for e in accumulator.Tensors('meta_loss')]
  assert len(losses) == 4 and np.all(np.isfinite(losses))
  rule, exported = export.load_rule(str(root / 'export'))
  assert exported['extra']['step'] == 4
  # The meta-training range travels as JSON (training/provenance.py).
  assert exported['extra']['meta_training']['depths'] == [2]
  assert exported['extra']['meta_training']['hidden_widths'] == [8]
  assert exported['extra']['meta_training']['input_dims'] == {'digits': 64}
  np.testing.assert_array_equal(rule.trainable_variables[0].numpy(),
                                final_theta(root)[0])
  # The paired evaluation binary reads the run directory (both exports).
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='')
  evaluated = subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'paired_eval.py'),
       f'--rule={root}', '--gin_file=held_out/tiny.gin',
       f'--output_json={tmp_path / "paired.json"}'],
      env=env, capture_output=True, text=True, timeout=600, check=False)
  assert evaluated.returncode == 0, evaluated.stderr[-3000:]
  assert 'learned_rule − theta_init' in evaluated.stdout
  assert 'learned_rule − random_init' in evaluated.stdout
  paired = json.loads((tmp_path / 'paired.json').read_text())
  assert paired['package_version'] == version.__version__
  assert paired['git_revision']
  assert set(paired['differences']) == {'theta_init', 'random_init'}
  assert paired['differences']['theta_init']['n'] == 2
  # 2 seeds × 3 methods × steps (0, 4).
  assert len(paired['records']) == 12
  assert {r['method'] for r in paired['records']} == {
      'learned_rule', 'theta_init', 'random_init'}
  # Its table beside it, made from the file.
  assert paired['command'].startswith('python bin/paired_eval.py --rule=')
  assert (tmp_path / 'paired.md').read_text() == headline.paired_markdown(
      paired)


def test_tiny_config_sets_its_own_length(tiny_meta_run):
  # tiny_meta_run passes no --num_steps: train.num_steps of tiny.gin holds.
  step, _, _ = checkpoints.CheckpointManager(
      os.path.join(tiny_meta_run, 'ckpt')).restore()
  assert step == 2


def test_a_checkpoint_without_export_is_exported_without_training(
    tiny_meta_run, tmp_path):
  # As long_run/ commits a run: its checkpoint, θ-init and config, no export.
  root = tmp_path / 'run'
  shutil.copytree(tiny_meta_run, root)
  shutil.rmtree(root / 'export')
  result = run_binary(root, '--num_steps=2')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Nothing to do' in result.stderr + result.stdout
  rule, exported = export.load_rule(str(root / 'export'))
  assert exported['extra']['step'] == 2
  for ours, theirs in zip(rule.trainable_variables, final_theta(root)):
    np.testing.assert_array_equal(ours.numpy(), theirs)
  # No update was made: the checkpoint is still the one of step 2.
  assert checkpoints.CheckpointManager(
      os.path.join(root, 'ckpt')).restore()[0] == 2


def test_sigkill_then_resume_ends_with_the_uninterrupted_theta(tmp_path):
  flags = ['--num_steps=6', '--checkpoint_every_steps=2',
           '--export_every_steps=100', '--deterministic']
  reference = run_binary(tmp_path / 'reference', *flags)
  assert reference.returncode == 0, reference.stderr[-3000:]
  root = tmp_path / 'killed'
  process = run_binary(root, *flags, wait=False)
  manager = checkpoints.CheckpointManager(os.path.join(root, 'ckpt'))
  deadline = time.time() + 300
  while time.time() < deadline and (manager.latest() is None or
                                    'ckpt-00000002' not in manager.latest()):
    if process.poll() is not None:
      break
    time.sleep(0.2)
  process.send_signal(signal.SIGKILL)
  process.wait()
  killed_at = manager.latest()
  assert killed_at is not None and 'ckpt-00000006' not in killed_at
  resumed = run_binary(root, *flags)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert 'Resumed from step' in resumed.stdout + resumed.stderr
  for ours, theirs in zip(final_theta(root),
                          final_theta(tmp_path / 'reference')):
    np.testing.assert_array_equal(ours, theirs)


def test_sigterm_checkpoints_and_a_second_run_is_refused(tmp_path):
  root = tmp_path / 'run'
  logs = tmp_path / 'logs'
  logs.mkdir()
  first = run_binary(root, '--num_steps=1000', '--checkpoint_every_steps=1000',
                     '--export_every_steps=1000', f'--log_dir={logs}',
                     wait=False)
  try:
    # θ-init is exported just before the first step: the run is live.
    deadline = time.time() + 300
    while not (root / 'export_init' / 'saved_model.pb').exists():
      assert first.poll() is None and time.time() < deadline
      time.sleep(0.2)
    second = run_binary(root, '--num_steps=2')
    assert second.returncode != 0
    assert (f'in use by a live meta-training run (pid {first.pid} ' in
            second.stderr), second.stderr[-3000:]
    assert 'Traceback' not in second.stderr
    first.send_signal(signal.SIGTERM)
    output, _ = first.communicate(timeout=300)
  finally:
    first.kill()
  assert first.returncode == stop_request.EXIT_CODE, output[-3000:]
  step, _, _ = checkpoints.CheckpointManager(os.path.join(root, 'ckpt')).restore()
  assert step >= 1
  assert (f'SIGTERM received: checkpointed at step {step} and stopped' in
          output)
  # absl logging went to --log_dir.
  [log] = logs.glob('*.log.INFO.*')
  assert f'Meta-training in {root}' in log.read_text()


def _tiny_trainer(parse=True, **kwargs):
  if parse:  # Once per test: gin locks its config once parsed.
    configuration.parse_gin([TINY], [])
  kwargs.setdefault('xla_step', False)  # As run_binary.
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
  return meta_trainer.MetaTrainer(
      rule, task_distribution_lib.TaskDistribution(), **kwargs)


def test_trainer_saves_and_restores_its_whole_state(tmp_path):
  trainer = _tiny_trainer(seed=3)
  trainer.train_step()
  manager = checkpoints.CheckpointManager(tmp_path / 'ckpt')
  trainer.save(manager)
  # Another θ, RNG and no task in flight.
  twin = _tiny_trainer(parse=False, seed=4)
  assert twin.restore(manager) == 1
  assert twin.step == 1 and len(twin.in_flight) == len(trainer.in_flight)
  for ours, theirs in zip(twin.rule.trainable_variables,
                          trainer.rule.trainable_variables):
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
  for ours, theirs in zip(twin.optimizer.variables,
                          trainer.optimizer.variables):
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
  for ours, theirs in zip(twin.in_flight, trainer.in_flight):
    assert ours.task == theirs.task
    assert ours.unrolls_done == theirs.unrolls_done
    for a, b in zip(tf.nest.flatten(ours.state),
                    tf.nest.flatten(theirs.state)):
      np.testing.assert_array_equal(a.numpy(), b.numpy())
  # Both go on identically: same task draws, same θ update.
  assert twin.rng.integers(1 << 30) == trainer.rng.integers(1 << 30)


def test_empty_checkpoint_directory_restores_nothing(tmp_path):
  trainer = _tiny_trainer()
  assert trainer.restore(checkpoints.CheckpointManager(tmp_path)) is None
  assert trainer.step == 0


def test_non_finite_gradient_is_skipped_counted_and_reset():
  # Patches the sequential path (tests/training/test_batched_tasks.py: batched).
  trainer = _tiny_trainer(batch_tasks=False)
  original = trainer.task_gradient
  calls = []

  def poisoned(task, theta=None, inputs=None):
    result = original(task, theta, inputs)
    calls.append(task)
    if len(calls) == 1:
      result.gradients[0] = result.gradients[0] * np.nan
      result.finite = False
    return result

  trainer.task_gradient = poisoned
  before = [v.numpy() for v in trainer.rule.trainable_variables]
  outcome = trainer.train_step()
  assert outcome['skipped_tasks'] == 1
  assert calls[0] not in trainer.in_flight  # The offending task was reset.
  for variable, old in zip(trainer.rule.trainable_variables, before):
    assert np.all(np.isfinite(variable.numpy()))
  assert any(not np.array_equal(v.numpy(), old) for v, old in
             zip(trainer.rule.trainable_variables, before))


def test_too_many_non_finite_steps_stop_the_run():
  trainer = _tiny_trainer(max_consecutive_skips=2, batch_tasks=False)
  original = trainer.task_gradient

  def always_nan(task, theta=None, inputs=None):
    result = original(task, theta, inputs)
    result.finite = False
    return result

  trainer.task_gradient = always_nan
  trainer.train_step()
  with pytest.raises(meta_trainer.TrainingError, match='in a row'):
    trainer.train_step()


def test_meta_training_on_a_fixed_task_lowers_its_meta_loss():
  trainer = _tiny_trainer(tasks_in_flight=1)
  task = trainer.distribution.sample(np.random.default_rng(0))
  task = tasks_lib.Task(**{**task.__dict__, 'total_steps': 1000})

  def loss_now():
    in_flight = trainer.new_task(task)
    return trainer.task_gradient(in_flight).loss

  before = loss_now()
  trainer.in_flight = []
  for _ in range(15):
    in_flight = trainer.new_task(task)
    result = trainer.task_gradient(in_flight)
    trainer.apply_gradients(result.gradients)
  assert loss_now() < before


def test_misspelled_binding_fails_at_startup(tmp_path):
  result = run_binary(tmp_path / 'run', '--gin_bindings=TaskDistribution.'
                      'hiden_widths = (8,)')
  assert result.returncode != 0
  assert 'hiden_widths' in result.stderr
  assert not (tmp_path / 'run' / 'ckpt').exists()


@pytest.mark.parametrize('flag', ['--num_steps=-3', '--max_minutes=-1'])
def test_a_bad_budget_or_interval_is_refused_as_flags_parse(tmp_path, flag):
  # Before TensorFlow loads (a fraction of a second) and before the run
  # directory is made.
  result = run_binary(tmp_path / 'run', flag)
  assert result.returncode != 0
  assert f'flag {flag.split("=")[0]}=' in result.stderr
  assert not (tmp_path / 'run').exists()


def test_unwritable_root_dir_fails_at_startup(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('not a directory')
  result = run_binary(blocker / 'run')
  assert result.returncode != 0
  assert str(blocker) in result.stderr


def test_incompatible_checkpoint_names_the_difference(tmp_path,
                                                     tiny_meta_run):
  root = tmp_path / 'run'
  shutil.copytree(tiny_meta_run, root)
  second = run_binary(root, '--num_steps=4',
                      '--gin_bindings=RuleConfig.hidden_size = 7')
  assert second.returncode != 0
  assert 'hidden_size' in second.stderr


def test_dataset_not_available_offline_fails_at_startup(tmp_path):
  env_dir = tmp_path / 'empty_tfds'
  env_dir.mkdir()
  result = run_binary(tmp_path / 'run', '--gin_bindings=TaskDistribution.'
                      'datasets = (("mnist", 1.0),)',
                      TFDS_DATA_DIR=str(env_dir))
  assert result.returncode != 0
  assert 'learned-rule-prepare-data --dataset=mnist' in result.stderr


def test_filter_images_come_from_an_image_task_in_flight():
  configuration.parse_gin([TINY], [
      "TaskDistribution.datasets = (('two_moons', 1.0), ('digits', 1.0))",
      'MetaTrainer.tasks_in_flight = 8'])
  trainer = _tiny_trainer(parse=False, seed=0)
  trainer.fill()
  # A two-moons task first: the filters skip it for a digits task.
  trainer.in_flight.sort(key=lambda task: task.task.dataset != 'two_moons')
  names = [task.task.dataset for task in trainer.in_flight]
  assert names[0] == 'two_moons' and 'digits' in names, names
  kernel, shape, permutation = trainer.first_layer_filters()
  assert shape == (8, 8, 1) and kernel.shape[0] == 64
  assert sorted(permutation) == list(range(64))
  trainer.in_flight = [task for task in trainer.in_flight
                       if task.task.dataset == 'two_moons']
  assert trainer.first_layer_filters() is None
