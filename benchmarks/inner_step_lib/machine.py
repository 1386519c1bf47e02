"""What the results were measured on: CPUs, versions, load and commit."""

import os
import platform

import tensorflow as tf

from learned_rule import package_info


def machine_info():
  """The machine, the versions and the load, for the results JSON, with
  the revision, date and command (:func:`package_info.provenance`)."""
  info = {
      **package_info.provenance(),
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
  return info
