"""Where meta-training runs: one process, several devices, or a cluster.

``--strategy`` of ``bin/meta_train.py`` (an execution setting, not science):

* ``local``: one process, the tasks in flight computed here (batched by
  architecture, ``MetaTrainer.batch_tasks``).
* ``mirrored``: one machine with several devices (GPUs, or logical CPU
  devices): ``tf.distribute.MirroredStrategy``; the tasks of a step are
  split across replicas and their gradients all-reduced.
* ``parameter_server``: TensorFlow's ParameterServerStrategy, the paper's
  design of many asynchronous workers (spec §6.1): θ and the
  meta-optimizer's slots live on parameter servers, a ``ClusterCoordinator``
  on the chief schedules task gradients on the workers, and the chief
  applies the mean of ``tasks_per_update`` of them as they arrive. The
  cluster comes from TF_CONFIG, as TensorFlow documents it.

:func:`make_stepper` gives the object whose ``step()`` makes one θ update
in the chosen way; the training loop is the same for all three.
"""

import contextlib

import tensorflow as tf

from learned_rule import console_scripts
from learned_rule.training import mirrored
from learned_rule.training import parameter_server

STRATEGIES = ('local', 'mirrored', 'parameter_server')


def check_name(name):
  if name not in STRATEGIES:
    raise ValueError(f'Unknown strategy {name!r}; allowed: '
                     f'{", ".join(STRATEGIES)}.')
  return name


def make_strategy(name, cluster_resolver=None):
  """The ``tf.distribute.Strategy`` of ``name``; None for ``local``.

  Args:
    name: One of :data:`STRATEGIES`.
    cluster_resolver: For ``parameter_server``: the cluster (default: read
      from TF_CONFIG).

  Raises:
    ValueError: An unknown name, or ``parameter_server`` without a cluster
      of at least one worker and one parameter server.
  """
  check_name(name)
  if name == 'local':
    return None
  if name == 'mirrored':
    return tf.distribute.MirroredStrategy()
  resolver = (cluster_resolver or
              tf.distribute.cluster_resolver.TFConfigClusterResolver())
  jobs = resolver.cluster_spec().as_dict()
  missing = [job for job in ('worker', 'ps') if not jobs.get(job)]
  if missing:
    raise ValueError(
        f'--strategy=parameter_server needs a cluster with workers and '
        f'parameter servers in TF_CONFIG; it has no {" or ".join(missing)} '
        f'job (cluster: {jobs or "none"}). '
        f'{console_scripts.command("launch_local_cluster")} starts one on '
        f'this machine.')
  return tf.distribute.experimental.ParameterServerStrategy(resolver)


def scope(strategy):
  """``strategy.scope()``, or a no-op context for ``local``."""
  return strategy.scope() if strategy is not None else (
      contextlib.nullcontext())


class LocalStepper:
  """``local``: every task in flight computed in this process."""

  def __init__(self, trainer):
    self.trainer = trainer

  def step(self):
    return self.trainer.train_step()


def make_stepper(strategy, trainer, tasks_per_update=None):
  """The stepper of ``strategy`` for ``trainer`` (built in its scope).

  Args:
    strategy: What :func:`make_strategy` returned.
    trainer: A :class:`MetaTrainer`.
    tasks_per_update: Parameter-server only: task gradients averaged per θ
      update (default: all tasks in flight).
  """
  if strategy is None:
    return LocalStepper(trainer)
  if isinstance(strategy, tf.distribute.MirroredStrategy):
    return mirrored.MirroredStepper(trainer, strategy)
  return parameter_server.AsyncStepper(trainer, strategy, tasks_per_update)
