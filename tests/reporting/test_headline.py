"""Tests of learned_rule.reporting.headline: the table quoted from a run."""

import json

from learned_rule.reporting import headline
from learned_rule.reporting import results

METADATA = {'compute_note': '801 θ updates of meta-training (rules/x)',
            'command': 'python bin/transfer_eval.py --rule=x',
            'git_revision': 'abc123+dirty',
            'date': '2026-12-04T13:00:00+00:00'}


def record(method, step, seed, value, architecture='64-32 relu'):
  return {'dataset': 'digits', 'architecture': architecture,
          'widths': [64, 32], 'activation': 'relu', 'method': method,
          'step': step, 'seed': seed, 'ridge_accuracy': value}


def found_of(records):
  """A results file's content, through JSON as a reader gets it."""
  summary = results.summarize(records, metrics=('ridge_accuracy',))
  return json.loads(json.dumps(results._to_json(  # pylint: disable=protected-access
      {'metadata': METADATA, 'summary': summary})))


def table_rows(text):
  return [line for line in text.splitlines() if line.startswith('| digits')]


def test_each_method_at_the_last_step_and_the_paired_difference():
  rule = {0: 0.70, 1: 0.74, 2: 0.78}
  random = {0: 0.50, 1: 0.53, 2: 0.59}
  records = [record('learned_rule', 0, seed, 0.1) for seed in rule]
  records += [record('learned_rule', 100, seed, value)
              for seed, value in rule.items()]
  records += [record('random_init', step, seed, value)
              for step in (0, 100) for seed, value in random.items()]
  text = headline.markdown(found_of(records))
  assert '| dataset | architecture | learned_rule | random_init | ' \
         'learned_rule − random_init |' in text
  [row] = table_rows(text)
  cells = [cell.strip() for cell in row.strip('|').split('|')]
  assert cells[:2] == ['digits', '64-32 relu']
  # Step 100's mean, not step 0's 10.0.
  assert cells[2].startswith('74.0 ± ')
  assert cells[3].startswith('54.0 ± ')
  # Differences 0.20, 0.21, 0.19: mean +20.0 points, a narrow interval.
  assert cells[4].startswith('+20.0 [+1') and cells[4].endswith(']')
  low, high = (float(x) for x in cells[4].split('[')[1].rstrip(']').split(','))
  assert 17.0 < low < 20.0 < high < 23.0


def test_the_caption_says_where_the_numbers_come_from():
  text = headline.markdown(found_of(
      [record('learned_rule', 300, seed, 0.5 + seed / 10)
       for seed in range(5)]))
  for value in METADATA.values():
    assert value in text
  assert 'after 300 inner steps' in text and 'over 5 seeds' in text
  # No random init in the run: no difference column.
  assert '−' not in text.splitlines()[2]


def test_an_ablation_compares_permuted_with_intact_inputs():
  records = []
  for seed in range(3):
    records += [record('learned_rule', 10, seed, 0.6 + seed / 100),
                record('learned_rule/permuted', 10, seed, 0.6),
                record('prototypical', 10, seed, 0.9),
                record('prototypical/permuted', 10, seed, 0.5 + seed / 100)]
  text = headline.markdown(found_of(records))
  assert 'learned_rule/permuted − learned_rule' in text
  assert 'prototypical/permuted − prototypical' in text
  [row] = table_rows(text)
  cells = [cell.strip() for cell in row.strip('|').split('|')]
  assert cells[-1].startswith('-39.0 [')  # 0.50..0.52 − 0.90.


def test_one_row_per_architecture_in_a_sweep():
  records = [record('learned_rule', 300, seed, 0.6, architecture=name)
             for name in ('16-32 relu', '1024-32 relu') for seed in (0, 1)]
  rows = table_rows(headline.markdown(found_of(records)))
  assert [row.split('|')[2].strip() for row in rows] == [
      '16-32 relu', '1024-32 relu']


def test_a_paired_evaluation_in_one_table():
  def difference(baseline, mean, error, low, high):
    return {'method': 'learned_rule', 'baseline': baseline, 'n': 8,
            'mean': mean, 'std_error': error, 'ci95': [low, high]}
  found = {'evaluation': {'dataset': 'digits', 'steps': 200,
                          'widths': [64, 32], 'activation': 'relu',
                          'batch_size': 64},
           'differences': {
               'theta_init': difference('theta_init', 0.131, 0.017, 0.092,
                                        0.171),
               'random_init': difference('random_init', 0.126, None, None,
                                         None)},
           **METADATA}
  text = headline.paired_markdown(found)
  assert '| learned_rule − theta_init | +13.1 ± 1.7 | [+9.2, +17.1] | 8 |' \
      in text
  assert '| learned_rule − random_init | +12.6 | [—, —] | 8 |' in text
  assert 'after 200 rule applications on digits, 64-32 relu, batch 64' in text
  for value in METADATA.values():
    assert value in text
