r"""Meta-trains a learned rule with truncated backprop through time.

Science goes in gin (``RuleConfig``, ``TaskDistribution``, ``MetaTrainer``,
``meta_optimizer``, ``train.num_steps``, ``HeldOutEvaluation``); execution
in flags (run directory, seed, intervals, budgets). Example:

  learned-rule-meta-train --root_dir=/tmp/run --gin_file=meta_train/cpu.gin \
      --num_steps=300 --evaluate_every_steps=100

A run directory is resumed automatically from its newest complete
checkpoint. One run at a time: a second run on a live run's directory is
refused at start (learned_rule/storage/run_lock.py). SIGTERM or Ctrl-C checkpoints
after the θ update in flight and exits with status 75 (a second one stops
at once).

``--strategy=parameter_server`` reads the cluster from TF_CONFIG, as
TensorFlow documents it: the chief trains, workers and parameter servers
serve (every process runs this same command;
learned-rule-launch-local-cluster starts them all on this machine).
"""

import sys

from absl import app
from absl import flags
from absl import logging

from learned_rule.cli import startup

flags.DEFINE_string('root_dir', None, 'Run directory (created or resumed).')
flags.DEFINE_multi_string('gin_file', [], 'Gin files.')
flags.DEFINE_multi_string('gin_bindings', [], 'Gin bindings.')
flags.DEFINE_integer('num_steps', None, 'Total θ updates of the run; '
                     'default: `train.num_steps` of the gin config.',
                     lower_bound=0)
flags.DEFINE_integer('checkpoint_every_steps', 50, 'Checkpoint interval.',
                     lower_bound=1)
flags.DEFINE_float('checkpoint_every_minutes', 10.0,
                   'Checkpoint interval in minutes (whichever comes first).')
flags.DEFINE_integer('keep_checkpoints', 3, 'Complete checkpoints kept.',
                     lower_bound=1)
flags.DEFINE_integer('export_every_steps', 100, 'SavedModel interval.',
                     lower_bound=1)
flags.DEFINE_integer('summary_every_steps', 1, 'TensorBoard scalar interval.',
                     lower_bound=1)
flags.DEFINE_integer('filters_every_steps', 50,
                     'First-layer filter image interval; 0: never.',
                     lower_bound=0)
flags.DEFINE_integer('evaluate_every_steps', 0,
                     'Held-out evaluation interval (HeldOutEvaluation in '
                     'gin); 0: never.', lower_bound=0)
flags.DEFINE_float('max_minutes', None,
                   'Wall-clock budget: checkpoint, export and stop when spent.')
flags.DEFINE_float('max_cpu_minutes', None,
                   'Budget of the whole run in process CPU time, summed '
                   'over every call that resumed it: checkpoint, export and '
                   'stop when spent. Runs compared at equal compute on a '
                   'shared machine get equal budgets of this.')
flags.DEFINE_string('start_from', None,
                    'A new run starts from this rule\'s θ (a shipped rule\'s '
                    'name, an exported rule or a run directory) instead of '
                    'θ-init; its θ-init stays the baseline. A resumed run '
                    'takes θ and the start it records from its checkpoint '
                    '(give the flag again only for checkpoints of version '
                    '0.1.0, which record none).')
flags.DEFINE_integer('seed', 0, 'Seeds θ-init and the task sampling.')
flags.DEFINE_enum('strategy', 'local',
                  ['local', 'mirrored', 'parameter_server'],
                  'Where θ updates are computed: this process, its devices '
                  '(MirroredStrategy), or a parameter-server cluster from '
                  'TF_CONFIG.')
flags.DEFINE_integer('worker_intra_op_threads', 0,
                     'With --strategy=parameter_server: threads of one op on '
                     'a worker or parameter server (1: single-thread workers '
                     'sharing a machine); 0: one per core.')
flags.DEFINE_bool('xla_gradient', False,
                  'Compile the meta-gradient with XLA (for accelerators; '
                  'slower and long to compile on a CPU).')
flags.DEFINE_integer('logical_cpu_devices', 0,
                     'Split the CPU into this many logical devices (for '
                     '--strategy=mirrored on a machine without GPUs); 0: '
                     'as TensorFlow finds it.')
flags.DEFINE_bool('batch_tasks', True,
                  'Compute the tasks in flight of one architecture as one '
                  'batched computation (else one after another).')
flags.DEFINE_bool('xla_step', True,
                  'With --batch_tasks: compile each batched inner step with '
                  'XLA. Faster on a CPU once compiled (tens of seconds at '
                  'start); turn it off for runs of a few steps.')
flags.DEFINE_integer('task_shards', 0,
                     'With --batch_tasks: split the tasks of one batched '
                     'computation into this many concurrent ones (the cores '
                     'of a CPU work on them in parallel); 0: one per CPU '
                     'core with --xla_step, else 1, and 1 on a GPU or TPU.',
                     lower_bound=0)
flags.DEFINE_bool('deterministic', False,
                  'Deterministic TF ops, so that a resumed run ends with the '
                  'same θ as an uninterrupted one.')
flags.mark_flag_as_required('root_dir')
for _name in ('checkpoint_every_minutes', 'max_minutes', 'max_cpu_minutes'):
  # Checked as the flags are parsed, before TensorFlow loads or the run
  # directory is made.
  flags.register_validator(
      _name, lambda minutes: minutes is None or minutes > 0,
      message='must be a number of minutes > 0.')
flags.register_validator(
    'worker_intra_op_threads', lambda threads: threads >= 0,
    message='must be >= 0 (0: one per core).')
flags.register_validator(
    'logical_cpu_devices', lambda devices: devices >= 0,
    message='must be >= 0 (0: as TensorFlow finds it).')

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  # Imported here so that --help answers without loading TensorFlow.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if FLAGS.logical_cpu_devices:  # Before anything initialises TensorFlow.
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices('CPU')[0],
        [tf.config.LogicalDeviceConfiguration()] * FLAGS.logical_cpu_devices)
  from learned_rule import configuration  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import held_out  # pylint: disable=g-import-not-at-top
  from learned_rule import rules  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import rule_source  # pylint: disable=g-import-not-at-top
  from learned_rule.training import checkpoints  # pylint: disable=g-import-not-at-top
  from learned_rule.training import loop  # pylint: disable=g-import-not-at-top
  from learned_rule.storage import run_dirs  # pylint: disable=g-import-not-at-top
  from learned_rule.storage import run_lock  # pylint: disable=g-import-not-at-top
  from learned_rule.training import schedule  # pylint: disable=g-import-not-at-top
  from learned_rule.training import stop_request  # pylint: disable=g-import-not-at-top
  from learned_rule.training import warm_start  # pylint: disable=g-import-not-at-top

  if FLAGS.strategy == 'parameter_server':
    from learned_rule.cluster import servers  # pylint: disable=g-import-not-at-top
    # A worker or parameter server serves until it is stopped.
    if servers.serve_if_not_chief(
        intra_op_threads=FLAGS.worker_intra_op_threads):
      return
  if FLAGS.deterministic:
    tf.config.experimental.enable_op_determinism()
  try:
    configuration.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    run_dirs.check_directory(FLAGS.root_dir, '--root_dir')
    checkpoints.check_writable(FLAGS.root_dir)
    run_lock.hold(FLAGS.root_dir, 'meta-training run')
    run_schedule = schedule.Schedule(
        checkpoint_every_steps=FLAGS.checkpoint_every_steps,
        checkpoint_every_minutes=FLAGS.checkpoint_every_minutes,
        keep_checkpoints=FLAGS.keep_checkpoints,
        export_every_steps=FLAGS.export_every_steps,
        summary_every_steps=FLAGS.summary_every_steps,
        filters_every_steps=FLAGS.filters_every_steps,
        evaluate_every_steps=FLAGS.evaluate_every_steps,
        max_minutes=FLAGS.max_minutes,
        max_cpu_minutes=FLAGS.max_cpu_minutes)
    # Built before training starts, so that the recorded config holds it
    # and, when it is to run, a missing held-out dataset fails now.
    held_out_evaluation = held_out.HeldOutEvaluation()
    evaluation = (held_out.TrainingCallback(held_out_evaluation)
                  if FLAGS.evaluate_every_steps else None)
    # The provenance names the rule as given (a shipped rule's name, say),
    # not the directory it resolves to on this machine.
    start_from = (None if FLAGS.start_from is None else
                  warm_start.from_source(
                      rule_source.load(rules.resolve(FLAGS.start_from)),
                      path=FLAGS.start_from))
  except (ValueError, run_lock.RunDirectoryBusy) as error:
    # export.RuleLoadError is a ValueError.
    raise app.UsageError(str(error)) from error
  logging.info('Meta-training in %s, seed %d.', FLAGS.root_dir, FLAGS.seed)
  stop = stop_request.StopRequest().install()
  steps = {} if FLAGS.num_steps is None else {'num_steps': FLAGS.num_steps}
  try:
    loop.train(FLAGS.root_dir, seed=FLAGS.seed, schedule=run_schedule,
               evaluation=evaluation, strategy=FLAGS.strategy,
               batch_tasks=FLAGS.batch_tasks, xla_step=FLAGS.xla_step,
               task_shards=FLAGS.task_shards or None,
               xla_gradient=FLAGS.xla_gradient, start_from=start_from,
               stop=stop, **steps)
  except stop_request.Stopped as stopped:
    print(stopped, file=sys.stderr)
    sys.exit(stop_request.EXIT_CODE)
  except (ValueError, RuntimeError) as error:
    raise app.UsageError(str(error)) from error


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
