r"""Where the time of one rule step and one meta-gradient step goes.

Runs the TensorFlow profiler over a few compiled calls of the paper
configuration (``inner_step_lib/benches.py``) and charges every op's self
time to a class: the update network's convolutions along the batch and
along the units, the batch norms inside θ, the top signal, the downward
signal, the readouts and the other weight terms, the merge, the bias rule,
the base model's forward, the meta-objective's ridge solve, and the
transposes and copies (``inner_step_lib/op_profile.py``).

Three programs are profiled, each after a warm-up call:

* ``forward/graph`` and ``forward/xla``: ``InnerLoop.unroll`` over
  ``--steps`` rule steps, XLA off and on;
* ``meta_gradient/graph``: ``InnerLoop.meta_gradient`` over ``--steps``
  rule steps with a 10-class few-shot task, per-step recomputation on (the
  meta-trainer's setting).

Shares are of the summed self time of all compute threads (thread time,
not wall time). Regenerate (from the repository root):

  .venv/bin/python -m benchmarks.profile_step
  .venv/bin/python -m benchmarks.profile_step --report_from=PATH

Reference: paper_spec.md §10 (compute cost), DESIGN.md §6.
"""

import json
import time

from absl import app
from absl import flags

from benchmarks import report_files
from benchmarks.inner_step_lib import benches
from benchmarks.inner_step_lib import machine
from benchmarks.inner_step_lib import op_profile
from benchmarks.inner_step_lib import report
from learned_rule.storage import atomic_files
from learned_rule.unroll import inner_loop

FLAGS = flags.FLAGS

flags.DEFINE_string('output_json', 'results/benchmarks/profile_step.json',
                    'Where to write the profile.')
flags.DEFINE_enum('config', 'paper', sorted(benches.BENCHES),
                  'Configuration to profile.')
flags.DEFINE_integer('steps', 4, 'Rule steps per profiled call.', lower_bound=1)
flags.DEFINE_integer('calls', 2, 'Profiled calls per program.', lower_bound=1)
PROGRAMS = ('forward/graph', 'forward/xla', 'meta_gradient/graph')
flags.DEFINE_list('programs', list(PROGRAMS), 'Programs to profile.')
flags.DEFINE_integer('seed', 0, 'Seed of the model, θ and the data.')
flags.DEFINE_string('report_from', None,
                    'Only print the table of this existing profile JSON.')



def _program(name, bench, steps, seed):
  """A no-argument function that runs one call of program ``name``."""
  model, rule, state = benches.build(bench, seed)
  batches = benches.unlabeled_batches(bench, steps, seed)
  kind, mode = name.split('/')
  if kind == 'forward':
    loop = inner_loop.InnerLoop(rule, jit_compile=mode == 'xla')
    return lambda: loop.unroll(model, state, batches)
  loop = inner_loop.InnerLoop(rule, jit_compile_gradient=mode == 'xla')
  meta_batch = benches.few_shot_batch(bench, seed)
  return lambda: loop.meta_gradient(model, state, batches, meta_batch,
                                    benches.NUM_CLASSES).gradients


def profile(name, bench, steps, calls, seed):
  """Seconds of thread time per class and rule step, and wall time."""
  function = _program(name, bench, steps, seed)
  function()  # Trace and compile outside the profile.
  start = time.perf_counter()
  seconds, ops = op_profile.profile_calls(function, calls)
  wall = time.perf_counter() - start
  per_step = calls * steps
  return {'wall_ms_per_step': 1e3 * wall / per_step,
          'thread_ms_per_step': {label: 1e3 * value / per_step
                                 for label, value in seconds.items()},
          'op_events': dict(ops)}


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  if FLAGS.report_from:
    with open(FLAGS.report_from) as f:
      print(report.format_profile(json.load(f)))
    return
  unknown = set(FLAGS.programs) - set(PROGRAMS)
  if unknown:
    raise app.UsageError(f'Unknown --programs {sorted(unknown)}; known: '
                         f'{list(PROGRAMS)}.')
  bench = benches.BENCHES[FLAGS.config]
  results = {'machine': machine.machine_info(), 'config': FLAGS.config,
             'steps': FLAGS.steps, 'calls': FLAGS.calls, 'programs': {}}
  for name in FLAGS.programs:
    results['programs'][name] = profile(name, bench, FLAGS.steps,
                                        FLAGS.calls, FLAGS.seed)
    atomic_files.write_json(FLAGS.output_json, results, indent=1)
    print(f'[{FLAGS.config}] profiled {name}', flush=True)
  print(report.format_profile(results))
  table = report_files.write_markdown(FLAGS.output_json, report.format_profile)
  print(f'\nWrote {FLAGS.output_json} and {table}')


if __name__ == '__main__':
  app.run(main)
