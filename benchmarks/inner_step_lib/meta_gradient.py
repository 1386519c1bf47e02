"""One meta-gradient setting: time and memory, in a fresh process.

``InnerLoop(rule, jit_compile_gradient=..., jit_compile_step=...,
recompute=...).meta_gradient``, by mode: ``graph`` (the default loop),
``xla`` (the whole meta-gradient one XLA program) or ``xla_step`` (each
step and its recomputed gradient XLA programs inside the graph loop; needs
recompute)
through a number of rule steps with a 10-class few-shot task (random data):
the first call (trace + compile + one run), the median of the following
calls (at most ``repeats``, stopping once they took ``time_budget_s``), per
rule step, and memory:

* ``rss setup``: the resident set after setup (TensorFlow imported, model,
  rule and data built, before the first meta-gradient call).
* ``peak``: the kernel's peak-RSS mark, reset right after setup, read after
  all calls: the largest resident set while meta-gradients ran, tracing and
  compilation included. ``delta`` = peak − rss setup.
* ``steady delta``: the mark is reset once more after the first call, so
  this is the peak of the timed calls alone minus rss setup. Freed memory
  mostly stays resident, so it is at least what the first call left.
"""

import statistics
import time

import tensorflow as tf

from benchmarks.inner_step_lib import benches
from benchmarks.inner_step_lib import memory
from benchmarks.inner_step_lib import timing
from learned_rule.unroll import inner_loop


def measure_meta_gradient(bench, mode, steps, recompute, seed, repeats,
                          time_budget_s):
  """One meta-gradient setting, in this (fresh) process."""
  model, rule, state = benches.build(bench, seed)
  batches = benches.unlabeled_batches(bench, steps, seed)
  meta_batch = benches.few_shot_batch(bench, seed)
  loop = inner_loop.InnerLoop(rule, jit_compile_gradient=mode == 'xla',
                              jit_compile_step=mode == 'xla_step',
                              recompute=recompute)
  rss_setup = memory.proc_status_mb('VmRSS') or memory.ru_maxrss_mb()
  peak_setup = memory.peak_rss_mb()
  # From here on the peak mark measures the meta-gradient calls only.
  peak_was_reset = memory.reset_peak_rss()

  def call():
    return loop.meta_gradient(model, state, batches, meta_batch,
                              benches.NUM_CLASSES)

  start = time.perf_counter()
  result = call()
  loss = float(result.loss)
  first = time.perf_counter() - start
  peak_first = memory.peak_rss_mb()
  # The timed calls' own peak, without tracing and compilation.
  memory.reset_peak_rss()
  times = []
  while len(times) < max(repeats, 1):
    start = time.perf_counter()
    result = call()
    timing.block(result.loss)
    times.append(time.perf_counter() - start)
    if sum(times) >= time_budget_s:
      break
  median = statistics.median(times)
  peak_steady = memory.peak_rss_mb()
  peak = max(peak_first, peak_steady) if peak_was_reset else peak_steady
  return {
      'status': 'ok', 'first_call_s': first,
      'compile_s': max(first - median, 0.0), 'call_times_s': times,
      'call_s': median, 'step_ms': 1e3 * median / steps,
      'rss_setup_mb': rss_setup, 'peak_setup_mb': peak_setup,
      'peak_was_reset_after_setup': peak_was_reset,
      'peak_first_call_mb': peak_first, 'peak_steady_mb': peak_steady,
      'peak_mb': peak, 'steady_delta_mb': peak_steady - rss_setup,
      'ru_maxrss_mb': memory.ru_maxrss_mb(),
      'delta_mb': peak - rss_setup, 'loss': loss,
      'gradient_norm': float(tf.linalg.global_norm(result.gradients)),
  }
