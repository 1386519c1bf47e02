"""Meta-training steps per second, tasks one after another vs batched.

:func:`compare` builds two :class:`MetaTrainer` s from the gin configuration
already parsed (e.g. ``meta_train/cpu.gin``), identical but for
``batch_tasks``, warms both up (tracing, first tasks), then times
``train_step()`` s of each in alternating rounds in this one process, so
that both see the same machine load. A θ update per step, so steps per
second are θ updates per second.

Example (from the repository root)::

  from learned_rule import configuration
  from learned_rule.evaluation import held_out  # Bound in the configs.
  from learned_rule.training import loop  # Bound in the configs.
  configuration.parse_gin(['meta_train/cpu.gin'], [])
  print(batched.compare(steps=10))
"""

import time

import keras

from learned_rule.tasks import distribution as task_distribution_lib
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib
from learned_rule.training import meta_trainer


def make_trainer(batch_tasks, seed=0, **batched_loop):
  """A :class:`MetaTrainer` from the parsed gin configuration.

  Args:
    batch_tasks: ``MetaTrainer.batch_tasks``.
    seed: Seeds θ-init and the task sampling.
    **batched_loop: Attributes of its :class:`BatchedLoop` to override
      (``mode``, ``jit_compile_step``).
  """
  keras.utils.set_random_seed(seed)
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
  trainer = meta_trainer.MetaTrainer(
      rule, task_distribution_lib.TaskDistribution(), seed=seed,
      batch_tasks=batch_tasks)
  for name, value in batched_loop.items():
    setattr(trainer.batched_loop, name, value)
  return trainer


def time_steps(trainer, steps):
  """Seconds that ``steps`` calls of ``trainer.train_step()`` take."""
  start = time.perf_counter()
  for _ in range(steps):
    trainer.train_step()
  return time.perf_counter() - start


def compare(steps=10, warmup=2, rounds=2, seed=0, settings=None):
  """Steps per second of sequential and batched meta-training.

  Args:
    steps: Timed ``train_step()`` s per trainer, split over ``rounds``.
    warmup: Untimed steps per trainer first (tracing happens there).
    rounds: Alternations between the trainers.
    seed: Seed of every trainer (same tasks, same θ-init).
    settings: Batched settings to time besides sequential: name →
      :class:`BatchedLoop` attributes (default: the defaults, as 'batched').

  Returns:
    A dict: ``steps_per_second`` by setting ('sequential', then those of
    ``settings``), ``ratio`` (each batched setting over sequential),
    ``steps`` and ``warmup``.
  """
  trainers = {'sequential': make_trainer(False, seed)}
  for name, attributes in (settings or {'batched': {}}).items():
    trainers[name] = make_trainer(True, seed, **attributes)
  for trainer in trainers.values():
    time_steps(trainer, warmup)
  seconds = dict.fromkeys(trainers, 0.0)
  per_round = [steps // rounds + (r < steps % rounds) for r in range(rounds)]
  for count in per_round:
    for name, trainer in trainers.items():
      seconds[name] += time_steps(trainer, count)
  rates = {name: steps / value for name, value in seconds.items()}
  return {'steps_per_second': rates,
          'ratio': {name: rate / rates['sequential']
                    for name, rate in rates.items() if name != 'sequential'},
          'steps': steps, 'warmup': warmup}
