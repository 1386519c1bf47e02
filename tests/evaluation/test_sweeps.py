"""The generalisation sweeps through bin/transfer_eval.py: one rule, every
width, depth and activation of a tiny sweep, and images → text."""

import os

import numpy as np

from conftest import run_repo_binary
from learned_rule.reporting import results as results_lib


def test_one_rule_runs_unchanged_on_every_architecture(tiny_meta_run,
                                                       tmp_path):
  root = tmp_path / 'sweep'
  result = run_repo_binary('transfer_eval', f'--rule={tiny_meta_run}',
                           f'--root_dir={root}', '--gin_file=sweeps/tiny.gin')
  assert result.returncode == 0, result.stderr[-3000:]
  summary = results_lib.read_results(os.path.join(root, 'results.json'))[
      'summary']
  architectures = {row['architecture'] for row in summary}
  expected = {f'{widths} {name}' for widths in ('8-4', '32-4', '8-8-8-4')
              for name in ('relu', 'step')}
  assert architectures == expected
  for row in summary:
    assert np.isfinite(row['ridge_accuracy']['mean'])
  assert (root / 'plots' / 'sweep__digits.png').exists()
  assert 'Fig. 5 right' in (root / 'results.md').read_text()


def test_images_to_text(tiny_meta_run, tmp_path):
  root = tmp_path / 'text'
  result = run_repo_binary('transfer_eval', f'--rule={tiny_meta_run}',
                           f'--root_dir={root}',
                           '--gin_file=sweeps/tiny_modality.gin')
  assert result.returncode == 0, result.stderr[-3000:]
  summary = results_lib.read_results(os.path.join(root, 'results.json'))[
      'summary']
  assert {row['dataset'] for row in summary} == {'debian_descriptions'}
  assert {row['method'] for row in summary} == {
      'learned_rule', 'random_init', 'raw_inputs'}
  raw = [row for row in summary if row['method'] == 'raw_inputs']
  # Four classes: a 1k-word bag of words is well above chance (25%).
  assert min(row['ridge_accuracy']['mean'] for row in raw) > 0.3
