"""Tests of learned_rule.training.checkpoints."""

import errno
import os

import numpy as np
import pytest

from learned_rule.training import checkpoints


def _arrays(seed=0):
  rng = np.random.default_rng(seed)
  return {
      'theta/0': rng.normal(size=(3, 4)).astype(np.float32),
      'theta/1': rng.normal(size=(5,)).astype(np.float64),
      'optimizer/3': np.array(seed, dtype=np.int64),
      'task/2/layers/0/kernel': rng.normal(size=(2, 2)).astype(np.float32),
      'task/2/input_permutation': rng.permutation(6).astype(np.int32),
      'task/2/done': np.array([True, False]),
  }


def _save_steps(manager, steps):
  for step in steps:
    manager.save(step, _arrays(step), {'trainer_step': step})


def _steps(manager):
  return [step for step, _ in manager.checkpoints()]


def test_round_trip_keeps_values_dtypes_and_metadata(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path / 'ckpt')
  arrays = _arrays()
  metadata = {'rule_config': {'widths': (8, 4), 'activation': 'relu'},
              'rng': {'state': 2**100 + 7, 'seed': np.int64(3)},
              'tasks': [{'name': 'digits', 'unrolls_done': 2}]}
  path = manager.save(12, arrays, metadata)

  assert path == os.path.join(str(tmp_path / 'ckpt'), 'ckpt-00000012')
  assert sorted(os.listdir(path)) == ['COMPLETE', 'arrays.npz',
                                      'metadata.json']
  step, restored, restored_metadata = manager.restore()
  assert step == 12
  assert restored.keys() == arrays.keys()
  for name, value in arrays.items():
    assert restored[name].dtype == value.dtype, name
    assert restored[name].shape == value.shape, name
    np.testing.assert_array_equal(restored[name], value)
  assert restored_metadata == {
      'rule_config': {'widths': [8, 4], 'activation': 'relu'},
      'rng': {'state': 2**100 + 7, 'seed': 3},
      'tasks': [{'name': 'digits', 'unrolls_done': 2}]}
  assert manager.restore(path)[0] == 12


def test_array_names_that_are_numpy_keywords_survive(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path)
  manager.save(0, {'file': np.zeros(2), 'allow_pickle': np.ones(1)})
  assert set(manager.restore()[1]) == {'file', 'allow_pickle'}


def test_bad_inputs_write_nothing(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path)
  with pytest.raises(TypeError, match='objects'):
    manager.save(1, {'x': np.array([object()])})
  with pytest.raises(TypeError):
    manager.save(1, {'x': np.zeros(1)}, {'bad': object()})
  with pytest.raises(ValueError, match='non-negative'):
    manager.save(-1, {})
  assert manager.latest() is None
  assert not [name for name in os.listdir(tmp_path) if name.startswith('.')]


def test_keep_prunes_the_oldest(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path, keep=2)
  _save_steps(manager, [1, 2, 3, 4])
  assert _steps(manager) == [3, 4]
  assert sorted(os.listdir(tmp_path)) == ['ckpt-00000003', 'ckpt-00000004']

  keep_all = checkpoints.CheckpointManager(tmp_path / 'all', keep=None)
  _save_steps(keep_all, [1, 2, 3, 4])
  assert _steps(keep_all) == [1, 2, 3, 4]
  with pytest.raises(ValueError):
    checkpoints.CheckpointManager(tmp_path, keep=0)


def test_saving_a_step_again_replaces_it(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path)
  manager.save(5, {'x': np.zeros(1)}, {'version': 1})
  manager.save(5, {'y': np.ones(2)}, {'version': 2})
  step, arrays, metadata = manager.restore()
  assert (step, list(arrays), metadata) == (5, ['y'], {'version': 2})
  assert os.listdir(tmp_path) == ['ckpt-00000005']


def test_latest_ignores_incomplete_and_temporary_directories(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path)
  assert manager.latest() is None
  _save_steps(manager, [1, 2])
  complete = manager.latest()
  # A checkpoint directory without its marker, and a finished temporary
  # directory that a crash kept from being renamed.
  os.makedirs(tmp_path / 'ckpt-00000009')
  (tmp_path / 'ckpt-00000009' / 'metadata.json').write_text('{}')
  temporary = tmp_path / '.tmp-ckpt-00000010-abcd'
  os.makedirs(temporary)
  for name in os.listdir(complete):
    (temporary / name).write_bytes(open(os.path.join(complete, name),
                                        'rb').read())

  assert manager.latest() == complete
  assert manager.restore()[0] == 2
  with pytest.raises(checkpoints.CheckpointError, match='no COMPLETE marker'):
    manager.restore(tmp_path / 'ckpt-00000009')

  manager.save(3, _arrays(3))
  assert not temporary.exists()
  assert (tmp_path / 'ckpt-00000009').exists()  # Not ours to delete.


def test_a_truncated_checkpoint_raises_naming_the_file(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path)
  _save_steps(manager, [1, 2])
  arrays_file = os.path.join(manager.latest(), 'arrays.npz')
  with open(arrays_file, 'r+b') as f:
    f.truncate(os.path.getsize(arrays_file) // 2)

  # latest() only looks at the marker; restore() reads the files.
  assert manager.latest().endswith('ckpt-00000002')
  with pytest.raises(checkpoints.CheckpointError) as error:
    manager.restore()
  assert arrays_file in str(error.value)
  step, arrays, metadata = manager.restore(fall_back=True)
  assert step == 1 and metadata == {'trainer_step': 1}
  np.testing.assert_array_equal(arrays['theta/0'], _arrays(1)['theta/0'])


@pytest.mark.parametrize('name,content', [
    ('metadata.json', '{"trainer_step": '),
    ('COMPLETE', 'not json'),
])
def test_damaged_json_raises_naming_the_file(tmp_path, name, content):
  manager = checkpoints.CheckpointManager(tmp_path)
  path = manager.save(1, _arrays())
  with open(os.path.join(path, name), 'w') as f:
    f.write(content)
  with pytest.raises(checkpoints.CheckpointError, match=name):
    manager.restore()
  with pytest.raises(checkpoints.CheckpointError, match='No readable'):
    manager.restore(fall_back=True)


def test_arrays_missing_from_the_file_raise(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path)
  path = manager.save(1, {'a': np.zeros(1), 'b': np.ones(1)})
  np.savez(os.path.join(path, 'arrays.npz'), a=np.zeros(1))
  with pytest.raises(checkpoints.CheckpointError, match='arrays.npz lacks'):
    manager.restore()


def test_restore_without_checkpoints_raises(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path / 'missing')
  assert manager.checkpoints() == []
  with pytest.raises(checkpoints.CheckpointError, match='No complete'):
    manager.restore()


def test_a_crash_mid_save_leaves_the_previous_checkpoint(tmp_path,
                                                         monkeypatch):
  manager = checkpoints.CheckpointManager(tmp_path, keep=1)
  _save_steps(manager, [7])

  def crash(source, destination):
    raise OSError(f'simulated crash renaming {source} to {destination}')

  with monkeypatch.context() as patch:
    patch.setattr(os, 'rename', crash)
    with pytest.raises(OSError, match='simulated crash'):
      manager.save(8, _arrays(8), {'trainer_step': 8})
  assert os.listdir(tmp_path) == ['ckpt-00000007']  # Cleaned up.
  assert _steps(manager) == [7]
  step, arrays, metadata = manager.restore()
  assert step == 7 and metadata == {'trainer_step': 7}
  np.testing.assert_array_equal(arrays['theta/1'], _arrays(7)['theta/1'])


def test_a_crash_replacing_a_step_keeps_the_old_one(tmp_path, monkeypatch):
  manager = checkpoints.CheckpointManager(tmp_path)
  manager.save(4, {'x': np.zeros(1)}, {'version': 1})
  rename = os.rename
  calls = []

  def crash_on_second(source, destination):
    calls.append(source)
    if len(calls) == 2:
      raise OSError('simulated crash')
    rename(source, destination)

  with monkeypatch.context() as patch:
    patch.setattr(os, 'rename', crash_on_second)
    with pytest.raises(OSError):
      manager.save(4, {'y': np.ones(1)}, {'version': 2})
  assert manager.restore()[2] == {'version': 1}


def test_check_compatible_lists_every_difference():
  saved = {'widths': [8, 4], 'activation': 'relu', 'memory': {'size': 2},
           'gone': 1}
  checkpoints.check_compatible(saved, {'widths': (8, 4), 'activation': 'relu',
                                       'memory': {'size': 2}, 'gone': 1})
  with pytest.raises(checkpoints.CheckpointError) as error:
    checkpoints.check_compatible(
        saved, {'widths': (8, 5), 'activation': 'relu',
                'memory': {'size': 3}, 'new': True})
  message = str(error.value)
  assert 'another rule configuration' in message
  assert 'config.gin' in message and 'new --root_dir' in message  # The fix.
  assert 'widths: saved [8, 4] vs now [8, 5]' in message
  assert 'memory.size: saved 2 vs now 3' in message
  assert "gone: saved 1 vs now '<missing>'" in message
  assert "new: saved '<missing>' vs now True" in message
  assert 'activation' not in message
  with pytest.raises(checkpoints.CheckpointError, match='optional: saved'):
    checkpoints.check_compatible({'optional': None}, {})


def test_check_writable_creates_the_directory(tmp_path):
  directory = tmp_path / 'a' / 'b'
  assert checkpoints.check_writable(directory) == str(directory)
  assert directory.is_dir() and not os.listdir(directory)


@pytest.mark.parametrize('below', ['', 'sub'])
def test_check_writable_refuses_a_path_through_a_file(tmp_path, below):
  # A regular file in the way stops even root, unlike permission bits.
  blocker = tmp_path / 'file'
  blocker.write_text('in the way')
  directory = blocker / below if below else blocker
  with pytest.raises(checkpoints.CheckpointError) as error:
    checkpoints.check_writable(directory)
  assert str(directory) in str(error.value)
  assert 'not writable' in str(error.value)


def test_check_writable_probes_an_existing_directory(tmp_path, monkeypatch):
  # Root writes through permission bits; a read-only file system refuses
  # the probe file as this fake does.
  def refuse(**unused_kwargs):
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))

  monkeypatch.setattr(checkpoints.tempfile, 'NamedTemporaryFile', refuse)
  with pytest.raises(checkpoints.CheckpointError,
                     match=f'{tmp_path} is not writable.*Read-only'):
    checkpoints.check_writable(tmp_path)
