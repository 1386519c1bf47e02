"""The configurations measured, and their models, rules and random inputs.

* ``paper``: base model 196-128-128-128-128-32, batch 128, ``RuleConfig()``
  (H = 64): the released evaluation setting (spec §2.1, §3.11).
* ``cpu``: base model 64-64-64-32, batch 64, ``RuleConfig(hidden_size=32)``:
  the small setting used for meta-training on CPU (DESIGN.md §6).
"""

import collections

import numpy as np
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule.data import few_shot
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

# The few-shot task of the meta-gradient: 10 classes (the paper's 10-way
# tasks, spec §7.3), 10 support and 10 query examples per class (§5.2).
NUM_CLASSES = 10
EXAMPLES_PER_CLASS = 10

Bench = collections.namedtuple(
    'Bench', ['name', 'input_dim', 'widths', 'batch', 'rule_config',
              'unroll_steps', 'quick_unroll_steps'])

BENCHES = {
    'paper': Bench('paper', 196, (128, 128, 128, 128, 32), 128,
                   config_lib.RuleConfig(), 10, 2),
    'cpu': Bench('cpu', 64, (64, 64, 32), 64,
                 config_lib.RuleConfig(hidden_size=32), 20, 4),
}


def build(bench, seed):
  """(model, rule, φ_0) of a configuration."""
  tf.keras.utils.set_random_seed(seed)
  model = base_model.BaseMLP(bench.input_dim, bench.widths,
                             permutation_seed=seed, seed=seed)
  rule = rule_lib.UnsupervisedUpdate(bench.rule_config)
  return model, rule, model.initial_state(seed)


def unlabeled_batches(bench, steps, seed):
  """Uniform random ``[steps, batch, input_dim]`` inputs."""
  rng = np.random.RandomState(seed + 1)
  return tf.constant(rng.uniform(size=(steps, bench.batch, bench.input_dim)),
                     tf.float32)


def few_shot_batch(bench, seed):
  """A 10-class task, 10 support and 10 query examples per class."""
  rng = np.random.RandomState(seed + 2)
  labels = np.repeat(np.arange(NUM_CLASSES), EXAMPLES_PER_CLASS)
  count = labels.size

  def inputs():
    return tf.constant(rng.uniform(size=(count, bench.input_dim)), tf.float32)

  return few_shot.FewShotBatch(inputs(), tf.constant(labels, tf.int32),
                               inputs(), tf.constant(labels, tf.int32))
