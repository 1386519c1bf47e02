"""The execution schedule of meta-training and its periodic triggers."""

import pytest

from learned_rule.training import schedule


class FakeClock:

  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def test_periodic_runs_on_step_multiples_and_at_the_end():
  ran = []
  trigger = schedule.Periodic(ran.append, every_steps=3, at_end=True,
                              clock=FakeClock())
  for step in range(1, 8):
    trigger(step, last=step == 7)
  assert ran == [3, 6, 7]


def test_periodic_without_at_end_skips_the_last_step():
  ran = []
  trigger = schedule.Periodic(ran.append, every_steps=3, clock=FakeClock())
  for step in range(1, 8):
    trigger(step, last=step == 7)
  assert ran == [3, 6]


def test_periodic_by_minutes_counts_from_its_last_run():
  clock = FakeClock()
  ran = []
  trigger = schedule.Periodic(ran.append, every_steps=100, every_minutes=1.0,
                              clock=clock)
  for step in range(1, 6):
    clock.now += 25.0  # Seconds per step.
    trigger(step)
  # Due after 60 s (step 3), then 60 s after that run (step 6, not reached).
  assert ran == [3]


def test_periodic_with_no_interval_never_runs_except_at_the_end():
  ran = []
  never = schedule.Periodic(ran.append, every_steps=0, clock=FakeClock())
  assert not never(1) and not never(2, last=True)
  assert ran == []


@pytest.mark.parametrize('field, value', [
    ('checkpoint_every_steps', 0), ('keep_checkpoints', 0),
    ('export_every_steps', 0), ('summary_every_steps', 0),
    ('filters_every_steps', -1), ('evaluate_every_steps', -1),
    ('checkpoint_every_minutes', 0.0), ('max_minutes', 0.0)])
def test_schedule_rejects_bad_values_and_names_them(field, value):
  with pytest.raises(ValueError, match=field):
    schedule.Schedule(**{field: value})


def test_deadline_is_the_budget_after_the_start():
  assert schedule.Schedule().deadline(100.0) is None
  assert schedule.Schedule(max_minutes=2).deadline(100.0) == 220.0
