"""Summaries of transfer-evaluation records: means, errors, CIs, tables.

A transfer evaluation (spec §8.1) yields one *record* per dataset ×
architecture × method × inner step × seed, a plain dict::

  {'dataset': 'digits', 'architecture': '64-64-64-32 relu',
   'widths': [64, 64, 64, 32], 'activation': 'relu',
   'method': 'learned_rule', 'step': 100, 'seed': 3,
   'ridge_accuracy': 0.61, 'logistic_accuracy': 0.58,
   'meta_objective': 0.83}

Its ``architecture`` is :func:`measurement.architecture_name` of its
widths and activation.

:func:`summarize` reduces the seeds of each dataset × architecture × method
× step to a mean, its standard error (the paper's error bars, spec §8.1)
and a 95% Student-t confidence interval (:func:`statistics.describe`).
Values that are undefined (the spread of one seed, a diverged run's NaN)
are None, which JSON writes as null, so that :func:`write_results` and
:func:`read_results` round-trip a summary exactly.
"""

import json
import os

import numpy as np

from learned_rule.storage import atomic_files
from learned_rule.storage import file_io
from learned_rule.reporting import method_names
from learned_rule.reporting import statistics

# The metrics of one few-shot evaluation (spec §8.1, released eval).
METRICS = ('ridge_accuracy', 'logistic_accuracy', 'meta_objective')
# Metrics that are fractions correct, shown in percent.
ACCURACY_METRICS = ('ridge_accuracy', 'logistic_accuracy')

GROUP_KEYS = ('dataset', 'architecture', 'method', 'step')
REQUIRED_KEYS = ('dataset', 'architecture', 'widths', 'activation', 'method',
                 'step', 'seed')

# Marks a JSON file as written by :func:`write_results`.
FILE_FORMAT = 'learned_rule.results'
FILE_VERSION = 1

MISSING_CELL = '—'


def method_sort_key(method):
  """Sort key placing :data:`method_names.METHOD_ORDER` first (the rule
  methods, the baselines of spec §8.2 plus the cheap references of DESIGN
  §1, the prototypical network of §7.3), then others by name."""
  if method in method_names.METHOD_ORDER:
    return (0, method_names.METHOD_ORDER.index(method), '')
  return (1, 0, method)


def _check_record(record):
  missing = [key for key in REQUIRED_KEYS if key not in record]
  if missing:
    raise ValueError(f'A record lacks {missing}; every record needs '
                     f'{list(REQUIRED_KEYS)}. Record: {record!r}.')
  for key in ('step', 'seed'):
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
      raise ValueError(f'Record {key!r} must be an int, got {value!r}.')


def _group(records):
  """Records grouped by :data:`GROUP_KEYS`, each a dict seed → record."""
  groups = {}
  for record in records:
    _check_record(record)
    key = tuple(record[name] for name in GROUP_KEYS[:-1]) + (
        int(record['step']),)
    by_seed = groups.setdefault(key, {})
    seed = int(record['seed'])
    if seed in by_seed:
      raise ValueError(f'Two records for seed {seed} of {key}; each dataset '
                       '× architecture × method × step × seed must appear '
                       'once.')
    first = next(iter(by_seed.values()), record)
    for name in ('widths', 'activation'):
      if list(np.atleast_1d(first[name])) != list(np.atleast_1d(
          record[name])):
        raise ValueError(f'Records of {key} disagree on {name!r}: '
                         f'{first[name]!r} vs {record[name]!r}.')
    by_seed[seed] = record
  return groups


def _order(keys):
  """Datasets and architectures in order of first appearance; methods by
  :func:`method_sort_key`; steps ascending."""
  datasets, architectures = {}, {}
  for dataset, architecture, _, _ in keys:
    datasets.setdefault(dataset, len(datasets))
    architectures.setdefault(architecture, len(architectures))
  return sorted(keys, key=lambda k: (datasets[k[0]], architectures[k[1]],
                                     method_sort_key(k[2]), k[3]))


def summarize(records, metrics=METRICS):
  """One summary row per dataset × architecture × method × step.

  Args:
    records: Record dicts (see the module docstring); a metric may be
      absent or None in a record (not measured for that seed).
    metrics: Names of the metrics to summarise.

  Returns:
    A list of rows ``{'dataset', 'architecture', 'widths', 'activation',
    'method', 'step', 'n', metric: {'n', 'mean', 'std_error', 'ci95',
    'per_seed': {seed: value}}}``. ``n`` counts the seeds of the row; each
    metric's ``n`` the seeds that measured it. Only lists, dicts, ints,
    floats, strings and None appear, so a JSON round trip is exact.

  Raises:
    ValueError: If a record lacks a key, has a non-int step or seed, or
      repeats a seed of its group.
  """
  groups = _group(records)
  summary = []
  for key in _order(groups):
    by_seed = groups[key]
    first = by_seed[min(by_seed)]
    row = dict(zip(GROUP_KEYS, key))
    row['widths'] = [int(w) for w in np.atleast_1d(first['widths'])]
    row['activation'] = str(first['activation'])
    row['n'] = len(by_seed)
    for metric in metrics:
      per_seed = {seed: statistics.finite_or_none(by_seed[seed][metric])
                  for seed in sorted(by_seed)
                  if by_seed[seed].get(metric) is not None}
      row[metric] = dict(statistics.describe(list(per_seed.values())),
                         per_seed=per_seed)
    summary.append(row)
  return summary


def paired_differences(records, method, baseline, metric='ridge_accuracy'):
  """Per-seed ``method`` − ``baseline`` per dataset × architecture × step.

  Seeds pair the runs: the same seed means the same unlabeled stream and the
  same few-shot draws. Seeds present in only one of the two are ignored
  (:func:`statistics.paired_difference`).

  Args:
    records: Record dicts.
    method: The method of interest.
    baseline: The method subtracted.
    metric: The metric compared.

  Returns:
    A list of rows ``{'dataset', 'architecture', 'widths', 'activation',
    'step', 'method', 'baseline', 'metric', 'n', 'mean', 'std_error',
    'ci95', 'per_seed': {seed: difference}}``, one per dataset ×
    architecture × step where the two share at least one seed.
  """
  rows = {(row['dataset'], row['architecture'], row['method'], row['step']):
          row for row in summarize(records, metrics=(metric,))}
  result = []
  for (dataset, architecture, name, step), row in rows.items():
    other = rows.get((dataset, architecture, baseline, step))
    if name != method or other is None:
      continue
    difference = statistics.paired_difference(row[metric]['per_seed'],
                                              other[metric]['per_seed'])
    if not difference['n']:
      continue
    result.append(dict(
        dataset=dataset, architecture=architecture, widths=row['widths'],
        activation=row['activation'], step=step, method=method,
        baseline=baseline, metric=metric, **difference))
  return result


# -- Files. --------------------------------------------------------------------


def _to_json(value):
  """Plain JSON types: tuples → lists, NumPy → Python, NaN/inf → None."""
  if isinstance(value, dict):
    return {str(key): _to_json(item) for key, item in value.items()}
  if isinstance(value, (list, tuple, np.ndarray)):
    return [_to_json(item) for item in value]
  if isinstance(value, (bool, np.bool_)):
    return bool(value)
  if isinstance(value, (int, np.integer)):
    return int(value)
  if isinstance(value, (float, np.floating)):
    return statistics.finite_or_none(value)
  return value


def _restore_seed_keys(value):
  """Turns the string keys of every ``per_seed`` dict back into ints."""
  if isinstance(value, dict):
    return {key: ({int(seed): item for seed, item in item.items()}
                  if key == 'per_seed' and isinstance(item, dict)
                  else _restore_seed_keys(item))
            for key, item in value.items()}
  if isinstance(value, list):
    return [_restore_seed_keys(item) for item in value]
  return value


def write_results(path, summary, metadata, records=None):
  """Writes a results JSON file atomically (temp file, then rename).

  Args:
    path: Destination; its directory is created if needed.
    summary: Rows from :func:`summarize`.
    metadata: A dict describing the run (seed, git SHA, config, compute).
    records: Optional raw records, stored alongside.

  Returns:
    ``path``.

  Raises:
    ValueError: If ``metadata`` is not a dict or ``summary`` not a list.
  """
  if not isinstance(metadata, dict):
    raise ValueError(f'`metadata` must be a dict, got {type(metadata)}.')
  if not isinstance(summary, (list, tuple)):
    raise ValueError(
        f'`summary` must be a list of rows, got {type(summary)}.')
  content = {'format': FILE_FORMAT, 'version': FILE_VERSION,
             'metadata': metadata, 'summary': summary}
  if records is not None:
    content['records'] = records
  return atomic_files.write_json(path, _to_json(content), indent=1,
                                 allow_nan=False)


def read_results(path):
  """Reads a file of :func:`write_results`.

  Returns:
    ``{'metadata', 'summary'}`` plus ``'records'`` when stored, equal to
    what was written (seeds as int keys).

  Raises:
    ValueError: If the file is not JSON or not a results file.
  """
  path = os.fspath(path)
  try:
    content = json.loads(file_io.read_text(path))
  except (json.JSONDecodeError, UnicodeDecodeError) as error:
    raise ValueError(f'{path} is not a results file: not JSON ({error}).'
                     ) from error
  if not isinstance(content, dict) or content.get('format') != FILE_FORMAT:
    raise ValueError(f'{path} is not a results file: expected a JSON object '
                     f'with "format": "{FILE_FORMAT}".')
  if content.get('version') != FILE_VERSION:
    raise ValueError(f'{path}: results format version '
                     f'{content.get("version")!r}; this code reads version '
                     f'{FILE_VERSION}.')
  if not isinstance(content.get('metadata'), dict) or not isinstance(
      content.get('summary'), list):
    raise ValueError(f'{path} is not a results file: it needs a "metadata" '
                     'object and a "summary" list.')
  result = {'metadata': content['metadata'],
            'summary': _restore_seed_keys(content['summary'])}
  if 'records' in content:
    result['records'] = content['records']
  return result


# -- Markdown. -----------------------------------------------------------------


def format_cell(description, metric):
  """``'61.2 ± 2.1'``: mean ± 95% CI half-width (percent for accuracies).

  ``description`` is a :func:`statistics.describe` (a summary row's
  metric). The mean alone where the interval is undefined (one seed),
  'nan' where a seed did not give a finite value, '—' where nothing was
  measured.
  """
  if description is None or not description.get('n'):
    return MISSING_CELL
  if description['mean'] is None:
    return 'nan'
  scale, digits = (100.0, 1) if metric in ACCURACY_METRICS else (1.0, 3)
  text = f'{description["mean"] * scale:.{digits}f}'
  low, high = description['ci95']
  if low is not None:
    text += f' ± {(high - low) / 2 * scale:.{digits}f}'
  return text


def _seed_counts(counts):
  counts = sorted(set(counts))
  if not counts:
    return MISSING_CELL
  if len(counts) == 1:
    return str(counts[0])
  return f'{counts[0]}–{counts[-1]}'


def markdown_table(summary, metric='ridge_accuracy'):
  """Markdown tables of ``metric``: one per dataset × architecture.

  Each table has one row per method and one column per inner step; cells
  are mean ± 95% CI half-width over seeds (percent for accuracies), '—'
  where a method was not measured at a step. The 'seeds' column gives the
  number of seeds (a range where it differs between steps).
  """
  sections = {}
  for row in summary:
    sections.setdefault((row['dataset'], row['architecture']), []).append(row)
  unit = ('accuracy in %, ' if metric in ACCURACY_METRICS else '')
  lines = []
  for (dataset, architecture), rows in sections.items():
    steps = sorted({row['step'] for row in rows})
    methods = sorted({row['method'] for row in rows}, key=method_sort_key)
    cells = {(row['method'], row['step']): row for row in rows}
    lines += [f'### {dataset} — {architecture}', '',
              f'`{metric}` ({unit}mean ± 95% CI half-width over seeds; '
              'steps = inner steps).', '',
              '| method | seeds | ' + ' | '.join(
                  f'step {step}' for step in steps) + ' |',
              '|---|---|' + '---|' * len(steps)]
    for method in methods:
      present = [cells[(method, step)] for step in steps
                 if (method, step) in cells]
      counts = [row.get(metric, {}).get('n', 0) for row in present]
      row_cells = [format_cell(cells[(method, step)].get(metric), metric)
                   if (method, step) in cells else MISSING_CELL
                   for step in steps]
      lines.append(f'| {method} | {_seed_counts(counts)} | '
                   + ' | '.join(row_cells) + ' |')
    lines.append('')
  return '\n'.join(lines)
