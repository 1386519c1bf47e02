"""Tests of the curves of a meta-training run
(learned_rule/reporting/training_curves.py, bin/plot_training.py)."""

import numpy as np
import pytest

from learned_rule.reporting import training_curves
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
