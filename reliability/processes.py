"""Starting, watching and killing the package's binaries for the campaign.

Every binary runs as a user runs it, ``python bin/<name>.py`` from the
checkout, its output (stdout and stderr together) going to a log file that
the campaign reads afterwards. TensorFlow sees no GPU, so results do not
depend on the machine.
"""

import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def environment(**extra):
  """The environment of a binary: no GPU, no inherited TF_CONFIG."""
  env = dict(os.environ, CUDA_VISIBLE_DEVICES='')
  env.pop('TF_CONFIG', None)
  env.update(extra)
  return env


def command(binary, *args):
  """The command line that runs ``bin/<binary>.py`` with ``args``."""
  return [sys.executable, os.path.join(REPO, 'bin', f'{binary}.py'),
          *[str(arg) for arg in args]]


def start(argv, log_path, env=None):
  """Starts ``argv`` in its own process group, output to ``log_path``."""
  with open(log_path, 'w', encoding='utf-8') as log:
    return subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        env=env or environment(), start_new_session=True)


def finish(process, timeout):
  """Waits for ``process``; kills its group after ``timeout`` seconds.

  Returns:
    Its exit status, or None where it had to be killed.
  """
  try:
    return process.wait(timeout=timeout)
  except subprocess.TimeoutExpired:
    kill_group(process)
    return None


def kill_group(process):
  """SIGKILLs ``process`` and everything it started; waits for it."""
  try:
    os.killpg(process.pid, signal.SIGKILL)
  except ProcessLookupError:
    pass
  process.wait()


def run(argv, log_path, timeout, env=None):
  """Runs ``argv`` to its end; ``(status or None, output)``."""
  status = finish(start(argv, log_path, env), timeout)
  return status, read(log_path)


def read(log_path):
  """The text of a log, undecodable bytes replaced."""
  with open(log_path, encoding='utf-8', errors='replace') as log:
    return log.read()


def sleep_unless_ended(process, seconds):
  """Sleeps up to ``seconds``; False if ``process`` ended meanwhile."""
  deadline = time.monotonic() + seconds
  while time.monotonic() < deadline:
    if process.poll() is not None:
      return False
    time.sleep(0.05)
  return process.poll() is None


def cluster_task_pid(root_dir, task_type):
  """The pid of the live ``task_type`` process ('chief', 'worker', 'ps')
  that a local cluster runs for ``root_dir``, or None."""
  for entry in sorted(os.listdir('/proc')):
    if not entry.isdigit():
      continue
    try:
      with open(f'/proc/{entry}/cmdline', 'rb') as stream:
        cmdline = stream.read().decode(errors='replace')
      with open(f'/proc/{entry}/environ', 'rb') as stream:
        environ = stream.read().decode(errors='replace')
    except OSError:
      continue
    if (f'--root_dir={root_dir}' in cmdline and 'meta_train' in cmdline and
        f'"type": "{task_type}"' in environ):
      return int(entry)
  return None
