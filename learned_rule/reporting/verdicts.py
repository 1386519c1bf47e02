"""Verdicts on the paper's claims, and how an interval decides one.

A check of a claim (:mod:`claim_checks`) compares summary rows of
:func:`results.summarize` through :func:`statistics.difference_interval`:
the paired 95% t interval over the seeds both share (same seed = same data
stream and draws, spec §8.1), or, without two shared seeds, the interval
that excludes 0 only when the two rows' 95% intervals do not overlap.

Each comparison gives an *outcome*: +1 when its interval decides it in the
claim's favour, -1 when it decides it against, 0 when it does not decide.
A claim holds when every comparison it needs is decided in its favour,
fails when one is decided against it, and is inconclusive otherwise.
"""

import dataclasses
from typing import Optional

from learned_rule.reporting import results
from learned_rule.reporting import statistics

# Few-shot ridge accuracy, 10 examples per class (spec §8.1, §5.2): the
# metric every claim is read on.
METRIC = 'ridge_accuracy'

_STATUS = {True: 'yes', False: 'no', None: 'inconclusive'}


@dataclasses.dataclass(frozen=True)
class Verdict:
  """What a check measured, and whether the claim holds.

  Attributes:
    measurement: The steps, datasets and numbers compared, in words.
    holds: True or False when decided, None when not.
    measured: False when this run did not measure the claim at all.
    partial: True when only part of what the claim covers was measured.
    scope: For a partial verdict, which part was measured and which was
      not ('digits only; 16×16 CIFAR-10 not measured'); for one not
      measured, what was measured instead, if anything ('measured on
      digits instead'). Shown in :attr:`status`.
    datasets: The datasets the comparisons read.
  """

  measurement: str
  holds: Optional[bool]
  measured: bool = True
  partial: bool = False
  scope: str = ''
  datasets: tuple = ()

  def __post_init__(self):
    if self.partial and not self.scope:
      raise ValueError('A partial verdict must say which part was measured '
                       '(`scope`).')

  @property
  def status(self):
    """'yes', 'no', 'inconclusive' or 'not measured', with the scope:
    'yes (partial: digits only; 16×16 CIFAR-10 not measured)', 'not
    measured (measured on digits instead)'."""
    if not self.measured:
      return 'not measured' + (f' ({self.scope})' if self.scope else '')
    return _STATUS[self.holds] + (
        f' (partial: {self.scope})' if self.partial else '')


def not_measured(reason, scope=''):
  """A :class:`Verdict` for a claim this run did not measure.

  Args:
    reason: Why, and what was measured instead, in words.
    scope: A short form for the status, e.g. 'measured on digits instead'.
  """
  return Verdict(reason, None, measured=False, scope=scope)


def only(covered, uncovered, what='not run'):
  """'vae on digits only; supervised on digits not run': a partial scope."""
  return f'{covered} only; {", ".join(uncovered)} {what}'


def narrowed(verdict, covered, uncovered):
  """``verdict`` made partial: only ``covered`` of the claim was measured.

  Args:
    verdict: A measured :class:`Verdict`.
    covered: What was measured, e.g. 'digits'.
    uncovered: What the claim covers that was not, e.g. ['16×16 CIFAR-10'].

  Returns:
    The verdict, its scope led by 'covered only; uncovered not measured'.
  """
  scope = only(covered, uncovered, 'not measured')
  return dataclasses.replace(
      verdict, partial=True,
      scope='; '.join(part for part in (scope, verdict.scope) if part))


# -- Text. ---------------------------------------------------------------------


def points(value):
  """A fraction as signed accuracy points, '+3.2'."""
  return f'{value * 100:+.1f}'


def row_text(row):
  """'learned_rule step 100: 61.2 ± 2.1 (n=5)'."""
  return (f'{row["method"]} step {row["step"]}: '
          f'{results.format_cell(row[METRIC], METRIC)} (n={row[METRIC]["n"]})')


def interval_text(interval, name='difference'):
  """An interval of :func:`statistics.difference_interval`, in words."""
  low, high = interval['ci95']
  mean = 'nan' if interval['mean'] is None else points(interval['mean'])
  bounds = ('no CI' if low is None else
            f'[{points(low)}, {points(high)}]')
  reading = 'paired' if interval['paired'] else 'from the two CIs'
  return f'{name} {mean} {bounds} points ({reading}, n={interval["n"]})'


# -- Outcomes. -----------------------------------------------------------------


def decide(interval, low_bar=0.0, high_bar=0.0):
  """+1 if the interval lies above ``low_bar``, -1 if below ``high_bar``."""
  low, high = interval['ci95']
  if low is None:
    return 0
  if low > low_bar:
    return 1
  if high < high_bar:
    return -1
  return 0


def within(interval, tolerance):
  """+1 if the interval lies in ±tolerance, -1 if wholly outside it."""
  low, high = interval['ci95']
  if low is None:
    return 0
  if -tolerance <= low and high <= tolerance:
    return 1
  if low > tolerance or high < -tolerance:
    return -1
  return 0


def at_most(interval, bar):
  """+1 if the interval lies at or below ``bar``, -1 if wholly above it."""
  low, high = interval['ci95']
  if low is None:
    return 0
  if high <= bar:
    return 1
  return -1 if low > bar else 0


def combine(outcomes):
  """True if every outcome is +1, False if any is -1, else None."""
  if any(outcome < 0 for outcome in outcomes):
    return False
  if all(outcome > 0 for outcome in outcomes):
    return True
  return None


def verdict(outcomes, lines, missing=(), extra='', covered='', datasets=()):
  """The :class:`Verdict` of ``outcomes``, measured as ``lines`` say.

  Args:
    outcomes: One outcome per comparison.
    lines: What each comparison measured.
    missing: What the claim covers that this run did not run (partial).
    extra: A closing note, e.g. a threshold that is ours.
    covered: With ``missing``: what was run, for the status ('vae on
      digits').
    datasets: The datasets the comparisons read.
  """
  text = '; '.join(lines)
  if missing:
    text += '. Not run: ' + ', '.join(missing)
  if extra:
    text += '. ' + extra
  scope = only(covered or 'the comparisons listed', missing) if missing else ''
  return Verdict(text + '.', combine(outcomes), partial=bool(missing),
                 scope=scope, datasets=tuple(dict.fromkeys(datasets)))


def versus(row, other):
  """Outcome and text of ``row`` − ``other``: +1 better, -1 worse."""
  interval = statistics.difference_interval(row, other, METRIC)
  text = (f'{row["dataset"]} {row["architecture"]}: {row_text(row)} vs '
          f'{row_text(other)}, {interval_text(interval)}')
  return decide(interval), text
