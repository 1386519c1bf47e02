"""What an evaluation run reports, from the cells it finished.

``results.json`` (summaries with per-seed values, records and metadata:
the rule, θ-init, the package version and git revision, the config),
``results.md`` (tables of the few-shot accuracies and the paper's claims
checked on this run, spec §8.3) and PNG plots under ``plots/``: accuracy
curves per dataset × architecture, first-layer filters over training for
image data (paper Fig. 6), and, with several architectures, a sweep plot
(paper Fig. 5).
"""

import os

from absl import logging

from learned_rule.storage import atomic_files
from learned_rule.storage import file_io
from learned_rule.reporting import headline
from learned_rule.reporting import hparams
from learned_rule import package_info
from learned_rule.storage import run_dirs
from learned_rule.evaluation import cell_store
from learned_rule.evaluation import measurement
from learned_rule.reporting import method_names
from learned_rule.reporting import plots
from learned_rule.reporting import published
from learned_rule.reporting import results

# Columns of the HParams dashboard (learned_rule/reporting/hparams.py).
DASHBOARD_SETTINGS = ('evaluation', 'rule', 'dataset', 'architecture',
                      'method', 'depth', 'activation', 'seeds')
DASHBOARD_METRICS = ('ridge_accuracy', 'logistic_accuracy')

# First-layer filters over training are drawn for these (paper Fig. 6).
FILTER_METHODS = (method_names.LEARNED_RULE, method_names.THETA_INIT,
                  method_names.HEBBIAN, method_names.VAE)


class ReportWriter:
  """Writes the results, tables and plots of a run directory.

  Args:
    store: The run's :class:`cell_store.CellStore`.
    source: The :class:`rule_source.RuleSource` evaluated.
    config: The run's :class:`transfer.TransferConfig`.
    title: Heading of ``results.md``.
    log: Called with progress messages.
  """

  def __init__(self, store, source, config, title, log=logging.info):
    self.store = store
    self.source = source
    self.config = config
    self.title = title
    self.log = log

  @property
  def root_dir(self):
    return self.store.root_dir

  def metadata(self):
    """What ``results.json`` says about the run besides its numbers."""
    rule_metadata = {key: value for key, value in
                     self.source.metadata.items() if key != 'extra'}
    rule_metadata['training'] = {key: value for key, value in
                                 self.source.training.items()
                                 if key != 'config'}
    return {'rule_path': file_io.shown(self.source.path),
            'rule': rule_metadata, 'theta_init': self.source.init_description,
            **package_info.provenance(), 'config': self.config.to_json(),
            'seeds': list(self.config.seeds),
            'compute_note': self.source.compute_note()}

  def meta_training_datasets(self):
    """The datasets the rule meta-trained on, as its export records them
    (``training/provenance.py``); None where not recorded."""
    recorded = (self.source.training.get('meta_training') or {}).get(
        'datasets')
    return None if recorded is None else list(recorded)

  def claims(self, datasets):
    """The paper's claims, read on this run's image and text data.

    Every image and text dataset of this run is read; each claim counts
    those its :class:`published.DataScope` allows (the paper's data, or
    stand-ins for a kind of data, never data the rule meta-trained on
    where the claim is about held-out data) and reports the others for
    information. Fig. 5 left asks about architectures beyond the rule's own
    meta-training range, read from its export (the paper's otherwise).
    """
    by_modality = {'image': [], 'text': []}
    for data in datasets.values():
      by_modality.setdefault(data.modality, []).append(data.name)
    limits = self.source.meta_training_range()
    depth, width = limits or (published.META_TRAIN_MAX_DEPTH,
                              published.META_TRAIN_MAX_WIDTH)
    return published.build_claims(
        image_datasets=by_modality['image'],
        text_datasets=by_modality['text'],
        meta_train_max_depth=depth, meta_train_max_width=width,
        meta_training_datasets=self.meta_training_datasets())

  def write(self, datasets):
    """results.json, results.md and plots from the finished cells.

    Args:
      datasets: Dict name → :class:`Dataset` of the run.

    Returns:
      The summary (:func:`results.summarize`) of the finished cells.
    """
    records = self.store.records([data.name for data in datasets.values()])
    summary = results.summarize(records)
    results_path = run_dirs.path(self.root_dir, run_dirs.RESULTS_JSON)
    results.write_results(results_path, summary, self.metadata(),
                          records=records)
    # Made from the file, so that it is what a reader can make of it again.
    atomic_files.write_text(
        run_dirs.path(self.root_dir, run_dirs.HEADLINE_MARKDOWN),
        headline.markdown(results.read_results(results_path)))
    self.write_plots(summary, datasets)
    self.write_dashboard(summary)
    atomic_files.write_text(
        run_dirs.path(self.root_dir, run_dirs.RESULTS_MARKDOWN),
        self.markdown(summary, datasets))
    self.log(f'Wrote {results_path}, {run_dirs.RESULTS_MARKDOWN}, '
             f'{run_dirs.HEADLINE_MARKDOWN} and '
             f'{run_dirs.path(self.root_dir, run_dirs.PLOTS)}/.')
    return summary

  def write_dashboard(self, summary):
    """One HParams dashboard run per dataset × architecture × method,
    rewritten from the summary (so a resumed run does not repeat points)."""
    root = run_dirs.path(self.root_dir, run_dirs.DASHBOARD)
    file_io.delete(root)
    groups = {}
    for row in summary:
      key = (row['dataset'], row['architecture'], row['method'])
      groups.setdefault(key, []).append(row)
    for (dataset, architecture, method), rows in sorted(groups.items()):
      rows.sort(key=lambda row: row['step'])
      settings = {'evaluation': self.title, 'rule': self.source.path,
                  'dataset': dataset, 'architecture': architecture,
                  'method': method, 'depth': len(rows[0]['widths']),
                  'activation': rows[0]['activation'], 'seeds': rows[0]['n']}
      curves = {tag: [(row['step'], row[tag]['mean']) for row in rows]
                for tag in DASHBOARD_METRICS}
      name = '__'.join(cell_store.slug(part)
                       for part in (dataset, architecture, method))
      hparams.write_run(os.path.join(root, name), settings, curves)
    hparams.write_experiment(root, DASHBOARD_SETTINGS, DASHBOARD_METRICS)

  def plot_path(self, *parts):
    """``plots/part1__part2....png``, each part made a file-name part."""
    name = '__'.join(cell_store.slug(part) for part in parts)
    return run_dirs.path(self.root_dir, run_dirs.PLOTS, name + '.png')

  def write_plots(self, summary, datasets):
    """Curves and filters per dataset × architecture; sweeps."""
    for data in datasets.values():
      for widths, activation in self.config.architectures():
        architecture = measurement.architecture_name(widths, activation)
        plots.plot_curves(summary,
                          self.plot_path('curves', data.name, architecture),
                          dataset=data.name, architecture=architecture)
        if data.modality != 'image':
          continue
        for method in FILTER_METHODS:
          history = self.store.read_filters(data.name, widths, activation,
                                            method)
          if history is not None:  # Drawn as plots/filters__<its name>.
            plots.plot_filter_grid(
                history, data.shape,
                self.plot_path(run_dirs.FILTERS, data.name, architecture,
                               method),
                title=f'{method}: first-layer filters, {data.name}, '
                f'{architecture}')
    names = [measurement.architecture_name(w, a)
             for w, a in self.config.architectures()]
    if len(names) > 1:
      for data in datasets.values():
        plots.plot_sweep(summary, self.plot_path('sweep', data.name), names,
                         dataset=data.name)

  def markdown(self, summary, datasets):
    """``results.md``: tables over seeds and the paper's claims."""
    return '\n'.join([
        f'# {self.title}\n\nRule: {self.source.compute_note()}; θ-init: '
        f'{self.source.init_description}. '
        f'The paper: {published.PAPER_COMPUTE}. Code: '
        f'{package_info.describe()}.\n',
        '## Ridge few-shot accuracy (%), mean ± 95% CI over seeds\n',
        results.markdown_table(summary, 'ridge_accuracy'),
        '## Logistic-regression few-shot accuracy (%)\n',
        results.markdown_table(summary, 'logistic_accuracy'),
        '## The paper\'s claims and this run\n',
        published.comparison_table(summary, self.source.compute_note(),
                                   claims=self.claims(datasets)),
    ])
