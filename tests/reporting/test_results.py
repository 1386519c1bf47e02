"""Tests of learned_rule.reporting.results: summaries, files, tables."""

import json
import math
import os

import numpy as np
import pytest

from learned_rule.reporting import results
from learned_rule.reporting import statistics

ARCHITECTURE = '16-8 relu'


def make_records(values_by_method, dataset='digits', steps=(0, 10)):
  """Records whose metric at every step is ``values[seed] + step / 1000``.

  Args:
    values_by_method: Dict method → dict seed → ridge accuracy.
    dataset: Dataset name of every record.
    steps: Inner steps of every method.
  """
  records = []
  for method, values in values_by_method.items():
    for step in steps:
      for seed, value in values.items():
        records.append({
            'dataset': dataset, 'architecture': ARCHITECTURE,
            'widths': [16, 8], 'activation': 'relu', 'method': method,
            'step': step, 'seed': seed,
            'ridge_accuracy': value + step / 1000,
            'logistic_accuracy': value / 2, 'meta_objective': 1.0 - value})
  return records


def normal_records(count, rng, mean=0.6, scale=0.05):
  values = rng.normal(mean, scale, size=count)
  return make_records({'learned_rule': dict(enumerate(values))}, steps=(5,))


def half_width(description):
  low, high = description['ci95']
  return (high - low) / 2


def test_interval_shrinks_as_seeds_grow():
  rng = np.random.default_rng(0)
  widths = [half_width(results.summarize(normal_records(count, rng))[0]
                       ['ridge_accuracy']) for count in (4, 16, 64, 256)]
  assert all(b < a for a, b in zip(widths, widths[1:])), widths
  # A t interval narrows like 1/sqrt(n): 64× the seeds, ~8× narrower.
  assert 4 < widths[0] / widths[-1] < 20


def test_interval_matches_a_hand_computed_t_interval():
  values = [0.52, 0.61, 0.58, 0.66, 0.55]
  row = results.summarize(make_records(
      {'learned_rule': dict(enumerate(values))}, steps=(0,)))[0]
  description = row['ridge_accuracy']
  mean = sum(values) / 5
  deviation = math.sqrt(sum((v - mean) ** 2 for v in values) / 4)
  error = deviation / math.sqrt(5)
  t_quantile = 2.776445105  # Table value of t(0.975) with 4 dof.
  assert description['n'] == 5 and row['n'] == 5
  assert description['mean'] == pytest.approx(mean)
  assert description['std_error'] == pytest.approx(error)
  assert description['ci95'] == pytest.approx(
      [mean - t_quantile * error, mean + t_quantile * error], abs=1e-9)
  assert description['per_seed'] == dict(enumerate(values))


def test_interval_of_many_seeds_covers_the_true_mean():
  low, high = results.summarize(normal_records(
      64, np.random.default_rng(1)))[0]['ridge_accuracy']['ci95']
  assert low < 0.6 < high


def test_one_seed_has_no_spread_and_nan_propagates():
  records = make_records({'learned_rule': {7: 0.5}, 'vae': {1: 0.4, 2: 0.6}},
                         steps=(0,))
  records[-1]['ridge_accuracy'] = float('nan')
  by_method = {row['method']: row for row in results.summarize(records)}
  single = by_method['learned_rule']['ridge_accuracy']
  assert single['mean'] == 0.5
  assert single['std_error'] is None and single['ci95'] == [None, None]
  diverged = by_method['vae']['ridge_accuracy']
  assert diverged['mean'] is None and diverged['per_seed'] == {1: 0.4,
                                                                2: None}


def test_rows_are_ordered_by_method_order_then_name_then_step():
  records = make_records({name: {0: 0.5, 1: 0.6} for name in (
      'zeta', 'raw_inputs', 'alpha/permuted', 'learned_rule', 'random_init')})
  summary = results.summarize(records)
  order = [(row['method'], row['step']) for row in summary]
  assert order == [(m, s) for m in ('learned_rule', 'random_init',
                                    'raw_inputs', 'alpha/permuted', 'zeta')
                   for s in (0, 10)]


def test_bad_records_are_rejected():
  records = make_records({'learned_rule': {0: 0.5}})
  with pytest.raises(ValueError, match='seed 0'):
    results.summarize(records + records[:1])
  broken = dict(records[0])
  del broken['seed']
  with pytest.raises(ValueError, match='seed'):
    results.summarize([broken])
  with pytest.raises(ValueError, match='int'):
    results.summarize([dict(records[0], step=1.5)])


def test_json_round_trip_is_exact(tmp_path):
  records = make_records({'learned_rule': {0: 0.5, 3: 0.7},
                          'raw_inputs': {0: 0.4}}, steps=(0, 10, 100))
  records[0]['meta_objective'] = float('inf')
  summary = results.summarize(records)
  metadata = {'seed': 3, 'steps': (0, 10, 100), 'note': 'tiny',
              'rate': np.float32(0.5)}
  path = tmp_path / 'sub' / 'results.json'
  results.write_results(path, summary, metadata, records=records)
  loaded = results.read_results(path)
  assert loaded['summary'] == summary
  assert loaded['metadata'] == {'seed': 3, 'steps': [0, 10, 100],
                                'note': 'tiny', 'rate': 0.5}
  assert loaded['records'][1] == records[1]
  assert loaded['records'][0]['meta_objective'] is None
  text = path.read_text()
  assert 'null' in text and 'NaN' not in text and 'Infinity' not in text
  assert os.listdir(tmp_path / 'sub') == ['results.json']
  assert 'records' not in results.read_results(
      results.write_results(tmp_path / 'plain.json', summary, {}))


def test_reading_a_file_that_is_not_results_fails(tmp_path):
  not_json = tmp_path / 'a.json'
  not_json.write_text('{not json')
  other = tmp_path / 'b.json'
  other.write_text(json.dumps({'summary': [], 'metadata': {}}))
  for path in (not_json, other):
    with pytest.raises(ValueError, match='not a results file'):
      results.read_results(path)


def test_markdown_has_every_method_and_step():
  records = make_records({'learned_rule': {0: 0.61, 1: 0.63},
                          'vae': {0: 0.5, 1: 0.52}}, steps=(0, 10, 100))
  records += make_records({'raw_inputs': {0: 0.4}}, steps=(0,))
  records += make_records({'learned_rule': {0: 0.3, 1: 0.4}},
                          dataset='tiny_mnist', steps=(0,))
  text = results.markdown_table(results.summarize(records))
  assert '### digits — 16-8 relu' in text
  assert '### tiny_mnist — 16-8 relu' in text
  for name in ('learned_rule', 'vae', 'raw_inputs'):
    assert f'| {name} |' in text
  assert '| step 0 | step 10 | step 100 |' in text
  raw_line = next(line for line in text.splitlines()
                  if line.startswith('| raw_inputs'))
  assert raw_line == '| raw_inputs | 1 | 40.0 | — | — |'
  rule_line = next(line for line in text.splitlines()
                   if line.startswith('| learned_rule'))
  # Mean 62.0 %, half-width t(0.975, 1 dof) × 1.0 = 12.706 × 1.0 points.
  assert '| learned_rule | 2 | 62.0 ± 12.7 |' in rule_line
  assert 'meta_objective' in results.markdown_table(
      results.summarize(records), metric='meta_objective')


def test_paired_difference_ignores_unshared_seeds():
  rule = {0: 0.60, 1: 0.65, 2: 0.70, 5: 0.9}
  baseline = {0: 0.50, 1: 0.58, 2: 0.61, 3: 0.2}
  records = make_records({'learned_rule': rule, 'random_init': baseline})
  rows = results.paired_differences(records, 'learned_rule', 'random_init')
  assert [row['step'] for row in rows] == [0, 10]
  differences = [rule[seed] - baseline[seed] for seed in (0, 1, 2)]
  for row in rows:
    assert row['n'] == 3
    assert sorted(row['per_seed']) == [0, 1, 2]
    assert row['mean'] == pytest.approx(np.mean(differences))
    assert row['std_error'] == pytest.approx(
        np.std(differences, ddof=1) / np.sqrt(3))
  assert results.paired_differences(records, 'learned_rule', 'vae') == []


def test_paired_differences_are_the_paired_difference_of_summary_rows():
  records = make_records({'learned_rule': {0: 0.6, 1: 0.7, 2: 0.9},
                          'random_init': {0: 0.5, 1: 0.4, 2: 0.6}})
  rows = {(row['method'], row['step']): row['ridge_accuracy']
          for row in results.summarize(records)}
  for row in results.paired_differences(records, 'learned_rule',
                                        'random_init'):
    expected = statistics.paired_difference(
        rows[('learned_rule', row['step'])]['per_seed'],
        rows[('random_init', row['step'])]['per_seed'])
    assert {key: row[key] for key in expected} == expected
    assert (row['method'], row['baseline'], row['metric']) == (
        'learned_rule', 'random_init', 'ridge_accuracy')
