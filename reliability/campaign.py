r"""The reliability campaign: kills, full disks and bad input, measured.

What a researcher meets who leaves meta-training running for days on
preemptible machines, done on purpose and counted (``make chaos``; not a
test, it takes about 20 minutes on 2 cores):

  1. kills: SIGKILLs of ``bin/meta_train.py`` at random moments and while a
     checkpoint or an export is being written, on a deterministic
     ``tiny.gin`` run (its final θ compared bit for bit with an
     uninterrupted run's), on ``cpu.gin``, and of the chief and the
     workers of a local parameter-server cluster; after each, every
     checkpoint and export must read back and the restart must resume
     (``reliability/kills.py``);
  2. evaluation: the transfer and ablation binaries killed after random
     cells; their restarts must keep the finished cells untouched
     (``reliability/evaluation_kills.py``);
  3. two runs on one run directory: a second meta-training or transfer
     run on a live one's directory must be refused at start, and the
     first must finish (``reliability/concurrent_runs.py``);
  4. full disk: the disk fills during a checkpoint, an export and a
     results write (a small tmpfs where we may mount, injected ENOSPC
     elsewhere; ``reliability/full_disk.py``);
  5. bad input: the table of ``reliability/bad_inputs.py``, each case through
     a real binary or the public API with a 60 s timeout.

Writes the results as JSON and the README's table as Markdown, and prints
the table. Example:

  python -m reliability.campaign \
      --output_json=results/reliability/chaos.json \
      --output_markdown=results/reliability/chaos.md
"""

import dataclasses
import datetime
import json
import os
import random
import shutil
import tempfile
import time

from absl import app
from absl import flags

# pylint: disable=g-import-not-at-top,wrong-import-position
from learned_rule.cli import startup
startup.quiet_tensorflow()  # Without TensorFlow's start-up lines.
from reliability import bad_inputs
from reliability import concurrent_runs
from reliability import evaluation_kills
from reliability import full_disk
from reliability import kills
from reliability import processes
from reliability import report
from learned_rule.storage import atomic_files
from learned_rule import package_info
# pylint: enable=g-import-not-at-top,wrong-import-position

PARTS = ('kills', 'evaluation', 'concurrent', 'full_disk', 'bad_inputs')
flags.DEFINE_list('parts', list(PARTS), 'What to run, of: '
                  + ', '.join(PARTS) + '.')
flags.register_validator('parts', lambda parts: set(parts) <= set(PARTS),
                         f'--parts takes names from {", ".join(PARTS)}.')
flags.DEFINE_string('work_dir', None, 'Where the runs go (default: a new '
                    'temporary directory, removed at the end unless '
                    '--keep_work_dir).')
flags.DEFINE_bool('keep_work_dir', False, 'Keep the runs and their logs.')
flags.DEFINE_integer('seed', 0, 'Seeds the kill moments.')
flags.DEFINE_integer('tiny_kills', 14, 'Kills of the deterministic tiny.gin '
                     'run.', lower_bound=0)
flags.DEFINE_integer('tiny_steps', 100, 'θ updates of the tiny.gin run '
                     '(enough that it outlives its kills).')
flags.DEFINE_integer('cpu_kills', 2, 'Kills of a cpu.gin run.', lower_bound=0)
flags.DEFINE_list('cluster_kills', ['chief', 'worker', 'chief', 'worker'],
                  'The cluster process killed in each cluster life.')
flags.DEFINE_integer('evaluation_kills', 2, 'Kills of each evaluation.',
                     lower_bound=0)
flags.DEFINE_integer('bad_input_timeout', 60, 'Seconds per bad input.')
flags.DEFINE_string('output_json', None, 'Results as JSON.')
flags.DEFINE_string('output_markdown', None, 'The table as Markdown.')

FLAGS = flags.FLAGS


def _log(message):
  print(message, flush=True)


def _kills(work_dir, rng):
  campaigns = []
  if FLAGS.tiny_kills:
    _log(f'kills: deterministic tiny.gin, {FLAGS.tiny_kills} lives')
    deterministic = kills.deterministic_campaign(
        work_dir, FLAGS.tiny_kills, FLAGS.tiny_steps, rng, _log)
    campaigns.append(deterministic)
  if FLAGS.cpu_kills:
    _log(f'kills: cpu.gin, {FLAGS.cpu_kills} lives')
    campaigns.append(kills.plain_campaign(
        work_dir, 'cpu', kills.CPU_FLAGS, FLAGS.cpu_kills, 1000, rng, _log))
  if FLAGS.cluster_kills:
    _log(f'kills: parameter-server cluster, {FLAGS.cluster_kills}')
    campaigns.append(kills.cluster_campaign(
        work_dir, FLAGS.cluster_kills, rng, _log))
  found = kills.summarize(campaigns)
  if FLAGS.tiny_kills:
    found['tiny_kills'] = sum(life.killed
                              for life in deterministic['lives'])
    found['theta_bit_equal'] = deterministic['theta_bit_equal']
    found['rule'] = deterministic['reference']
  return found


def _rule_for_evaluation(work_dir, found):
  """The tiny.gin rule the evaluations use: the kills' reference run, or
  one of a few θ updates trained here."""
  if found.get('kills', {}).get('rule'):
    return found['kills']['rule']
  rule = os.path.join(work_dir, 'tiny-rule')
  status, _ = processes.run(
      processes.command('meta_train', f'--root_dir={rule}',
                        '--num_steps=2', *kills.TINY_FLAGS),
      os.path.join(work_dir, 'logs', 'tiny-rule.log'), 900)
  if status != 0:
    raise RuntimeError(f'Training the evaluations\' rule failed; see '
                       f'{work_dir}/logs/tiny-rule.log')
  return rule


def _bad_inputs(work_dir):
  directory = os.path.join(work_dir, 'bad_inputs')
  os.makedirs(directory, exist_ok=True)
  results = bad_inputs.run_cases(directory, timeout=FLAGS.bad_input_timeout,
                                 log=_log)
  return {**bad_inputs.summary(results), 'cases': results}


def campaign(work_dir):
  """Runs the parts of ``--parts``; returns the results dict."""
  rng = random.Random(FLAGS.seed)
  os.makedirs(os.path.join(work_dir, 'logs'), exist_ok=True)
  started = time.monotonic()
  found = {}
  if 'kills' in FLAGS.parts:
    found['kills'] = _kills(work_dir, rng)
  if {'evaluation', 'concurrent', 'full_disk'} & set(FLAGS.parts):
    rule = _rule_for_evaluation(work_dir, found)
  if 'evaluation' in FLAGS.parts:
    found['evaluations'] = []
    for evaluation in evaluation_kills.EVALUATIONS:
      _log(f'evaluation kills: {evaluation}')
      found['evaluations'].append(evaluation_kills.kill_evaluation(
          work_dir, evaluation, rule, FLAGS.evaluation_kills, rng, _log))
  if 'concurrent' in FLAGS.parts:
    _log('two runs on one run directory')
    found['concurrent'] = concurrent_runs.campaign(work_dir, rule, _log)
  if 'full_disk' in FLAGS.parts:
    _log('full disk')
    found['full_disk'] = full_disk.campaign(work_dir, rule, _log)
  if 'bad_inputs' in FLAGS.parts:
    _log('bad inputs')
    found['bad_inputs'] = _bad_inputs(work_dir)
  found.update(
      wall_minutes=(time.monotonic() - started) / 60,
      git_revision=package_info.git_revision(),
      machine=f'{os.cpu_count()} cores',
      date=datetime.date.today().isoformat(), parts=FLAGS.parts,
      seed=FLAGS.seed)
  return found


def _default(value):
  if dataclasses.is_dataclass(value):
    return dataclasses.asdict(value)
  return str(value)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  work_dir = FLAGS.work_dir or tempfile.mkdtemp(prefix='chaos_')
  _log(f'Runs and logs in {work_dir}.')
  try:
    found = campaign(work_dir)
  finally:
    if not FLAGS.keep_work_dir and not FLAGS.work_dir:
      shutil.rmtree(work_dir, ignore_errors=True)
  table = report.markdown(found)
  print(table)
  if FLAGS.output_json:
    atomic_files.write_json(FLAGS.output_json, found, indent=1,
                            default=_default)
  if FLAGS.output_markdown:
    atomic_files.write_text(FLAGS.output_markdown, table)


if __name__ == '__main__':
  app.run(main)
