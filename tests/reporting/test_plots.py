"""Tests of learned_rule.reporting.plots: every figure is a readable PNG of
the data."""

import os

import matplotlib.image
import numpy as np
import pytest

from learned_rule.reporting import plots
from learned_rule.reporting import results

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def make_summary(methods, steps=(0, 10, 100), seeds=(0, 1, 2),
                 datasets=('digits',)):
  rng = np.random.default_rng(0)
  records = []
  for dataset in datasets:
    for index, method in enumerate(methods):
      for step in steps:
        for seed in seeds:
          records.append({
              'dataset': dataset, 'architecture': '16-8 relu',
              'widths': [16, 8], 'activation': 'relu', 'method': method,
              'step': step, 'seed': seed,
              'ridge_accuracy': 0.3 + 0.1 * index + 0.001 * step
                                + 0.01 * rng.normal(),
              'logistic_accuracy': 0.3, 'meta_objective': 0.9})
  return results.summarize(records)


def read_png(path):
  with open(path, 'rb') as f:
    assert f.read(8) == PNG_SIGNATURE
  image = matplotlib.image.imread(path)
  assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
  return image


def only_file(directory):
  names = os.listdir(directory)
  assert len(names) == 1, names  # No temporary file left behind.
  return os.path.join(directory, names[0])


def test_curves_have_one_line_and_band_per_method(tmp_path):
  summary = make_summary(('learned_rule', 'vae', 'random_init'))
  path = tmp_path / 'new' / 'curves.png'
  figure = plots.plot_curves(summary, path)
  axes = figure.axes[0]
  assert len(axes.get_lines()) == 3
  assert len(axes.collections) == 3  # One 95% CI band per method.
  assert [line.get_label() for line in axes.get_lines()] == [
      'learned_rule', 'random_init', 'vae']
  assert axes.get_xscale() == 'symlog'
  # Accuracies are drawn in percent.
  np.testing.assert_allclose(
      axes.get_lines()[0].get_ydata(),
      [100 * row['ridge_accuracy']['mean'] for row in summary
       if row['method'] == 'learned_rule'])
  assert only_file(tmp_path / 'new') == os.fspath(path)
  read_png(path)


def test_curves_need_an_unambiguous_dataset(tmp_path):
  summary = make_summary(('learned_rule',), datasets=('digits', 'mnist'))
  with pytest.raises(ValueError, match='ambiguous'):
    plots.plot_curves(summary, tmp_path / 'x.png')
  with pytest.raises(ValueError, match='matches nothing'):
    plots.plot_curves(summary, tmp_path / 'x.png', dataset='imdb_reviews')
  figure = plots.plot_curves(make_summary(('a',), seeds=(0,)) + summary,
                             tmp_path / 'one.png', dataset='mnist')
  assert len(figure.axes[0].get_lines()) == 1
  read_png(tmp_path / 'one.png')


@pytest.mark.parametrize('shape', [(4, 4), (4, 4, 1), (4, 4, 3)])
def test_filter_grid_has_one_row_per_step(tmp_path, shape):
  rng = np.random.default_rng(0)
  size = int(np.prod(shape))
  history = [(step, rng.normal(size=(size, 12))) for step in (0, 10, 100)]
  path = tmp_path / 'filters.png'
  figure = plots.plot_filter_grid(history, shape, path, 'first layer')
  assert len(figure.axes) == 3 * plots.NUM_FILTERS
  shown = figure.axes[0].get_images()[0].get_array()
  # Each filter is scaled to its own range [0, 1].
  assert float(np.min(shown)) == 0.0 and float(np.max(shown)) == 1.0
  assert np.asarray(shown).ndim == (3 if shape[-1] == 3 else 2)
  read_png(path)


def test_filter_grid_rejects_mismatched_weights(tmp_path):
  with pytest.raises(ValueError, match='expected'):
    plots.plot_filter_grid([(0, np.zeros((15, 3)))], (4, 4),
                           tmp_path / 'f.png', 'bad')
  with pytest.raises(ValueError, match='empty'):
    plots.plot_filter_grid([], (4, 4), tmp_path / 'f.png', 'bad')


def test_bars_group_methods_by_variant(tmp_path):
  summary = make_summary(('learned_rule', 'learned_rule/permuted',
                          'prototypical', 'prototypical/permuted'))
  path = tmp_path / 'bars.png'
  figure = plots.plot_bars(summary, path, step=100)
  axes = figure.axes[0]
  assert [label.get_text() for label in axes.get_xticklabels()] == [
      'learned_rule', 'prototypical']
  legend = [text.get_text() for text in axes.get_legend().get_texts()]
  assert legend == ['intact', 'permuted']
  heights = sorted(patch.get_height() for patch in axes.patches)
  expected = sorted(100 * row['ridge_accuracy']['mean'] for row in summary
                    if row['step'] == 100)
  np.testing.assert_allclose(heights, expected)
  read_png(path)
  with pytest.raises(ValueError, match='step 7'):
    plots.plot_bars(summary, tmp_path / 'none.png', step=7)


def test_sweep_plot_has_one_line_per_method(tmp_path):
  records = [
      {'dataset': 'digits', 'architecture': f'{w}-4 relu', 'widths': [w, 4],
       'activation': 'relu', 'method': method, 'step': step, 'seed': seed,
       'ridge_accuracy': 0.5 + 0.001 * w + 0.01 * seed,
       'logistic_accuracy': 0.5, 'meta_objective': 1.0}
      for w in (8, 16, 32) for method in ('learned_rule', 'random_init')
      for step in (0, 5) for seed in (0, 1, 2)]
  summary = results.summarize(records)
  path = tmp_path / 'sweep.png'
  figure = plots.plot_sweep(summary, path, ['8-4 relu', '16-4 relu',
                                            '32-4 relu'])
  assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  assert len(figure.axes[0].get_legend().get_texts()) == 2
  with pytest.raises(ValueError, match='not one of'):
    plots.plot_sweep(summary, path, ['8-4 relu'], dataset='mnist')
