"""TensorFlow servers of a parameter-server cluster.

Every process of a cluster runs the same command. :func:`serve_if_not_chief`
is its first step: on a worker or a parameter server it starts that task's
``tf.distribute.Server`` and joins it (it never returns); on the chief, or
with no TF_CONFIG, it returns False and the caller goes on to train with
``ParameterServerStrategy`` and a ``ClusterCoordinator``.

:func:`start_in_process_cluster` starts workers and parameter servers inside
the calling process, for tests.

Importing this module has no side effect beyond importing TensorFlow.
"""

import os

from absl import logging
import tensorflow as tf

from learned_rule.cluster import tf_config

# Every server here speaks gRPC; the addresses are plain host:port.
PROTOCOL = 'grpc'

# Servers started by start_in_process_cluster, kept alive with the process
# (gRPC servers cannot be stopped cleanly).
_IN_PROCESS_SERVERS = []


def server_config(num_workers, cpu_count=None, intra_op_threads=0):
  """The ConfigProto of a worker or parameter server.

  A worker server runs one closure per worker at a time; with fewer
  inter-op threads than ``num_workers + 1`` (the default is one per core),
  ``ClusterCoordinator.join()`` can hang (DESIGN §6: 2 cores, 2 workers).

  Args:
    num_workers: Workers in the cluster.
    cpu_count: Cores of the machine; default ``os.cpu_count()``.
    intra_op_threads: Threads of one op (e.g. 1 for single-thread workers
      sharing a machine); 0: TensorFlow's default, one per core.

  Returns:
    A ``tf.compat.v1.ConfigProto``.
  """
  cores = cpu_count or os.cpu_count() or 1
  return tf.compat.v1.ConfigProto(
      inter_op_parallelism_threads=max(num_workers + 1, cores),
      intra_op_parallelism_threads=intra_op_threads)


def start_server(cluster, task_type, task_index, intra_op_threads=0):
  """Starts the ``tf.distribute.Server`` of one worker or parameter server.

  Args:
    cluster: Dict of task type -> addresses, or a ``tf.train.ClusterSpec``.
    task_type: ``'worker'`` or ``'ps'``.
    task_index: Index of the task in its job.
    intra_op_threads: See :func:`server_config`.

  Returns:
    The started server.

  Raises:
    ValueError: for the chief or an unknown task type.
  """
  if task_type not in (tf_config.WORKER, tf_config.PS):
    raise ValueError(f'Only workers and parameter servers run a server of '
                     f'their own; got task type {task_type!r}.')
  spec = tf.train.ClusterSpec(cluster)
  num_workers = (spec.num_tasks(tf_config.WORKER)
                 if tf_config.WORKER in spec.jobs else 0)
  return tf.distribute.Server(
      spec, job_name=task_type, task_index=task_index, protocol=PROTOCOL,
      config=server_config(num_workers, intra_op_threads=intra_op_threads),
      start=True)


def serve_if_not_chief(intra_op_threads=0):
  """Serves forever on a worker or parameter server; False on the chief.

  Reads TF_CONFIG from the environment (checked with
  :func:`tf_config.parse_tf_config`, then resolved by
  ``TFConfigClusterResolver``). Call it first thing in a binary that every
  process of the cluster runs.

  Args:
    intra_op_threads: Threads of one op on this server (see
      :func:`server_config`).

  Returns:
    False for the chief and when there is no TF_CONFIG: the caller trains.
    For a worker or a parameter server it does not return; the process ends
    when it is killed.

  Raises:
    ValueError: if TF_CONFIG is set but is not a valid parameter-server
      TF_CONFIG (the message says what is wrong).
  """
  config = tf_config.read_tf_config()
  if config is None or config.task_type == tf_config.CHIEF:
    return False
  resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
  server = start_server(resolver.cluster_spec(), resolver.task_type,
                        resolver.task_id, intra_op_threads)
  logging.info('Serving as %s at %s; joining until stopped.',
               tf_config.task_name(resolver.task_type, resolver.task_id),
               config.cluster[config.task_type][config.task_index])
  server.join()
  return True  # Not reached: join() returns only if the server fails.


def start_in_process_cluster(num_workers, num_ps, host='localhost'):
  """Starts worker and parameter servers in this process.

  The chief's address is a free port where nothing listens yet:
  ``ParameterServerStrategy`` starts the chief's server there when it
  connects. The servers live as long as the process.

  Args:
    num_workers: Number of worker servers, at least 1.
    num_ps: Number of parameter servers, at least 1.
    host: Host of every address (ports are free on it).

  Returns:
    A ``SimpleClusterResolver`` (task type chief, gRPC) to pass to
    ``tf.distribute.experimental.ParameterServerStrategy``.
  """
  cluster = tf_config.local_cluster_spec(num_workers, num_ps, host)
  for task_type, index in tf_config.tasks(cluster):
    if task_type != tf_config.CHIEF:
      _IN_PROCESS_SERVERS.append(start_server(cluster, task_type, index))
  return tf.distribute.cluster_resolver.SimpleClusterResolver(
      tf.train.ClusterSpec(cluster), task_type=tf_config.CHIEF, task_id=0,
      rpc_layer=PROTOCOL)
