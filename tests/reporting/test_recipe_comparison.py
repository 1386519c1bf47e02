"""The recipe comparison: gains paired with the shared start, seed by seed,
ranked, tabled, and written by learned-rule-run-recipes from its files."""

import json

import numpy as np
import pytest

from conftest import run_repo_binary
from learned_rule.reporting import recipe_comparison

DATASETS = ('digits', 'tiny_fashion_mnist')


def _paired(accuracies, rule='run', step=200, cpu_seconds=600.0,
            updates=40):
  """A paired-eval file whose learned rule scored ``accuracies`` (seed →
  accuracy) at ``step``, plus an earlier probe and a baseline."""
  records = []
  for seed, accuracy in accuracies.items():
    records += [
        {'method': 'learned_rule', 'seed': seed, 'step': 0,
         'ridge_accuracy': 0.1},
        {'method': 'learned_rule', 'seed': seed, 'step': step,
         'ridge_accuracy': accuracy},
        {'method': 'random_init', 'seed': seed, 'step': step,
         'ridge_accuracy': 0.0}]
  return {'rule': rule, 'rule_step': updates,
          'rule_cpu_seconds': cpu_seconds, 'records': records}


def _run(recipe, gains, cpu_minutes=10.0, seed=0):
  start = {100: 0.50, 101: 0.60, 102: 0.70}
  return {'recipe': recipe, 'seed': seed, 'updates': 40,
          'cpu_minutes': cpu_minutes,
          'paired': {d: _paired({s: a + g for (s, a), g in
                                 zip(start.items(), gains)})
                     for d in DATASETS}}


START = {'rule': 'start', 'paired': {
    d: _paired({100: 0.50, 101: 0.60, 102: 0.70}) for d in DATASETS}}


def test_gains_are_paired_with_the_start_and_ranked():
  rows = recipe_comparison.compare(
      [_run('small', [0.01, 0.02, 0.03]), _run('big', [0.10, 0.12, 0.14],
                                               cpu_minutes=30.0)],
      START, DATASETS)
  assert [row['recipe'] for row in rows] == ['big', 'small']
  gain = rows[0]['datasets']['digits']['gain']
  assert gain['mean'] == pytest.approx(0.12)
  assert gain['per_seed'] == pytest.approx({100: 0.10, 101: 0.12, 102: 0.14})
  # Paired: the spread of the start cancels, so the interval is tight.
  low, high = gain['ci95']
  assert 0.07 < low < 0.12 < high < 0.17
  assert rows[0]['gain_per_cpu_hour'] == pytest.approx(0.12 / 0.5)
  assert rows[0]['datasets']['digits']['accuracy']['mean'] == pytest.approx(
      0.72)


def test_the_last_probe_is_the_one_compared():
  per_seed = recipe_comparison.final_accuracy_per_seed(
      _paired({1: 0.4, 2: 0.5}, step=300))
  assert per_seed == {1: 0.4, 2: 0.5}


def test_runs_on_other_seeds_than_the_start_are_refused():
  run = _run('odd', [0.0, 0.0, 0.0])
  run['paired']['digits'] = _paired({7: 0.5, 8: 0.6, 9: 0.7})
  with pytest.raises(ValueError, match='pairs the same seeds'):
    recipe_comparison.compare([run], START, DATASETS)


def test_the_markdown_shows_points_and_intervals():
  rows = recipe_comparison.compare([_run('big', [0.10, 0.12, 0.14])], START,
                                   DATASETS)
  text = recipe_comparison.markdown(rows, DATASETS)
  header, rule, line = text.strip().split('\n')
  assert header.count('|') == rule.count('|') == line.count('|')
  assert '| big | 0 | 40 | 10.0 | 72.0 | +12.0 [' in line
  assert line.endswith('| +72.0 |')  # Points per CPU-hour.


def test_the_binary_writes_the_table_from_the_evaluation_files(tmp_path):
  output = tmp_path / 'results'
  (output / 'paired').mkdir(parents=True)
  files = {'start': START['paired'],
           'pes.seed0': _run('pes', [0.02, 0.01, 0.03])['paired'],
           'cpu_long.seed0': _run('cpu_long', [0.05, 0.07, 0.06])['paired']}
  for name, paired in files.items():
    for dataset in DATASETS:
      (output / 'paired' / f'{name}.{dataset}.json').write_text(
          json.dumps(paired[dataset]))
  result = run_repo_binary('run_recipes', f'--root_dir={tmp_path / "runs"}',
                           f'--output_dir={output}', '--stages=report',
                           timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  written = json.loads((output / 'results.json').read_text())
  assert [row['recipe'] for row in written['rows']] == ['cpu_long', 'pes']
  assert written['git_revision'] and written['package_version']
  assert written['train_commands']['pes seed 0'].startswith(
      'learned-rule-meta-train --root_dir=')
  assert (output / 'results.md').read_text() == recipe_comparison.markdown(
      written['rows'], DATASETS)
  assert np.isclose(written['rows'][0]['datasets']['digits']['gain']['mean'],
                    0.06)


def test_a_report_without_the_starts_evaluation_says_what_to_run(tmp_path):
  result = run_repo_binary('run_recipes', f'--root_dir={tmp_path / "runs"}',
                           f'--output_dir={tmp_path / "out"}',
                           '--stages=report', timeout=300)
  assert result.returncode == 2
  assert 'run --stages=evaluate first' in result.stderr
  assert 'Traceback' not in result.stderr
