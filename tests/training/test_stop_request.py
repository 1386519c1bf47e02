"""SIGTERM and Ctrl-C: the first is recorded for the loop to stop cleanly,
a second stops at once."""

import os
import signal

import pytest

from learned_rule.training import stop_request


def test_first_signal_is_recorded_and_a_second_interrupts():
  before = [signal.getsignal(s) for s in stop_request.SIGNALS]
  stop = stop_request.StopRequest().install()
  try:
    assert stop.signal is None
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.signal == signal.SIGTERM and stop.signal_name == 'SIGTERM'
    with pytest.raises(KeyboardInterrupt, match='second SIGINT'):
      os.kill(os.getpid(), signal.SIGINT)
  finally:
    stop.uninstall()
  assert [signal.getsignal(s) for s in stop_request.SIGNALS] == before


def test_stopped_says_where_and_how_to_resume():
  message = str(stop_request.Stopped('SIGINT', 12))
  assert 'SIGINT received: checkpointed at step 12' in message
  assert 'again to resume' in message
  assert stop_request.EXIT_CODE not in (0, 1, 2)
