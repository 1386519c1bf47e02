"""Stopping a run cleanly on SIGTERM or Ctrl-C (SIGINT).

A preempted machine sends SIGTERM and waits a little before SIGKILL. On the
first SIGTERM or SIGINT the training loop finishes the θ update in flight,
writes a checkpoint and stops (:class:`Stopped`); the binary then exits
with :data:`EXIT_CODE`. A second signal stops at once, as Ctrl-C usually
does (KeyboardInterrupt), losing the update in flight only.
"""

import signal

# sysexits.h's EX_TEMPFAIL: a temporary failure, to be retried. Distinct
# from success (0), an error (1) and a usage error (2 from absl).
EXIT_CODE = 75
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(Exception):
  """The run stopped on a signal after checkpointing."""

  def __init__(self, signal_name, step):
    super().__init__(
        f'{signal_name} received: checkpointed at step {step} and stopped. '
        f'Run the same command again to resume.')
    self.signal_name = signal_name
    self.step = step


class StopRequest:
  """Records the first SIGTERM or SIGINT; the loop polls :attr:`signal`."""

  def __init__(self):
    self.signal = None
    self._previous = {}

  @property
  def signal_name(self):
    return None if self.signal is None else signal.Signals(self.signal).name

  def _handle(self, signum, unused_frame):
    if self.signal is not None:
      raise KeyboardInterrupt(f'a second {signal.Signals(signum).name}')
    self.signal = signum

  def install(self):
    """Handles :data:`SIGNALS` from now on (main thread only)."""
    for signum in SIGNALS:
      self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def uninstall(self):
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous = {}
