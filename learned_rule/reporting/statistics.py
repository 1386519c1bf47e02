"""Statistics over seeds: a sample's mean and interval, paired differences.

Every error bar the package reports is computed here. A sample is the
values of one metric over seeds; its standard error is the paper's error
bar (spec §8.1) and its 95% Student-t interval what tables show.

Seeds pair runs: the same seed means the same unlabeled stream and the
same few-shot draws (spec §8.1), so two methods are compared through the
per-seed differences over the seeds both measured
(:func:`paired_difference`), which is tighter than comparing two
independent intervals.

Values that are undefined (the spread of one seed, a diverged run's NaN)
are None, which JSON writes as null.
"""

import math

import numpy as np
from scipy import stats

# Confidence level of the intervals (ours); the paper's error bars are
# standard errors (spec §8.1), which every description reports as well.
CONFIDENCE = 0.95


def finite_or_none(value):
  """``value`` as a float, or None where it is None, NaN or infinite."""
  if value is None:
    return None
  value = float(value)
  return value if math.isfinite(value) else None


def describe(values):
  """Mean, standard error and 95% t interval of a sample.

  Args:
    values: Floats (None or NaN marks a value that is not finite).

  Returns:
    ``{'n', 'mean', 'std_error', 'ci95': [lo, hi]}``. The mean is None for
    no values or when any value is not finite (a diverged seed must not
    vanish from the mean); the error and interval are None for fewer than
    two values.
  """
  values = [finite_or_none(value) for value in values]
  count = len(values)
  result = {'n': count, 'mean': None, 'std_error': None,
            'ci95': [None, None]}
  if not count or any(value is None for value in values):
    return result
  sample = np.asarray(values, np.float64)
  mean = float(sample.mean())
  result['mean'] = mean
  if count < 2:
    return result
  error = float(sample.std(ddof=1) / math.sqrt(count))
  half_width = float(stats.t.ppf(0.5 + CONFIDENCE / 2, count - 1)) * error
  result['std_error'] = error
  result['ci95'] = [mean - half_width, mean + half_width]
  return result


def _difference(value, baseline):
  if value is None or baseline is None:
    return None
  return value - baseline


def paired_difference(per_seed, baseline_per_seed):
  """Statistics of ``per_seed`` − ``baseline_per_seed``, seed by seed.

  Args:
    per_seed: Dict seed → value (None where not finite).
    baseline_per_seed: Dict seed → value of the method subtracted.

  Returns:
    :func:`describe` of the per-seed differences over the seeds both
    dicts hold (others are ignored), plus ``'per_seed': {seed: difference}``
    in seed order; a difference is None where either value is.
  """
  differences = {seed: _difference(per_seed[seed], baseline_per_seed[seed])
                 for seed in sorted(set(per_seed) & set(baseline_per_seed))}
  return dict(describe(list(differences.values())), per_seed=differences)


def difference_interval(row, other, metric='ridge_accuracy'):
  """95% interval of ``row`` − ``other`` for two summary rows.

  Paired (:func:`paired_difference`) over the seeds both measured when
  there are at least two. Otherwise the conservative interval
  ``[lo − other_hi, hi − other_lo]`` of the two rows' intervals, which
  excludes 0 exactly when the two intervals do not overlap.

  Args:
    row: A row of :func:`results.summarize`.
    other: The row subtracted.
    metric: The metric compared.

  Returns:
    ``{'paired': bool, 'n', 'mean', 'ci95': [lo, hi]}``; the interval is
    ``[None, None]`` where neither reading is defined.
  """
  ours, theirs = row[metric], other[metric]
  paired = paired_difference(ours['per_seed'], theirs['per_seed'])
  if paired['n'] >= 2:
    return {'paired': True, 'n': paired['n'], 'mean': paired['mean'],
            'ci95': paired['ci95']}
  result = {'paired': False, 'n': min(ours['n'], theirs['n']),
            'mean': _difference(ours['mean'], theirs['mean']),
            'ci95': [None, None]}
  (low, high), (other_low, other_high) = ours['ci95'], theirs['ci95']
  if result['mean'] is not None and None not in (low, other_high):
    result['ci95'] = [low - other_high, high - other_low]
  return result
