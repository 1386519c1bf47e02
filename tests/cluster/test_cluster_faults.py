"""Faults of a parameter-server cluster on localhost, through the real
binaries: a worker killed mid-run, a parameter server killed, the chief
killed, and restarts through bin/launch_local_cluster.py (2 workers, 1
parameter server) that resume from the newest checkpoint."""

import os
import signal
import subprocess
import sys
import time

from conftest import REPO_ROOT
from reliability import processes as chaos_processes
from learned_rule.cluster import tf_config
from learned_rule.training import checkpoints

REPO = REPO_ROOT

FLAGS = ['--gin_file=meta_train/tiny.gin', '--checkpoint_every_steps=1',
         '--export_every_steps=1000', '--filters_every_steps=0']


def _environment(**extra):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='')
  env.pop('TF_CONFIG', None)
  env.update(extra)
  return env


def start_task(cluster, task_type, index, root, log_dir, *flags):
  """One process of the cluster: bin/meta_train.py with its TF_CONFIG."""
  log = open(log_dir / f'{task_type}-{index}.log', 'w')  # pylint: disable=consider-using-with
  return subprocess.Popen(
      [sys.executable, os.path.join(REPO, 'bin', 'meta_train.py'),
       '--strategy=parameter_server', f'--root_dir={root}', *FLAGS, *flags],
      env=_environment(TF_CONFIG=tf_config.make_tf_config(
          cluster, task_type, index)),
      stdout=log, stderr=subprocess.STDOUT, text=True)


def latest_step(root):
  latest = checkpoints.CheckpointManager(str(root / 'ckpt')).checkpoints()
  return latest[-1][0] if latest else -1


def log_tail(log_dir, name, characters=3000):
  path = log_dir / f'{name}.log' if log_dir else None
  return path.read_text()[-characters:] if path and path.exists() else ''


def wait_for_step(root, step, processes, timeout=300, log_dir=None):
  deadline = time.monotonic() + timeout
  while latest_step(root) < step:
    assert time.monotonic() < deadline, f'no checkpoint {step} in {timeout} s'
    for name, process in processes.items():
      assert process.poll() is None, (
          f'{name} ended early:\n{log_tail(log_dir, name)}')
    time.sleep(0.2)
  return latest_step(root)


def launcher(root, num_steps):
  return subprocess.Popen(
      [sys.executable, os.path.join(REPO, 'bin', 'launch_local_cluster.py'),
       '--workers=2', '--ps=1', '--grace_seconds=5', '--',
       f'--root_dir={root}', f'--num_steps={num_steps}', *FLAGS],
      env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      text=True)


def test_worker_ps_and_chief_faults(tmp_path):
  root = tmp_path / 'run'
  logs = tmp_path / 'logs'
  logs.mkdir()
  cluster = tf_config.local_cluster_spec(num_workers=2, num_ps=1)
  processes = {f'{kind}-{index}': start_task(cluster, kind, index, root, logs,
                                             '--num_steps=1000')
               for kind, index in tf_config.tasks(cluster)}
  try:
    # A worker killed mid-run: its work is rescheduled, the run goes on.
    step = wait_for_step(root, 2, processes, log_dir=logs)
    processes.pop('worker-1').kill()
    wait_for_step(root, step + 3, processes, log_dir=logs)
    # A parameter server killed: θ is gone; the chief stops and says so.
    processes.pop('ps-0').kill()
    chief = processes.pop('chief-0')
    assert chief.wait(timeout=300) != 0
  finally:
    for process in processes.values():
      process.kill()
  chief_log = (logs / 'chief-0.log').read_text()
  assert 'parameter server' in chief_log, chief_log[-3000:]
  # A restarted cluster resumes from the newest checkpoint.
  resumed_at = latest_step(root)
  first = launcher(root, num_steps=1000)
  try:
    wait_for_step(root, resumed_at + 2, {'launcher': first})
    # The chief killed: the launcher stops the cluster...
    os.kill(chaos_processes.cluster_task_pid(root, 'chief'),
            signal.SIGKILL)
    output, _ = first.communicate(timeout=120)
  finally:
    first.kill()
  assert first.returncode != 0
  assert f'Resumed from step {resumed_at}' in output, output[-3000:]
  # ...and the next start resumes and finishes.
  killed_at = latest_step(root)
  second = launcher(root, num_steps=killed_at + 2)
  output, _ = second.communicate(timeout=600)
  assert second.returncode == 0, output[-3000:]
  assert f'Resumed from step {killed_at}' in output
  assert latest_step(root) == killed_at + 2
  # The launcher printed its cluster and kept every process's log.
  for kind, index in tf_config.tasks(cluster):
    name = tf_config.task_name(kind, index)
    assert f'  {name}' in output
    assert (root / 'logs' / f'{name}.log').is_file()
