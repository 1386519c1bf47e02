"""One process per run directory: a live holder refuses a second one, and a
killed holder leaves nothing stuck."""

import os
import signal
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from learned_rule.storage import run_lock

REPO = REPO_ROOT
HOLDER = ('import sys, time\n'
          'from learned_rule.storage import run_lock\n'
          'run_lock.hold(sys.argv[1], "test run")\n'
          'print("held", flush=True)\n'
          'time.sleep(120)\n')


def _holder(root):
  process = subprocess.Popen(
      [sys.executable, '-c', HOLDER, str(root)], stdout=subprocess.PIPE,
      text=True, env=dict(os.environ, PYTHONPATH=REPO))
  assert process.stdout.readline().strip() == 'held'
  return process


def test_a_live_holder_refuses_another_and_a_killed_one_releases(tmp_path):
  root = tmp_path / 'run'
  holder = _holder(root)
  try:
    with pytest.raises(run_lock.RunDirectoryBusy,
                       match=rf'in use by a live test run \(pid {holder.pid} '
                             r'on .*another --root_dir'):
      run_lock.hold(root, 'test run')
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  run_lock.hold(root)  # The kernel released the dead holder's lock.
  assert f'pid {os.getpid()} ' in (root / run_lock.LOCK_FILE).read_text()
  run_lock.hold(root)  # Held already: nothing to do.


def test_a_url_gets_no_lock_and_a_warning(caplog):
  run_lock.hold('ram://run_lock_test/run')
  assert 'No lock on ram://run_lock_test/run' in caplog.text
