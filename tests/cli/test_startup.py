"""Binaries start quietly: TensorFlow's native start-up lines are dropped,
everything else on standard error is kept, and --help describes the
binary."""

import os
import subprocess
import sys

from conftest import REPO_ROOT
from learned_rule.cli import startup

REPO = REPO_ROOT
NOISE_LINES = (
    'WARNING: All log messages before absl::InitializeLog() is called are '
    'written to STDERR\n'
    'I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. You may '
    'see slightly different numerical results.\n'
    'I0000 00:00:1.1 1 cudart_stub.cc:31] Could not find cuda drivers on '
    'your machine, GPU will not be used.\n'
    'E0000 00:00:1.2 1 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n')


def test_native_noise_is_dropped_and_the_rest_kept(capfd):
  with startup.native_stderr_filtered():
    os.write(2, (NOISE_LINES + 'a real problem\n').encode())
  captured = capfd.readouterr()
  assert captured.err == 'a real problem\n'


def test_a_binary_starts_tensorflow_without_noise(tmp_path):
  # A binary that loads TensorFlow and fails at once on its input: a
  # directory that is no rule.
  (tmp_path / 'empty').mkdir()
  result = subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'paired_eval.py'),
       f'--rule={tmp_path / "empty"}', '--gin_file=held_out/tiny.gin'],
      capture_output=True, text=True, timeout=300, check=False,
      env={key: value for key, value in os.environ.items()
           if key != 'TF_CPP_MIN_LOG_LEVEL'})
  assert result.returncode != 0
  assert 'is not a learned rule' in result.stderr
  for noise in ('oneDNN', 'cuda drivers', 'cuInit', 'absl::InitializeLog'):
    assert noise not in result.stderr, result.stderr[-3000:]


def test_help_describes_the_binary_and_its_flags():
  result = subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'meta_train.py'), '--help'],
      capture_output=True, text=True, timeout=120, check=False)
  assert 'Meta-trains a learned rule' in result.stdout
  for flag in ('--root_dir', '--start_from', '--gin_file'):
    assert flag in result.stdout, result.stdout
