"""Meta-training runs under distribution strategies, each in its own process.

A process that has connected to a parameter-server cluster, or split its
CPU into logical devices, stays so; the tests run each case here, in a
fresh interpreter, and read the JSON it prints last:

  python tests/strategy_runs.py CASE
"""

import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
os.environ['CUDA_VISIBLE_DEVICES'] = ''
# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorflow as tf

from learned_rule import configuration
from learned_rule.tasks import distribution as task_distribution
from learned_rule.tasks import task as tasks_lib
from learned_rule.cluster import servers
from learned_rule.evaluation import held_out  # pylint: disable=unused-import
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib
from learned_rule.training import loop  # pylint: disable=unused-import
from learned_rule.training import meta_trainer
from learned_rule.training import parameter_server
from learned_rule.training import strategies
# pylint: enable=g-import-not-at-top,wrong-import-position

TINY = 'meta_train/tiny.gin'


def _trainer(strategy, seed=0, **kwargs):
  with strategies.scope(strategy):
    rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
    return meta_trainer.MetaTrainer(
        rule, task_distribution.TaskDistribution(), seed=seed, **kwargs)


def _theta(trainer):
  return [v.numpy().tolist() for v in trainer.rule.trainable_variables]


def _max_difference(first, second):
  return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
             for a, b in zip(first, second))


def parameter_server_equals_local(steps=3):
  """Synchronous updates on a cluster (2 workers, 1 ps) give local θ.

  Returns the largest difference of θ after each step: float32 rounding
  of the remote and local graphs, amplified by Adam's first steps.
  """
  import keras  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(0)
  local = _trainer(None, batch_tasks=False)
  local_thetas = []
  for _ in range(steps):
    local.train_step()
    local_thetas.append(_theta(local))  # Unreadable once connected.
  resolver = servers.start_in_process_cluster(num_workers=2, num_ps=1)
  strategy = strategies.make_strategy('parameter_server', resolver)
  keras.utils.set_random_seed(0)
  remote = _trainer(strategy, batch_tasks=False)
  stepper = strategies.make_stepper(strategy, remote)
  differences, staleness = [], []
  for local_theta in local_thetas:
    staleness.append(stepper.step()['staleness/max'])
    differences.append(_max_difference(_theta(remote), local_theta))
  return {
      'differences': differences,
      'step': remote.step,
      'iterations': int(remote.optimizer.iterations.numpy()),
      'staleness': staleness,
      'theta_device': remote.rule.trainable_variables[0].value.device,
      'slot_device': remote.optimizer.variables[-1].value.device,
  }


def parameter_server_async_learns(steps=12):
  """One gradient per update, two tasks in flight: stale, yet θ learns."""
  import keras  # pylint: disable=g-import-not-at-top
  resolver = servers.start_in_process_cluster(num_workers=2, num_ps=1)
  strategy = strategies.make_strategy('parameter_server', resolver)
  keras.utils.set_random_seed(0)
  trainer = _trainer(strategy, tasks_in_flight=2)
  task = trainer.distribution.sample(np.random.default_rng(0))
  task = tasks_lib.Task(**{**task.__dict__, 'total_steps': 10_000})

  def loss_now():
    return trainer.task_gradient(trainer.new_task(task)).loss

  before = loss_now()
  trainer.in_flight = [trainer.new_task(task) for _ in range(2)]
  stepper = parameter_server.AsyncStepper(trainer, strategy,
                                          tasks_per_update=1)
  outcomes = [stepper.step() for _ in range(steps)]
  return {'before': before, 'after': loss_now(), 'step': trainer.step,
          'iterations': int(trainer.optimizer.iterations.numpy()),
          'staleness': [o['staleness/max'] for o in outcomes]}


CASES = {
    'parameter_server_equals_local': parameter_server_equals_local,
    'parameter_server_async_learns': parameter_server_async_learns,
}


def main(case):
  configuration.parse_gin([TINY], [])
  print(json.dumps(CASES[case]()))


if __name__ == '__main__':
  main(sys.argv[1])
