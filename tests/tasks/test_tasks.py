"""Task sampling for meta-training (spec §6.1, §6.2): determinism, ranges,
weights, resizing, batches, models, gin configuration and validation."""

import dataclasses
import math

import gin
import numpy as np
import pytest

from learned_rule.tasks import distribution as task_distribution
from learned_rule.tasks import task as tasks
from learned_rule.data import registry

SMALL = (('digits', 1.0), ('two_moons', 1.0))


def _distribution(**overrides):
  values = dict(datasets=SMALL, hidden_widths=(16, 32),
                num_hidden_layers=(1, 2), classes_per_task=(3, 5),
                total_steps_range=(10, 100), truncation_steps=(4, 8),
                batch_size=16, shots=3)
  values.update(overrides)
  return task_distribution.TaskDistribution(**values)


def _draw(distribution, seed, count):
  rng = np.random.default_rng(seed)
  return [distribution.sample(rng) for _ in range(count)]


def test_same_seed_gives_the_same_tasks_and_another_seed_others():
  distribution = _distribution()
  first, again, other = (_draw(distribution, s, 30) for s in (7, 7, 8))
  assert first == again
  assert first != other
  # Every task of a run gets its own permutation and batch seeds.
  assert len({task.permutation_seed for task in first}) == len(first)
  assert len({task.seed for task in first}) == len(first)


def test_sampled_fields_lie_in_the_configured_sets():
  distribution = _distribution(activations=('relu', 'tanh'), augment=True)
  for task in _draw(distribution, 0, 200):
    assert task.dataset in ('digits', 'two_moons')
    *hidden, top = task.widths
    assert top == distribution.top_width
    assert len(hidden) in (1, 2) and len(set(hidden)) == 1
    assert hidden[0] in (16, 32)
    assert task.activation in ('relu', 'tanh')
    assert 10 <= task.total_steps <= 100
    assert task.truncation_steps in (4, 8)
    assert (task.batch_size, task.shots) == (16, 3)
    assert list(task.classes) == sorted(set(task.classes))
    num_classes = distribution.load_data(task).num_classes
    assert all(0 <= c < num_classes for c in task.classes)
    # Augmentation is for images only.
    assert task.augment == (task.dataset == 'digits')


def test_classes_per_task_is_capped_at_the_dataset_class_count():
  for task in _draw(_distribution(classes_per_task=(5,)), 1, 60):
    expected = 2 if task.dataset == 'two_moons' else 5
    assert task.num_classes == expected


def test_total_steps_are_log_uniform_over_the_whole_range():
  distribution = _distribution(datasets=('two_moons',),
                               total_steps_range=(20, 200))
  lengths = np.array([t.total_steps for t in _draw(distribution, 2, 4000)])
  assert lengths.min() <= 22 and lengths.max() >= 190
  # Half the mass lies below the geometric mean (~63) for a log-uniform
  # law; a uniform one would put only a quarter there.
  below = np.mean(lengths < math.sqrt(20 * 201))
  assert 0.45 < below < 0.55


def test_dataset_weights_are_respected():
  distribution = _distribution(datasets=(('digits', 0.9), ('two_moons', 0.1)))
  names = [task.dataset for task in _draw(distribution, 3, 3000)]
  assert 0.87 < names.count('digits') / len(names) < 0.93


def test_images_larger_than_max_image_size_are_resized():
  small = _distribution(max_image_size=4)
  data = small.load_data('digits')
  assert data.shape == (4, 4, 1) and small.input_dim('digits') == 16
  assert data.features.shape[1] == 16
  # Smaller images and non-image data are left as they are.
  assert _distribution(max_image_size=16).input_dim('digits') == 64
  assert small.input_dim('two_moons') == 2
  assert small.load_data('digits') is data  # Cached.


def test_task_batches_have_the_task_shapes_and_classes():
  distribution = _distribution(datasets=('digits',), max_image_size=4)
  task = distribution.sample(np.random.default_rng(4))
  data = distribution.load_data(task)
  unlabeled, few_shot = tasks.task_batches(task, data, task.batch_rng(), 5)
  assert unlabeled.shape == (5, 16, 16) and unlabeled.dtype == np.float32
  # Each unlabeled example is a row of the dataset from the task's classes.
  rows = {row.tobytes(): label for row, label in zip(data.features,
                                                     data.labels)}
  drawn = {rows[row.tobytes()] for row in unlabeled.reshape(-1, 16)}
  assert drawn <= set(task.classes)
  expected = [task.shots] * task.num_classes
  assert np.bincount(few_shot.support_y).tolist() == expected
  assert np.bincount(few_shot.query_y).tolist() == expected
  assert few_shot.support_x.shape == (task.shots * task.num_classes, 16)
  assert few_shot.support_extra is None
  originals = {rows[row.tobytes()] for row in few_shot.query_x}
  assert originals <= set(task.classes)
  # Same generator seed, same batches.
  again = tasks.task_batches(task, data, task.batch_rng(), 5)
  np.testing.assert_array_equal(unlabeled, again[0])


def test_augmented_tasks_get_regression_targets():
  distribution = _distribution(datasets=('digits',), augment=True)
  task = distribution.sample(np.random.default_rng(5))
  data = distribution.load_data(task)
  _, few_shot = tasks.task_batches(task, data, task.batch_rng(), 2)
  assert few_shot.support_extra.shape == (task.shots * task.num_classes, 4)


def test_task_batches_reject_data_of_another_dataset():
  distribution = _distribution(datasets=('digits',))
  task = distribution.sample(np.random.default_rng(6))
  with pytest.raises(ValueError, match="'two_moons' but the task is on"):
    tasks.task_batches(task, distribution.load_data('two_moons'),
                       task.batch_rng(), 2)


def test_build_model_follows_the_task():
  distribution = _distribution(datasets=('digits',))
  task = distribution.sample(np.random.default_rng(9))
  model = tasks.build_model(task, distribution.input_dim(task))
  assert model.widths == task.widths and model.input_dim == 64
  assert model.permutation_seed == task.permutation_seed
  _, activations = model(distribution.load_data(task).features[:8])
  assert activations[-1].shape == (8, task.widths[-1])
  assert len(activations) == len(task.widths) + 1
  other = dataclasses.replace(task, permutation_seed=task.permutation_seed + 1)
  assert not np.array_equal(
      model.input_permutation.numpy(),
      tasks.build_model(other, 64).input_permutation.numpy())


def test_alphabet_tasks_sample_and_batch():
  distribution = task_distribution.TaskDistribution(batch_size=8, shots=2)
  task = distribution.sample(np.random.default_rng(10))
  data = distribution.load_data(task)
  assert task.dataset == 'alphabet' and task.num_classes == 10
  assert max(data.shape[:2]) <= distribution.max_image_size
  unlabeled, few_shot = tasks.task_batches(task, data, task.batch_rng(), 2)
  assert unlabeled.shape == (2, 8, data.input_dim)
  assert few_shot.query_x.shape == (20, data.input_dim)


def test_gin_bindings_configure_the_distribution():
  gin.parse_config('TaskDistribution.hidden_widths = (32,)')
  distribution = task_distribution.TaskDistribution()
  assert distribution.hidden_widths == (32,)
  assert task_distribution.TaskDistribution.__name__ == 'TaskDistribution'
  assert dataclasses.is_dataclass(distribution)
  with pytest.raises(ValueError, match='hiden_widths'):
    gin.parse_config('TaskDistribution.hiden_widths = (32,)')


@pytest.mark.parametrize('field, value', [
    ('datasets', (('no_such_set', 1.0),)),
    ('datasets', (('digits', 0.0),)),
    ('datasets', (('digits', 1.0), ('digits', 2.0))),
    ('datasets', ()),
    ('role', 'training'),
    ('hidden_widths', ()),
    ('hidden_widths', (0,)),
    ('num_hidden_layers', (0,)),
    ('top_width', 0),
    ('activations', ('rectifier',)),
    ('classes_per_task', (1,)),
    ('total_steps_range', (50, 10)),
    ('total_steps_range', (0, 10)),
    ('total_steps_range', (10,)),
    ('truncation_steps', (0,)),
    ('batch_size', 1),
    ('shots', 0),
    ('max_image_size', 0),
    ('greyscale', 'yes'),
    ('augment', 1),
])
def test_bad_settings_raise_naming_the_field(field, value):
  with pytest.raises(ValueError) as error:
    _distribution(**{field: value})
  message = str(error.value)
  if value == (('no_such_set', 1.0),):
    assert 'no_such_set' in message and 'digits' in message
  elif field == 'activations':
    assert 'rectifier' in message and 'relu' in message
  else:
    assert field in message


def test_unknown_dataset_error_lists_the_registry():
  with pytest.raises(ValueError) as error:
    _distribution().load_data('digitz')
  assert all(name in str(error.value) for name in registry.LOADERS)
