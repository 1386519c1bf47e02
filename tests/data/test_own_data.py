"""Own data named imagedir:, npz: and textdir: in the registry, the task
distribution and a binary; and the errors bad data gets."""

import json

import numpy as np
from PIL import Image
import pytest

from conftest import run_repo_binary
from learned_rule.tasks import distribution as task_distribution
from learned_rule.tasks import task as tasks
from learned_rule.data import image_directory
from learned_rule.data import npz_file
from learned_rule.data import own_data
from learned_rule.data import registry
from learned_rule.data import sampling


def _noise_images(root, counts, shape=(9, 7), suffix='.png', seed=0):
  """Writes ``counts[class]`` random greyscale images per class below root;
  returns them, {class: [uint8 arrays]}."""
  rng = np.random.default_rng(seed)
  written = {}
  for name, count in counts.items():
    (root / name).mkdir(parents=True, exist_ok=True)
    written[name] = []
    for index in range(count):
      pixels = rng.integers(0, 256, shape, dtype=np.uint8)
      Image.fromarray(pixels).save(root / name / f'{index:03d}{suffix}')
      written[name].append(pixels)
  return written


def _rows(data):
  return {row.tobytes() for row in data.features}


def _by_class(data):
  return {data.class_names[label]: int(count)
          for label, count in enumerate(np.bincount(data.labels))}


def test_image_directory_reads_greyscale_resized_and_scaled(tmp_path):
  for name, colour in (('red', (255, 0, 0)), ('grey', (51, 51, 51))):
    (tmp_path / name).mkdir()
    for index in range(60):
      image = Image.new('RGB', (10 + index % 7, 13), colour)
      suffix = '.png' if index % 2 else '.JPEG'
      image.save(tmp_path / name / f'{index}{suffix}')
  (tmp_path / 'red' / 'notes.txt').write_text('not an image')
  data = registry.load('imagedir:' + str(tmp_path), 'all')
  assert data.shape == (28, 28, 1) and data.modality == 'image'
  assert data.class_names == ('grey', 'red') and len(data) == 120
  assert data.name == f'imagedir:{tmp_path}'
  grey = data.features[data.labels == 0]
  red = data.features[data.labels == 1]
  np.testing.assert_allclose(grey, 51 / 255, atol=2 / 255)
  # ITU-R 601 luma of pure red: 0.299 × 255 ≈ 76.
  np.testing.assert_allclose(red, 76 / 255, atol=2 / 255)
  small = registry.load(f'imagedir:{tmp_path}?size=12', 'all')
  assert small.shape == (12, 12, 1) and small.input_dim == 144


def test_image_directory_splits_are_disjoint_and_stratified(tmp_path):
  written = _noise_images(tmp_path, {'b': 75, 'a': 60})
  load = lambda split: image_directory.load('own', tmp_path, split, size=9)
  train, test, everything = load('train'), load('test'), load('all')
  assert _by_class(test) == {'a': 20, 'b': 25}
  assert _by_class(train) == {'a': 40, 'b': 50}
  assert not _rows(train) & _rows(test)
  assert _rows(train) | _rows(test) == _rows(everything)
  assert len(_rows(everything)) == 135
  # Same-size images are read exactly, class by class.
  expected = {(np.asarray(Image.fromarray(pixels).resize(
      (9, 9), Image.Resampling.BILINEAR), np.float32) / 255.0).ravel()
              .tobytes() for pixels in written['a']}
  assert expected == _rows(everything.subset(
      np.flatnonzero(everything.labels == 0)))
  np.testing.assert_array_equal(load('test').features, test.features)


def test_image_directory_with_train_and_test_uses_them(tmp_path):
  _noise_images(tmp_path / 'train', {'x': 21, 'y': 22})
  _noise_images(tmp_path / 'test', {'x': 20, 'y': 23}, seed=1)
  train = registry.load_for(registry.META_TRAIN, f'imagedir:{tmp_path}')
  test = registry.load_for(registry.HELD_OUT, f'imagedir:{tmp_path}')
  assert _by_class(train) == {'x': 21, 'y': 22}
  assert _by_class(test) == {'x': 20, 'y': 23}


def test_npz_loads_and_splits_stratified(tmp_path):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (180, 6, 5), dtype=np.uint8)
  labels = np.array(['cat', 'dog', 'eel'] * 60)
  np.savez(tmp_path / 'data.npz', images=images, labels=labels)
  name = f'npz:{tmp_path / "data.npz"}'
  train = registry.load_for(registry.META_TRAIN, name)
  test = registry.load_for(registry.HELD_OUT, name)
  everything = registry.load(name, 'all')
  assert test.class_names == ('cat', 'dog', 'eel')
  assert _by_class(test) == {'cat': 20, 'dog': 20, 'eel': 20}
  assert _by_class(train) == {'cat': 40, 'dog': 40, 'eel': 40}
  assert not _rows(train) & _rows(test)
  assert _rows(train) | _rows(test) == _rows(everything)
  assert everything.shape == (6, 5, 1) and everything.modality == 'image'
  np.testing.assert_allclose(everything.features[0],
                             images[0].ravel() / 255.0, rtol=1e-6)
  np.testing.assert_array_equal(everything.labels[:3], [0, 1, 2])


@pytest.mark.parametrize('shape, expected_shape, modality', [
    ((60, 4, 4, 1), (4, 4, 1), 'image'),
    ((60, 10), (10,), 'features'),
])
def test_npz_takes_channels_and_flat_vectors(tmp_path, shape,
                                             expected_shape, modality):
  values = np.random.default_rng(0).normal(size=shape).astype(np.float32)
  np.savez(tmp_path / 'data.npz', images=values, labels=np.arange(60) % 2)
  data = npz_file.load('own', tmp_path / 'data.npz', 'all')
  assert data.shape == expected_shape and data.modality == modality
  np.testing.assert_array_equal(data.features, values.reshape(60, -1))


def test_npz_with_train_and_test_arrays_uses_them(tmp_path):
  rng = np.random.default_rng(0)
  np.savez(tmp_path / 'data.npz',
           train_images=rng.random((44, 3, 3)),
           train_labels=np.repeat([4, 8], 22),
           test_images=rng.random((40, 3, 3)),
           test_labels=np.repeat([4, 8], 20))
  train = npz_file.load('own', tmp_path / 'data.npz', 'train')
  test = npz_file.load('own', tmp_path / 'data.npz', 'test')
  assert train.class_names == ('4', '8')
  assert _by_class(train) == {'4': 22, '8': 22} and len(test) == 40
  assert not _rows(train) & _rows(test)


def test_text_directory_by_name(tmp_path):
  for topic, words in (('sport', 'ball goal'), ('food', 'salt oven')):
    (tmp_path / topic).mkdir()
    for index in range(12):
      (tmp_path / topic / f'{index}.txt').write_text(f'{words} w{index}')
  name = f'textdir:{tmp_path}?min_per_class=3&vocabulary_size=50'
  train = registry.load_for(registry.META_TRAIN, name)
  test = registry.load_for(registry.HELD_OUT, name)
  assert train.modality == 'text' and train.class_names == ('food', 'sport')
  assert _by_class(test) == {'food': 3, 'sport': 3}
  assert _by_class(train) == {'food': 9, 'sport': 9}
  assert train.name == name and train.input_dim <= 50
  with pytest.raises(ValueError, match=r"'food' has 3, 'sport' has 3; "
                     r'every class needs 20'):
    registry.load_for(registry.HELD_OUT, f'textdir:{tmp_path}')


def test_task_distribution_meta_trains_on_an_npz(tmp_path):
  rng = np.random.default_rng(0)
  np.savez(tmp_path / 'data.npz', images=rng.random((180, 20, 20)),
           labels=np.arange(180) % 3)
  name = f'npz:{tmp_path / "data.npz"}'
  distribution = task_distribution.TaskDistribution(
      datasets=((name, 1.0),), classes_per_task=(2,), batch_size=8)
  task = distribution.sample(np.random.default_rng(1))
  assert task.dataset == name and len(task.classes) == 2
  data = distribution.load_data(task)
  assert data.split == 'train' and data.shape == (16, 16, 1)
  unlabeled, few_shot = tasks.task_batches(task, data, task.batch_rng(), 2)
  assert unlabeled.shape == (2, 8, 256)
  assert np.bincount(few_shot.support_y).tolist() == [10, 10]
  with pytest.raises(ValueError, match="Unknown dataset prefix 'nzp'"):
    task_distribution.TaskDistribution(datasets=('nzp:' + name[4:],))


def test_paired_eval_runs_on_an_image_directory(tmp_path):
  _noise_images(tmp_path / 'shapes', {'circle': 60, 'square': 60})
  name = f'imagedir:{tmp_path / "shapes"}?size=12'
  result = run_repo_binary(
      'paired_eval', '--rule=cpu_60min', '--gin_file=held_out/cpu.gin',
      f'--gin_bindings=HeldOutEvaluation.dataset = "{name}"',
      '--gin_bindings=HeldOutEvaluation.seeds = (0,)',
      '--gin_bindings=HeldOutEvaluation.steps = 2',
      '--gin_bindings=HeldOutEvaluation.batch_size = 16',
      '--gin_bindings=HeldOutEvaluation.num_draws = 1',
      '--gin_bindings=HeldOutEvaluation.jit_compile = False',
      f'--output_json={tmp_path / "out.json"}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert f'{name} (test split)' in result.stdout
  records = json.loads((tmp_path / 'out.json').read_text())['records']
  assert {record['dataset'] for record in records} == {name}
  assert {record['step'] for record in records} == {0, 2}


# -- Bad data. -----------------------------------------------------------------


@pytest.mark.parametrize('prefix', ['imagedir', 'npz', 'textdir'])
def test_a_missing_path_is_named(tmp_path, prefix):
  missing = tmp_path / 'nowhere'
  with pytest.raises(ValueError, match='does not exist') as error:
    registry.load_for(registry.HELD_OUT, f'{prefix}:{missing}')
  assert str(missing) in str(error.value)
  assert f'after "{prefix}:"' in str(error.value)


@pytest.mark.parametrize('name, message', [
    ('imgdir:/data', "Unknown dataset prefix 'imgdir'"),
    ('npz:', 'names no path'),
    ('npz:/data.npz?size=3', "Unknown option 'size=3'"),
    ('imagedir:/data?size=x', 'must be an integer >= 1'),
    ('digitz', 'imagedir:DIR, npz:FILE.npz or textdir:DIR'),
])
def test_bad_names_are_refused(name, message):
  with pytest.raises(ValueError, match=message):
    registry.check_name(name)


def test_a_directory_without_class_directories_says_how_to_lay_it_out(
    tmp_path):
  with pytest.raises(ValueError, match='has no classes; put the images of '
                     'each class in a sub-directory'):
    image_directory.load('own', tmp_path)
  Image.new('L', (4, 4)).save(tmp_path / 'loose.png')
  with pytest.raises(ValueError, match=r'1 image\(s\) lie directly in'):
    image_directory.load('own', tmp_path)


def test_one_class_is_refused(tmp_path):
  _noise_images(tmp_path, {'cat': 3})
  with pytest.raises(ValueError, match=r"one class \('cat'\).*add another"):
    image_directory.load('own', tmp_path)


def test_a_class_without_images_is_named(tmp_path):
  _noise_images(tmp_path, {'cat': 3})
  (tmp_path / 'dog').mkdir()
  (tmp_path / 'dog' / 'readme.txt').write_text('no images')
  with pytest.raises(ValueError, match="class 'dog' has no PNG or JPEG"):
    image_directory.load('own', tmp_path, min_per_class=1)


@pytest.mark.parametrize('damage', ['garbage', 'truncated'])
def test_an_unreadable_image_is_named(tmp_path, damage):
  _noise_images(tmp_path, {'cat': 3, 'dog': 3}, shape=(40, 40))
  bad = tmp_path / 'dog' / '001.png'
  if damage == 'garbage':
    bad.write_bytes(b'this is not a png')
  else:
    bad.write_bytes(bad.read_bytes()[:200])
  with pytest.raises(ValueError, match='own: cannot read the image') as (
      error):
    image_directory.load('own', tmp_path, 'all', min_per_class=1)
  assert str(bad) in str(error.value)
  assert 'Replace it with a valid image or delete it' in str(error.value)


def test_a_class_with_too_few_images_names_it_and_the_need(tmp_path):
  _noise_images(tmp_path, {'common': 60, 'rare': 30})
  name = f'imagedir:{tmp_path}'
  with pytest.raises(ValueError) as error:
    registry.load_for(registry.HELD_OUT, name)
  message = str(error.value)
  assert message.startswith(f"{name}: too few examples per class in its "
                            f"'test' split: class 'rare' has 10;")
  assert "'common'" not in message
  assert 'every class needs 20' in message and 'at least 59' in message
  assert len(image_directory.load(name, tmp_path, 'test',
                                  min_per_class=10)) == 30


def test_the_few_shot_draw_names_the_class_of_own_data(tmp_path):
  np.savez(tmp_path / 'data.npz', images=np.zeros((40, 2, 2)),
           labels=np.array(['big'] * 30 + ['small'] * 10))
  data = npz_file.load('npz:x', tmp_path / 'data.npz', 'train',
                       min_per_class=2)
  with pytest.raises(ValueError,
                     match=r"npz:x class 1 has 7 examples; 20 are needed .* "
                     r"\(class 'small', 'train' split\)"):
    sampling.few_shot_batch(data, np.random.default_rng(0))


def _savez(path, **arrays):
  np.savez(path, **arrays)
  return path


@pytest.mark.parametrize('arrays, message', [
    (dict(images=np.zeros((4, 2, 2))), r"no array labels \(it has "
     r"\['images'\]\).*numpy.savez"),
    (dict(pictures=np.zeros((4, 2, 2)), labels=np.arange(4)),
     'no array images'),
    (dict(images=np.zeros((4, 2, 2)), labels=np.arange(5)),
     r"'labels' .* has shape \(5,\) but 'images' has 4 examples; give "
     'exactly one label per example'),
    (dict(images=np.array([np.zeros((2, 2)), np.zeros((3, 3))],
                          dtype=object), labels=np.arange(2)),
     'images of different shapes'),
    (dict(train_images=np.zeros((4, 2, 2)), train_labels=np.arange(4) % 2,
          test_images=np.zeros((4, 3, 3)), test_labels=np.arange(4) % 2),
     r'are \(2, 2, 1\) but test_images are \(3, 3, 1\)'),
    (dict(images=np.zeros((4, 2, 2)), labels=np.array([0.5] * 4)),
     'integers or strings'),
    (dict(images=np.zeros((4, 2, 2)), labels=np.zeros(4)),
     "one class \\('0'\\)"),
])
def test_bad_npz_files_are_refused(tmp_path, arrays, message):
  path = _savez(tmp_path / 'data.npz', **arrays)
  with pytest.raises(ValueError, match=message) as error:
    npz_file.load('npz:data', path, 'all', min_per_class=1)
  assert str(path) in str(error.value)


def test_a_file_that_is_not_npz_is_refused(tmp_path):
  (tmp_path / 'data.npz').write_text('hello')
  with pytest.raises(ValueError, match='cannot read .* as a NumPy .npz'):
    npz_file.load('npz:data', tmp_path / 'data.npz')
  np.save(tmp_path / 'one.npy', np.zeros(3))
  with pytest.raises(ValueError, match='holds one array'):
    npz_file.load('npz:data', tmp_path / 'one.npy')


def test_total_needed_leaves_the_minimum_in_both_parts():
  for minimum in (1, 5, 20):
    count = own_data.total_needed(minimum)
    labels = np.zeros(count, int)
    held = own_data.stratified_test_mask(labels).sum()
    assert held >= minimum and count - held >= minimum
    fewer = own_data.stratified_test_mask(labels[:-1]).sum()
    assert min(fewer, count - 1 - fewer) < minimum
