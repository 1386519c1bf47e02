"""The tasks in flight of meta-training, and their place in a checkpoint.

A task in flight carries its base model's state from truncation to
truncation (spec §6.1), and under PES the estimator's carry too (the
negative branch's state and the accumulated perturbation,
:class:`learned_rule.training.pes.PESCarry`). A checkpoint keeps each
one's state arrays as ``task/{w}/{i}``, its carry's as
``task/{w}/negative/{i}`` and ``task/{w}/accumulator/{i}``, and, under
the metadata's 'workers', its task, its unrolls done and its batch RNG, so
that a resumed run draws exactly what the uninterrupted one would.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from learned_rule.model import base_model
from learned_rule.tasks import task as tasks_lib
from learned_rule.training import pes


@dataclasses.dataclass(eq=False)
class TaskInFlight:
  """One task in flight: its base model's state and where it stands.

  Compared by identity: two tasks never are the same task.
  """

  task: tasks_lib.Task
  model: object
  state: object
  rng: np.random.Generator
  unrolls_done: int = 0
  carry: object = None  # The estimator's (pes.PESCarry), None for TBPTT.

  @property
  def finished(self):
    return self.unrolls_done >= self.task.num_truncations


def rng_from_state(state):
  """A NumPy generator in the bit-generator ``state`` saved earlier."""
  rng = np.random.default_rng()
  rng.bit_generator.state = state
  return rng


def _task_from_json(values):
  values = dict(values)
  for name in ('classes', 'widths'):
    values[name] = tuple(values[name])
  return tasks_lib.Task(**values)


def to_checkpoint(in_flight):
  """``(arrays, records)`` of ``in_flight`` for a checkpoint."""
  arrays, records = {}, []
  for w, task in enumerate(in_flight):
    for i, value in enumerate(tf.nest.flatten(task.state)):
      arrays[f'task/{w}/{i}'] = np.asarray(value)
    if task.carry is not None:
      for i, value in enumerate(tf.nest.flatten(task.carry.negative_state)):
        arrays[f'task/{w}/negative/{i}'] = np.asarray(value)
      for i, value in enumerate(task.carry.accumulator):
        arrays[f'task/{w}/accumulator/{i}'] = np.asarray(value)
    records.append({'task': dataclasses.asdict(task.task),
                    'unrolls_done': task.unrolls_done,
                    'rng': task.rng.bit_generator.state,
                    'carry': task.carry is not None})
  return arrays, records


def from_checkpoint(arrays, records, model_for, memory_size):
  """The tasks in flight that :func:`to_checkpoint` wrote.

  Args:
    arrays, records: What :func:`to_checkpoint` returned, read back.
    model_for: Task → the base model of its architecture.
    memory_size: The rule's memory size (the state's structure).
  """
  in_flight = []
  for w, record in enumerate(records):
    task = _task_from_json(record['task'])
    model = model_for(task)
    template = base_model.initial_state(model.input_dim, task.widths, 0,
                                        memory_size=memory_size)
    leaves = len(tf.nest.flatten(template))

    def state(prefix, template=template, leaves=leaves):
      return tf.nest.pack_sequence_as(
          template, [tf.constant(arrays[f'{prefix}{i}'])
                     for i in range(leaves)])

    carry = None
    if record.get('carry'):  # Absent from checkpoints of 0.2.0.
      count = sum(name.startswith(f'task/{w}/accumulator/')
                  for name in arrays)
      carry = pes.PESCarry(
          state(f'task/{w}/negative/'),
          [arrays[f'task/{w}/accumulator/{i}'] for i in range(count)])
    in_flight.append(TaskInFlight(
        task, model, state(f'task/{w}/'), rng_from_state(record['rng']),
        record['unrolls_done'], carry))
  return in_flight
