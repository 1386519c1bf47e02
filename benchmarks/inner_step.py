r"""Speed and memory of one inner step of the learned rule, on this machine.

What is measured, per base-model configuration (``--configs``):

* ``paper``: base model 196-128-128-128-128-32, batch 128, ``RuleConfig()``
  (H = 64): the released evaluation setting (spec §2.1, §3.11).
* ``cpu``: base model 64-64-64-32, batch 64, ``RuleConfig(hidden_size=32)``:
  the small setting used for meta-training on CPU (DESIGN.md §6).

1. Rule step: ``InnerLoop(rule, jit_compile=xla).unroll`` over N batches in
   one call (a ``tf.while_loop`` inside one ``tf.function``), XLA off and on.
   The first call (trace + compile + one run) is timed apart and reported as
   ``compile_s`` (first call minus a steady call); then the median of
   ``--repeats`` calls, divided by N, is the time per inner step.
2. SGD step: one plain backprop step of the same MLP with the same forward
   (``base_model.forward``: permutation, x W, batch norm, + b, ReLU) and a
   softmax cross-entropy loss of a fixed random linear head (32 → 10 classes)
   on the top features x^L, random labels; ``tf.GradientTape``, W and b of
   every layer updated (V untouched). N steps in one ``tf.while_loop`` inside
   one ``tf.function``, so per-call overhead is amortised as for the rule.
   Each repeat calls all four functions (rule and SGD, graph and XLA) in
   turn, so that a slow phase of this shared machine hits every column
   alike.
3. ``rule/sgd``: the ratio of the two per-step times at each XLA setting.
4. Throughput: :func:`rule_step_macs` counts the multiply-adds of one rule
   step analytically (convolutions, linear maps, matmuls and outer products;
   elementwise work, batch norms and reductions are not counted; the count
   equals that of the Conv2D, MatMul and Einsum ops of the traced step at
   both configurations). GFLOP/s =
   2 · MACs / time. The reference is a dense 2048 × 2048 float32
   ``tf.matmul`` in a ``tf.function`` (median time, 2 · 2048³ FLOPs),
   measured in the same run right before each configuration.
5. Meta-gradient: ``InnerLoop(rule, jit_compile_gradient=xla,
   recompute=...).meta_gradient`` through ``--gradient_steps`` rule steps
   with a 10-class few-shot task (10 support + 10 query examples per class,
   random data), graph mode and XLA, per-step recomputation on and off.
   Every setting runs in a fresh subprocess (this script with
   ``--measure_one=config,mode,steps,recompute``), which reports the first
   call (trace + compile + one run), the median of the following calls (at
   most ``--gradient_repeats``, stopping once they took
   ``--gradient_time_budget_s``), per rule step, and memory:

   * ``rss setup``: the resident set after setup (TensorFlow imported,
     model, rule and data built, before the first meta-gradient call).
   * ``peak``: the kernel's peak-RSS mark, reset right after setup, read
     after all calls: the largest resident set while meta-gradients ran,
     tracing and compilation included. ``delta`` = peak − rss setup.
   * ``steady delta``: the mark is reset once more after the first call, so
     this is the peak of the timed calls alone minus rss setup. Freed memory
     mostly stays resident, so it is at least what the first call left.

   The mark is VmHWM of /proc/self/status: what ``getrusage(RUSAGE_SELF)
   .ru_maxrss`` reports for a process not forked from a larger one. A fork
   + exec child's ``ru_maxrss`` starts at its parent's peak (the ~1.4 GB of
   this driver), so it is only recorded, as ``ru_maxrss_mb``; systems
   without /proc fall back to it. A subprocess that runs past
   ``--measure_timeout_s`` is recorded as ``timeout``; one that fails keeps
   the end of its stderr.

How to read it: the machine is shared and noisy, so compare numbers only
within one run — the ratios (rule/SGD, GFLOP/s vs. matmul, meta-gradient vs.
forward step) are what carry over. The JSON (``--output_json``) is rewritten
after every measurement, so a run stopped early keeps what it measured.

Regenerate (from the repository root):

  .venv/bin/python benchmarks/inner_step.py              # everything
  .venv/bin/python benchmarks/inner_step.py --quick      # ~2-3 min smoke run
  .venv/bin/python benchmarks/inner_step.py --gradient_configs=cpu
  .venv/bin/python benchmarks/inner_step.py --report_from=PATH  # tables only

Reference: paper_spec.md §10 (compute cost), DESIGN.md §6.
"""

import collections
import datetime
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from learned_rule import base_model
from learned_rule import inner_loop
from learned_rule import meta_objective
from learned_rule.rule import config as config_lib
from learned_rule.rule import rule as rule_lib

FLAGS = flags.FLAGS

flags.DEFINE_string('output_json', 'benchmarks/results/inner_step.json',
                    'Where to write all numbers and the machine info.')
flags.DEFINE_list('configs', ['paper', 'cpu'],
                  'Configurations to measure: paper, cpu.')
flags.DEFINE_list('gradient_configs', ['cpu'],
                  'Configurations of --configs whose meta-gradient is '
                  'measured (empty: none). The paper config without '
                  'recompute needs far more than 24 GB at 128 steps.')
flags.DEFINE_integer('repeats', 5, 'Timed calls per step measurement.')
flags.DEFINE_list('gradient_steps', ['16', '128'],
                  'Rule steps unrolled in the meta-gradient measurements.')
flags.DEFINE_bool('skip_xla_gradient', False,
                  'Skip the XLA meta-gradient settings (slow compiles).')
flags.DEFINE_bool('quick', False,
                  'Fast smoke run: 2 repeats, 2-4 unrolled steps, 2-step '
                  'graph-mode meta-gradients on the cpu config only (XLA '
                  'meta-gradients compile for minutes). Flags given '
                  'explicitly still win.')
flags.DEFINE_integer('gradient_repeats', 3,
                     'At most this many timed meta-gradient calls after the '
                     'first.')
flags.DEFINE_float('gradient_time_budget_s', 120.0,
                   'Stop timed meta-gradient calls once they took this long '
                   '(at least one always runs).')
flags.DEFINE_integer('measure_timeout_s', 900,
                     'Wall-clock limit of one meta-gradient subprocess.')
flags.DEFINE_integer('seed', 0, 'Seed of the models, θ and the data.')
flags.DEFINE_string('report_from', None,
                    'Only print the tables of this existing results JSON '
                    '(e.g. of a run stopped early).')
flags.DEFINE_string('measure_one', None,
                    'Internal: "config,mode,steps,recompute" runs one '
                    'meta-gradient measurement and prints it as JSON.')

# Marks the JSON line a --measure_one subprocess prints.
RESULT_MARKER = 'INNER_STEP_RESULT '
NUM_CLASSES = 10
EXAMPLES_PER_CLASS = 10
SGD_LEARNING_RATE = 0.1
MATMUL_SIZE = 2048
# Kernel sizes fixed by the rule's layers (spec §3.2, §3.3), not RuleConfig.
TOP_FIRST_KERNEL = 5
KERNEL = 3
# Weight-update terms mixed by the merge (spec §3.5).
NUM_TERMS = 12

Bench = collections.namedtuple(
    'Bench', ['name', 'input_dim', 'widths', 'batch', 'rule_config',
              'unroll_steps', 'quick_unroll_steps'])

BENCHES = {
    'paper': Bench('paper', 196, (128, 128, 128, 128, 32), 128,
                   config_lib.RuleConfig(), 10, 2),
    'cpu': Bench('cpu', 64, (64, 64, 32), 64,
                 config_lib.RuleConfig(hidden_size=32), 20, 4),
}


# -- Multiply-add count. -------------------------------------------------------


def rule_step_mac_breakdown(input_dim, widths, batch, config):
  """Multiply-adds of one rule step, by part (spec §3.1–§3.7).

  Counts what the implementation computes: every unit layer (the input
  layer included) runs the update network; every readout map is applied per
  call, so h^l is read out again by each layer and readout that uses it.

  Args:
    input_dim: n_0.
    widths: n_1..n_L.
    batch: B.
    config: A :class:`RuleConfig`.

  Returns:
    A dict from part name to multiply-adds.
  """
  b, h, d, g = (batch, config.hidden_size, config.delta_dim,
                config.num_grad_channels)
  top, channels = widths[-1], config.top_signal_channels
  units = [input_dim] + list(widths)
  pairs = list(zip(units[:-1], units[1:]))
  in_channels = 9 + config.memory_size + 4 + d  # §3.3: stats, b, [x,z,id,d].
  blocks = config.update_network_layers
  parts = collections.OrderedDict()
  parts['base_forward'] = b * sum(n_in * n_out for n_in, n_out in pairs)
  # §3.2: conv k5 1→ch, 2 × conv k3 C→C (channels as conv batch), blocks of
  # conv k3 ch→ch, output conv k3 ch→D; all along the batch axis.
  parts['top_signal'] = (
      top * b * TOP_FIRST_KERNEL * channels + 2 * channels * b * KERNEL *
      top * top + config.top_signal_layers * top * b * KERNEL * channels**2 +
      top * b * KERNEL * channels * d)
  # §3.3: per (unit, example), conv k3 C_in→H then `blocks` conv k3 H→H
  # along the batch axis ...
  parts['update_net_batch_convs'] = sum(units) * b * KERNEL * (
      in_channels * h + blocks * h * h)
  # ... and (blocks + 1) UnitConvs of two conv k3 H→H along the unit axis.
  parts['update_net_unit_convs'] = sum(units) * b * (blocks + 1) * 2 * (
      KERNEL * h * h)
  # §3.4: Linear(h → D) per unit of layers 1..L, then δ · Vᵀ.
  parts['downward_projection'] = b * sum(widths) * h * d
  parts['downward_feedback'] = b * d * sum(
      n_in * n_out for n_in, n_out in pairs)
  # §3.5: 15 maps H→G per weight layer: 3 pair readouts (top on n_out,
  # bottom on n_in), 2 lower symm (both maps on n_in), upper psd (one map on
  # n_out), 2 upper symm (both maps on n_out).
  parts['readout_maps'] = sum(b * h * g * (7 * n_in + 8 * n_out)
                              for n_in, n_out in pairs)
  # Σ_{g,b} outer products: 3 [n_in, n_out], 2 [n_in, n_in], 3 [n_out, n_out].
  parts['readout_outer_products'] = sum(
      b * g * (3 * n_in * n_out + 2 * n_in**2 + 3 * n_out**2)
      for n_in, n_out in pairs)
  # U·w̃ (2 lower) and w̃·U (3 upper).
  parts['symm_matmuls'] = sum(2 * n_in**2 * n_out + 3 * n_in * n_out**2
                              for n_in, n_out in pairs)
  # decorr_x: sᵀs [n_out, n_out] and w̃·C; hebb: s_lowerᵀ s_upper.
  parts['correlation_terms'] = sum(
      b * n_out**2 + n_in * n_out**2 + b * n_in * n_out
      for n_in, n_out in pairs)
  # §3.6: Linear(12 → 1) per weight entry; §3.7: Linear(h → 1) per unit.
  parts['mixture'] = sum(NUM_TERMS * n_in * n_out for n_in, n_out in pairs)
  parts['bias_readout'] = b * sum(widths) * h
  if config.memory_size:
    parts['memory_write'] = sum(widths) * h * config.memory_size
  return parts


def rule_step_macs(input_dim, widths, batch, config):
  """Total multiply-adds of one rule step (see rule_step_mac_breakdown)."""
  return sum(rule_step_mac_breakdown(input_dim, widths, batch,
                                     config).values())


def sgd_step_macs(input_dim, widths, batch, num_classes=NUM_CLASSES):
  """≈ multiply-adds of one SGD step: forward + head, backward ≈ 2×."""
  sizes = [input_dim] + list(widths) + [num_classes]
  forward = batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
  return 3 * forward


# -- Setup shared by every measurement. ----------------------------------------


def _build(bench, seed):
  """(model, rule, φ_0) of a configuration."""
  tf.keras.utils.set_random_seed(seed)
  model = base_model.BaseMLP(bench.input_dim, bench.widths,
                             permutation_seed=seed, seed=seed)
  rule = rule_lib.UnsupervisedUpdate(bench.rule_config)
  return model, rule, model.initial_state(seed)


def _unlabeled_batches(bench, steps, seed):
  rng = np.random.RandomState(seed + 1)
  return tf.constant(rng.uniform(size=(steps, bench.batch, bench.input_dim)),
                     tf.float32)


def _few_shot_batch(bench, seed):
  """A 10-class task, 10 support and 10 query examples per class."""
  rng = np.random.RandomState(seed + 2)
  labels = np.repeat(np.arange(NUM_CLASSES), EXAMPLES_PER_CLASS)
  count = labels.size

  def inputs():
    return tf.constant(rng.uniform(size=(count, bench.input_dim)), tf.float32)

  return meta_objective.FewShotBatch(inputs(), tf.constant(labels, tf.int32),
                                     inputs(), tf.constant(labels, tf.int32))


def _block(result):
  """Waits for ``result`` (a nest of tensors) by reading one value."""
  first = tf.nest.flatten(result)[0]
  return np.asarray(first).ravel()[:1]


def _time_interleaved(functions, repeats):
  """First-call and steady times of several no-argument functions.

  Each repeat calls every function once, in turn.

  Returns:
    A dict name → {'first_s', 'times_s', 'median_s'}.
  """
  out = {}
  for name, function in functions.items():
    start = time.perf_counter()
    _block(function())
    out[name] = {'first_s': time.perf_counter() - start, 'times_s': []}
  for _ in range(repeats):
    for name, function in functions.items():
      start = time.perf_counter()
      _block(function())
      out[name]['times_s'].append(time.perf_counter() - start)
  for entry in out.values():
    entry['median_s'] = statistics.median(entry['times_s'])
    entry['min_s'] = min(entry['times_s'])
  return out


# -- Step timings. -------------------------------------------------------------


def measure_matmul(repeats):
  """GFLOP/s of a dense MATMUL_SIZE² float32 matmul in a tf.function."""
  rng = np.random.RandomState(0)
  a, b = (tf.constant(rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE)),
                      tf.float32) for _ in range(2))
  matmul = tf.function(tf.matmul)
  timing = _time_interleaved({'matmul': functools.partial(matmul, a, b)},
                             max(repeats, 5))['matmul']
  flops = 2 * MATMUL_SIZE**3
  return {'size': MATMUL_SIZE, 'median_s': timing['median_s'],
          'times_s': timing['times_s'],
          'gflops': flops / timing['median_s'] / 1e9}


def _sgd_loop(jit_compile):
  """N SGD steps of the base model in one tf.function (a tf.while_loop)."""

  def run(state, batches, labels, head):
    permutation = state[base_model.PERMUTATION]
    steps = batches.shape[0]

    def body(index, layers):
      params = [(e[base_model.KERNEL], e[base_model.OFFSET]) for e in layers]
      with tf.GradientTape() as tape:
        tape.watch(params)
        _, activations = base_model.forward(
            {base_model.PERMUTATION: permutation, base_model.LAYERS: layers},
            batches[index], tf.nn.relu)
        logits = tf.matmul(activations[-1], head)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels[index], logits=logits))
      grads = tape.gradient(loss, params)
      new_layers = []
      for entry, (kernel_grad, offset_grad) in zip(layers, grads):
        new_entry = dict(entry)
        new_entry[base_model.KERNEL] = (
            entry[base_model.KERNEL] - SGD_LEARNING_RATE * kernel_grad)
        new_entry[base_model.OFFSET] = (
            entry[base_model.OFFSET] - SGD_LEARNING_RATE * offset_grad)
        new_layers.append(new_entry)
      return index + 1, tuple(new_layers)

    _, layers = tf.while_loop(lambda index, _: index < steps, body,
                              (tf.constant(0), state[base_model.LAYERS]),
                              maximum_iterations=steps)
    return layers

  return tf.function(run, autograph=False, jit_compile=jit_compile)


def measure_steps(bench, steps, repeats, seed, matmul):
  """Rule and SGD step times, XLA off and on, for one configuration."""
  model, rule, state = _build(bench, seed)
  batches = _unlabeled_batches(bench, steps, seed)
  rng = np.random.RandomState(seed + 3)
  labels = tf.constant(rng.randint(NUM_CLASSES, size=(steps, bench.batch)),
                       tf.int32)
  head = tf.constant(rng.standard_normal((bench.widths[-1], NUM_CLASSES)) /
                     np.sqrt(bench.widths[-1]), tf.float32)
  macs = rule_step_macs(bench.input_dim, bench.widths, bench.batch,
                        bench.rule_config)
  sgd_macs = sgd_step_macs(bench.input_dim, bench.widths, bench.batch)
  result = {'unroll_steps': steps, 'repeats': repeats,
            'rule_macs_per_step': macs,
            'rule_mac_breakdown': rule_step_mac_breakdown(
                bench.input_dim, bench.widths, bench.batch,
                bench.rule_config),
            'sgd_macs_per_step_estimate': sgd_macs, 'by_mode': {}}
  functions = {}
  for mode in ('graph', 'xla'):
    loop = inner_loop.InnerLoop(rule, jit_compile=mode == 'xla')
    sgd = _sgd_loop(mode == 'xla')
    functions[mode, 'rule'] = functools.partial(loop.unroll, model, state,
                                                batches)
    functions[mode, 'sgd'] = functools.partial(sgd, state, batches, labels,
                                               head)
  # One repeat calls all four, so that load changes hit every column alike.
  timing = _time_interleaved(functions, repeats)
  for mode in ('graph', 'xla'):
    entry = {}
    for name, step_macs in (('rule', macs), ('sgd', sgd_macs)):
      t = timing[mode, name]
      per_step = t['median_s'] / steps
      entry[name] = {
          'step_ms': 1e3 * per_step,
          'step_ms_min': 1e3 * t['min_s'] / steps,
          'call_times_s': t['times_s'],
          'first_call_s': t['first_s'],
          'compile_s': max(t['first_s'] - t['median_s'], 0.0),
          'gflops': 2 * step_macs / per_step / 1e9,
      }
    entry['rule_over_sgd'] = entry['rule']['step_ms'] / entry['sgd']['step_ms']
    entry['rule_over_sgd_min'] = (entry['rule']['step_ms_min'] /
                                  entry['sgd']['step_ms_min'])
    entry['rule_gflops_over_matmul'] = (
        entry['rule']['gflops'] / matmul['gflops'])
    result['by_mode'][mode] = entry
    print(f'[{bench.name}] {mode}: rule {entry["rule"]["step_ms"]:.1f} '
          f'ms/step, sgd {entry["sgd"]["step_ms"]:.3f} ms/step, ratio '
          f'{entry["rule_over_sgd"]:.0f}x, {entry["rule"]["gflops"]:.1f} '
          f'GFLOP/s', flush=True)
  return result


# -- Meta-gradient (one setting per subprocess). -------------------------------


def _proc_status_mb(field):
  """A memory field (e.g. 'VmRSS', 'VmHWM') of /proc/self/status, or None."""
  try:
    with open('/proc/self/status') as f:
      for line in f:
        if line.startswith(field + ':'):
          return int(line.split()[1]) / 2**10  # Reported in kB.
  except OSError:
    pass
  return None


def _ru_maxrss_mb():
  # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
  unit = 1 if sys.platform == 'darwin' else 2**10
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20


def _reset_peak_rss():
  """Resets the kernel's peak-RSS mark to the current RSS (Linux >= 4.0)."""
  try:
    with open('/proc/self/clear_refs', 'w') as f:
      f.write('5')
    return True
  except OSError:
    return False


def _peak_rss_mb():
  """Peak resident set of this process's address space, in MB.

  ``ru_maxrss`` is the same kernel mark, but a child created by fork + exec
  inherits the parent's peak in it, so a subprocess of a large parent reads
  the parent's value; VmHWM belongs to the address space created by exec.
  """
  peak = _proc_status_mb('VmHWM')
  return _ru_maxrss_mb() if peak is None else peak


def measure_meta_gradient(bench, mode, steps, recompute, seed, repeats,
                          time_budget_s):
  """One meta-gradient setting, in this (fresh) process."""
  model, rule, state = _build(bench, seed)
  batches = _unlabeled_batches(bench, steps, seed)
  meta_batch = _few_shot_batch(bench, seed)
  loop = inner_loop.InnerLoop(rule, jit_compile_gradient=mode == 'xla',
                              recompute=recompute)
  rss_setup = _proc_status_mb('VmRSS') or _ru_maxrss_mb()
  peak_setup = _peak_rss_mb()
  # From here on the peak mark measures the meta-gradient calls only.
  peak_was_reset = _reset_peak_rss()

  def call():
    return loop.meta_gradient(model, state, batches, meta_batch, NUM_CLASSES)

  start = time.perf_counter()
  result = call()
  loss = float(result.loss)
  first = time.perf_counter() - start
  peak_first = _peak_rss_mb()
  # The timed calls' own peak, without tracing and compilation.
  _reset_peak_rss()
  times = []
  while len(times) < max(repeats, 1):
    start = time.perf_counter()
    result = call()
    _block(result.loss)
    times.append(time.perf_counter() - start)
    if sum(times) >= time_budget_s:
      break
  median = statistics.median(times)
  peak_steady = _peak_rss_mb()
  peak = max(peak_first, peak_steady) if peak_was_reset else peak_steady
  return {
      'status': 'ok', 'first_call_s': first,
      'compile_s': max(first - median, 0.0), 'call_times_s': times,
      'call_s': median, 'step_ms': 1e3 * median / steps,
      'rss_setup_mb': rss_setup, 'peak_setup_mb': peak_setup,
      'peak_was_reset_after_setup': peak_was_reset,
      'peak_first_call_mb': peak_first, 'peak_steady_mb': peak_steady,
      'peak_mb': peak, 'steady_delta_mb': peak_steady - rss_setup,
      'ru_maxrss_mb': _ru_maxrss_mb(),
      'delta_mb': peak - rss_setup, 'loss': loss,
      'gradient_norm': float(tf.linalg.global_norm(result.gradients)),
  }


def _run_subprocess(spec, timeout_s, repeats):
  """Runs this script with --measure_one=spec; returns its result dict."""
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = dict(os.environ)
  env['PYTHONPATH'] = os.pathsep.join(
      [root] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
  env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  command = [sys.executable, os.path.abspath(__file__),
             f'--measure_one={spec}', f'--seed={FLAGS.seed}',
             f'--gradient_repeats={repeats}',
             f'--gradient_time_budget_s={FLAGS.gradient_time_budget_s}']
  start = time.perf_counter()
  try:
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=timeout_s, check=False)
  except subprocess.TimeoutExpired:
    return {'status': 'timeout', 'timeout_s': timeout_s}
  wall = time.perf_counter() - start
  for line in done.stdout.splitlines():
    if line.startswith(RESULT_MARKER):
      result = json.loads(line[len(RESULT_MARKER):])
      result['subprocess_wall_s'] = wall
      return result
  return {'status': 'error', 'returncode': done.returncode,
          'stderr_tail': done.stderr[-2000:]}


def _parse_measure_one(spec):
  name, mode, steps, recompute = spec.split(',')
  if name not in BENCHES or mode not in ('graph', 'xla'):
    raise app.UsageError(f'Bad --measure_one {spec!r}.')
  return BENCHES[name], mode, int(steps), recompute in ('1', 'true', 'on')


# -- Driver. -------------------------------------------------------------------


def _settings():
  """Effective settings: flags, with --quick defaults where not given."""
  quick = FLAGS.quick

  def pick(name, quick_value):
    if quick and not FLAGS[name].present:
      return quick_value
    return FLAGS[name].value

  return {
      'quick': quick,
      'configs': list(FLAGS.configs),
      'gradient_configs': pick('gradient_configs', ['cpu']),
      'repeats': pick('repeats', 2),
      'gradient_steps': [int(s) for s in pick('gradient_steps', ['2'])],
      'skip_xla_gradient': pick('skip_xla_gradient', True),
      'gradient_repeats': pick('gradient_repeats', 1),
      'measure_timeout_s': FLAGS.measure_timeout_s,
      'seed': FLAGS.seed,
  }


def _machine_info():
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


def _write_json(results, path):
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  temporary = path + '.tmp'
  with open(temporary, 'w') as f:
    json.dump(results, f, indent=1)
  os.replace(temporary, path)


def _table(headers, rows):
  """Fixed-width text table; every column as wide as its widest cell."""
  cells = [headers] + [[str(c) for c in row] for row in rows]
  widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
  lines = ['  '.join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
  lines.insert(1, '  '.join('-' * w for w in widths))
  return '\n'.join(lines)


def format_report(results):
  """The readable tables of a results dict."""
  out = []
  machine = results['machine']
  out.append(f"machine: {machine.get('cpu_model')}, {machine['cpu_count']} "
             f"CPUs, TF {machine['tensorflow']}, {machine['date']}")
  rows, breakdown_rows = [], []
  for name, config in results['configs'].items():
    steps = config.get('steps')
    if not steps:
      continue
    for mode, entry in steps['by_mode'].items():
      rule, sgd = entry['rule'], entry['sgd']
      fastest = 1e3 * min(rule['call_times_s']) / steps['unroll_steps']
      rows.append([
          name, mode, f"{rule['step_ms']:.1f}", f'{fastest:.1f}',
          f"{sgd['step_ms']:.3f}",
          f"{entry['rule_over_sgd']:.0f}", f"{rule['compile_s']:.1f}",
          f"{steps['rule_macs_per_step'] / 1e9:.3f}", f"{rule['gflops']:.1f}",
          f"{config['matmul']['gflops']:.1f}",
          f"{100 * entry['rule_gflops_over_matmul']:.0f}%"])
    total = steps['rule_macs_per_step']
    top = sorted(steps['rule_mac_breakdown'].items(), key=lambda kv: -kv[1])
    breakdown_rows.append([name, f'{total / 1e9:.3f}'] + [
        f'{part} {100 * macs / total:.0f}%' for part, macs in top[:4]])
  if rows:
    out.append('\nInner step (median per step, and the fastest call; SGD = '
               'backprop + softmax CE head; GFLOP/s from the median)')
    out.append(_table(['config', 'mode', 'rule ms', 'fastest', 'sgd ms',
                       'rule/sgd',
                       'compile s', 'GMAC', 'GFLOP/s', 'matmul', '% mm'],
                      rows))
    out.append('\nRule multiply-adds per step (largest parts)')
    out.append(_table(['config', 'GMAC', '1st', '2nd', '3rd', '4th'],
                      breakdown_rows))
  rows = []
  for name, config in results['configs'].items():
    forward = config.get('steps', {}).get('by_mode', {})
    for key, entry in config.get('meta_gradient', {}).items():
      mode, steps, recompute = key.split('/')
      if entry.get('status') != 'ok':
        rows.append([name, mode, steps, recompute, entry.get('status')] +
                    [''] * 7)
        continue
      base = forward.get(mode, {}).get('rule', {}).get('step_ms')
      rows.append([
          name, mode, steps, recompute, 'ok', f"{entry['first_call_s']:.1f}",
          f"{entry['call_s']:.2f}", f"{entry['step_ms']:.1f}",
          f"{entry['step_ms'] / base:.1f}" if base else '',
          f"{entry['peak_mb']:.0f}", f"{entry['delta_mb']:.0f}",
          f"{entry['steady_delta_mb']:.0f}"])
  if rows:
    out.append('\nMeta-gradient (first call = trace + compile + run; '
               'x fwd = per-step time / rule forward step, same mode)')
    out.append(_table(['config', 'mode', 'steps', 'recompute', 'status',
                       'first s', 'call s', 'ms/step', 'x fwd', 'peak MB',
                       'delta MB', 'steady dMB'], rows))
  return '\n'.join(out)


def run_all(settings):
  """Measures everything; rewrites the JSON after every measurement."""
  unknown = set(settings['configs'] + settings['gradient_configs']) - set(
      BENCHES)
  if unknown:
    raise app.UsageError(f'Unknown configs {sorted(unknown)}; known: '
                         f'{sorted(BENCHES)}.')
  results = {'machine': _machine_info(), 'settings': settings, 'configs': {}}
  path = FLAGS.output_json
  for name in settings['configs']:
    bench = BENCHES[name]
    steps = (bench.quick_unroll_steps if settings['quick'] else
             bench.unroll_steps)
    config = results['configs'].setdefault(name, {
        'input_dim': bench.input_dim, 'widths': list(bench.widths),
        'batch': bench.batch, 'rule_config': bench.rule_config.to_dict()})
    config['matmul'] = measure_matmul(settings['repeats'])
    config['steps'] = measure_steps(bench, steps, settings['repeats'],
                                    settings['seed'], config['matmul'])
    _write_json(results, path)
  modes = ['graph'] + ([] if settings['skip_xla_gradient'] else ['xla'])
  for name in settings['configs']:
    if name not in settings['gradient_configs']:
      continue
    config = results['configs'][name]
    config['meta_gradient'] = {}
    for mode in modes:
      for steps in settings['gradient_steps']:
        for recompute in (True, False):
          key = f"{mode}/{steps}/{'on' if recompute else 'off'}"
          entry = _run_subprocess(
              f'{name},{mode},{steps},{int(recompute)}',
              settings['measure_timeout_s'], settings['gradient_repeats'])
          config['meta_gradient'][key] = entry
          _write_json(results, path)
          summary = (f"{entry['step_ms']:.1f} ms/step, peak "
                     f"{entry['peak_mb']:.0f} MB, delta "
                     f"{entry['delta_mb']:.0f} MB"
                     if entry['status'] == 'ok' else entry['status'])
          print(f'[{name}] meta-gradient {key}: {summary}', flush=True)
  results['machine']['load_average_at_end'] = list(os.getloadavg())
  _write_json(results, path)
  return results


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  if FLAGS.measure_one:
    bench, mode, steps, recompute = _parse_measure_one(FLAGS.measure_one)
    result = measure_meta_gradient(bench, mode, steps, recompute, FLAGS.seed,
                                   FLAGS.gradient_repeats,
                                   FLAGS.gradient_time_budget_s)
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return
  if FLAGS.report_from:
    with open(FLAGS.report_from) as f:
      print(format_report(json.load(f)))
    return
  results = run_all(_settings())
  print()
  print(format_report(results))
  print(f'\nWrote {FLAGS.output_json}')


if __name__ == '__main__':
  app.run(main)
