"""PNG figures of transfer evaluations: curves, filters, bars, sweeps.

Every figure is drawn with matplotlib's non-interactive 'Agg' backend (no
display needed) and written atomically: saved to a temporary file in the
destination directory, then renamed over the destination. The functions
return the matplotlib Figure (already closed) so that callers and tests
can inspect what was drawn.
"""

import os

import matplotlib

matplotlib.use('Agg')

# pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt
import numpy as np

from learned_rule.storage import atomic_files
from learned_rule.reporting import method_names
from learned_rule.reporting import results
# pylint: enable=g-import-not-at-top,wrong-import-position

# Filters shown per row of a filter grid (paper Fig. 6 shows first-layer
# filters of the base model after 10k rule applications, spec §8.1).
NUM_FILTERS = 10
# Resolution of every PNG (ours).
DPI = 100


def save_figure(figure, path):
  """Writes ``figure`` as a PNG to ``path`` atomically and closes it."""
  try:
    with atomic_files.replacing(path, binary=True) as stream:
      figure.savefig(stream, format='png', dpi=DPI)
  finally:
    plt.close(figure)
  return os.fspath(path)


def _select(summary, dataset, architecture):
  """Rows of one dataset × architecture; None picks the only one there is."""
  pairs = list(dict.fromkeys((row['dataset'], row['architecture'])
                             for row in summary))
  chosen = [pair for pair in pairs
            if dataset in (None, pair[0]) and architecture in (None, pair[1])]
  if len(chosen) != 1:
    problem = 'matches nothing' if not chosen else 'is ambiguous'
    raise ValueError(f'dataset={dataset!r}, architecture={architecture!r} '
                     f'{problem}; the summary holds {pairs}.')
  dataset, architecture = chosen[0]
  rows = [row for row in summary
          if (row['dataset'], row['architecture']) == (dataset, architecture)]
  return dataset, architecture, rows


def _scale(metric):
  return 100.0 if metric in results.ACCURACY_METRICS else 1.0


def _label(metric):
  name = metric.replace('_', ' ')
  return f'{name} (%)' if metric in results.ACCURACY_METRICS else name


def _nan_if_none(value):
  return np.nan if value is None else value


def _mean_and_interval(rows, metric):
  """Arrays of mean, CI low and CI high of ``metric`` (percent for
  accuracies); NaN for a missing row (None) or value."""
  scale = _scale(metric)
  values = [[np.nan] * 3 if row is None else [
      _nan_if_none(row[metric]['mean']),
      *(_nan_if_none(v) for v in row[metric]['ci95'])] for row in rows]
  mean, low, high = (np.array(values, np.float64).reshape(-1, 3) * scale).T
  return mean, low, high


def plot_curves(summary, path, metric='ridge_accuracy', dataset=None,
                architecture=None, title=None):
  """Metric vs inner steps, one line per method with its 95% CI band.

  The x axis is symmetric-log (linear near 0), so step 0 shows.

  Args:
    summary: Rows from :func:`results.summarize`.
    path: PNG destination.
    metric: The metric on the y axis (accuracies in percent).
    dataset: Dataset to plot; None if the summary holds only one.
    architecture: Architecture to plot; None if only one goes with it.
    title: Figure title; by default the dataset and architecture.

  Returns:
    The (closed) matplotlib Figure.

  Raises:
    ValueError: If the dataset × architecture is absent or ambiguous.
  """
  dataset, architecture, rows = _select(summary, dataset, architecture)
  figure, axes = plt.subplots(figsize=(6.4, 4.4))
  methods = sorted({row['method'] for row in rows},
                   key=results.method_sort_key)
  for method in methods:
    curve = sorted((row for row in rows if row['method'] == method),
                   key=lambda row: row['step'])
    steps = np.array([row['step'] for row in curve], np.float64)
    mean, low, high = _mean_and_interval(curve, metric)
    line, = axes.plot(steps, mean, marker='o', markersize=3, label=method)
    axes.fill_between(steps, low, high, color=line.get_color(), alpha=0.2,
                      linewidth=0)
  all_steps = sorted({row['step'] for row in rows})
  positive = [step for step in all_steps if step > 0]
  axes.set_xscale('symlog', linthresh=positive[0] if positive else 1)
  axes.set_xlabel('inner steps (symlog)')
  axes.set_ylabel(_label(metric))
  axes.set_title(title or f'{dataset} — {architecture}\n'
                 'mean over seeds, band: 95% CI')
  axes.grid(alpha=0.3)
  axes.legend(fontsize='small')
  figure.tight_layout()
  save_figure(figure, path)
  return figure


def _normalised(image):
  low, high = float(image.min()), float(image.max())
  if high - low <= 0:
    return np.full_like(image, 0.5, np.float64)
  return (image - low) / (high - low)


def plot_filter_grid(history, shape, path, title, num_filters=NUM_FILTERS):
  """First-layer filters over training: one row per step (paper Fig. 6).

  Args:
    history: ``[(step, weights [D, n])]``; column j of ``weights`` is
      filter j, in the flattened order of the input images.
    shape: Image shape, ``(H, W)``, ``(H, W, 1)`` (greyscale) or
      ``(H, W, 3)`` (colour); ``H * W * C`` must equal D.
    path: PNG destination.
    title: Figure title.
    num_filters: Filters shown per row (the first ones).

  Returns:
    The (closed) matplotlib Figure.

  Raises:
    ValueError: If ``history`` is empty, or a weight matrix does not match
      ``shape``.
  """
  shape = tuple(int(size) for size in shape)
  if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (1, 3)):
    raise ValueError(f'`shape` must be (H, W), (H, W, 1) or (H, W, 3), got '
                     f'{shape}.')
  if not history:
    raise ValueError('`history` is empty: nothing to draw.')
  if num_filters < 1:
    raise ValueError(f'`num_filters` must be >= 1, got {num_filters}.')
  size = int(np.prod(shape))
  matrices = []
  for step, weights in history:
    weights = np.asarray(weights, np.float64)
    if weights.ndim != 2 or weights.shape[0] != size:
      raise ValueError(f'Weights of step {step} have shape {weights.shape}; '
                       f'expected [{size}, n] for images of shape {shape}.')
    matrices.append((step, weights))
  columns = min(num_filters, max(w.shape[1] for _, w in matrices))
  figure, axes = plt.subplots(
      len(matrices), columns, squeeze=False,
      figsize=(1.0 * columns + 0.8, 1.0 * len(matrices) + 0.6))
  for row, (step, weights) in enumerate(matrices):
    for column in range(columns):
      axis = axes[row, column]
      axis.set_xticks([])
      axis.set_yticks([])
      if column >= weights.shape[1]:
        axis.axis('off')
        continue
      image = _normalised(weights[:, column].reshape(shape))
      if len(shape) == 3 and shape[2] == 1:
        image = image[..., 0]
      axis.imshow(image, cmap='gray' if image.ndim == 2 else None,
                  vmin=0.0, vmax=1.0, interpolation='nearest')
    axes[row, 0].set_ylabel(f'step {step}', fontsize='small')
  figure.suptitle(title)
  figure.tight_layout()
  save_figure(figure, path)
  return figure


def _split_variant(method, base_label):
  base, separator, variant = method.partition(method_names.VARIANT_SEPARATOR)
  return base, (variant if separator else base_label)


def plot_bars(summary, path, metric='ridge_accuracy', step=None, dataset=None,
              architecture=None, base_label='intact', title=None):
  """Grouped bars with 95% CI error bars, e.g. methods × {intact, permuted}.

  A method named ``'base/variant'`` is the bar ``variant`` of the group
  ``base``; a method without a suffix is the bar ``base_label`` (spec §7.3:
  'learned_rule' vs 'learned_rule/permuted').

  Args:
    summary: Rows from :func:`results.summarize`.
    path: PNG destination.
    metric: The metric shown (accuracies in percent).
    step: Inner step shown; None takes each method's largest step.
    dataset: Dataset to plot; None if the summary holds only one.
    architecture: Architecture to plot; None if only one goes with it.
    base_label: Bar label of methods without a variant suffix.
    title: Figure title; by default dataset, architecture and step.

  Returns:
    The (closed) matplotlib Figure.

  Raises:
    ValueError: If the dataset × architecture is absent or ambiguous, or
      no method has the step.
  """
  dataset, architecture, rows = _select(summary, dataset, architecture)
  chosen = {}
  for row in rows:
    if step is None:
      if row['step'] >= chosen.get(row['method'], row)['step']:
        chosen[row['method']] = row
    elif row['step'] == step:
      chosen[row['method']] = row
  if not chosen:
    raise ValueError(f'No method of {dataset} — {architecture} has step '
                     f'{step}; steps: {sorted({r["step"] for r in rows})}.')
  groups = list(dict.fromkeys(
      _split_variant(method, base_label)[0]
      for method in sorted(chosen, key=results.method_sort_key)))
  found = {_split_variant(method, base_label)[1] for method in chosen}
  variants = ([base_label] if base_label in found else []) + sorted(
      found - {base_label})
  width = 0.8 / len(variants)
  figure, axes = plt.subplots(figsize=(1.6 * len(groups) + 2.4, 4.4))
  for index, variant in enumerate(variants):
    heights, errors, positions = [], [[], []], []
    for position, group in enumerate(groups):
      method = group if variant == base_label else (
          f'{group}{method_names.VARIANT_SEPARATOR}{variant}')
      if method not in chosen:
        continue
      (mean,), (low,), (high,) = _mean_and_interval([chosen[method]], metric)
      heights.append(mean)
      errors[0].append(mean - low)
      errors[1].append(high - mean)
      positions.append(position + (index - (len(variants) - 1) / 2) * width)
    axes.bar(positions, heights, width, yerr=np.array(errors), capsize=3,
             label=variant)
  axes.set_xticks(range(len(groups)))
  axes.set_xticklabels(groups)
  axes.set_ylabel(_label(metric))
  step_text = 'final step of each method' if step is None else f'step {step}'
  axes.set_title(title or f'{dataset} — {architecture}, {step_text}\n'
                 'error bars: 95% CI')
  axes.grid(axis='y', alpha=0.3)
  axes.legend(fontsize='small')
  figure.tight_layout()
  save_figure(figure, path)
  return figure


def plot_sweep(summary, path, architectures, metric='ridge_accuracy',
               dataset=None, title=None):
  """Final metric per architecture of a sweep, one line per method.

  Each point is a method's largest step on that architecture, with its 95%
  CI as an error bar (paper Fig. 5: widths, depths, activations).

  Args:
    summary: Rows from :func:`results.summarize`.
    path: PNG destination.
    architectures: Architecture names in the order of the x axis.
    metric: The metric shown (accuracies in percent).
    dataset: Dataset to plot; None if the summary holds only one.
    title: Figure title.

  Returns:
    The (closed) matplotlib Figure.
  """
  datasets = sorted({row['dataset'] for row in summary})
  dataset = dataset or (datasets[0] if len(datasets) == 1 else None)
  if dataset not in datasets:
    raise ValueError(f'dataset={dataset!r} is not one of {datasets}.')
  final = {}
  for row in summary:
    key = (row['method'], row['architecture'])
    if row['dataset'] == dataset and row['step'] >= final.get(
        key, row)['step']:
      final[key] = row
  positions = np.arange(len(architectures))
  figure, axes = plt.subplots(figsize=(1.2 * len(architectures) + 3.2, 4.4))
  methods = sorted({method for method, _ in final},
                   key=results.method_sort_key)
  for method in methods:
    mean, low, high = _mean_and_interval(
        [final.get((method, name)) for name in architectures], metric)
    axes.errorbar(positions, mean, yerr=[mean - low, high - mean],
                  marker='o', capsize=3, label=method)
  axes.set_xticks(positions)
  axes.set_xticklabels(architectures, rotation=30, ha='right',
                       fontsize='small')
  axes.set_ylabel(_label(metric))
  axes.set_title(title or f'{dataset}: final step of each method\n'
                 'error bars: 95% CI')
  axes.grid(alpha=0.3)
  axes.legend(fontsize='small')
  figure.tight_layout()
  save_figure(figure, path)
  return figure
