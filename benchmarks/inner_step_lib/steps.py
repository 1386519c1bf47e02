"""Time per inner step: the learned rule against one SGD step (spec §10).

1. Rule step: ``InnerLoop(rule, jit_compile=xla).unroll`` over N batches in
   one call (a ``tf.while_loop`` inside one ``tf.function``), XLA off and on.
   The first call (trace + compile + one run) is timed apart and reported as
   ``compile_s`` (first call minus a steady call); then the median of the
   repeats, divided by N, is the time per inner step.
2. SGD step: one plain backprop step of the same MLP with the same forward
   (``base_model.forward``: permutation, x W, batch norm, + b, ReLU) and a
   softmax cross-entropy loss of a fixed random linear head (32 → 10 classes)
   on the top features x^L, random labels; ``tf.GradientTape``, W and b of
   every layer updated (V untouched). N steps in one ``tf.while_loop`` inside
   one ``tf.function``, so per-call overhead is amortised as for the rule.
   Each repeat calls all four functions (rule and SGD, graph and XLA) in
   turn, so that a slow phase of a shared machine hits every column alike.
"""

import functools

import numpy as np
import tensorflow as tf

from benchmarks.inner_step_lib import benches
from benchmarks.inner_step_lib import macs as macs_lib
from benchmarks.inner_step_lib import timing as timing_lib
from learned_rule.model import base_model
from learned_rule.unroll import inner_loop

# Learning rate of the SGD steps (ours; it does not change their cost).
SGD_LEARNING_RATE = 0.1


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
  model, rule, state = benches.build(bench, seed)
  batches = benches.unlabeled_batches(bench, steps, seed)
  rng = np.random.RandomState(seed + 3)
  num_classes = benches.NUM_CLASSES
  labels = tf.constant(rng.randint(num_classes, size=(steps, bench.batch)),
                       tf.int32)
  head = tf.constant(rng.standard_normal((bench.widths[-1], num_classes)) /
                     np.sqrt(bench.widths[-1]), tf.float32)
  macs = macs_lib.rule_step_macs(bench.input_dim, bench.widths, bench.batch,
                                 bench.rule_config)
  sgd_macs = macs_lib.sgd_step_macs(bench.input_dim, bench.widths, bench.batch)
  result = {'unroll_steps': steps, 'repeats': repeats,
            'rule_macs_per_step': macs,
            'rule_mac_breakdown': macs_lib.rule_step_mac_breakdown(
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
  timing = timing_lib.time_interleaved(functions, repeats)
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
