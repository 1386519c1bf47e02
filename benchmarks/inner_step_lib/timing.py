"""Timing no-argument functions, and the dense-matmul reference.

The reference is a dense :data:`MATMUL_SIZE`² float32 ``tf.matmul`` in a
``tf.function`` (median time, 2 · size³ FLOPs), against which the rule's
GFLOP/s are read.
"""

import functools
import statistics
import time

import numpy as np
import tensorflow as tf

# Side of the reference matmul (ours: large enough to run near peak).
MATMUL_SIZE = 2048


def block(result):
  """Waits for ``result`` (a nest of tensors) by reading one value."""
  first = tf.nest.flatten(result)[0]
  return np.asarray(first).ravel()[:1]


def time_interleaved(functions, repeats):
  """First-call and steady times of several no-argument functions.

  Each repeat calls every function once, in turn.

  Returns:
    A dict name → {'first_s', 'times_s', 'median_s'}.
  """
  out = {}
  for name, function in functions.items():
    start = time.perf_counter()
    block(function())
    out[name] = {'first_s': time.perf_counter() - start, 'times_s': []}
  for _ in range(repeats):
    for name, function in functions.items():
      start = time.perf_counter()
      block(function())
      out[name]['times_s'].append(time.perf_counter() - start)
  for entry in out.values():
    entry['median_s'] = statistics.median(entry['times_s'])
    entry['min_s'] = min(entry['times_s'])
  return out


def measure_matmul(repeats):
  """GFLOP/s of a dense MATMUL_SIZE² float32 matmul in a tf.function."""
  rng = np.random.RandomState(0)
  a, b = (tf.constant(rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE)),
                      tf.float32) for _ in range(2))
  matmul = tf.function(tf.matmul)
  timing = time_interleaved({'matmul': functools.partial(matmul, a, b)},
                             max(repeats, 5))['matmul']
  flops = 2 * MATMUL_SIZE**3
  return {'size': MATMUL_SIZE, 'median_s': timing['median_s'],
          'times_s': timing['times_s'],
          'gflops': flops / timing['median_s'] / 1e9}
