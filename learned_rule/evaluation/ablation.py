"""Permuted-input ablation (spec §7.3, paper Fig. 2 right).

The paper's learned rule always sees its inputs through a fixed random
permutation (spec §2.3), so it cannot use pixel order; a prototypical
network with the same fully connected architecture can, and loses much of
its accuracy when pixels are permuted before every task. Here both are
measured with intact and with permuted inputs on the same held-out classes,
probes and seeds:

- ``learned_rule``, ``theta_init``, ``random_init``: the base model sees the
  pixels in order; with ``/permuted``, through a fresh permutation per run
  (per seed).
- ``prototypical``: trained episodically on the other classes of the
  dataset's meta-training split, its embedding probed like every other
  method's; with ``/permuted``, a fresh permutation for every training
  episode and every probed draw. Its step axis counts training episodes,
  the rule methods' counts unlabeled batches.

The held-out classes are held out from the prototypical network only: a
rule meta-trained on the same dataset (e.g. cpu.gin on the Alphabet's
training fonts) has seen them, in other fonts.

The run reuses the transfer evaluation's cells, results and plots, and adds
a bar plot of the final accuracies. The ablation sets the datasets, methods
and input permutation of its ``TransferConfig`` itself, and refuses a gin
config that binds them (:func:`check_bindings`).
"""

import dataclasses

from absl import logging
import gin
import numpy as np

from learned_rule.data import registry
from learned_rule.evaluation import measurement
from learned_rule.reporting import method_names
from learned_rule.reporting import plots
from learned_rule.evaluation import protocol
from learned_rule.reporting import results
from learned_rule.evaluation import transfer
from learned_rule.evaluation.baselines import prototypical

# The TransferConfig parameters the ablation sets itself, and what it sets
# them to (spec §7.3: every method on the same held-out classes, intact and
# permuted); a gin binding of one would be silently replaced.
SET_BY_ABLATION = {
    'datasets': ('the held-out classes of AblationConfig.dataset (bind '
                 'AblationConfig.dataset and AblationConfig.held_out_classes '
                 'instead)'),
    'methods': ('AblationConfig.rule_methods and prototypical, each intact '
                'and /permuted (bind AblationConfig.rule_methods instead)'),
    'permute_inputs': ('False (each method sees pixels in order, its '
                       '/permuted variant through a fresh permutation)'),
}
# Separate seed stream for the permutations of the probed draws (the keys of
# protocol.py and the baselines are 1 to 4).
_DRAW_PERMUTATIONS_KEY = 5


@gin.configurable
@dataclasses.dataclass(frozen=True)
class AblationConfig:
  """Which data the ablation uses (gin: ``AblationConfig.*``).

  Attributes:
    dataset: Registry name of a labelled dataset with many classes.
    held_out_classes: Classes every method is evaluated on (held-out
      split); the prototypical network trains on the others (meta-training
      split).
    ways: Classes per training episode of the prototypical network (spec
      §7.3: 10-way), at most the number of training classes.
    rule_methods: Rule methods run intact and ``/permuted``.
  """

  dataset: str = 'alphabet'
  held_out_classes: tuple = tuple(range(52, 62))  # Alphabet: 'q' to 'z'.
  ways: int = prototypical.DEFAULT_WAYS
  rule_methods: tuple = method_names.RULE_METHODS

  def __post_init__(self):
    object.__setattr__(self, 'held_out_classes',
                       tuple(int(c) for c in self.held_out_classes))
    object.__setattr__(self, 'rule_methods', tuple(self.rule_methods))
    if len(self.held_out_classes) < 2:
      raise ValueError('AblationConfig.held_out_classes needs at least two '
                       'classes.')
    unknown = sorted(set(self.rule_methods) - set(method_names.RULE_METHODS))
    if unknown:
      raise ValueError(f'Unknown AblationConfig.rule_methods {unknown}; '
                       f'known: {list(method_names.RULE_METHODS)}.')

  def methods(self):
    names = []
    for name in self.rule_methods + (method_names.PROTOTYPICAL,):
      names += [name, method_names.permuted(name)]
    return tuple(names)


class PrototypicalMethod(protocol.FeatureMethod):
  """A prototypical network's embedding, probed like any other method.

  At every probed step ``s`` the network has trained ``s`` episodes on
  ``train_data`` (the step axis counts episodes, not unlabeled batches).

  Args:
    train_data: The meta-training classes.
    permute: Permute the inputs of every episode and every probed draw.
    ways: Classes per training episode.
  """

  def __init__(self, train_data, permute, ways=prototypical.DEFAULT_WAYS):
    if ways > train_data.num_classes:
      raise ValueError(f'AblationConfig.ways = {ways}, but the prototypical '
                       f'network trains on {train_data.num_classes} classes.')
    self.train_data = train_data
    self.permute = permute
    self.ways = ways
    self.name = (method_names.permuted(method_names.PROTOTYPICAL)
                 if permute else method_names.PROTOTYPICAL)

  def trajectory(self, setting):
    network = prototypical.PrototypicalNetwork(
        widths=setting.widths, activation=setting.activation, episodes=0,
        ways=self.ways, shots=setting.shots, permute=self.permute,
        seed=setting.seed)
    draws = setting.draws()
    rng = np.random.default_rng([setting.seed, _DRAW_PERMUTATIONS_KEY])
    orders = [prototypical.draw_permutation(setting.data.input_dim, rng)
              if self.permute else None for _ in draws]
    trained = 0
    for step in setting.steps:
      network.episodes = step - trained
      network.fit(self.train_data)
      trained = step
      yield step, [protocol.draw_features(
          lambda x, order=order: np.asarray(network.embed(
              x if order is None else x[:, order])), [draw])[0]
                   for draw, order in zip(draws, orders)]


def _bound(parameter):
  """Whether the gin config binds ``parameter``, e.g. 'TransferConfig.x'."""
  try:
    gin.query_parameter(parameter)
  except ValueError:
    return False
  return True


def check_bindings():
  """Refuses gin bindings of the TransferConfig parameters it sets.

  Raises:
    ValueError: Naming each such binding and what the ablation sets
      instead (:data:`SET_BY_ABLATION`).
  """
  bound = [f'TransferConfig.{name}' for name in SET_BY_ABLATION
           if _bound(f'TransferConfig.{name}')]
  if bound:
    raise ValueError(
        f'The gin config binds {", ".join(bound)}, which the permuted-input '
        f'ablation sets itself: ' + '; '.join(
            f'{parameter} to {SET_BY_ABLATION[parameter.split(".")[1]]}'
            for parameter in bound) + '. Remove '
        f'{"these bindings" if len(bound) > 1 else "the binding"}.')


def ablation_data(config):
  """(held-out classes of the held-out split, other classes of the
  meta-training split), both relabelled."""
  held_out = registry.load_for(registry.HELD_OUT, config.dataset)
  meta_train = registry.load_for(registry.META_TRAIN, config.dataset)
  unknown = [c for c in config.held_out_classes
             if not 0 <= c < held_out.num_classes]
  if unknown:
    raise ValueError(f'AblationConfig.held_out_classes {unknown} are not '
                     f'classes of {config.dataset} (0..'
                     f'{held_out.num_classes - 1}).')
  _, evaluation = prototypical.split_classes(held_out,
                                             config.held_out_classes)
  training, _ = prototypical.split_classes(meta_train,
                                           config.held_out_classes)
  evaluation = dataclasses.replace(
      evaluation, name=f'{config.dataset}_held_out_classes')
  return evaluation, training


class PermutedAblation:
  """Runs the ablation into ``root_dir`` (gin: ``AblationConfig``,
  ``TransferConfig`` for widths, steps, seeds, batch size and draws).

  Raises:
    ValueError: At construction, if gin binds a TransferConfig parameter
      the ablation sets (:func:`check_bindings`), or the data do not fit.
  """

  def __init__(self, root_dir, source, config=None, transfer_config=None,
               log=logging.info):
    check_bindings()
    self.config = config or AblationConfig()
    evaluation_data, self.train_data = ablation_data(self.config)
    PrototypicalMethod(self.train_data, False, self.config.ways)  # Checks.
    transfer_config = dataclasses.replace(
        transfer_config or transfer.TransferConfig(),
        datasets=(evaluation_data.name,), methods=self.config.methods(),
        permute_inputs=False)
    self.evaluation = transfer.TransferEvaluation(
        root_dir, source, transfer_config, log,
        datasets={evaluation_data.name: evaluation_data},
        extra_methods={
            method_names.PROTOTYPICAL: lambda: PrototypicalMethod(
                self.train_data, False, self.config.ways),
            method_names.permuted(method_names.PROTOTYPICAL):
                lambda: PrototypicalMethod(self.train_data, True,
                                           self.config.ways)},
        title='Permuted-input ablation')
    self.root_dir = root_dir

  def prepare(self):
    return self.evaluation.prepare()

  def run(self):
    """Runs the evaluation, then bar plots of intact vs permuted."""
    summary = self.evaluation.run()
    for widths, activation in self.evaluation.config.architectures():
      architecture = measurement.architecture_name(widths, activation)
      for metric in results.ACCURACY_METRICS:
        plots.plot_bars(
            summary, self.evaluation.report.plot_path(
                'permutation', architecture, metric),
            metric=metric, architecture=architecture,
            title=f'Intact vs permuted inputs, {architecture}\n'
            f'{metric}, final step of each method; error bars: 95% CI')
    return summary
