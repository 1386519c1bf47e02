"""TF_CONFIG of a parameter-server cluster: build, read and check it.

A cluster for ``tf.distribute.experimental.ParameterServerStrategy`` has one
chief (it runs the training loop and the ``ClusterCoordinator``), one or more
workers and one or more parameter servers (``ps``). Every process finds its
role in the ``TF_CONFIG`` environment variable, the standard JSON::

  {"cluster": {"chief": ["host0:2222"],
               "worker": ["host1:2222", "host2:2222"],
               "ps": ["host3:2222"]},
   "task": {"type": "worker", "index": 1}}

This module imports no TensorFlow, so that a launcher stays quick.
"""

import collections
import contextlib
import json
import os
import socket

CHIEF = 'chief'
WORKER = 'worker'
PS = 'ps'
# Task types in the order a local cluster starts them: the servers first, so
# that the chief finds them up.
TASK_TYPES = (PS, WORKER, CHIEF)

ENVIRONMENT_VARIABLE = 'TF_CONFIG'

TFConfig = collections.namedtuple('TFConfig',
                                  ['cluster', 'task_type', 'task_index'])
TFConfig.__doc__ = """A checked TF_CONFIG.

Attributes:
  cluster: Dict of task type -> list of ``'host:port'`` addresses.
  task_type: ``'chief'``, ``'worker'`` or ``'ps'``.
  task_index: Index of this task in ``cluster[task_type]``.
"""


def free_ports(count, host='localhost'):
  """``count`` distinct ports that are free on ``host`` now.

  Each is found by binding a socket to ``(host, 0)``; all sockets stay open
  until every port is chosen, so the ports differ. Another process may still
  take one before the cluster binds it.

  Args:
    count: How many ports.
    host: Interface to bind.

  Returns:
    A list of ``count`` port numbers.
  """
  with contextlib.ExitStack() as stack:
    ports = []
    for _ in range(count):
      sock = stack.enter_context(socket.socket(socket.AF_INET,
                                               socket.SOCK_STREAM))
      sock.bind((host, 0))
      ports.append(sock.getsockname()[1])
  return ports


def local_cluster_spec(num_workers, num_ps, host='localhost'):
  """The cluster of one chief, ``num_workers`` workers and ``num_ps`` ps.

  Args:
    num_workers: Number of workers, at least 1.
    num_ps: Number of parameter servers, at least 1.
    host: Host name of every task; its ports are free on it now.

  Returns:
    Dict of task type -> list of ``'host:port'`` addresses.

  Raises:
    ValueError: if there is no worker or no parameter server.
  """
  _check_count('workers', num_workers)
  _check_count('parameter servers', num_ps)
  ports = iter(free_ports(1 + num_workers + num_ps, host))
  return {
      CHIEF: [f'{host}:{next(ports)}'],
      WORKER: [f'{host}:{next(ports)}' for _ in range(num_workers)],
      PS: [f'{host}:{next(ports)}' for _ in range(num_ps)],
  }


def _check_count(what, count):
  if isinstance(count, bool) or not isinstance(count, int) or count < 1:
    raise ValueError(f'A parameter-server cluster needs at least 1 of its '
                     f'{what}; got {count!r}.')


def tasks(cluster):
  """``(task_type, index)`` of every task, in the order they start."""
  return [(task_type, index) for task_type in TASK_TYPES
          for index in range(len(cluster.get(task_type, ())))]


def task_name(task_type, index):
  """``'worker-0'``: the name of a task in logs and messages."""
  return f'{task_type}-{index}'


def make_tf_config(cluster, task_type, index):
  """The TF_CONFIG JSON of one task of ``cluster``.

  Args:
    cluster: Dict of task type -> list of addresses.
    task_type: ``'chief'``, ``'worker'`` or ``'ps'``.
    index: Index of the task in ``cluster[task_type]``.

  Returns:
    The JSON string.

  Raises:
    ValueError: if the result is not a valid TF_CONFIG (see
      :func:`parse_tf_config`).
  """
  text = json.dumps({'cluster': cluster,
                     'task': {'type': task_type, 'index': index}})
  parse_tf_config(text)
  return text


def parse_tf_config(text):
  """Reads and checks a TF_CONFIG of a parameter-server cluster.

  Args:
    text: The JSON string.

  Returns:
    A :class:`TFConfig`.

  Raises:
    ValueError: naming what is wrong: malformed JSON, no ``cluster`` or
      ``task``, a missing chief (or several), no worker or parameter server,
      an unknown task type, a bad address, a task type that is not in the
      cluster or an index out of range.
  """
  try:
    config = json.loads(text)
  except (TypeError, ValueError) as error:
    raise ValueError(f'TF_CONFIG is not valid JSON ({error}): {text!r}') from (
        error)
  if not isinstance(config, dict):
    raise ValueError(f'TF_CONFIG must be a JSON object; got {text!r}.')
  cluster = config.get('cluster')
  if not isinstance(cluster, dict) or not cluster:
    raise ValueError('TF_CONFIG has no "cluster" object of task type -> '
                     'list of "host:port" addresses.')
  _check_cluster(cluster)
  task = config.get('task')
  if not isinstance(task, dict):
    raise ValueError('TF_CONFIG has no "task" object ({"type": ..., '
                     '"index": ...}).')
  task_type = task.get('type')
  if task_type not in TASK_TYPES:
    raise ValueError(f'TF_CONFIG task type {task_type!r} is not one of '
                     f'{list(TASK_TYPES)}.')
  index = task.get('index', 0)
  size = len(cluster[task_type])
  if isinstance(index, bool) or not isinstance(index, int) or not (
      0 <= index < size):
    raise ValueError(f'TF_CONFIG task index {index!r} is not an index of the '
                     f'{size} "{task_type}" address(es) of the cluster.')
  return TFConfig({key: list(cluster[key]) for key in cluster}, task_type,
                  index)


def _check_cluster(cluster):
  """Raises ValueError when ``cluster`` is not a parameter-server cluster."""
  unknown = sorted(set(cluster) - set(TASK_TYPES))
  if unknown:
    raise ValueError(f'TF_CONFIG cluster has task types {unknown}; a '
                     f'parameter-server cluster has only {list(TASK_TYPES)}.')
  if CHIEF not in cluster:
    raise ValueError('TF_CONFIG cluster has no "chief": exactly one process '
                     'runs the training loop.')
  for task_type in TASK_TYPES:
    addresses = cluster.get(task_type)
    if not isinstance(addresses, list) or not addresses:
      raise ValueError(f'TF_CONFIG cluster needs a non-empty list of '
                       f'"{task_type}" addresses; got {addresses!r}.')
    for address in addresses:
      _check_address(task_type, address)
  if len(cluster[CHIEF]) != 1:
    raise ValueError(f'TF_CONFIG cluster has {len(cluster[CHIEF])} "chief" '
                     f'addresses; it needs exactly one.')
  every = [address for task_type in TASK_TYPES
           for address in cluster[task_type]]
  repeated = sorted({address for address in every if every.count(address) > 1})
  if repeated:
    raise ValueError(f'TF_CONFIG cluster uses {repeated} for several tasks.')


def _check_address(task_type, address):
  host, _, port = address.rpartition(':') if isinstance(address, str) else (
      '', '', '')
  if not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise ValueError(f'TF_CONFIG "{task_type}" address {address!r} is not '
                     f'"host:port".')


def read_tf_config(environ=None):
  """The checked TF_CONFIG of this process, or None where it has none.

  Args:
    environ: Mapping to read ``TF_CONFIG`` from; default ``os.environ``.

  Returns:
    A :class:`TFConfig`, or None when the variable is unset or blank.

  Raises:
    ValueError: if it is set but not valid (see :func:`parse_tf_config`).
  """
  text = (os.environ if environ is None else environ).get(
      ENVIRONMENT_VARIABLE, '')
  if not text.strip():
    return None
  return parse_tf_config(text)
