"""Applying a rule to a fresh base model and watching its features improve.

The released evaluation (spec §8.1): initialise a base model, apply the
rule for many steps on fresh unlabeled batches, and every few steps measure
the few-shot quality of the top features with the ridge meta-objective and
a logistic-regression monitor (10 labelled examples per class each for
support and query).
"""

import dataclasses
import weakref

import gin
import numpy as np
import tensorflow as tf

from learned_rule import base_model as base_model_lib
from learned_rule import inner_loop as inner_loop_lib
from learned_rule import meta_objective as meta_objective_lib
from learned_rule import progress as progress_lib
from learned_rule.data import sampling

# §8.1: the released evaluation model 196-128-128-128-128-32, batch 128.
PAPER_WIDTHS = (128, 128, 128, 128, 32)
PAPER_BATCH_SIZE = 128


# One compiled inner loop per rule and XLA setting, so that evaluating a
# rule on many seeds compiles once per architecture.
_LOOPS = weakref.WeakKeyDictionary()


def inner_loop_for(rule, jit_compile):
  """The cached :class:`InnerLoop` of ``rule`` (one compile per shape)."""
  loops = _LOOPS.setdefault(rule, {})
  if jit_compile not in loops:
    loops[jit_compile] = inner_loop_lib.InnerLoop(rule,
                                                  jit_compile=jit_compile)
  return loops[jit_compile]


@dataclasses.dataclass
class Evaluation:
  """Few-shot quality of the features after ``step`` rule applications."""

  step: int
  meta_objective: float
  ridge_accuracy: float
  logistic_accuracy: float


def evaluate_features(objective_fn, state, meta_batches):
  """Mean meta-objective, ridge and logistic accuracy over fixed draws.

  ``objective_fn(state, batch)`` returns the loss, metrics and the features
  of support followed by query.
  """
  losses, ridge, logistic = [], [], []
  for batch in meta_batches:
    loss, metrics, features = objective_fn(state, batch)
    losses.append(float(loss))
    ridge.append(float(metrics['accuracy']))
    count = len(batch.support_y)
    features = features.numpy()
    logistic.append(meta_objective_lib.logistic_regression_accuracy(
        features[:count], batch.support_y, features[count:], batch.query_y))
  return float(np.mean(losses)), float(np.mean(ridge)), float(
      np.mean(logistic))


@gin.configurable(denylist=['rule', 'data', 'steps', 'eval_every', 'seed'])
def apply_rule(rule, data, steps, eval_every, seed=0,
               widths=PAPER_WIDTHS, activation='relu',
               batch_size=PAPER_BATCH_SIZE,
               shots=sampling.SHOTS_PER_CLASS, eval_draws=3,
               jit_compile=True, show_progress=True, report=print):
  """Trains a fresh base model with ``rule`` and evaluates it periodically.

  Args:
    rule: An :class:`UnsupervisedUpdate`.
    data: A :class:`Dataset`.
    steps: Number of rule applications.
    eval_every: Evaluate every this many steps (and at step 0).
    seed: Seeds the base model, its permutation and every batch.
    widths: Base-model widths (default: the paper's evaluation model).
    activation: Base-model nonlinearity.
    batch_size: Unlabeled batch size (paper: 128).
    shots: Labelled examples per class in support and in query (paper: 10).
    eval_draws: Fixed few-shot draws averaged at every evaluation.
    jit_compile: XLA for the unroll.
    show_progress: Show a progress line.
    report: Called with every :class:`Evaluation` as it is made.

  Returns:
    The list of :class:`Evaluation`.
  """
  if eval_every <= 0 or steps < 0:
    raise ValueError('`steps` must be >= 0 and `eval_every` > 0.')
  rng = np.random.default_rng(seed)
  model = base_model_lib.BaseMLP(data.input_dim, widths, activation,
                                 memory_size=rule.config.memory_size,
                                 permutation_seed=seed,
                                 dtype=rule.compute_dtype)
  rule.check_compatible(model)  # Before any compute.
  if batch_size > len(data):
    raise ValueError(f'apply_rule.batch_size {batch_size} exceeds the '
                     f'{len(data)} examples of {data.name}.')
  loop = inner_loop_for(rule, jit_compile)
  objective = loop.objective
  state = model.initial_state(seed)
  meta_batches = [sampling.few_shot_batch(data, rng, shots)
                  for _ in range(eval_draws)]

  @tf.function(autograph=False)
  def objective_fn(state, batch):
    count = tf.shape(batch.support_x)[0]
    _, activations = model.functional_forward(
        state, tf.concat([batch.support_x, batch.query_x], axis=0))
    features = activations[-1]
    loss, metrics = objective.from_features(
        features[:count], batch.support_y, features[count:], batch.query_y,
        data.num_classes)
    return loss, metrics, features

  evaluations = []

  def evaluate(step):
    evaluation = Evaluation(step, *evaluate_features(objective_fn, state,
                                                     meta_batches))
    evaluations.append(evaluation)
    report(evaluation)

  evaluate(0)
  progress = progress_lib.Progress(steps, 'applying rule') if (
      show_progress) else None
  done = 0
  while done < steps:
    chunk = min(eval_every, steps - done)
    batches = sampling.unlabeled_batches(data, chunk, batch_size, rng)
    state = loop.unroll(model, state, batches)
    done += chunk
    if progress:
      progress.update(chunk)
    if done % eval_every == 0 or done == steps:
      evaluate(done)
  return evaluations
