"""The meta-training run: steps, checkpoints, exports, summaries, evaluation.

``train`` resumes from the newest complete checkpoint in ``ROOT_DIR/ckpt``
if there is one, then repeats :meth:`MetaTrainer.train_step`, and now and
then writes a resumable checkpoint (θ, Adam slots, step, RNG and the tasks
in flight), exports θ as a SavedModel to ``ROOT_DIR/export`` (θ-init goes
to ``ROOT_DIR/export_init``, the baseline of paired evaluations), writes
TensorBoard summaries to ``ROOT_DIR/summaries`` and runs a paired, fixed-seed
evaluation on held-out data.
"""

import dataclasses
import os
import time

import gin
import keras
import numpy as np
import tensorflow as tf

from learned_rule import base_model
from learned_rule import export
from learned_rule import progress as progress_lib
from learned_rule import tasks as tasks_lib
from learned_rule.data import registry
from learned_rule.evaluation import paired
from learned_rule.rule import config as config_lib
from learned_rule.rule import rule as rule_lib
from learned_rule.training import checkpoints
from learned_rule.training import meta_trainer as meta_trainer_lib
from learned_rule.training import summaries


@gin.configurable
@dataclasses.dataclass(frozen=True)
class HeldOutEvaluation:
  """The periodic paired evaluation on held-out data (ours).

  Attributes:
    dataset: A dataset meta-training never sees (its 'held_out' split).
    seeds: Base-model seeds; every rule is scored on the same ones.
    steps: Rule applications before scoring.
    widths: Base-model widths.
    batch_size: Unlabeled batch size.
  """

  dataset: str = 'digits'
  seeds: tuple = (0, 1, 2, 3)
  steps: int = 200
  widths: tuple = (64, 64, 64, 32)
  batch_size: int = 64

  def run(self, rules):
    data = registry.load_for(registry.HELD_OUT, self.dataset)
    return paired.paired_evaluation(
        rules, data, self.seeds, self.steps, widths=self.widths,
        batch_size=self.batch_size, eval_draws=2)


def _task_from_json(values):
  values = dict(values)
  for name in ('classes', 'widths'):
    values[name] = tuple(values[name])
  return tasks_lib.Task(**values)


def _rng_from_json(state):
  rng = np.random.default_rng()
  rng.bit_generator.state = state
  return rng


def save_checkpoint(manager, trainer):
  """Writes everything needed to resume ``trainer`` exactly."""
  arrays = {f'theta/{i}': v.numpy()
            for i, v in enumerate(trainer.rule.trainable_variables)}
  arrays.update({f'optimizer/{i}': np.asarray(v.numpy())
                 for i, v in enumerate(trainer.optimizer.variables)})
  workers = []
  for w, worker in enumerate(trainer.workers):
    for i, value in enumerate(tf.nest.flatten(worker.state)):
      arrays[f'task/{w}/{i}'] = value.numpy()
    workers.append({'task': dataclasses.asdict(worker.task),
                    'unrolls_done': worker.unrolls_done,
                    'rng': worker.rng.bit_generator.state})
  metadata = {
      'step': trainer.step,
      'rule_config': trainer.rule.config.to_dict(),
      'rng': trainer.rng.bit_generator.state,
      'skipped_tasks': trainer.skipped_tasks,
      'skipped_updates': trainer.skipped_updates,
      'workers': workers,
  }
  return manager.save(trainer.step, arrays, metadata)


def restore_checkpoint(manager, trainer):
  """Restores the newest complete checkpoint; returns its step or None."""
  if manager.latest() is None:
    return None
  step, arrays, metadata = manager.restore()
  checkpoints.check_compatible(metadata['rule_config'],
                               trainer.rule.config.to_dict())
  for i, variable in enumerate(trainer.rule.trainable_variables):
    variable.assign(arrays[f'theta/{i}'])
  for i, variable in enumerate(trainer.optimizer.variables):
    variable.assign(arrays[f'optimizer/{i}'])
  trainer.step = metadata['step']
  trainer.rng = _rng_from_json(metadata['rng'])
  trainer.skipped_tasks = metadata['skipped_tasks']
  trainer.skipped_updates = metadata['skipped_updates']
  trainer.workers = []
  for w, record in enumerate(metadata['workers']):
    task = _task_from_json(record['task'])
    model = trainer.model_for(task)
    template = base_model.initial_state(
        model.input_dim, task.widths, 0,
        memory_size=trainer.rule.config.memory_size)
    flat = [tf.constant(arrays[f'task/{w}/{i}'])
            for i in range(len(tf.nest.flatten(template)))]
    trainer.workers.append(meta_trainer_lib.Worker(
        task, model, tf.nest.pack_sequence_as(template, flat),
        _rng_from_json(record['rng']), record['unrolls_done']))
  return step


def _log_evaluation(writer, step, results, log):
  """Writes the paired differences trained − θ-init and trained − random."""
  for baseline in ('init', 'random_init'):
    difference, error = paired.paired_difference(results, 'trained',
                                                 baseline)
    writer.scalars(step, {f'held_out/trained_minus_{baseline}': difference,
                          f'held_out/trained_minus_{baseline}_stderr': error})
  means = {name: float(np.mean(values['ridge_accuracy']))
           for name, values in results.items()}
  writer.scalars(step, {f'held_out/ridge_accuracy/{name}': value
                        for name, value in means.items()})
  log(f'step {step}: held-out ridge accuracy ' + ', '.join(
      f'{name} {value:.3f}' for name, value in means.items()))


@gin.configurable(denylist=['root_dir', 'num_steps', 'seed'])
def train(root_dir, num_steps, seed=0, checkpoint_every_steps=50,
          checkpoint_every_minutes=10.0, keep_checkpoints=3,
          export_every_steps=100, summary_every_steps=1,
          filters_every_steps=50, evaluate_every_steps=0,
          max_minutes=None, evaluation=None, log=print):
  """Meta-trains a rule (gin: ``RuleConfig``, ``TaskDistribution``, ...).

  Args:
    root_dir: Run directory; created if needed, resumed if it holds
      checkpoints.
    num_steps: Total meta-training steps (θ updates) of the run.
    seed: Seeds θ-init and the task sampling.
    checkpoint_every_steps: Resumable checkpoint interval in steps...
    checkpoint_every_minutes: ...or in minutes, whichever comes first.
    keep_checkpoints: Complete checkpoints kept.
    export_every_steps: SavedModel export interval (and at the end).
    summary_every_steps: TensorBoard scalar interval.
    filters_every_steps: First-layer filter image interval.
    evaluate_every_steps: Paired held-out evaluation interval; 0 = never.
    max_minutes: Wall-clock budget of this call, counted from its start;
      when it is spent the run checkpoints, exports and stops (a later call
      resumes it). None: no budget.
    evaluation: A :class:`HeldOutEvaluation`.
    log: Called with progress messages.

  Returns:
    The trained :class:`UnsupervisedUpdate`.
  """
  if max_minutes is not None and not max_minutes > 0:
    raise ValueError(f'`max_minutes` must be > 0, got {max_minutes}.')
  deadline = (None if max_minutes is None else
              time.monotonic() + 60 * max_minutes)
  checkpoints.check_writable(root_dir)
  keras.utils.set_random_seed(seed)
  rule = rule_lib.UnsupervisedUpdate(config_lib.RuleConfig())
  init_rule = rule_lib.UnsupervisedUpdate(rule.config)
  for target, source in zip(init_rule.trainable_variables,
                            rule.trainable_variables):
    target.assign(source)
  distribution = tasks_lib.TaskDistribution()
  for name in distribution.dataset_names:
    distribution.load_data(name)  # Fails now if a dataset is missing.
  trainer = meta_trainer_lib.MetaTrainer(rule, distribution, seed=seed)
  manager = checkpoints.CheckpointManager(os.path.join(root_dir, 'ckpt'),
                                          keep=keep_checkpoints)
  resumed = restore_checkpoint(manager, trainer)
  if resumed is not None:
    log(f'Resumed from step {resumed} ({manager.latest()}).')
  writer = summaries.SummaryWriter(os.path.join(root_dir, 'summaries'))
  summaries.write_operative_config(root_dir, writer, trainer.step)
  evaluation = evaluation or HeldOutEvaluation()
  depths = sorted({n + 1 for n in distribution.num_hidden_layers} |
                  {len(evaluation.widths)})

  def export_now():
    path = export.export_rule(
        rule, os.path.join(root_dir, 'export'), depths=depths,
        metadata={'step': trainer.step, 'seed': seed,
                  'config': gin.operative_config_str()})
    log(f'step {trainer.step}: exported θ to {path}')

  init_dir = os.path.join(root_dir, 'export_init')
  if not os.path.exists(init_dir):  # θ-init, the paired baseline.
    export.export_rule(init_rule, init_dir, depths=depths,
                       metadata={'step': 0, 'seed': seed})
  bar = progress_lib.Progress(num_steps - trainer.step, 'meta-training')
  last_checkpoint = time.monotonic()
  while trainer.step < num_steps:
    started = time.monotonic()
    outcome = trainer.train_step()
    outcome['steps_per_second'] = 1.0 / (time.monotonic() - started)
    by_dataset = outcome.pop('losses_by_dataset')
    step = trainer.step
    if step % summary_every_steps == 0:
      writer.scalars(step, outcome)
      for dataset, loss, accuracy in by_dataset:
        writer.scalars(step, {f'meta_loss/{dataset}': loss,
                              f'few_shot_accuracy/{dataset}': accuracy})
    if filters_every_steps and step % filters_every_steps == 0 and (
        trainer.workers):
      worker = trainer.workers[0]
      data = distribution.load_data(worker.task)
      layer = worker.state[base_model.LAYERS][0]
      writer.filters(step, 'first_layer_filters',
                     layer[base_model.KERNEL].numpy(), data.shape,
                     permutation=worker.state[base_model.PERMUTATION].numpy())
    if evaluate_every_steps and step % evaluate_every_steps == 0:
      _log_evaluation(writer, step,
                      evaluation.run({'trained': rule, 'init': init_rule}),
                      log)
    bar.update(1, {'loss': outcome['meta_loss']})
    out_of_time = deadline is not None and time.monotonic() > deadline
    if (step % checkpoint_every_steps == 0 or step == num_steps or
        out_of_time or
        time.monotonic() - last_checkpoint > 60 * checkpoint_every_minutes):
      save_checkpoint(manager, trainer)
      last_checkpoint = time.monotonic()
    if step % export_every_steps == 0 or step == num_steps or out_of_time:
      export_now()
    writer.flush()
    if out_of_time:
      log(f'step {step}: the {max_minutes:g}-minute budget is spent; '
          'stopping (run again to resume).')
      break
  if resumed is not None and resumed >= num_steps:
    log(f'Nothing to do: the run is at step {resumed} of {num_steps}.')
  writer.close()
  log(f'Done at step {trainer.step}: {trainer.skipped_tasks} task gradients '
      f'and {trainer.skipped_updates} updates skipped as non-finite.')
  return rule
