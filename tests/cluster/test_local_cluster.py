"""Parameter-server clusters: TF_CONFIG, servers, the local process group
and its launcher.

Most tests run cheap fake tasks (a Python script that prints its TF_CONFIG
and sleeps, exits or traps signals as told); one starts a real in-process
cluster and one runs real meta-training through the launcher.
"""

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import REPO_ROOT
from conftest import run_repo_binary
from learned_rule.cluster import local
from learned_rule.cluster import servers
from learned_rule.cluster import tf_config

REPO = REPO_ROOT
NAMES = ['ps-0', 'worker-0', 'worker-1', 'chief-0']

# A fake task. FAKE_EXIT="worker-1:3,..." makes those tasks exit with that
# code after FAKE_EXIT_AFTER seconds; with FAKE_MARKER_DIR each task writes
# NAME.pid there once ready and NAME.sigint when it gets SIGINT, then exits,
# unless it is in FAKE_STUBBORN: then it ignores SIGINT and SIGTERM.
FAKE_TASK = textwrap.dedent("""\
    import json, os, signal, sys, time
    task = json.loads(os.environ['TF_CONFIG'])['task']
    name = f"{task['type']}-{task['index']}"
    print('TF_CONFIG=' + os.environ['TF_CONFIG'])
    print('to stderr from ' + name, file=sys.stderr)
    marker_dir = os.environ.get('FAKE_MARKER_DIR')
    stubborn = name in os.environ.get('FAKE_STUBBORN', '').split(',')

    def on_sigint(signum, frame):
      open(os.path.join(marker_dir, name + '.sigint'), 'w').close()
      if not stubborn:
        sys.exit(0)

    if marker_dir:
      signal.signal(signal.SIGINT, on_sigint)
      if stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
      with open(os.path.join(marker_dir, name + '.tmp'), 'w') as stream:
        stream.write(str(os.getpid()))
      os.rename(os.path.join(marker_dir, name + '.tmp'),
                os.path.join(marker_dir, name + '.pid'))
    exits = dict(item.split(':') for item in
                 os.environ.get('FAKE_EXIT', '').split(',') if item)
    if name in exits:
      time.sleep(float(os.environ.get('FAKE_EXIT_AFTER', '0.5')))
      print(name + ' exits')
      sys.exit(int(exits[name]))
    deadline = time.monotonic() + 120  # Never outlive a broken test.
    while time.monotonic() < deadline:
      time.sleep(0.05)
    """)


@pytest.fixture
def fake_task(tmp_path):
  path = tmp_path / 'fake_task.py'
  path.write_text(FAKE_TASK)
  return [sys.executable, str(path)]


def run_group(command, log_dir, marker_dir, **environment):
  echo = io.StringIO()
  environ = dict(os.environ, FAKE_MARKER_DIR=str(marker_dir), **environment)
  cluster = tf_config.local_cluster_spec(2, 1)
  status = local.run_local_cluster(cluster, command, str(log_dir),
                                   grace_seconds=2.0, echo=echo,
                                   environ=environ)
  return cluster, status, echo.getvalue()


def assert_all_stopped(marker_dir, names=tuple(NAMES)):
  for name in names:
    pid = int((marker_dir / f'{name}.pid').read_text())
    with pytest.raises(ProcessLookupError):
      os.kill(pid, 0)


# -- TF_CONFIG. ---------------------------------------------------------------


def test_local_cluster_ports_are_distinct_and_free():
  cluster = tf_config.local_cluster_spec(3, 2)
  assert [len(cluster[t]) for t in ('chief', 'worker', 'ps')] == [1, 3, 2]
  ports = [int(address.split(':')[1]) for addresses in cluster.values()
           for address in addresses]
  assert len(set(ports)) == 6
  for port in ports:
    with socket.socket() as sock:
      sock.bind(('localhost', port))


def test_tf_config_of_every_role_reads_back():
  cluster = tf_config.local_cluster_spec(2, 1)
  assert tf_config.tasks(cluster) == [('ps', 0), ('worker', 0), ('worker', 1),
                                      ('chief', 0)]
  for task_type, index in tf_config.tasks(cluster):
    text = tf_config.make_tf_config(cluster, task_type, index)
    assert json.loads(text) == {'cluster': cluster, 'task': {
        'type': task_type, 'index': index}}
    assert tf_config.read_tf_config({'TF_CONFIG': text}) == (
        tf_config.TFConfig(cluster, task_type, index))
  assert tf_config.read_tf_config({}) is None
  assert tf_config.read_tf_config({'TF_CONFIG': ' '}) is None


_CLUSTER = {'chief': ['localhost:1000'], 'worker': ['localhost:1001'],
            'ps': ['localhost:1002']}


@pytest.mark.parametrize('config, message', [
    ('{"cluster": ', 'not valid JSON'),
    ('[1]', 'must be a JSON object'),
    (json.dumps({'task': {'type': 'worker', 'index': 0}}), 'no "cluster"'),
    (json.dumps({'cluster': {'worker': ['localhost:1'], 'ps': ['localhost:2']},
                 'task': {'type': 'worker', 'index': 0}}), 'no "chief"'),
    (json.dumps({'cluster': dict(_CLUSTER, chief=['a:1', 'b:2']),
                 'task': {'type': 'worker', 'index': 0}}), 'exactly one'),
    (json.dumps({'cluster': dict(_CLUSTER, ps=[]),
                 'task': {'type': 'worker', 'index': 0}}), '"ps" addresses'),
    (json.dumps({'cluster': dict(_CLUSTER, worker=['localhost']),
                 'task': {'type': 'worker', 'index': 0}}), 'not "host:port"'),
    (json.dumps({'cluster': dict(_CLUSTER, evaluator=['localhost:3']),
                 'task': {'type': 'worker', 'index': 0}}), "['evaluator']"),
    (json.dumps({'cluster': _CLUSTER}), 'no "task"'),
    (json.dumps({'cluster': _CLUSTER, 'task': {'type': 'master', 'index': 0}}),
     "task type 'master'"),
    (json.dumps({'cluster': _CLUSTER, 'task': {'type': 'worker', 'index': 1}}),
     'task index 1'),
    (json.dumps({'cluster': _CLUSTER, 'task': {'type': 'ps', 'index': '0'}}),
     "task index '0'"),
])
def test_bad_tf_config_names_the_problem(config, message):
  with pytest.raises(ValueError, match=message.replace('[', r'\[')):
    tf_config.parse_tf_config(config)


def test_a_cluster_needs_workers_and_parameter_servers():
  with pytest.raises(ValueError, match='workers'):
    tf_config.local_cluster_spec(0, 1)
  with pytest.raises(ValueError, match='parameter servers'):
    tf_config.local_cluster_spec(1, 0)


# -- The process group, with fake tasks. ---------------------------------------


def test_chief_exit_stops_the_others_and_every_role_has_its_log(
    tmp_path, fake_task):
  start = time.monotonic()
  cluster, status, echo = run_group(fake_task, tmp_path / 'logs', tmp_path,
                                    FAKE_EXIT='chief-0:0')
  assert status == 0
  assert time.monotonic() - start < 30
  assert '[launcher] chief-0 exited with code 0' in echo
  assert sorted(os.listdir(tmp_path / 'logs')) == sorted(
      f'{name}.log' for name in NAMES)
  for name in NAMES:
    log = (tmp_path / 'logs' / f'{name}.log').read_text()
    first = log.splitlines()[0]
    assert first.startswith('TF_CONFIG=')
    task_type, index = name.split('-')
    assert json.loads(first[len('TF_CONFIG='):]) == {
        'cluster': cluster, 'task': {'type': task_type, 'index': int(index)}}
    assert f'to stderr from {name}' in log
    assert f'[{name}] {first}\n' in echo
    assert f'[{name}] to stderr from {name}\n' in echo
  assert_all_stopped(tmp_path)


def test_a_failing_worker_stops_the_cluster_and_is_named(tmp_path, fake_task):
  _, status, echo = run_group(fake_task, tmp_path / 'logs', tmp_path,
                              FAKE_EXIT='worker-1:3')
  assert status == local.OTHER_DIED != 0
  assert ('[launcher] worker-1 exited with code 3 before the chief ended'
          in echo)
  assert '[worker-1] worker-1 exits' in echo
  assert_all_stopped(tmp_path)


def test_a_stubborn_task_is_killed_after_the_grace_period(tmp_path,
                                                          fake_task):
  _, status, echo = run_group(fake_task, tmp_path / 'logs', tmp_path,
                              FAKE_EXIT='chief-0:5', FAKE_STUBBORN='ps-0')
  assert status == 5
  assert '[launcher] ps-0 did not stop; killing it.' in echo
  assert_all_stopped(tmp_path)


def test_sigint_reaches_every_task_and_stops_the_cluster(tmp_path, fake_task):
  driver = ('import sys\n'
            'from learned_rule.cluster import local, tf_config\n'
            'sys.exit(local.run_local_cluster(\n'
            '    tf_config.local_cluster_spec(2, 1), sys.argv[2:],\n'
            '    sys.argv[1], grace_seconds=1.0))\n')
  launcher = subprocess.Popen(  # pylint: disable=consider-using-with
      [sys.executable, '-c', driver, str(tmp_path / 'logs'), *fake_task],
      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
      env=dict(os.environ, PYTHONPATH=REPO, FAKE_MARKER_DIR=str(tmp_path),
               FAKE_STUBBORN='ps-0'))
  try:
    deadline = time.monotonic() + 60
    while not all((tmp_path / f'{name}.pid').exists() for name in NAMES):
      assert time.monotonic() < deadline and launcher.poll() is None, (
          launcher.communicate()[0])
      time.sleep(0.05)
    launcher.send_signal(signal.SIGINT)
    output, _ = launcher.communicate(timeout=60)
  finally:
    if launcher.poll() is None:
      launcher.kill()
  assert launcher.returncode == 128 + signal.SIGINT, output
  for name in NAMES:
    assert (tmp_path / f'{name}.sigint').exists(), (name, output)
  assert '[launcher] Got SIGINT; forwarding it' in output
  assert '[launcher] ps-0 did not stop; killing it.' in output
  assert_all_stopped(tmp_path)


# -- The launcher's command line. ----------------------------------------------


@pytest.mark.parametrize('args, message', [
    (['--workers=2', '--', '--gin_file=meta_train/tiny.gin'], '--root_dir'),
    (['--', '--gin_file=meta_train/tiny.gin'], '--root_dir'),
    (['--workers=0', '--', '--root_dir=/tmp/x'], 'workers'),
    (['--ps=-1', '--', '--root_dir=/tmp/x'], 'ps'),
    (['--', '--root_dir=/tmp/x', '--strategy=mirrored'], 'remove --strategy'),
    (['--', '--root_dir=gs://bucket/run'], '--cluster_log_dir'),
])
def test_launcher_usage_errors(args, message):
  result = run_repo_binary('launch_local_cluster', *args, timeout=60)
  assert result.returncode != 0
  assert message in result.stderr, result.stderr


def test_launcher_prints_the_cluster_and_stops_on_a_bad_flag(tmp_path):
  # meta_train rejects the flag before it loads TensorFlow: quick.
  root = tmp_path / 'run'
  result = run_repo_binary('launch_local_cluster', '--workers=2', '--ps=1',
                           '--grace_seconds=2', '--', f'--root_dir={root}',
                           '--no_such_flag', timeout=120)
  assert result.returncode != 0
  lines = result.stdout.splitlines()
  assert lines[0].startswith('Local parameter-server cluster: 1 chief, '
                             '2 worker(s), 1 parameter server(s).')
  for name in NAMES:
    assert any(line.startswith(f'  {name}') and ' localhost:' in line
               for line in lines), result.stdout
  assert '--strategy=parameter_server --root_dir=' in result.stdout
  assert f'Logs: {root / "logs"}' in result.stdout
  # Whichever task rejects the flag first stops the cluster, maybe before
  # the others have written a line: read the log of the one named.
  ended = re.search(r'^\[launcher\] (\S+) exited with code 1',
                    result.stdout, re.MULTILINE)
  assert ended, result.stdout
  assert ended.group(1) in NAMES
  assert "Unknown command line flag 'no_such_flag'" in (
      root / 'logs' / f'{ended.group(1)}.log').read_text()
  assert (f'[{ended.group(1)}] FATAL Flags parsing error: Unknown command '
          'line flag') in result.stdout


# -- Real TensorFlow servers. --------------------------------------------------


def test_serve_if_not_chief_returns_false_for_the_chief(monkeypatch):
  cluster = tf_config.local_cluster_spec(1, 1)
  monkeypatch.setenv('TF_CONFIG', tf_config.make_tf_config(cluster, 'chief',
                                                           0))
  assert servers.serve_if_not_chief() is False
  monkeypatch.delenv('TF_CONFIG')
  assert servers.serve_if_not_chief() is False
  monkeypatch.setenv('TF_CONFIG', '{"cluster": {}}')
  with pytest.raises(ValueError, match='no "cluster"'):
    servers.serve_if_not_chief()


def test_server_config_has_a_thread_per_worker_and_one_more():
  assert servers.server_config(2, cpu_count=2).inter_op_parallelism_threads == 3
  assert servers.server_config(2, cpu_count=8).inter_op_parallelism_threads == 8


def test_a_worker_serves_until_it_is_stopped(tmp_path):
  cluster = tf_config.local_cluster_spec(1, 1)
  port = int(cluster['worker'][0].split(':')[1])
  process = subprocess.Popen(  # pylint: disable=consider-using-with
      [sys.executable, '-c', 'from learned_rule.cluster import servers\n'
       'servers.serve_if_not_chief()\nprint("returned")\n'],
      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
      env=dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL='3',
               TF_CONFIG=tf_config.make_tf_config(cluster, 'worker', 0)))
  try:
    deadline = time.monotonic() + 120
    while True:
      assert process.poll() is None, process.communicate()[0]
      assert time.monotonic() < deadline, 'the worker never listened'
      with socket.socket() as sock:
        if sock.connect_ex(('localhost', port)) == 0:
          break
      time.sleep(0.2)
    time.sleep(1.0)
    assert process.poll() is None  # Joined: serving, not returned.
  finally:
    process.kill()
    output, _ = process.communicate()
  assert 'returned' not in output


IN_PROCESS = textwrap.dedent("""\
    import tensorflow as tf
    from learned_rule.cluster import servers

    resolver = servers.start_in_process_cluster(num_workers=2, num_ps=1)
    strategy = tf.distribute.experimental.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.experimental.coordinator.ClusterCoordinator(
        strategy)
    with strategy.scope():
      total = tf.Variable(1.0)

    @tf.function
    def step():
      total.assign_add(2.0)
      return total.read_value() * 10.0

    result = coordinator.schedule(step)
    coordinator.join()
    print('RESULT', float(result.fetch()), total.device)
    """)


def test_in_process_cluster_runs_a_scheduled_function():
  # A process of its own: connecting to a cluster changes the eager context
  # for good, which must not leak into other tests.
  result = subprocess.run(
      [sys.executable, '-c', IN_PROCESS], cwd=REPO, capture_output=True,
      text=True, timeout=300, check=False,
      env=dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL='3'))
  assert result.returncode == 0, result.stderr[-3000:]
  line = next(line for line in result.stdout.splitlines()
              if line.startswith('RESULT'))
  _, value, device = line.split()
  assert float(value) == 30.0
  assert '/job:ps' in device
