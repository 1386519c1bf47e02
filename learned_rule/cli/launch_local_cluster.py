r"""Meta-training on a parameter-server cluster of local processes.

Starts one chief, ``--workers`` workers and ``--ps`` parameter servers on
localhost (free ports), each running ``learned-rule-meta-train
--strategy=parameter_server`` with the flags after ``--`` and its own
TF_CONFIG. Example:

  learned-rule-launch-local-cluster --workers=2 --ps=1 -- \
      --root_dir=/tmp/run --gin_file=meta_train/tiny.gin --num_steps=4

The meta-training flags must include ``--root_dir``; each process's output
goes to ``ROOT_DIR/logs/<role>-<index>.log`` (or ``--cluster_log_dir``) and
to this launcher's stdout, prefixed ``[worker-0]`` and the like. The
cluster stops when the chief ends (its exit status is the launcher's), when
any other process dies (status 1, naming it) or on Ctrl-C, which reaches
every process.
"""

import os
import sys

from absl import app
from absl import flags

from learned_rule.storage import run_dirs
from learned_rule.cli import startup
from learned_rule.cluster import local
from learned_rule.cluster import tf_config

flags.DEFINE_integer('workers', 2, 'Worker processes.', lower_bound=1)
flags.DEFINE_integer('ps', 1, 'Parameter-server processes.', lower_bound=1)
flags.DEFINE_float('grace_seconds', 10.0, 'Seconds a stopping process has '
                   'after SIGINT or SIGTERM before the next signal.',
                   lower_bound=0.0)
flags.DEFINE_string('cluster_log_dir', None, 'Directory of the per-process '
                    'logs; default ROOT_DIR/logs (a local path).')

FLAGS = flags.FLAGS

# The binary every process runs: bin/meta_train.py of this checkout, or the
# module itself where the package was installed without bin/.
_META_TRAIN = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))), 'bin', 'meta_train.py')
STRATEGY_FLAG = '--strategy=parameter_server'


def flag_value(arguments, name):
  """The value of ``--name=value`` or ``--name value`` in ``arguments``.

  Returns:
    The last value given, or None.
  """
  value = None
  for position, argument in enumerate(arguments):
    if argument.startswith(f'--{name}='):
      value = argument.split('=', 1)[1]
    elif argument == f'--{name}' and position + 1 < len(arguments):
      value = arguments[position + 1]
  return value


def meta_train_command(arguments):
  """The command line of every process: meta_train on the PS strategy."""
  binary = ([_META_TRAIN] if os.path.isfile(_META_TRAIN) else
            ['-m', 'learned_rule.cli.meta_train'])
  return [sys.executable, *binary, STRATEGY_FLAG, *arguments]


def check_arguments(arguments):
  """The run directory and log directory of the meta-training flags.

  Args:
    arguments: The flags after ``--``.

  Returns:
    ``(root_dir, log_dir)``.

  Raises:
    app.UsageError: without ``--root_dir``, with a ``--strategy`` of the
      user's, or with a remote root directory and no ``--cluster_log_dir``.
  """
  root_dir = flag_value(arguments, 'root_dir')
  if not root_dir:
    raise app.UsageError(
        'Give the meta-training flags after "--", including --root_dir: '
        'launch_local_cluster.py --workers=2 --ps=1 -- --root_dir=DIR '
        '--gin_file=...')
  if any(argument == '--strategy' or argument.startswith('--strategy=')
         for argument in arguments):
    raise app.UsageError(f'The launcher sets {STRATEGY_FLAG}; remove '
                         f'--strategy from the meta-training flags.')
  log_dir = FLAGS.cluster_log_dir
  if log_dir is None:
    if '://' in root_dir:
      raise app.UsageError(f'The logs are local files; {root_dir} is not a '
                           f'local path, so give --cluster_log_dir.')
    log_dir = run_dirs.path(root_dir, run_dirs.LOGS)
  return root_dir, log_dir


def describe(cluster, command, log_dir):
  """Lines that say the roles, their addresses, the command and the logs."""
  width = max(len(tf_config.task_name(task_type, index))
              for task_type, index in tf_config.tasks(cluster))
  lines = [f'Local parameter-server cluster: 1 chief, '
           f'{len(cluster[tf_config.WORKER])} worker(s), '
           f'{len(cluster[tf_config.PS])} parameter server(s).']
  for task_type, index in tf_config.tasks(cluster):
    name = tf_config.task_name(task_type, index)
    lines.append(f'  {name:<{width}}  {cluster[task_type][index]}')
  lines.append(f'Every process runs: {" ".join(command)}')
  lines.append(f'Logs: {os.path.join(log_dir, "<role>-<index>.log")}')
  return lines


def main(argv):
  arguments = list(argv[1:])
  _, log_dir = check_arguments(arguments)
  cluster = tf_config.local_cluster_spec(FLAGS.workers, FLAGS.ps)
  command = meta_train_command(arguments)
  print('\n'.join(describe(cluster, command, log_dir)), flush=True)
  status = local.run_local_cluster(cluster, command, log_dir,
                                   grace_seconds=FLAGS.grace_seconds)
  print(f'Cluster stopped; exit status {status}.', flush=True)
  return status


def run():
  """Console-script entry point."""
  startup.run(main, uses_tensorflow=False)


if __name__ == '__main__':
  run()
