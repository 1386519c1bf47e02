"""A binary's error ends it with one message and a status that says why;
the traceback only with --verbose."""

import errno
import os
import signal

from absl import app
import pytest
import tensorflow as tf

from learned_rule.cli import exits


def _end(error, capsys, verbose=False):
  """``(status, stderr)`` of a block that raises ``error``."""
  with pytest.raises(SystemExit) as ended:
    with exits.reporting_errors('some_binary', verbose):
      raise error
  return ended.value.code, capsys.readouterr().err


def test_bad_input_is_a_usage_error_without_traceback(capsys):
  status, err = _end(app.UsageError('--rule=x: no such rule'), capsys)
  assert status == exits.EXIT_USAGE == 2
  assert err.startswith('some_binary: error: --rule=x: no such rule\n')
  assert '--help' in err and 'Traceback' not in err


def test_a_usage_error_keeps_its_lines_but_not_gins_context(capsys):
  _, err = _end(app.UsageError(
      'Another configuration:\n  hidden_size: saved 6 vs now 7\n'
      "  In call to configurable 'train' (<function train at 0x1>)"), capsys)
  assert err.splitlines()[:2] == [
      'some_binary: error: Another configuration:',
      '  hidden_size: saved 6 vs now 7']
  assert 'In call to configurable' not in err


def test_an_unexpected_error_is_one_line_then_a_hint(capsys):
  status, err = _end(KeyError('layers'), capsys)
  assert status == exits.EXIT_ERROR == 1
  assert err.splitlines() == [
      "some_binary: KeyError: 'layers'",
      '(Run again with --verbose for the traceback.)']


def test_verbose_adds_the_traceback(capsys):
  status, err = _end(KeyError('layers'), capsys, verbose=True)
  assert status == 1
  assert 'Traceback (most recent call last)' in err
  assert err.rstrip().endswith('--verbose for the traceback.)')


@pytest.mark.parametrize('error', [
    OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), 'ckpt/arrays.npz'),
    OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)),
    tf.errors.ResourceExhaustedError(
        None, None, 'ckpt/arrays.npz; No space left on device'),
])
def test_a_full_disk_has_its_own_status_and_says_to_rerun(error, capsys):
  status, err = _end(error, capsys)
  assert status == exits.EXIT_DISK_FULL == 74
  assert err.startswith('some_binary: the disk is full: ')
  assert 'run the same command again' in err and 'Traceback' not in err


def test_the_one_line_drops_the_lines_gin_adds(capsys):
  status, err = _end(RuntimeError(
      'No usable task\n  In call to configurable \'train\' (<function>)'),
      capsys)
  assert status == 1
  assert err.splitlines()[0] == 'some_binary: RuntimeError: No usable task'
  assert 'In call to configurable' not in err


def test_a_full_disk_is_found_under_the_error_raised_from_it():
  try:
    try:
      raise OSError(errno.ENOSPC, 'No room')
    except OSError as cause:
      raise ValueError('Cannot write the export') from cause
  except ValueError as error:
    assert exits.is_disk_full(error)
  assert not exits.is_disk_full(OSError(errno.EACCES, 'Permission denied'))
  assert not exits.is_disk_full(ValueError('a bad value'))


def test_sigterm_stops_like_ctrl_c_with_status_75(capsys):
  previous = signal.getsignal(signal.SIGTERM)
  try:
    exits.stop_on_sigterm()
    with pytest.raises(SystemExit) as ended:
      with exits.reporting_errors('some_binary', False):
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0)  # Lets the handler run here.
        pytest.fail('SIGTERM did not stop the block')
  finally:
    signal.signal(signal.SIGTERM, previous)
  assert ended.value.code == exits.EXIT_STOPPED == 75
  assert 'stopped by SIGTERM' in capsys.readouterr().err


def test_ctrl_c_says_what_is_kept(capsys):
  status, err = _end(KeyboardInterrupt(), capsys)
  assert status == 75
  assert 'stopped by Ctrl-C' in err and 'run the same command again' in err


def test_a_second_signal_of_a_training_run_is_named(capsys):
  status, err = _end(KeyboardInterrupt('a second SIGTERM'), capsys)
  assert status == 75
  assert 'stopped by a second SIGTERM' in err


def test_sys_exit_passes_unchanged(capsys):
  status, err = _end(SystemExit(3), capsys)
  assert status == 3 and err == ''
