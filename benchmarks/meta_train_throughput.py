r"""θ-updates per hour of meta-training, every execution in one run.

Measures, on the same machine and in the same run (ratios are what count;
these machines are shared and noisy):

  (a) sequential: one process, the tasks in flight one after another
      (``--batch_tasks=false``);
  (b) batched: one process, the tasks of one architecture as one batched
      computation (``--batch_tasks=true``, the default);
  (c) cluster: ``bin/launch_local_cluster.py`` with a chief, 2 workers with
      one intra-op thread each and 1 parameter server, synchronous updates
      of every task in flight;
  (d) the coordinator's ceiling: θ-updates per second of the chief's
      asynchronous loop (``ClusterCoordinator``, 8 in-process workers, the
      mean of 4 gradients per update, Adam) with a trivially cheap task
      gradient, which says how many of the paper's workers one chief can
      serve (spec §6.1, §10: ~200k updates in ~200 h, ~0.28 per second).

and, on request (``--executions=in_process``), (e) train steps per second
of (a) and (b), unsharded and sharded, in this one process in alternating
rounds (``meta_train_throughput_lib/batched.py``), which cancels most of
the drift in the machine's load between separate runs.

(a)–(c) run ``bin/meta_train.py`` on ``meta_train/cpu.gin`` and read the
wall times of the ``meta_loss`` summaries after a warm-up. Example:

  python -m benchmarks.meta_train_throughput --num_steps=40 \
      --output_json=results/benchmarks/meta_train_throughput.json
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

from benchmarks import report_files
from benchmarks.meta_train_throughput_lib import report
from learned_rule import package_info
from learned_rule.storage import run_dirs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_string('gin_file', 'meta_train/cpu.gin', 'Meta-training config.')
flags.DEFINE_integer('num_steps', 40, 'θ updates per execution.')
flags.DEFINE_integer('warmup_steps', 5, 'Updates left out (tracing).')
flags.DEFINE_list('executions', ['sequential', 'batched', 'cluster',
                                 'coordinator'], 'What to measure.')
EXECUTIONS = ('sequential', 'batched', 'cluster', 'coordinator',
              'in_process')
flags.register_validator(
    'executions', lambda names: set(names) <= set(EXECUTIONS),
    f'--executions takes names from {", ".join(EXECUTIONS)}.')
flags.DEFINE_integer('in_process_steps', 8,
                     'Timed updates per execution for in_process.')
flags.DEFINE_integer('coordinator_updates', 200,
                     'θ updates timed for the coordinator ceiling.')
flags.DEFINE_string('report_run', None,
                    'Instead: report θ-updates per hour and the peak device '
                    'memory of this finished meta-training run directory.')
flags.DEFINE_string('report_datasets', None,
                    'With --report_run: the datasets it meta-trained on.')
flags.DEFINE_string('output_json', None, 'Write the results here.')

FLAGS = flags.FLAGS

# Spec §10: ~200k θ updates in ~200 hours of meta-training.
PAPER_UPDATES_PER_SECOND = 200_000 / (200 * 3600)


def _events(summary_dir, tag):
  """``{step: (wall time, value)}`` of the scalar ``tag`` in a run."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  found = {}
  for name in sorted(os.listdir(summary_dir)):
    if not name.startswith('events.out.tfevents'):
      continue
    for event in tf.compat.v1.train.summary_iterator(
        os.path.join(summary_dir, name)):
      for value in event.summary.value:
        if value.tag == tag:
          found[event.step] = (event.wall_time, float(
              tf.make_ndarray(value.tensor)))
  return found


def updates_per_hour(summary_dir, warmup_steps):
  """θ updates per hour from the wall times of the ``meta_loss`` events."""
  times = {step: wall for step, (wall, _) in _events(
      summary_dir, 'meta_loss').items()}
  steps = sorted(times)
  if len(steps) <= warmup_steps + 1:
    raise RuntimeError(f'Only {len(steps)} updates were logged in '
                       f'{summary_dir}.')
  first, last = steps[warmup_steps], steps[-1]
  return 3600.0 * (last - first) / (times[last] - times[first])


def run_meta_training(execution, root_dir):
  """Runs (a), (b) or (c) into ``root_dir``; returns θ updates per hour."""
  flags_ = [f'--root_dir={root_dir}', f'--gin_file={FLAGS.gin_file}',
            f'--num_steps={FLAGS.num_steps}', '--filters_every_steps=0',
            f'--checkpoint_every_steps={FLAGS.num_steps}',
            f'--export_every_steps={FLAGS.num_steps}']
  if execution == 'sequential':
    command = ['bin/meta_train.py', '--nobatch_tasks', *flags_]
  elif execution == 'batched':
    command = ['bin/meta_train.py', '--batch_tasks', *flags_]
  else:
    command = ['bin/launch_local_cluster.py', '--workers=2', '--ps=1', '--',
               '--worker_intra_op_threads=1', *flags_]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  env.pop('TF_CONFIG', None)
  started = time.monotonic()
  result = subprocess.run([sys.executable, *command], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False)
  if result.returncode:
    raise RuntimeError(f'{execution} failed:\n{result.stderr[-3000:]}')
  rate = updates_per_hour(run_dirs.path(root_dir, run_dirs.SUMMARIES),
                          FLAGS.warmup_steps)
  print(f'{execution}: {rate:,.0f} θ-updates/hour '
        f'({time.monotonic() - started:.0f} s with start-up)', flush=True)
  return rate


def coordinator_ceiling(num_workers=8, tasks_per_update=4):
  """θ updates per second of the chief's loop with a trivial task."""
  import collections  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from learned_rule.cluster import servers  # pylint: disable=g-import-not-at-top
  resolver = servers.start_in_process_cluster(num_workers, num_ps=1)
  strategy = tf.distribute.experimental.ParameterServerStrategy(resolver)
  coordinator = tf.distribute.experimental.coordinator.ClusterCoordinator(
      strategy)
  with strategy.scope():
    theta = tf.Variable(tf.zeros([1000]), name='theta')
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build([theta])

  @tf.function
  def task_gradient(target):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(tf.square(theta - target))
    return tape.gradient(loss, theta)

  @tf.function
  def apply(gradients):
    optimizer.apply([tf.add_n(gradients) / len(gradients)], [theta])

  pending = collections.deque()

  def schedule():
    pending.append(coordinator.schedule(
        task_gradient, args=(tf.random.normal([1000]),)))

  for _ in range(2 * num_workers):
    schedule()
  for _ in range(10):  # Warm-up: traces and connections.
    apply([tf.constant(pending.popleft().fetch()) for _ in range(
        tasks_per_update)])
    for _ in range(tasks_per_update):
      schedule()
  started = time.monotonic()
  for _ in range(FLAGS.coordinator_updates):
    apply([tf.constant(pending.popleft().fetch()) for _ in range(
        tasks_per_update)])
    for _ in range(tasks_per_update):
      schedule()
  rate = FLAGS.coordinator_updates / (time.monotonic() - started)
  print(f'coordinator: {rate:.1f} θ-updates/s with {num_workers} workers '
        f'({rate / PAPER_UPDATES_PER_SECOND:.0f}× the paper\'s pace)',
        flush=True)
  return rate


def in_process():
  """(e): sequential against batched with 1 and 2 shards, one process."""
  from learned_rule import configuration  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import held_out  # pylint: disable=g-import-not-at-top,unused-import
  from learned_rule.training import loop  # pylint: disable=g-import-not-at-top,unused-import
  from benchmarks.meta_train_throughput_lib import batched  # pylint: disable=g-import-not-at-top
  configuration.parse_gin([FLAGS.gin_file], [])
  found = batched.compare(
      steps=FLAGS.in_process_steps, warmup=2, rounds=4,
      settings={'batched_1_shard': {'shards': 1},
                'batched_2_shards': {'shards': 2}})
  for name, ratio in found['ratio'].items():
    print(f'in process: {name} / sequential: {ratio:.2f}×', flush=True)
  return found


def report_run(run_dir):
  """θ-updates per hour and peak device memory of a finished run."""
  summaries = run_dirs.path(run_dir, run_dirs.SUMMARIES)
  peaks = _events(summaries, 'device/peak_memory_bytes')
  results = {'run_dir': run_dir, 'datasets': FLAGS.report_datasets,
             'updates': max(_events(summaries, 'meta_loss'), default=0),
             'updates_per_hour': updates_per_hour(summaries,
                                                  FLAGS.warmup_steps),
             'peak_device_memory_bytes': max(
                 (value for _, value in peaks.values()), default=None)}
  print(json.dumps(results, indent=1))
  return results


def main(argv):
  del argv
  if FLAGS.report_run:
    results = report_run(FLAGS.report_run)
    if FLAGS.output_json:
      with open(FLAGS.output_json, 'w', encoding='utf-8') as stream:
        json.dump(results, stream, indent=1)
    return
  results = {**package_info.provenance(),
             'gin_file': FLAGS.gin_file, 'cpu_count': os.cpu_count()}
  if set(FLAGS.executions) & {'sequential', 'batched', 'cluster'}:
    results.update(num_steps=FLAGS.num_steps,
                   warmup_steps=FLAGS.warmup_steps)
  with tempfile.TemporaryDirectory() as scratch:
    for execution in FLAGS.executions:
      if execution == 'in_process':
        results['in_process'] = in_process()
      elif execution == 'coordinator':
        per_second = coordinator_ceiling()
        results['coordinator_updates_per_second'] = per_second
        results['coordinator_vs_paper_pace'] = (
            per_second / PAPER_UPDATES_PER_SECOND)
      else:
        results[f'{execution}_updates_per_hour'] = run_meta_training(
            execution, os.path.join(scratch, execution))
  for name, baseline in report.RATIOS:
    if (f'{name}_updates_per_hour' in results and
        f'{baseline}_updates_per_hour' in results):
      ratio = (results[f'{name}_updates_per_hour'] /
               results[f'{baseline}_updates_per_hour'])
      results[f'{name}_vs_{baseline}'] = ratio
      print(f'{name} / {baseline}: {ratio:.2f}×')
  if FLAGS.output_json:
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output_json)),
                exist_ok=True)
    with open(FLAGS.output_json, 'w', encoding='utf-8') as stream:
      json.dump(results, stream, indent=1)
    table = report_files.write_markdown(FLAGS.output_json, report.format_report)
    print(f'Wrote {FLAGS.output_json} and {table}')


if __name__ == '__main__':
  app.run(main)
