r"""Meta-training recipes compared at equal CPU time, run and reported.

Every recipe (a gin file; ``meta_train/recipes/`` holds the shipped ones)
meta-trains from the same start with the same ``--max_cpu_minutes``
budget; then the start and every run are measured by the paired
evaluation on the same seeds and datasets, and the table of gains over the
start is written (``learned_rule/reporting/recipe_comparison.py``). Jobs
run ``--lanes`` at a time, each a process of its own. Everything resumes:
a finished run stops at once ("its budget is spent"), a finished
evaluation file is kept, so running the same command again after a crash
or a stop goes on where it was. Example, the comparison of docs/recipes.md:

  learned-rule-run-recipes --root_dir=runs/recipes \
      --output_dir=results/recipes --cpu_minutes=20 --seeds=0
"""

import json
import os
import subprocess
import sys
import time

from absl import app
from absl import flags
from absl import logging

from learned_rule.cli import startup

RECIPES = ('cpu_long', 'more_tasks', 'long_truncations', 'pes',
           'architectures')
# Held-out datasets of the comparison: digits (never meta-trained on) and
# Fashion-MNIST's test split, at 14×14 (meta-training sees its training
# split at 8×8). Ranked on the first.
DATASETS = ('digits', 'tiny_fashion_mnist')
# Seeds of the paired evaluation: apart from the transfer evaluation's
# (0–4), so that no choice is made on the seeds that report a rule.
EVALUATION_SEEDS = tuple(range(100, 108))

flags.DEFINE_string('root_dir', None, 'Directory of the runs and their '
                    'evaluations (created or resumed).')
flags.DEFINE_string('output_dir', None, 'Where results.json and results.md '
                    'go, with the paired-evaluation files they come from.')
flags.DEFINE_list('recipes', list(RECIPES), 'Recipes: names of gin files '
                  'in meta_train/recipes/.')
flags.DEFINE_list('seeds', ['0'], 'Meta-training seeds of every recipe.')
flags.DEFINE_float('cpu_minutes', 20.0, 'Process CPU minutes of every '
                   'meta-training run.', lower_bound=0.1)
flags.DEFINE_string('start_from', 'cpu_160min', 'The shared start: a '
                    'shipped rule, an export or a run directory.')
flags.DEFINE_integer('lanes', 2, 'Jobs at a time.', lower_bound=1)
STAGES = ('train', 'evaluate', 'report')
flags.DEFINE_multi_enum('stages', list(STAGES), STAGES,
                        'The stages to run, in this order (e.g. '
                        '--stages=report writes the table from the '
                        'evaluations made so far).')
flags.mark_flags_as_required(['root_dir', 'output_dir'])

FLAGS = flags.FLAGS
BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'bin')


def _python_binary(name):
  """The command that runs binary ``name`` from this checkout or install."""
  script = os.path.join(BIN, f'{name}.py')
  if os.path.exists(script):
    return [sys.executable, script]
  return [sys.executable, '-m', f'learned_rule.cli.{name}']


def run_dir(recipe, seed):
  return os.path.join(FLAGS.root_dir, recipe, f'seed{seed}')


def paired_file(name, dataset):
  return os.path.join(FLAGS.output_dir, 'paired', f'{name}.{dataset}.json')


def train_arguments(recipe, seed):
  """The flags of ``recipe``'s meta-training run with ``seed``."""
  return [
      f'--root_dir={run_dir(recipe, seed)}',
      f'--gin_file=meta_train/recipes/{recipe}.gin',
      f'--start_from={FLAGS.start_from}', f'--seed={seed}',
      f'--max_cpu_minutes={FLAGS.cpu_minutes:g}',
      '--checkpoint_every_steps=25', '--export_every_steps=25',
      '--filters_every_steps=0']


def evaluate_arguments(rule, dataset, output):
  """The flags of the paired evaluation of ``rule`` on ``dataset``."""
  seeds = ', '.join(map(str, EVALUATION_SEEDS))
  return [
      f'--rule={rule}', '--gin_file=held_out/cpu.gin',
      f"--gin_bindings=HeldOutEvaluation.dataset = '{dataset}'",
      f'--gin_bindings=HeldOutEvaluation.seeds = ({seeds},)',
      # Every run shares the start's θ-init: measured once is enough.
      '--gin_bindings=HeldOutEvaluation.with_theta_init = False',
      f'--output_json={output}']


def run_jobs(jobs, lanes):
  """Runs ``(name, command, log)`` jobs, ``lanes`` at a time.

  Raises:
    RuntimeError: A job failed (the others still finish).
  """
  pending, running, failed = list(jobs), [], []
  while pending or running:
    while pending and len(running) < lanes:
      name, command, log = pending.pop(0)
      os.makedirs(os.path.dirname(log), exist_ok=True)
      logging.info('start %s: %s', name, ' '.join(command))
      handle = open(log, 'a')  # pylint: disable=consider-using-with
      running.append((name, subprocess.Popen(
          command, stdout=handle, stderr=subprocess.STDOUT), handle))
    time.sleep(5)
    for entry in list(running):
      name, process, handle = entry
      if process.poll() is None:
        continue
      handle.close()
      running.remove(entry)
      logging.info('%s ended with status %d', name, process.returncode)
      if process.returncode:
        failed.append(name)
  if failed:
    raise RuntimeError(f'Jobs failed: {", ".join(failed)} (logs in '
                       f'{FLAGS.root_dir}/logs).')


def _log(name):
  return os.path.join(FLAGS.root_dir, 'logs', f'{name}.log')


def runs():
  return [(recipe, int(seed)) for recipe in FLAGS.recipes
          for seed in FLAGS.seeds]


def train():
  run_jobs([(f'train {recipe} seed {seed}',
             _python_binary('meta_train') + train_arguments(recipe, seed),
             _log(f'{recipe}.seed{seed}.train')) for recipe, seed in runs()],
           FLAGS.lanes)


def evaluate():
  targets = [('start', FLAGS.start_from)] + [
      (f'{recipe}.seed{seed}', run_dir(recipe, seed))
      for recipe, seed in runs()]
  run_jobs([(f'evaluate {name} on {dataset}',
             _python_binary('paired_eval') + evaluate_arguments(
                 rule, dataset, paired_file(name, dataset)),
             _log(f'{name}.{dataset}.evaluate'))
            for name, rule in targets for dataset in DATASETS
            if not os.path.exists(paired_file(name, dataset))],
           FLAGS.lanes)


def _read(path):
  with open(path) as handle:
    return json.load(handle)


def report():
  """Writes results.json and results.md from every run evaluated so far."""
  # pylint: disable=g-import-not-at-top
  from learned_rule import console_scripts
  from learned_rule import package_info
  from learned_rule.storage import atomic_files
  from learned_rule.reporting import recipe_comparison
  # pylint: enable=g-import-not-at-top
  missing = [paired_file('start', d) for d in DATASETS
             if not os.path.exists(paired_file('start', d))]
  if missing:
    raise ValueError(f'No paired evaluation of the start: {missing[0]} is '
                     f'missing; run --stages=evaluate first.')
  start = {'rule': FLAGS.start_from, 'paired': {
      dataset: _read(paired_file('start', dataset)) for dataset in DATASETS}}
  found = []
  for recipe in RECIPES + tuple(r for r in FLAGS.recipes
                                if r not in RECIPES):
    for seed in range(10):
      name = f'{recipe}.seed{seed}'
      if not all(os.path.exists(paired_file(name, d)) for d in DATASETS):
        continue
      paired = {d: _read(paired_file(name, d)) for d in DATASETS}
      first = paired[DATASETS[0]]
      found.append({'recipe': recipe, 'seed': seed,
                    'updates': first['rule_step'],
                    'cpu_minutes': (first['rule_cpu_seconds'] or 0) / 60,
                    'paired': paired})
  rows = recipe_comparison.compare(found, start, DATASETS)
  meta_train = console_scripts.command('meta_train')
  commands = {f'{run["recipe"]} seed {run["seed"]}': ' '.join(
      [meta_train] + train_arguments(run['recipe'], run['seed']))
              for run in found}
  result = {
      **package_info.provenance(),
      'start_from': FLAGS.start_from, 'datasets': list(DATASETS),
      'evaluation_seeds': list(EVALUATION_SEEDS),
      'evaluation': ' '.join(
          [console_scripts.command('paired_eval')] +
          evaluate_arguments('RULE', 'DATASET', 'OUT')),
      'train_commands': commands, 'rows': rows}
  atomic_files.write_json(os.path.join(FLAGS.output_dir, 'results.json'),
                          result, indent=1)
  atomic_files.write_text(os.path.join(FLAGS.output_dir, 'results.md'),
                          recipe_comparison.markdown(rows, DATASETS))
  print(recipe_comparison.markdown(rows, DATASETS))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  os.makedirs(FLAGS.root_dir, exist_ok=True)
  for stage in (train, evaluate, report):
    if stage.__name__ in FLAGS.stages:
      try:
        stage()
      except ValueError as error:  # Files that do not fit: bad input.
        raise app.UsageError(str(error)) from error


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
