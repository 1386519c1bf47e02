"""When a meta-training run does what: execution settings, not science.

A :class:`Schedule` holds the intervals of a run (summaries, filter images,
held-out evaluation, checkpoints, exports), how many checkpoints to keep and
the wall-clock budget. Binaries set it from flags; gin never does, so that a
binding cannot be silently overridden by a flag (DESIGN §4.1: flags for
execution, gin for science). A :class:`Periodic` trigger runs one action on
that schedule.
"""

import dataclasses
import time
from typing import Optional


@dataclasses.dataclass(frozen=True)
class Schedule:
  """The execution settings of one ``train`` call.

  Attributes:
    checkpoint_every_steps: Resumable checkpoint interval in θ updates...
    checkpoint_every_minutes: ...or in minutes, whichever comes first.
    keep_checkpoints: Complete checkpoints kept.
    export_every_steps: SavedModel export interval (and at the end).
    summary_every_steps: TensorBoard scalar interval.
    filters_every_steps: First-layer filter image interval; 0: never.
    evaluate_every_steps: Held-out evaluation interval; 0: never.
    max_minutes: Wall-clock budget of the call, counted from its start;
      when it is spent the run checkpoints, exports and stops (a later call
      resumes it). None: no budget.
    max_cpu_minutes: Budget of the whole run in process CPU time (all
      threads, start-up and compilation included), summed over every call
      that resumed it (checkpoints record it): when it is spent the run
      checkpoints, exports and stops. Runs compared "at equal compute" on
      a shared machine get equal budgets of this, not of wall clock.
      None: no budget.
  """

  checkpoint_every_steps: int = 50
  checkpoint_every_minutes: float = 10.0
  keep_checkpoints: int = 3
  export_every_steps: int = 100
  summary_every_steps: int = 1
  filters_every_steps: int = 50
  evaluate_every_steps: int = 0
  max_minutes: Optional[float] = None
  max_cpu_minutes: Optional[float] = None

  def __post_init__(self):
    for name in ('checkpoint_every_steps', 'keep_checkpoints',
                 'export_every_steps', 'summary_every_steps'):
      if getattr(self, name) < 1:
        raise ValueError(f'`{name}` must be >= 1, got {getattr(self, name)}.')
    for name in ('filters_every_steps', 'evaluate_every_steps'):
      if getattr(self, name) < 0:
        raise ValueError(f'`{name}` must be >= 0 (0: never), got '
                         f'{getattr(self, name)}.')
    if not self.checkpoint_every_minutes > 0:
      raise ValueError(f'`checkpoint_every_minutes` must be > 0, got '
                       f'{self.checkpoint_every_minutes}.')
    for name in ('max_minutes', 'max_cpu_minutes'):
      value = getattr(self, name)
      if value is not None and not value > 0:
        raise ValueError(f'`{name}` must be > 0, got {value}.')

  def deadline(self, start):
    """The monotonic time at which the budget is spent, or None."""
    return None if self.max_minutes is None else start + 60 * self.max_minutes

  def cpu_spent(self, cpu_seconds):
    """Whether a run that used ``cpu_seconds`` of process CPU time in all
    has spent :attr:`max_cpu_minutes`."""
    return (self.max_cpu_minutes is not None and
            cpu_seconds >= 60 * self.max_cpu_minutes)


class Periodic:
  """Runs ``action(step)`` every ``every_steps`` steps or ``every_minutes``
  minutes, whichever comes first, and at the last step if ``at_end``.

  Args:
    action: Called with the step.
    every_steps: Step interval; 0 or None: not by steps.
    every_minutes: Minute interval, counted from construction and from the
      last run; None: not by time.
    at_end: Also run at the last step of the call (finished or out of time).
    clock: Monotonic clock in seconds (tests pass a fake one).
  """

  def __init__(self, action, every_steps=None, every_minutes=None,
               at_end=False, clock=time.monotonic):
    self.action = action
    self.every_steps = every_steps
    self.every_minutes = every_minutes
    self.at_end = at_end
    self.clock = clock
    self._last = clock()

  def due(self, step, last):
    """Whether the action runs at ``step`` (``last``: the call's last)."""
    if self.every_steps and step % self.every_steps == 0:
      return True
    if self.at_end and last:
      return True
    return (self.every_minutes is not None and
            self.clock() - self._last >= 60 * self.every_minutes)

  def __call__(self, step, last=False):
    """Runs the action if due; returns whether it ran."""
    if not self.due(step, last):
      return False
    self.action(step)
    self._last = self.clock()
    return True
