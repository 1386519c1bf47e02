"""A one-line progress display with rate and ETA for long loops."""

import sys
import time


def _format_seconds(seconds):
  seconds = int(round(seconds))
  if seconds >= 3600:
    return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'
  if seconds >= 60:
    return f'{seconds // 60}m{seconds % 60:02d}s'
  return f'{seconds}s'


class Progress:
  """Shows ``done/total``, rate, ETA and a few values on one line.

  On a terminal the line is redrawn in place; elsewhere (logs, CI) a line is
  printed at most every ``min_interval`` seconds and at the end.

  Args:
    total: Number of units of work.
    description: Prefix of the line.
    unit: Name of one unit, e.g. 'step'.
    stream: Where to write (default stderr).
    min_interval: Seconds between printed lines when not on a terminal.
  """

  def __init__(self, total, description='', unit='step', stream=None,
               min_interval=10.0):
    self.total = total
    self.description = description
    self.unit = unit
    self.stream = stream or sys.stderr
    self.min_interval = min_interval
    self.done = 0
    self.start = time.monotonic()
    self._last_print = -float('inf')
    self._interactive = getattr(self.stream, 'isatty', lambda: False)()

  def line(self, values=None):
    elapsed = time.monotonic() - self.start
    rate = self.done / elapsed if elapsed > 0 else 0.0
    eta = (self.total - self.done) / rate if rate > 0 else float('nan')
    width = 20
    filled = int(width * self.done / max(self.total, 1))
    parts = [self.description,
             f'[{"#" * filled}{"." * (width - filled)}]',
             f'{self.done}/{self.total} {self.unit}s',
             f'{rate:.2f} {self.unit}/s',
             f'elapsed {_format_seconds(elapsed)}',
             'ETA ' + (_format_seconds(eta) if eta == eta else '?')]
    parts += [f'{key}={value:.4g}' if isinstance(value, float)
              else f'{key}={value}' for key, value in (values or {}).items()]
    return ' '.join(part for part in parts if part)

  def update(self, count=1, values=None):
    """Records ``count`` more units done and redraws if due."""
    self.done = min(self.done + count, self.total)
    now = time.monotonic()
    finished = self.done >= self.total
    if self._interactive:
      self.stream.write('\r' + self.line(values) + ('\n' if finished else ''))
      self.stream.flush()
    elif finished or now - self._last_print >= self.min_interval:
      self.stream.write(self.line(values) + '\n')
      self.stream.flush()
      self._last_print = now
