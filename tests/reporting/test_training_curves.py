"""Tests of the curves of a meta-training run
(learned_rule/reporting/training_curves.py, bin/plot_training.py)."""

import json

import numpy as np
import pytest

from learned_rule.reporting import training_curves
from learned_rule.training import checkpoints
from learned_rule.training import summaries
from conftest import run_repo_binary


def _write_run(root, losses, held_out=None, start=1):
  with summaries.SummaryWriter(root / 'summaries') as writer:
    for step, loss in enumerate(losses, start=start):
      writer.scalars(step, {'meta_loss': loss, 'gradient_norm': 1.0})
    for step, accuracy in (held_out or {}).items():
      writer.scalars(step, {
          'held_out/ridge_accuracy/learned_rule': accuracy,
          'held_out/ridge_accuracy/theta_init': 0.5})


def test_scalars_come_back_by_step_and_a_resumed_step_keeps_its_last_write(
    tmp_path):
  _write_run(tmp_path, [3.0, 2.0, 1.0])
  _write_run(tmp_path, [9.0, 0.5], start=3)  # A resumed process.
  scalars = training_curves.read_scalars(str(tmp_path))
  steps, values = scalars['meta_loss']
  np.testing.assert_array_equal(steps, [1, 2, 3, 4])
  np.testing.assert_allclose(values, [3.0, 2.0, 9.0, 0.5])


def test_moving_average_uses_what_there_is_at_the_start():
  np.testing.assert_allclose(
      training_curves.moving_average([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_plot_draws_both_curves_with_the_offset(tmp_path):
  _write_run(tmp_path, [3.0, 2.0, 1.0, 1.5], held_out={2: 0.6, 4: 0.7})
  figure = training_curves.plot(training_curves.read_scalars(str(tmp_path)),
                                tmp_path / 'curves.png', step_offset=100)
  loss_axis, accuracy_axis = figure.axes
  np.testing.assert_array_equal(loss_axis.lines[0].get_xdata(),
                                [101, 102, 103, 104])
  labels = [line.get_label() for line in accuracy_axis.lines]
  assert labels == ['learned_rule', 'theta_init']
  np.testing.assert_allclose(accuracy_axis.lines[0].get_ydata(), [60, 70])
  assert (tmp_path / 'curves.png').read_bytes()[:4] == b'\x89PNG'


def test_a_directory_without_events_is_refused(tmp_path):
  with pytest.raises(ValueError, match='No TensorBoard events'):
    training_curves.read_scalars(str(tmp_path))


def test_the_binary_plots_a_real_run(tiny_meta_run, tmp_path):
  output = tmp_path / 'curves.png'
  result = run_repo_binary('plot_training', f'--root_dir={tiny_meta_run}',
                           f'--output={output}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert '2 θ updates of this run, 0 before it' in result.stdout
  assert output.read_bytes()[:4] == b'\x89PNG'
  result = run_repo_binary('plot_training', f'--root_dir={tmp_path}',
                           f'--output={output}')
  assert result.returncode != 0 and 'No TensorBoard events' in result.stderr
  assert 'Traceback' not in result.stderr


def _write_evaluations(root):
  """Two held-out evaluations (step 2 without its random-init difference)
  and the CPU time of every step, as meta-training writes them."""
  with summaries.SummaryWriter(root / 'summaries') as writer:
    for step in (1, 2, 3, 4):
      writer.scalars(step, {'meta_loss': 1.0, 'cpu_minutes': 0.5 * step})
    writer.scalars(2, {
        'held_out/ridge_accuracy/learned_rule': 0.625,
        'held_out/ridge_accuracy/theta_init': 0.5,
        'held_out/ridge_accuracy/random_init': 0.5,
        'held_out/learned_rule_minus_theta_init': 0.125,
        'held_out/learned_rule_minus_theta_init_stderr': 0.015})
    writer.scalars(4, {
        'held_out/ridge_accuracy/learned_rule': 0.75,
        'held_out/ridge_accuracy/theta_init': 0.5,
        'held_out/ridge_accuracy/random_init': 0.25,
        'held_out/learned_rule_minus_theta_init': 0.25,
        'held_out/learned_rule_minus_theta_init_stderr': 0.025,
        'held_out/learned_rule_minus_random_init': 0.5,
        'held_out/learned_rule_minus_random_init_stderr': 0.05})


def test_the_held_out_curve_has_a_row_per_evaluation(tmp_path):
  _write_evaluations(tmp_path)
  rows = training_curves.held_out_curve(
      training_curves.read_scalars(str(tmp_path)), step_offset=10)
  assert [(row['step'], row['updates']) for row in rows] == [(2, 12),
                                                            (4, 14)]
  assert rows[0]['learned_rule_minus_random_init'] is None
  assert rows[1]['random_init'] == pytest.approx(0.25)
  assert rows[1]['cpu_minutes'] == pytest.approx(2.0)
  text = training_curves.held_out_markdown(
      {'root_dir': 'run', 'updates_before': 10, 'rows': rows,
       'command': 'cmd', 'git_revision': 'abc', 'date': 'today'})
  assert '10 θ updates before the run' in text and '`cmd`' in text
  assert '| 2 | 12 | 1.0 | 62.5 | 50.0 | 50.0 | +12.5 ± 1.5 | — |' in text
  assert '| 4 | 14 | 2.0 | 75.0 | 50.0 | 25.0 | +25.0 ± 2.5 | +50.0 ± 5.0 |' in (
      text)


def test_the_binary_writes_the_curve_with_the_updates_of_the_checkpoint(
    tmp_path):
  _write_evaluations(tmp_path)
  # No export: the updates before the run come from its newest checkpoint.
  checkpoints.CheckpointManager(tmp_path / 'ckpt').save(
      4, {'theta': np.zeros(2)},
      metadata={'started_from': {'path': 'old', 'updates_before': 7}})
  output = tmp_path / 'out' / 'curve.json'
  result = run_repo_binary('plot_training', f'--root_dir={tmp_path}',
                           f'--output={tmp_path / "curves.png"}',
                           f'--output_json={output}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert '4 θ updates of this run, 7 before it' in result.stdout
  found = json.loads(output.read_text())
  assert [row['updates'] for row in found['rows']] == [9, 11]
  assert found['command'].startswith('python bin/plot_training.py')
  assert found['git_revision'] and found['date']
  assert (tmp_path / 'out' / 'curve.md').read_text() == (
      training_curves.held_out_markdown(found))
