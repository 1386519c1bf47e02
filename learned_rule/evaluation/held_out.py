"""Paired, fixed-seed evaluation of rules on a dataset meta-training never saw.

The measurement that tells whether meta-training helps: for every seed, a
base model is trained by the meta-trained rule (``learned_rule``), by the
same configuration at its initial θ (``theta_init``), and left as
initialised (``random_init``), on the same unlabeled batches, and all three
are probed on the same few-shot draws (spec §8.1: 10 labelled examples per
class; ridge as in the meta-objective, §5.2, and logistic regression,
§5.3). Differences between methods are paired over seeds, so the noise of
data and initialisation cancels.

It is the transfer evaluation's protocol (:class:`protocol.Setting`, the
methods of :mod:`rule_methods`, :func:`measurement.measure`) on one dataset
and architecture. Meta-training runs it periodically through
:class:`TrainingCallback`, which a binary hands to ``training.loop.train``;
``bin/paired_eval.py`` and ``bin/apply_rule.py`` run it on exported rules.
"""

import dataclasses
import hashlib

import gin
import numpy as np

from learned_rule.model import activations as activations_lib
from learned_rule.model import resources
from learned_rule.data import registry
from learned_rule.evaluation import measurement
from learned_rule.reporting import method_names
from learned_rule.evaluation import protocol
from learned_rule.reporting import results
from learned_rule.evaluation import rule_methods

# The paired differences reported: the meta-trained rule against each
# baseline of the same seeds.
BASELINES = (method_names.THETA_INIT, method_names.RANDOM_INIT)


@gin.configurable
@dataclasses.dataclass(frozen=True)
class HeldOutEvaluation:
  """What the paired held-out evaluation runs (gin: ``HeldOutEvaluation.*``).

  The defaults are the architecture and batch of ``meta_train/cpu.gin``
  (ours); ``gin_configs/held_out/`` holds the configurations that ship.

  Attributes:
    dataset: Registry name of the evaluation dataset; its held-out split is
      used (spec §8.1 evaluates on TinyMnist, never meta-trained on).
    seeds: Base-model seeds; every method is scored on the same ones.
    steps: Rule applications before the final probe (released evaluation:
      3000, spec §8.1).
    widths: Base-model widths, the top (feature) width last; it must equal
      the rule's top width (spec §3.2).
    activation: Base-model nonlinearity (spec §6.2: ReLU).
    batch_size: Unlabeled examples per rule application (spec §8.1: 128).
    num_draws: Support/query draws averaged at every probe (ours; the
      released evaluation draws one per evaluation, spec §8.1).
    jit_compile: XLA for the rule's unrolls (execution; tiny test configs
      turn it off to trace in seconds).
    with_theta_init: Also measure the rule's θ-init (``theta_init``). Off
      where many rules of one start are compared, whose θ-init is the same:
      it halves the cost (ours).
  """

  dataset: str = 'digits'
  seeds: tuple = (0, 1, 2, 3)
  steps: int = 200
  widths: tuple = (64, 64, 64, 32)
  activation: str = 'relu'
  batch_size: int = 64
  num_draws: int = 3
  jit_compile: bool = True
  with_theta_init: bool = True

  def __post_init__(self):
    seeds = tuple(self.seeds)
    if not seeds or len(set(seeds)) != len(seeds):
      raise ValueError(f'HeldOutEvaluation.seeds must be distinct seeds, at '
                       f'least one; got {self.seeds}.')
    object.__setattr__(self, 'seeds', tuple(int(s) for s in seeds))
    object.__setattr__(self, 'widths', protocol.check_widths(
        self.widths, 'HeldOutEvaluation.widths'))
    if not isinstance(self.steps, int) or self.steps < 0:
      raise ValueError(f'HeldOutEvaluation.steps must be an int >= 0, got '
                       f'{self.steps!r}.')
    if isinstance(self.batch_size, bool) or not isinstance(
        self.batch_size, int) or self.batch_size < 2:
      raise ValueError(f'HeldOutEvaluation.batch_size must be an int >= 2 '
                       f'(batch norm, spec §2.2), got {self.batch_size!r}.')
    activations_lib.check_activation(self.activation)
    if not isinstance(self.with_theta_init, bool):
      raise ValueError(f'HeldOutEvaluation.with_theta_init must be True or '
                       f'False, got {self.with_theta_init!r}.')

  def load_data(self):
    """The held-out split of :attr:`dataset` (fails early if missing)."""
    return registry.load_for(registry.HELD_OUT, self.dataset)

  def setting(self, data, seed, steps=None):
    """The :class:`protocol.Setting` of ``seed``; probed at ``steps``
    (default: before training and after :attr:`steps`)."""
    return protocol.Setting(
        data, self.widths, self.activation, self.batch_size, seed,
        steps if steps is not None else sorted({0, self.steps}),
        num_draws=self.num_draws)

  def methods(self, rule, init_rule=None):
    """The rule methods: ``learned_rule``, ``theta_init`` (if
    ``init_rule`` is given and :attr:`with_theta_init`) and
    ``random_init``."""
    found = [rule_methods.RuleMethod(rule, method_names.LEARNED_RULE,
                                     jit_compile=self.jit_compile)]
    if init_rule is not None and self.with_theta_init:
      found.append(rule_methods.RuleMethod(init_rule, method_names.THETA_INIT,
                                           jit_compile=self.jit_compile))
    found.append(rule_methods.RandomInit(rule))
    return found

  def check_fits(self, rule):
    """Raises ValueError, before any compute, if ``rule`` cannot train the
    evaluation's base model: another top width, a batch larger than the
    held-out split, or a model too large for the memory there is.

    Returns:
      The held-out :class:`Dataset`.
    """
    if self.widths[-1] != rule.top_width:
      raise ValueError(
          f'HeldOutEvaluation.widths = {self.widths} ends in a top width of '
          f'{self.widths[-1]}, but the rule trains base models with a top '
          f'width of {rule.top_width} (its top-signal network is sized for '
          f'it, spec §3.2); make the last width {rule.top_width}, e.g. '
          f'{self.widths[:-1] + (rule.top_width,)}.')
    data = self.load_data()
    if self.batch_size > len(data):
      raise ValueError(
          f'HeldOutEvaluation.batch_size = {self.batch_size}, but the '
          f'held-out split of {data.name} has {len(data)} examples; set it '
          f'to at most {len(data)} (or give the dataset more examples).')
    try:
      resources.check_fits(data.input_dim, self.widths, self.batch_size,
                           rule.config.hidden_size)
    except ValueError as error:
      raise ValueError(f'HeldOutEvaluation.widths and batch_size: '
                       f'{error}') from error
    rule_methods.RuleMethod(rule).build_model(self.setting(data, 0))
    return data

  def run(self, methods, data=None, report=None):
    """Every method on every seed; returns the records of the final probe.

    Args:
      methods: :class:`protocol.FeatureMethod` instances, e.g.
        :meth:`methods`.
      data: The held-out :class:`Dataset` (default: :meth:`load_data`).
      report: Optional callable given each record as it is made.

    Returns:
      Records (see :func:`measurement.measure`) of every method × seed at
      step 0 and at :attr:`steps`.
    """
    data = data or self.load_data()
    records = []
    for seed in self.seeds:
      setting = self.setting(data, seed)
      for method in methods:
        records += measurement.measure(setting, method, report)
    return records


def final_differences(records, metric='ridge_accuracy'):
  """Paired ``learned_rule`` − baseline rows at the last probed step.

  Returns:
    Dict baseline name → the row of :func:`results.paired_differences`
    (mean, standard error, 95% interval, per-seed differences), for each
    baseline of :data:`BASELINES` present in ``records``.
  """
  found = {}
  for baseline in BASELINES:
    rows = results.paired_differences(records, method_names.LEARNED_RULE,
                                      baseline, metric)
    if rows:
      found[baseline] = max(rows, key=lambda row: row['step'])
  return found


def final_means(records, metric='ridge_accuracy'):
  """Method → mean ``metric`` over seeds at each method's last step."""
  last = {}
  for record in records:
    method = record['method']
    if record['step'] > last.get(method, -1):
      last[method] = record['step']
  return {method: float(np.mean([r[metric] for r in records
                                 if r['method'] == method and
                                 r['step'] == step]))
          for method, step in last.items()}


def fingerprint(rule):
  """A digest of ``rule``'s θ (its trainable variables' values), or None
  for no rule."""
  if rule is None:
    return None
  digest = hashlib.sha256()
  for variable in rule.trainable_variables:
    digest.update(np.ascontiguousarray(np.asarray(variable)).tobytes())
  return digest.hexdigest()


class TrainingCallback:
  """The held-out evaluation as meta-training runs it, every few steps.

  ``training.loop.train`` calls it with the live rule and θ-init and writes
  the scalars it returns to TensorBoard; training itself knows nothing of
  evaluation.

  Only the trained rule changes from one call to the next: θ-init's and
  random init's records depend on θ-init and the seeds alone, so they are
  measured once per θ-init (:func:`fingerprint`) and reused, which halves
  the cost of every later evaluation.

  Args:
    evaluation: A :class:`HeldOutEvaluation`.
  """

  def __init__(self, evaluation):
    self.evaluation = evaluation
    self.data = evaluation.load_data()  # A missing dataset fails now.
    self._baselines = {}  # fingerprint(θ-init) -> their records.

  def check_fits(self, rule):
    self.evaluation.check_fits(rule)

  def records(self, rule, init_rule):
    """Records of every method; the baselines' from the first call with
    this θ-init."""
    methods = self.evaluation.methods(rule, init_rule)
    trained = [m for m in methods if m.name == method_names.LEARNED_RULE]
    key = fingerprint(init_rule)
    if key not in self._baselines:
      self._baselines = {key: self.evaluation.run(
          [m for m in methods if m.name != method_names.LEARNED_RULE],
          self.data)}
    return self.evaluation.run(trained, self.data) + self._baselines[key]

  def __call__(self, rule, init_rule):
    """Returns ``{tag: value}``: mean ridge accuracy per method and the
    paired differences (with standard errors) of the trained rule."""
    records = self.records(rule, init_rule)
    scalars = {f'held_out/ridge_accuracy/{method}': value
               for method, value in final_means(records).items()}
    for baseline, row in final_differences(records).items():
      name = f'held_out/{method_names.LEARNED_RULE}_minus_{baseline}'
      scalars[name] = row['mean']
      if row['std_error'] is not None:  # None for a single seed.
        scalars[name + '_stderr'] = row['std_error']
    return scalars
