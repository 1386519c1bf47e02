"""Transfer evaluation: a rule and the baselines, on data it never saw.

For every evaluation dataset × architecture × seed (a :class:`Setting`),
every method trains a fresh feature extractor on the same unlabeled stream
and is probed at the same inner steps on the same few-shot draws (spec
§8.1: 10 labelled examples per class; ridge as in the meta-objective and
logistic regression). Each finished method × setting is written to
``ROOT_DIR/cells/`` at once, so a stopped run resumes where it was.
At the end the run writes ``results.json``, ``results.md`` (tables and the
comparison with the paper) and PNG plots under ``plots/``.
"""

import dataclasses
import itertools
import json
import os
import subprocess

import gin
import numpy as np

from learned_rule import activations as activations_lib
from learned_rule import atomic_files
from learned_rule import progress as progress_lib
from learned_rule import resources
from learned_rule import viz
from learned_rule.data import registry
from learned_rule.evaluation import probe
from learned_rule.evaluation import protocol
from learned_rule.evaluation import published
from learned_rule.evaluation import results as results_lib
from learned_rule.evaluation import rule_methods
from learned_rule.evaluation.baselines import hebbian
from learned_rule.evaluation.baselines import pca
from learned_rule.evaluation.baselines import raw_inputs
from learned_rule.evaluation.baselines import supervised
from learned_rule.evaluation.baselines import vae

RULE_METHODS = ('learned_rule', 'theta_init', 'random_init')
# '<rule method>/permuted' always permutes the base model's inputs, whatever
# TransferConfig.permute_inputs says: the permuted-input ablation (§7.3).
PERMUTED = '/permuted'
BASELINES = {
    'supervised': supervised.SupervisedBackprop,
    'vae': vae.VariationalAutoencoder,
    'hebbian': hebbian.OjaRule,
    'pca': pca.PCAFeatures,
    'raw_inputs': raw_inputs.RawInputs,
}
# What a transfer evaluation runs by default: every rule method, intact
# inputs as configured, and every baseline.
DEFAULT_METHODS = RULE_METHODS + tuple(BASELINES)
METHODS = DEFAULT_METHODS + tuple(name + PERMUTED for name in RULE_METHODS)
# First-layer filters over training are drawn for these (paper Fig. 6).
FILTER_METHODS = ('learned_rule', 'theta_init', 'hebbian', 'vae')
CONFIG_FILE = 'transfer_config.json'


def architecture_name(widths, activation):
  """'64-64-64-32 relu': the architecture key of results and plots."""
  return '-'.join(str(w) for w in widths) + ' ' + activation


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TransferConfig:
  """What a transfer evaluation runs (gin: ``TransferConfig.*``).

  Attributes:
    datasets: Registry names of the evaluation datasets (their held-out
      split is used).
    widths: Base-model widths to evaluate, each a tuple with the top
      (feature) width last; it must equal the rule's top width.
    activations: Base-model nonlinearities to evaluate.
    steps: Inner steps at which features are probed, increasing (default
      ours; the released evaluation runs 3000 steps, spec §8.1).
    seeds: Seeds of base models, streams and draws (paired over methods;
      default ours, the paper reports 10 runs for IMDB, spec §8.1).
    batch_size: Unlabeled examples per inner step (paper eval: 128, §8.1).
    num_draws: Support/query draws per probed step (ours).
    methods: Methods to run, from :data:`METHODS`.
    permute_inputs: The base models of rule methods see a fixed random
      permutation of the inputs (the paper's setting, spec §2.3).
    jit_compile: XLA for the rule's unrolls: faster on long runs, slower to
      compile (tiny test configs turn it off).
  """

  datasets: tuple = ('digits',)
  widths: tuple = ((64, 64, 64, 32),)
  activations: tuple = ('relu',)
  steps: tuple = (0, 100, 300, 1000)
  seeds: tuple = (0, 1, 2)
  batch_size: int = 128
  num_draws: int = 10
  methods: tuple = DEFAULT_METHODS
  permute_inputs: bool = True
  jit_compile: bool = True

  def __post_init__(self):
    for field in ('datasets', 'widths', 'activations', 'seeds', 'methods'):
      value = tuple(getattr(self, field))
      if not value:
        raise ValueError(f'TransferConfig.{field} is empty; give at least '
                         f'one value.')
      object.__setattr__(self, field, value)
    object.__setattr__(self, 'steps', protocol.check_steps(self.steps))
    object.__setattr__(self, 'widths',
                       tuple(tuple(int(w) for w in ws) for ws in self.widths))
    for field in ('datasets', 'widths', 'activations', 'seeds', 'methods'):
      values = getattr(self, field)
      repeated = sorted({str(v) for v in values if values.count(v) > 1})
      if repeated:
        raise ValueError(f'TransferConfig.{field} repeats {repeated}.')
    for activation in self.activations:
      activations_lib.check_activation(activation)
    for widths in self.widths:
      if not widths or min(widths) < 1:
        raise ValueError(f'TransferConfig.widths entry {widths} must be '
                         f'positive widths.')

  def to_json(self):
    return json.loads(json.dumps(dataclasses.asdict(self)))

  def architectures(self):
    return list(itertools.product(self.widths, self.activations))


def check_rule_fits(config, source):
  """Raises ValueError if a rule method cannot train a requested model."""
  if not any(name in METHODS and name not in BASELINES
             for name in config.methods):
    return
  top_width = source.rule.top_width
  for widths in config.widths:
    if widths[-1] != top_width:
      raise ValueError(
          f'The rule at {source.path} trains base models with a top width '
          f'(feature size) of {top_width} (its top-signal network is sized '
          f'for it, spec §3.2); the requested architecture {widths} has a '
          f'top width of {widths[-1]}. Set TransferConfig.widths with a last '
          f'width of {top_width}.')


def build_method(name, source, permute_inputs=True, jit_compile=True):
  """A :class:`FeatureMethod` by name (see :data:`METHODS`)."""
  base = name[:-len(PERMUTED)] if name.endswith(PERMUTED) else name
  permute_inputs = permute_inputs or base != name
  if base == 'learned_rule':
    return rule_methods.RuleMethod(source.rule, name, permute_inputs,
                                   jit_compile)
  if base == 'theta_init':
    return rule_methods.RuleMethod(source.init_rule, name, permute_inputs,
                                   jit_compile)
  if base == 'random_init':
    return rule_methods.RandomInit(source.rule, name, permute_inputs)
  if name in BASELINES:
    return BASELINES[name]()
  raise ValueError(f'Unknown method {name!r}; known: {list(METHODS)}.')


def git_revision():
  """The checkout's commit ('+dirty' with local changes), or 'unknown'."""
  here = os.path.dirname(os.path.abspath(__file__))
  try:
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=here,
                            capture_output=True, text=True, check=True,
                            timeout=10).stdout.strip()
    dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-'
                            'files=no'], cwd=here, capture_output=True,
                           text=True, check=True, timeout=10).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return 'unknown'
  return commit + ('+dirty' if dirty else '')


def slug(text):
  """``text`` as a file-name part: alphanumerics, the rest '_'."""
  return ''.join(c if c.isalnum() else '_' for c in str(text)).strip('_')


class TransferEvaluation:
  """Runs a :class:`TransferConfig` for one rule into a run directory.

  Args:
    root_dir: Where cells, results and plots go; resumed if it holds cells.
    source: A :class:`rule_source.RuleSource` (needed by rule methods).
    config: A :class:`TransferConfig` (default: from gin).
    log: Called with progress messages.
    datasets: Optional dict name → :class:`Dataset` used instead of loading
      ``config.datasets`` from the registry (e.g. a class subset).
    extra_methods: Optional dict name → factory ``() → FeatureMethod`` of
      methods beyond :data:`METHODS` that ``config.methods`` may name.
  """

  def __init__(self, root_dir, source, config=None, log=print, datasets=None,
               extra_methods=None):
    self.root_dir = root_dir
    self.source = source
    self.config = config or TransferConfig()
    self.log = log
    self._datasets = datasets
    self.extra_methods = dict(extra_methods or {})
    self.title = 'Transfer evaluation'
    self._prepared = None  # The datasets, once prepare() has passed.

  def build_method(self, name):
    if name in self.extra_methods:
      return self.extra_methods[name]()
    return build_method(name, self.source, self.config.permute_inputs,
                        self.config.jit_compile)

  # ----------------------------------------------------------- preparation
  def prepare(self):
    """Every check that can fail, before any compute: datasets, rule fit,
    run-directory compatibility. Returns the datasets by name."""
    known = METHODS + tuple(self.extra_methods)
    unknown = [name for name in self.config.methods if name not in known]
    if unknown:
      raise ValueError(f'Unknown TransferConfig.methods {unknown}; known: '
                       f'{list(known)}.')
    permuted = [name for name in self.config.methods
                if name.endswith(PERMUTED) and name in METHODS]
    if permuted and self.config.permute_inputs:
      raise ValueError(
          f'TransferConfig.methods {permuted} compare against intact inputs, '
          f'but TransferConfig.permute_inputs = True permutes every method; '
          f'set it to False.')
    check_rule_fits(self.config, self.source)
    datasets = self._datasets or {
        name: registry.load_for(registry.HELD_OUT, name)
        for name in self.config.datasets}
    uses_rule = any(name in METHODS and name not in BASELINES
                    for name in self.config.methods)
    for data in datasets.values():
      if uses_rule:
        for widths in self.config.widths:
          resources.check_fits(data.input_dim, widths, self.config.batch_size,
                               self.source.rule.config.hidden_size)
      # Validates sizes, and that every class has a support and a query.
      protocol.Setting(data, self.config.widths[0],
                       self.config.activations[0], self.config.batch_size,
                       self.config.seeds[0], self.config.steps,
                       num_draws=1).draws()
    self._check_run_dir()
    self._prepared = datasets
    return datasets

  def _run_description(self):
    """What a run directory's cells depend on; a resume must match it.

    Besides the config and the rule, every gin binding (the baselines'
    hyperparameters, the ablation's classes) and where θ-init came from.
    """
    return {'config': self.config.to_json(),
            'rule': os.path.realpath(self.source.path),
            'rule_step': self.source.training.get('step'),
            'theta_init': self.source.init_description,
            'gin_bindings': gin.config_str()}

  def _check_run_dir(self):
    os.makedirs(self.root_dir, exist_ok=True)
    path = os.path.join(self.root_dir, CONFIG_FILE)
    description = self._run_description()
    if os.path.exists(path):
      with open(path) as stream:
        saved = json.load(stream)
      saved['rule'] = os.path.realpath(saved.get('rule', ''))
      if saved != description:
        differences = [f'{key}: {saved.get(key)!r} there, '
                       f'{description[key]!r} now'
                       for key in description if saved.get(key) !=
                       description[key]]
        raise ValueError(
            f'{self.root_dir} holds a transfer evaluation of another '
            f'configuration ({"; ".join(differences)}); use a new --root_dir '
            f'or remove it.')
    else:
      atomic_files.write_json(path, description, indent=1)

  # ------------------------------------------------------------------ cells
  def _cell_path(self, data_name, widths, activation, method, seed):
    name = '__'.join(slug(part) for part in (
        data_name, architecture_name(widths, activation), method,
        f'seed{seed}'))
    return os.path.join(self.root_dir, 'cells', name + '.json')

  def run_cell(self, setting, method):
    """Runs one method on one setting; returns its records and filters."""
    draws = setting.draws()
    records = []
    for step, features in method.trajectory(setting):
      scores = probe.score_draws(features, draws, setting.data.num_classes)
      records.append({
          'dataset': setting.data.name,
          'architecture': architecture_name(setting.widths,
                                            setting.activation),
          'widths': list(setting.widths), 'activation': setting.activation,
          'method': method.name, 'step': step, 'seed': setting.seed,
          **scores})
    return records, method.filter_history()

  def run(self):
    """Runs every missing cell, then writes results; returns the summary."""
    datasets = self._prepared or self.prepare()
    config = self.config
    jobs = [(data, widths, activation, seed, method)
            for data in datasets.values()
            for widths, activation in config.architectures()
            for seed in config.seeds for method in config.methods]
    pending = [(data, widths, activation, seed, method)
               for data, widths, activation, seed, method in jobs
               if not os.path.exists(self._cell_path(
                   data.name, widths, activation, method, seed))]
    if len(pending) < len(jobs):
      self.log(f'Resuming: {len(jobs) - len(pending)} of {len(jobs)} '
               f'method × setting cells are done.')
    bar = progress_lib.Progress(len(pending), 'transfer evaluation',
                                unit='cell')
    for data, widths, activation, seed, name in pending:
      setting = protocol.Setting(data, widths, activation, config.batch_size,
                                 seed, config.steps,
                                 num_draws=config.num_draws)
      method = self.build_method(name)
      records, filters = self.run_cell(setting, method)
      if filters and seed == config.seeds[0] and name in FILTER_METHODS:
        self._save_filters(data, widths, activation, name, filters)
      atomic_files.write_json(
          self._cell_path(data.name, widths, activation, name, seed), records,
          indent=1)
      last = records[-1]
      bar.update(1, {'cell': f'{data.name}/{name}/seed{seed}',
                     'ridge': last['ridge_accuracy']})
    return self.write_outputs(datasets)

  def _filter_path(self, data_name, widths, activation, method):
    name = '__'.join(slug(part) for part in (
        data_name, architecture_name(widths, activation), method))
    return os.path.join(self.root_dir, 'filters', name + '.npz')

  def _save_filters(self, data, widths, activation, method, history):
    path = self._filter_path(data.name, widths, activation, method)
    with atomic_files.replacing(path, binary=True) as stream:
      np.savez(stream, steps=np.array([step for step, _ in history]),
               weights=np.stack([weights for _, weights in history]))

  # ---------------------------------------------------------------- outputs
  def records(self, dataset_names=None):
    """All records of this configuration's finished cells."""
    config = self.config
    found = []
    for name, (widths, activation), seed, method in itertools.product(
        dataset_names or config.datasets, config.architectures(),
        config.seeds, config.methods):
      path = self._cell_path(name, widths, activation, method, seed)
      if os.path.exists(path):
        with open(path) as stream:
          found.extend(json.load(stream))
    return found

  def compute_note(self):
    """How much meta-training the rule had (the paper's: spec §10)."""
    step = self.source.training.get('step')
    return f'{step} θ updates of meta-training ({self.source.path})'

  def metadata(self):
    rule_metadata = {key: value for key, value in
                     self.source.metadata.items() if key != 'extra'}
    rule_metadata['training'] = {key: value for key, value in
                                 self.source.training.items()
                                 if key != 'config'}
    return {'rule_path': self.source.path, 'rule': rule_metadata,
            'theta_init': self.source.init_description,
            'git_revision': git_revision(), 'config': self.config.to_json(),
            'seeds': list(self.config.seeds),
            'compute_note': self.compute_note()}

  def claims(self, datasets):
    """The paper's claims, Fig. 4 read on this run's image and text data.

    Every image and text dataset of this run is read, the paper's or not;
    the measurements name them.
    Fig. 5 left asks about architectures beyond the rule's own
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
        meta_train_max_depth=depth, meta_train_max_width=width)

  def write_outputs(self, datasets):
    """results.json, results.md and plots from the finished cells."""
    records = self.records([data.name for data in datasets.values()])
    summary = results_lib.summarize(records)
    results_path = os.path.join(self.root_dir, 'results.json')
    results_lib.write_results(results_path, summary, self.metadata(),
                              records=records)
    plots = os.path.join(self.root_dir, 'plots')
    for data in datasets.values():
      for widths, activation in self.config.architectures():
        architecture = architecture_name(widths, activation)
        viz.plot_curves(summary, os.path.join(
            plots, f'curves__{slug(data.name)}__{slug(architecture)}.png'),
                        dataset=data.name, architecture=architecture)
        for method in FILTER_METHODS:
          path = self._filter_path(data.name, widths, activation, method)
          if os.path.exists(path) and data.modality == 'image':
            with np.load(path) as saved:
              history = list(zip(saved['steps'].tolist(), saved['weights']))
            viz.plot_filter_grid(
                history, data.shape, os.path.join(
                    plots, f'filters__{slug(data.name)}__'
                    f'{slug(architecture)}__{method}.png'),
                title=f'{method}: first-layer filters, {data.name}, '
                f'{architecture}')
    names = [architecture_name(w, a)
             for w, a in self.config.architectures()]
    if len(names) > 1:
      for data in datasets.values():
        viz.plot_sweep(summary, os.path.join(
            plots, f'sweep__{slug(data.name)}.png'), names,
                       dataset=data.name)
    markdown = [
        f'# {self.title}\n\nRule: {self.compute_note()}; θ-init: '
        f'{self.source.init_description}. '
        f'The paper: {published.PAPER_COMPUTE}. Revision '
        f'{git_revision()}.\n',
        '## Ridge few-shot accuracy (%), mean ± 95% CI over seeds\n',
        results_lib.markdown_table(summary, 'ridge_accuracy'),
        '## Logistic-regression few-shot accuracy (%)\n',
        results_lib.markdown_table(summary, 'logistic_accuracy'),
        '## The paper\'s claims and this run\n',
        published.comparison_table(summary, self.compute_note(),
                                   claims=self.claims(datasets)),
    ]
    atomic_files.write_text(os.path.join(self.root_dir, 'results.md'),
                            '\n'.join(markdown))
    self.log(f'Wrote {results_path}, results.md and {plots}/.')
    return summary
