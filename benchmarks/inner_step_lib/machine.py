"""What the results were measured on: CPUs, versions, load and commit."""

import datetime
import os
import platform
import subprocess

import tensorflow as tf


def machine_info():
  """The machine, the versions and the load, for the results JSON."""
  info = {
      'date': datetime.datetime.now(datetime.timezone.utc).isoformat(),
      'cpu_count': os.cpu_count(),
      'tensorflow': tf.__version__,
      'keras': tf.keras.__version__ if hasattr(tf.keras, '__version__') else
               None,
      'python': platform.python_version(),
      'platform': platform.platform(),
      'load_average_at_start': list(os.getloadavg()),
  }
  if hasattr(os, 'sched_getaffinity'):
    info['usable_cpus'] = len(os.sched_getaffinity(0))
  try:
    with open('/proc/cpuinfo') as f:
      models = [line.split(':', 1)[1].strip() for line in f
                if line.startswith('model name')]
    info['cpu_model'] = models[0] if models else None
  except OSError:
    pass
  try:
    info['git_sha'] = subprocess.run(
        ['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
        check=True, cwd=os.path.dirname(os.path.abspath(__file__))
    ).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    info['git_sha'] = None
  return info
