"""Transfer evaluation: a rule and the baselines, on data it never saw.

For every evaluation dataset × architecture × seed (a :class:`Setting`),
every method trains a fresh feature extractor on the same unlabeled stream
and is probed at the same inner steps on the same few-shot draws (spec
§8.1: 10 labelled examples per class; ridge as in the meta-objective and
logistic regression). Each finished method × setting is a cell of the run
directory (:mod:`cell_store`), so a stopped run resumes where it was. At
the end :mod:`report` writes ``results.json``, ``results.md`` (tables and
the comparison with the paper) and PNG plots under ``plots/``.
"""

import dataclasses
import itertools
import json

from absl import logging
import gin

from learned_rule.model import activations as activations_lib
from learned_rule.storage import file_io
from learned_rule import progress as progress_lib
from learned_rule.model import resources
from learned_rule.data import registry
from learned_rule.evaluation import cell_store
from learned_rule.evaluation import measurement
from learned_rule.reporting import method_names
from learned_rule.evaluation import protocol
from learned_rule.evaluation import report
from learned_rule.evaluation import rule_methods
from learned_rule.evaluation.baselines import hebbian
from learned_rule.evaluation.baselines import pca
from learned_rule.evaluation.baselines import raw_inputs
from learned_rule.evaluation.baselines import supervised
from learned_rule.evaluation.baselines import vae

# The baselines by name (spec §8.2 and the cheap references of DESIGN §1).
BASELINES = {baseline.name: baseline for baseline in (
    supervised.SupervisedBackprop, vae.VariationalAutoencoder,
    hebbian.OjaRule, pca.PCAFeatures, raw_inputs.RawInputs)}
# What a transfer evaluation runs by default: every rule method, intact
# inputs as configured, and every baseline.
DEFAULT_METHODS = method_names.RULE_METHODS + tuple(BASELINES)
# '<rule method>/permuted' always permutes the base model's inputs, whatever
# TransferConfig.permute_inputs says: the permuted-input ablation (§7.3).
METHODS = DEFAULT_METHODS + tuple(
    method_names.permuted(name) for name in method_names.RULE_METHODS)


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
    object.__setattr__(self, 'steps', protocol.check_steps(
        self.steps, 'TransferConfig.steps'))
    if any(isinstance(ws, (int, float)) for ws in self.widths):
      raise ValueError(
          f'TransferConfig.widths is a tuple of architectures, each a tuple '
          f'of widths; got {self.widths!r}: write '
          f'({tuple(self.widths)!r},) for one architecture.')
    object.__setattr__(self, 'widths', tuple(
        protocol.check_widths(ws, f'TransferConfig.widths entry {ws!r}')
        for ws in self.widths))
    for field in ('datasets', 'widths', 'activations', 'seeds', 'methods'):
      values = getattr(self, field)
      repeated = sorted({str(v) for v in values if values.count(v) > 1})
      if repeated:
        raise ValueError(f'TransferConfig.{field} repeats {repeated}.')
    for activation in self.activations:
      activations_lib.check_activation(activation)

  def to_json(self):
    return json.loads(json.dumps(dataclasses.asdict(self)))

  def architectures(self):
    return list(itertools.product(self.widths, self.activations))


def uses_rule(config):
  """Whether ``config`` runs a method that applies the rule."""
  return any(name in METHODS and name not in BASELINES
             for name in config.methods)


def check_rule_fits(config, source):
  """Raises ValueError if a rule method cannot train a requested model."""
  if not uses_rule(config):
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
  base, permuted = method_names.split_permuted(name)
  permute_inputs = permute_inputs or permuted
  if base == method_names.LEARNED_RULE:
    return rule_methods.RuleMethod(source.rule, name, permute_inputs,
                                   jit_compile)
  if base == method_names.THETA_INIT:
    return rule_methods.RuleMethod(source.init_rule, name, permute_inputs,
                                   jit_compile)
  if base == method_names.RANDOM_INIT:
    return rule_methods.RandomInit(source.rule, name, permute_inputs)
  if name in BASELINES:
    return BASELINES[name]()
  raise ValueError(f'Unknown method {name!r}; known: {list(METHODS)}.')


class TransferEvaluation:
  """Runs a :class:`TransferConfig` for one rule into a run directory.

  Prepares (every check that can fail, before any compute), runs the cells
  the run directory lacks (:class:`cell_store.CellStore`), then reports
  (:class:`report.ReportWriter`).

  Args:
    root_dir: Where cells, results and plots go; resumed if it holds cells.
    source: A :class:`rule_source.RuleSource` (needed by rule methods).
    config: A :class:`TransferConfig` (default: from gin).
    log: Called with progress messages.
    datasets: Optional dict name → :class:`Dataset` used instead of loading
      ``config.datasets`` from the registry (e.g. a class subset).
    extra_methods: Optional dict name → factory ``() → FeatureMethod`` of
      methods beyond :data:`METHODS` that ``config.methods`` may name.
    title: Heading of the run's ``results.md``.
  """

  def __init__(self, root_dir, source, config=None, log=logging.info, datasets=None,
               extra_methods=None, title='Transfer evaluation'):
    self.root_dir = root_dir
    self.source = source
    self.config = config or TransferConfig()
    self.log = log
    self._datasets = datasets
    self.extra_methods = dict(extra_methods or {})
    self.store = cell_store.CellStore(root_dir, self.config)
    self.report = report.ReportWriter(self.store, source, self.config, title,
                                      log)
    self._prepared = None  # The datasets, once prepare() has passed.

  def build_method(self, name):
    if name in self.extra_methods:
      return self.extra_methods[name]()
    return build_method(name, self.source, self.config.permute_inputs,
                        self.config.jit_compile)

  def prepare(self):
    """Every check that can fail, before any compute: datasets, rule fit,
    run-directory compatibility. Returns the datasets by name."""
    known = METHODS + tuple(self.extra_methods)
    unknown = [name for name in self.config.methods if name not in known]
    if unknown:
      raise ValueError(f'Unknown TransferConfig.methods {unknown}; known: '
                       f'{list(known)}.')
    permuted = [name for name in self.config.methods
                if method_names.split_permuted(name)[1] and name in METHODS]
    if permuted and self.config.permute_inputs:
      raise ValueError(
          f'TransferConfig.methods {permuted} compare against intact inputs, '
          f'but TransferConfig.permute_inputs = True permutes every method; '
          f'set it to False.')
    check_rule_fits(self.config, self.source)
    datasets = self._datasets or {
        name: registry.load_for(registry.HELD_OUT, name)
        for name in self.config.datasets}
    for data in datasets.values():
      if not 2 <= self.config.batch_size <= len(data):
        raise ValueError(
            f'TransferConfig.batch_size = {self.config.batch_size}, but the '
            f'held-out split of {data.name} has {len(data)} examples; set it '
            f'between 2 and {len(data)} (or give the dataset more examples).')
      if uses_rule(self.config):
        for widths in self.config.widths:
          resources.check_fits(data.input_dim, widths, self.config.batch_size,
                               self.source.rule.config.hidden_size)
      # Validates sizes, and that every class has a support and a query.
      protocol.Setting(data, self.config.widths[0],
                       self.config.activations[0], self.config.batch_size,
                       self.config.seeds[0], self.config.steps,
                       num_draws=1).draws()
    self.store.check_run_config(self.run_description())
    self._prepared = datasets
    return datasets

  def run_description(self):
    """What a run directory's cells depend on; a resume must match it.

    Besides the config and the rule, every gin binding (the baselines'
    hyperparameters, the ablation's classes) and where θ-init came from.
    """
    return {'config': self.config.to_json(),
            'rule': file_io.canonical(self.source.path),
            'rule_step': self.source.training.get('step'),
            'theta_init': self.source.init_identity(),
            'gin_bindings': gin.config_str()}

  def run_cell(self, setting, method):
    """Runs one method on one setting; returns its records and filters."""
    return measurement.measure(setting, method), method.filter_history()

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
               if not self.store.has_cell(data.name, widths, activation,
                                          method, seed)]
    if len(pending) < len(jobs):
      self.log(f'Resuming: {len(jobs) - len(pending)} of {len(jobs)} '
               f'method × setting cells are done.')
    bar = progress_lib.Progress(len(pending), 'transfer evaluation',
                                unit='cell')
    for data, widths, activation, seed, name in pending:
      setting = protocol.Setting(data, widths, activation, config.batch_size,
                                 seed, config.steps,
                                 num_draws=config.num_draws)
      records, filters = self.run_cell(setting, self.build_method(name))
      if (filters and seed == config.seeds[0] and
          name in report.FILTER_METHODS):
        self.store.write_filters(data.name, widths, activation, name,
                                 filters)
      self.store.write_cell(data.name, widths, activation, name, seed,
                            records)
      bar.update(1, {'cell': f'{data.name}/{name}/seed{seed}',
                     'ridge': records[-1]['ridge_accuracy']})
    return self.report.write(datasets)
