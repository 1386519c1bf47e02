r"""Speed and memory of one inner step of the learned rule, on this machine.

What is measured, per base-model configuration (``--configs``; ``paper``
and ``cpu``, see ``inner_step_lib/benches.py``):

1. Rule step and SGD step (``inner_step_lib/steps.py``): the learned rule
   unrolled over N batches in one compiled call, against N plain backprop
   steps of the same MLP, XLA off and on; the first call is timed apart
   (``compile_s``), then the median of ``--repeats`` calls, divided by N.
2. ``rule/sgd``: the ratio of the two per-step times at each XLA setting.
3. Throughput: multiply-adds of one rule step, counted analytically
   (``inner_step_lib/macs.py``); GFLOP/s = 2 · MACs / time, against a dense
   2048 × 2048 float32 matmul measured in the same run right before each
   configuration (``inner_step_lib/timing.py``).
4. Meta-gradient (``inner_step_lib/meta_gradient.py``): through
   ``--gradient_steps`` rule steps with a 10-class few-shot task, graph mode,
   XLA (one program) and XLA steps in a graph loop (``xla_step``), with
   per-step recomputation on and off (``--gradient_recompute``; xla_step
   only on). Then the targets (``inner_step_lib/targets.py``), as ratios
   of this one run. Every setting runs in a
   fresh subprocess (this script with
   ``--measure_one=config,mode,steps,recompute``), which reports the first
   call, the median of the following calls (at most ``--gradient_repeats``,
   stopping once they took ``--gradient_time_budget_s``), per rule step,
   and memory: the resident set after setup and the peak while
   meta-gradients ran (``inner_step_lib/memory.py``). A subprocess that
   runs past ``--measure_timeout_s`` is recorded as ``timeout``; one that
   fails keeps the end of its stderr.

How to read it: the machine is shared and noisy, so compare numbers only
within one run — the ratios (rule/SGD, GFLOP/s vs. matmul, meta-gradient vs.
forward step) are what carry over. The JSON (``--output_json``) is rewritten
after every measurement, so a run stopped early keeps what it measured.

Regenerate (from the repository root):

  .venv/bin/python -m benchmarks.inner_step              # everything
  .venv/bin/python -m benchmarks.inner_step --quick      # ~2-3 min smoke run
  .venv/bin/python -m benchmarks.inner_step --gradient_configs=cpu
  .venv/bin/python -m benchmarks.inner_step --report_from=PATH  # tables only

Reference: paper_spec.md §10 (compute cost), DESIGN.md §6.
"""

import json
import os
import subprocess
import sys
import time

from absl import app
from absl import flags

from benchmarks import report_files
from benchmarks.inner_step_lib import benches
from benchmarks.inner_step_lib import machine
from benchmarks.inner_step_lib import meta_gradient
from benchmarks.inner_step_lib import report
from benchmarks.inner_step_lib import steps as steps_lib
from benchmarks.inner_step_lib import targets as targets_lib
from benchmarks.inner_step_lib import timing
from learned_rule.storage import atomic_files

FLAGS = flags.FLAGS

flags.DEFINE_string('output_json', 'results/benchmarks/inner_step.json',
                    'Where to write all numbers and the machine info.')
flags.DEFINE_list('configs', ['paper', 'cpu'],
                  'Configurations to measure: paper, cpu.')
flags.DEFINE_list('gradient_configs', ['cpu'],
                  'Configurations of --configs whose meta-gradient is '
                  'measured (empty: none). The paper config without '
                  'recompute needs far more than 24 GB at 128 steps.')
flags.DEFINE_integer('repeats', 5, 'Timed calls per step measurement.')
flags.DEFINE_list('gradient_steps', ['8', '16', '128'],
                  'Rule steps unrolled in the meta-gradient measurements.')
flags.DEFINE_list('gradient_recompute', ['on', 'off'],
                  'Per-step recomputation settings of the meta-gradient '
                  'measurements: on, off.')
flags.DEFINE_bool('xla_step_gradient', True,
                  'Also measure meta-gradients whose steps and recomputed '
                  'gradients are XLA programs (InnerLoop.jit_compile_step; '
                  'with recompute on only).')
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

# Meta-gradient modes (inner_step_lib/meta_gradient.py).
GRADIENT_MODES = ('graph', 'xla', 'xla_step')
# Marks the JSON line a --measure_one subprocess prints.
RESULT_MARKER = 'INNER_STEP_RESULT '


# -- Meta-gradient (one setting per subprocess). -------------------------------


def _run_subprocess(spec, timeout_s, repeats):
  """Runs this script with --measure_one=spec; returns its result dict."""
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = dict(os.environ)
  env['PYTHONPATH'] = os.pathsep.join(
      [root] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
  env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  command = [sys.executable, '-m', 'benchmarks.inner_step',
             f'--measure_one={spec}', f'--seed={FLAGS.seed}',
             f'--gradient_repeats={repeats}',
             f'--gradient_time_budget_s={FLAGS.gradient_time_budget_s}']
  start = time.perf_counter()
  try:
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          cwd=root,
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
  if name not in benches.BENCHES or mode not in GRADIENT_MODES:
    raise app.UsageError(f'Bad --measure_one {spec!r}.')
  return (benches.BENCHES[name], mode, int(steps),
          recompute in ('1', 'true', 'on'))


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
      'gradient_recompute': list(FLAGS.gradient_recompute),
      'skip_xla_gradient': pick('skip_xla_gradient', True),
      'xla_step_gradient': pick('xla_step_gradient', False),
      'gradient_repeats': pick('gradient_repeats', 1),
      'measure_timeout_s': FLAGS.measure_timeout_s,
      'seed': FLAGS.seed,
  }


def run_all(settings):
  """Measures everything; rewrites the JSON after every measurement."""
  unknown = set(settings['configs'] + settings['gradient_configs']) - set(
      benches.BENCHES)
  if unknown:
    raise app.UsageError(f'Unknown configs {sorted(unknown)}; known: '
                         f'{sorted(benches.BENCHES)}.')
  if not set(settings['gradient_recompute']) <= {'on', 'off'}:
    raise app.UsageError(f"--gradient_recompute takes on and off, got "
                         f"{settings['gradient_recompute']}.")
  results = {'machine': machine.machine_info(), 'settings': settings,
             'configs': {}}
  path = FLAGS.output_json
  for name in settings['configs']:
    bench = benches.BENCHES[name]
    steps = (bench.quick_unroll_steps if settings['quick'] else
             bench.unroll_steps)
    config = results['configs'].setdefault(name, {
        'input_dim': bench.input_dim, 'widths': list(bench.widths),
        'batch': bench.batch, 'rule_config': bench.rule_config.to_dict()})
    config['matmul'] = timing.measure_matmul(settings['repeats'])
    config['steps'] = steps_lib.measure_steps(
        bench, steps, settings['repeats'], settings['seed'], config['matmul'])
    atomic_files.write_json(path, results, indent=1)
  modes = ['graph'] + ([] if settings['skip_xla_gradient'] else ['xla'])
  if settings['xla_step_gradient']:
    modes.append('xla_step')
  for name in settings['configs']:
    if name not in settings['gradient_configs']:
      continue
    config = results['configs'][name]
    config['meta_gradient'] = {}
    for mode in modes:
      for steps in settings['gradient_steps']:
        for setting in settings['gradient_recompute']:
          recompute = setting == 'on'
          if mode == 'xla_step' and not recompute:
            continue
          key = f'{mode}/{steps}/{setting}'
          entry = _run_subprocess(
              f'{name},{mode},{steps},{int(recompute)}',
              settings['measure_timeout_s'], settings['gradient_repeats'])
          config['meta_gradient'][key] = entry
          atomic_files.write_json(path, results, indent=1)
          summary = (f"{entry['step_ms']:.1f} ms/step, peak "
                     f"{entry['peak_mb']:.0f} MB, delta "
                     f"{entry['delta_mb']:.0f} MB"
                     if entry['status'] == 'ok' else entry['status'])
          print(f'[{name}] meta-gradient {key}: {summary}', flush=True)
  results['machine']['load_average_at_end'] = list(os.getloadavg())
  results['targets'] = targets_lib.compute_targets(results)
  atomic_files.write_json(path, results, indent=1)
  return results


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  if FLAGS.measure_one:
    bench, mode, steps, recompute = _parse_measure_one(FLAGS.measure_one)
    result = meta_gradient.measure_meta_gradient(
        bench, mode, steps, recompute, FLAGS.seed, FLAGS.gradient_repeats,
        FLAGS.gradient_time_budget_s)
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return
  if FLAGS.report_from:
    with open(FLAGS.report_from) as f:
      print(report.format_report(json.load(f)))
    return
  results = run_all(_settings())
  print()
  print(report.format_report(results))
  table = report_files.write_markdown(FLAGS.output_json, report.format_report)
  print(f'\nWrote {FLAGS.output_json} and {table}')


if __name__ == '__main__':
  app.run(main)
