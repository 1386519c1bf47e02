"""The meta-training run: θ updates and what happens around them.

``train`` builds the rule, the task distribution and the
:class:`MetaTrainer` from gin, resumes from the newest complete checkpoint
in ``ROOT_DIR/ckpt`` if there is one, then repeats
:meth:`MetaTrainer.train_step`. Around the steps, periodic triggers (a
:class:`schedule.Schedule`, set from flags) write TensorBoard summaries and
filter images, run the held-out evaluation that the caller passes in,
checkpoint the trainer and export θ as a SavedModel. θ-init is exported
once to ``ROOT_DIR/export_init``, the baseline of paired evaluations.

Training knows nothing of evaluation: a binary builds it and hands it over
as ``evaluation``, a callable ``(rule, init_rule) → {tag: value}`` (see
``evaluation/held_out.py``).

Where the θ updates are computed (this process, several devices, a
parameter-server cluster) is the ``strategy`` (``training/strategies.py``);
everything else is the same for all of them.
"""

import time

from absl import logging
import gin
import keras

from learned_rule import export
from learned_rule.unroll import inner_loop as inner_loop_lib
from learned_rule import progress as progress_lib
from learned_rule.model import resources
from learned_rule.storage import run_dirs
from learned_rule.tasks import distribution as task_distribution_lib
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib
from learned_rule.training import checkpoints
from learned_rule.training import meta_trainer as meta_trainer_lib
from learned_rule.training import provenance
from learned_rule.training import schedule as schedule_lib
from learned_rule.training import stop_request
from learned_rule.training import strategies
from learned_rule.training import summaries

# Ours: the length of a run whose config does not say (`train.num_steps`).
DEFAULT_NUM_STEPS = 1000


def _assign(target, source):
  """Sets ``target``'s θ to ``source``'s, tensor by tensor."""
  for to, value in zip(target.trainable_variables, source.trainable_variables):
    to.assign(value)


def _copy_of(rule):
  """A second rule of ``rule``'s configuration holding its current θ."""
  copy = rule_lib.UnsupervisedUpdate(rule.config)
  _assign(copy, rule)
  return copy


class _Run:
  """The actions of one ``train`` call, each run by a trigger."""

  def __init__(self, root_dir, trainer, init_rule, seed, evaluation, log,
               started_from=None):
    self.root_dir = root_dir
    self.trainer = trainer
    self.init_rule = init_rule
    self.seed = seed
    self.evaluation = evaluation
    self.log = log
    distribution = trainer.distribution
    self.training_range = provenance.meta_training_range(
        distribution, trainer.rule.config)
    self.depths = provenance.export_depths(distribution)
    self.started_from = started_from
    self.manager = None
    self.writer = None
    self.outcome = {}
    self.saved_step = None

  def export(self, rule, name, step):
    # A local copy: θ may live on parameter servers or be mirrored. θ-init
    # had no updates, so only trained θ records where it started from.
    initial = name == run_dirs.EXPORT_INIT
    path = export.export_rule(
        _copy_of(rule), run_dirs.path(self.root_dir, name),
        depths=self.depths,
        metadata=provenance.export_metadata(
            step, self.seed, self.training_range,
            started_from=None if initial else self.started_from,
            cpu_seconds=0.0 if initial else self.trainer.cpu_seconds))
    self.log(f'step {step}: exported θ to {path}')

  def export_theta(self, step):
    self.export(self.trainer.rule, run_dirs.EXPORT, step)

  def checkpoint(self, step):
    del step  # The trainer's own.
    self.trainer.save(self.manager)
    self.saved_step = self.trainer.step

  def summaries(self, step):
    outcome = dict(self.outcome)
    by_dataset = outcome.pop('losses_by_dataset', [])
    peak = resources.peak_device_bytes()
    if peak is not None:  # On a GPU: its peak allocation so far.
      outcome['device/peak_memory_bytes'] = peak
    self.writer.scalars(step, outcome)
    for dataset, loss, accuracy in by_dataset:
      self.writer.scalars(step, {f'meta_loss/{dataset}': loss,
                                 f'few_shot_accuracy/{dataset}': accuracy})

  def filters(self, step):
    found = self.trainer.first_layer_filters()
    if found is not None:
      kernel, shape, permutation = found
      self.writer.filters(step, 'first_layer_filters', kernel, shape,
                          permutation=permutation)

  def evaluate(self, step):
    scalars = self.evaluation(_copy_of(self.trainer.rule), self.init_rule)
    self.writer.scalars(step, scalars)
    self.log(f'step {step}: held-out evaluation ' + ', '.join(
        f'{tag.split("/", 1)[1]} {value:.3f}'
        for tag, value in scalars.items()))


@gin.configurable(allowlist=['num_steps'])
def train(root_dir, num_steps=DEFAULT_NUM_STEPS, seed=0, schedule=None,
          evaluation=None, strategy='local', cluster_resolver=None,
          batch_tasks=True, xla_step=True, task_shards=None,
          xla_gradient=False, start_from=None, stop=None, log=logging.info):
  """Meta-trains a rule (gin: ``RuleConfig``, ``TaskDistribution``, ...).

  Args:
    root_dir: Run directory; created if needed, resumed if it holds
      checkpoints.
    num_steps: Total θ updates of the run (gin: ``train.num_steps``; a
      caller's value wins).
    seed: Seeds θ-init and the task sampling.
    schedule: A :class:`schedule.Schedule` (default: its defaults).
    evaluation: Optional callable ``(rule, init_rule) → {tag: value}``, run
      every ``schedule.evaluate_every_steps``; if it has ``check_fits``,
      that is called with the rule before any step.
    strategy: Where θ updates are computed, one of
      :data:`strategies.STRATEGIES`.
    cluster_resolver: For ``strategy='parameter_server'``: the cluster
      (default: TF_CONFIG).
    batch_tasks: Compute the tasks in flight of one architecture as one
      batched computation (``MetaTrainer.batch_tasks``).
    xla_step: With ``batch_tasks``, compile each batched step with XLA
      (``MetaTrainer.xla_step``).
    task_shards: With ``batch_tasks``, concurrent computations per group
      (``MetaTrainer.task_shards``; None: see there).
    xla_gradient: Compile the meta-gradient with XLA
      (``InnerLoop.jit_compile_gradient``; slower on a CPU, DESIGN §6).
    start_from: Optional :class:`warm_start.WarmStart`: a new run starts
      from its θ (fresh Adam slots) and keeps its θ-init as the baseline;
      a resumed run takes θ from its checkpoint as always.
    stop: Optional :class:`stop_request.StopRequest`: once it has a signal,
      the loop checkpoints after the update in flight and raises
      :class:`stop_request.Stopped`.
    log: Called with progress messages.

  Returns:
    The trained :class:`UnsupervisedUpdate`.
  """
  schedule = schedule or schedule_lib.Schedule()
  if num_steps < 0:
    raise ValueError(f'`num_steps` must be >= 0, got {num_steps}.')
  if schedule.evaluate_every_steps and evaluation is None:
    raise ValueError('`evaluate_every_steps` is set but no evaluation was '
                     'given.')
  deadline = schedule.deadline(time.monotonic())
  cpu_at_start = time.process_time()
  checkpoints.check_writable(root_dir)
  placement = strategies.make_strategy(strategy, cluster_resolver)
  keras.utils.set_random_seed(seed)
  with strategies.scope(placement):  # θ and, below, the optimizer's slots.
    rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
  if start_from is None:
    init_rule = _copy_of(rule)
  else:
    start_from.check_fits(rule.config)
    _assign(rule, start_from.rule)
    init_rule = _copy_of(start_from.init_rule)
  distribution = task_distribution_lib.TaskDistribution()
  for name in distribution.dataset_names:
    distribution.load_data(name)  # Fails now if a dataset is missing.
  with strategies.scope(placement):
    trainer = meta_trainer_lib.MetaTrainer(
        rule, distribution, seed=seed, batch_tasks=batch_tasks,
        xla_step=xla_step, task_shards=task_shards,
        inner_loop=inner_loop_lib.InnerLoop(
            rule, jit_compile_gradient=xla_gradient))
    if trainer.estimator != 'tbptt' and placement is not None:
      raise ValueError(
          f'MetaTrainer.estimator = {trainer.estimator!r} runs with '
          f'--strategy=local only; {strategy!r} computes truncated '
          'backprop gradients.')
    stepper = strategies.make_stepper(placement, trainer)
  if hasattr(evaluation, 'check_fits'):
    evaluation.check_fits(rule)
  trainer.started_from = (None if start_from is None else
                          start_from.provenance())
  manager = checkpoints.CheckpointManager(
      run_dirs.path(root_dir, run_dirs.CHECKPOINTS),
      keep=schedule.keep_checkpoints)
  resumed = trainer.restore(manager)
  # The run's CPU time: what earlier calls spent (restored) plus this one's
  # since it started, its start-up and compilation included.
  cpu_before = trainer.cpu_seconds
  init_path = run_dirs.path(root_dir, run_dirs.EXPORT_INIT)
  if resumed is not None and export.is_export(init_path):
    # The run's own θ-init, whatever this call was given: a run started
    # from another rule keeps that rule's θ-init, with or without
    # --start_from on the restart.
    init_rule, _ = export.load_rule(init_path, expected_config=rule.config)
  run = _Run(root_dir, trainer, init_rule, seed, evaluation, log,
             started_from=trainer.started_from)
  run.manager = manager
  if resumed is not None:
    log(f'Resumed from step {resumed} ({run.manager.latest()}).')
  elif start_from is not None:
    log(f'Started from θ at {start_from.path} '
        f'({start_from.updates_before} θ updates behind it).')
  run.writer = summaries.SummaryWriter(
      run_dirs.path(root_dir, run_dirs.SUMMARIES))
  # Every configurable has been built (the caller's evaluation too).
  summaries.write_operative_config(root_dir, run.writer, trainer.step)
  run.writer.settings({
      **run.training_range, 'seed': seed, 'strategy': strategy,
      'tasks_in_flight': trainer.tasks_in_flight,
      'started_from': start_from.path if start_from else None})
  if not export.is_export(run_dirs.path(root_dir, run_dirs.EXPORT_INIT)):
    run.export(init_rule, run_dirs.EXPORT_INIT, 0)
  triggers = [
      schedule_lib.Periodic(run.summaries, schedule.summary_every_steps),
      schedule_lib.Periodic(run.filters, schedule.filters_every_steps),
      schedule_lib.Periodic(run.evaluate, schedule.evaluate_every_steps),
      schedule_lib.Periodic(run.checkpoint, schedule.checkpoint_every_steps,
                            schedule.checkpoint_every_minutes, at_end=True),
      schedule_lib.Periodic(run.export_theta, schedule.export_every_steps,
                            at_end=True),
  ]
  bar = progress_lib.Progress(max(num_steps - trainer.step, 0),
                              'meta-training')
  while trainer.step < num_steps and not schedule.cpu_spent(cpu_before):
    started = time.monotonic()
    run.outcome = stepper.step()
    run.outcome['steps_per_second'] = 1.0 / (time.monotonic() - started)
    trainer.cpu_seconds = cpu_before + time.process_time() - cpu_at_start
    run.outcome['cpu_minutes'] = trainer.cpu_seconds / 60
    out_of_time = deadline is not None and time.monotonic() > deadline
    out_of_cpu = schedule.cpu_spent(trainer.cpu_seconds)
    last = out_of_time or out_of_cpu or trainer.step == num_steps
    for trigger in triggers:
      trigger(trainer.step, last)
    run.writer.flush()
    bar.update(1, {'loss': run.outcome['meta_loss']})
    if stop is not None and stop.signal is not None:
      if run.saved_step != trainer.step:
        run.checkpoint(trainer.step)
      run.writer.close()
      raise stop_request.Stopped(stop.signal_name, trainer.step)
    if out_of_time:
      log(f'step {trainer.step}: the {schedule.max_minutes:g}-minute budget '
          'is spent; stopping (run again to resume).')
      break
    if out_of_cpu:
      log(f'step {trainer.step}: the run\'s {schedule.max_cpu_minutes:g} '
          f'CPU-minute budget is spent ({trainer.cpu_seconds / 60:.1f}); '
          'stopping.')
      break
  if resumed is not None and resumed >= num_steps:
    log(f'Nothing to do: the run is at step {resumed} of {num_steps}.')
  elif resumed is not None and schedule.cpu_spent(cpu_before):
    log(f'Nothing to do: the run spent its {schedule.max_cpu_minutes:g} '
        f'CPU-minute budget at step {resumed}.')
  if (resumed is not None and trainer.step == resumed and
      not export.is_export(run_dirs.path(root_dir, run_dirs.EXPORT))):
    # A run directory with checkpoints and no export, as a checkpoint
    # copied alone (long_run/ commits one): its θ is exported as it stands,
    # so that shipping it needs no further training.
    run.export_theta(trainer.step)
  run.writer.close()
  log(f'Done at step {trainer.step}: {trainer.skipped_tasks} task gradients '
      f'and {trainer.skipped_updates} updates skipped as non-finite.')
  return rule
