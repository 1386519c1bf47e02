"""Progress of long loops: a tqdm bar with rate, ETA and a few values.

On a terminal the bar is redrawn in place; elsewhere (logs, CI) it is
redrawn at most every ``min_interval`` seconds, and always at the end.
"""

import sys

import tqdm


class Progress:
  """Shows ``done/total``, rate, ETA and a few values.

  Args:
    total: Number of units of work.
    description: Prefix of the bar.
    unit: Name of one unit, e.g. 'step'.
    stream: Where to write (default stderr).
    min_interval: Seconds between redraws when not on a terminal.
  """

  def __init__(self, total, description='', unit='step', stream=None,
               min_interval=10.0):
    stream = stream or sys.stderr
    interactive = getattr(stream, 'isatty', lambda: False)()
    self._bar = tqdm.tqdm(total=total, desc=description or None, unit=unit,
                          file=stream, ascii=not interactive,
                          mininterval=0.1 if interactive else min_interval,
                          dynamic_ncols=interactive, leave=True,
                          disable=total <= 0)  # Nothing to show.

  @property
  def done(self):
    return self._bar.n

  @property
  def total(self):
    return self._bar.total

  def update(self, count=1, values=None):
    """Records ``count`` more units done (and ``values`` to show)."""
    if self._bar.disable:
      return
    count = min(count, self.total - self.done)
    if values:
      self._bar.set_postfix(
          {key: f'{value:.4g}' if isinstance(value, float) else value
           for key, value in values.items()}, refresh=False)
    if self.done + count < self.total:
      self._bar.update(count)
    else:  # The last line, drawn once by close().
      self._bar.n = self.total
      self._bar.close()
