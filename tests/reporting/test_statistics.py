"""Tests of learned_rule.reporting.statistics: intervals over seeds and the
paired difference of two methods."""

import numpy as np
import pytest

from learned_rule.reporting import statistics


def row(per_seed):
  """A summary row whose only metric is ``per_seed``."""
  return {'ridge_accuracy': dict(statistics.describe(list(per_seed.values())),
                                 per_seed=per_seed)}


def test_interval_covers_the_true_mean_about_95_percent_of_the_time():
  rng = np.random.default_rng(1)
  trials = 400
  covered = 0
  for _ in range(trials):
    low, high = statistics.describe(rng.normal(0.6, 0.05, size=5))['ci95']
    covered += low <= 0.6 <= high
  assert 0.92 <= covered / trials <= 0.98


def test_describe_of_no_one_and_non_finite_values():
  assert statistics.describe([]) == {'n': 0, 'mean': None, 'std_error': None,
                                     'ci95': [None, None]}
  single = statistics.describe([0.5])
  assert single['mean'] == 0.5 and single['ci95'] == [None, None]
  assert statistics.describe([0.5, float('nan')])['mean'] is None
  assert statistics.describe([0.5, None])['n'] == 2


def test_paired_difference_is_over_the_shared_seeds():
  ours = {0: 0.60, 1: 0.65, 2: 0.70, 5: 0.9}
  theirs = {0: 0.50, 1: 0.58, 2: 0.61, 3: 0.2}
  difference = statistics.paired_difference(ours, theirs)
  expected = [ours[seed] - theirs[seed] for seed in (0, 1, 2)]
  assert list(difference['per_seed']) == [0, 1, 2]
  assert list(difference['per_seed'].values()) == pytest.approx(expected)
  assert difference['n'] == 3
  assert difference['mean'] == pytest.approx(np.mean(expected))
  assert difference['std_error'] == pytest.approx(
      np.std(expected, ddof=1) / np.sqrt(3))
  assert statistics.paired_difference(ours, {7: 0.1})['n'] == 0
  diverged = statistics.paired_difference({0: 0.5, 1: None}, {0: 0.4, 1: 0.3})
  assert diverged['per_seed'][1] is None and diverged['mean'] is None


def test_difference_interval_pairs_seeds_or_uses_both_intervals():
  rule = row({0: 0.6, 1: 0.7, 2: 0.8})
  random_init = row({0: 0.5, 1: 0.6, 2: 0.7})
  vae = row({7: 0.1, 8: 0.2})
  paired = statistics.difference_interval(rule, random_init)
  assert paired['paired'] and paired['mean'] == pytest.approx(0.1)
  assert paired['ci95'] == pytest.approx([0.1, 0.1])
  unpaired = statistics.difference_interval(rule, vae)
  ours, theirs = rule['ridge_accuracy'], vae['ridge_accuracy']
  assert not unpaired['paired'] and unpaired['n'] == 2
  assert unpaired['ci95'] == pytest.approx(
      [ours['ci95'][0] - theirs['ci95'][1],
       ours['ci95'][1] - theirs['ci95'][0]])
  one_seed = statistics.difference_interval(rule, row({0: 0.5}))
  assert not one_seed['paired'] and one_seed['ci95'] == [None, None]
