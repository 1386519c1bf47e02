"""Run directories, exports and results on a TensorFlow filesystem other than
the local disk: ``ram://``, TensorFlow's in-memory filesystem.

``ram://`` belongs to one process, so everything runs in process (the
binaries' entry points, not the binaries). Each test starts in an empty
working directory and checks that it stays empty: a URL taken for a local
path (``os.path.abspath('ram://x')``) would write there.
"""

import io
import json
import os
import uuid

import numpy as np
import pytest
import tensorflow as tf

from learned_rule.storage import atomic_files
from learned_rule import configuration
from learned_rule import export
from learned_rule.storage import file_io
from learned_rule.storage import run_dirs
# Its configurables appear in the gin files that meta-training reads.
from learned_rule.evaluation import held_out  # pylint: disable=unused-import
from learned_rule.reporting import method_names
from learned_rule.reporting import results
from learned_rule.evaluation import rule_source
from learned_rule.evaluation import transfer
from learned_rule.training import checkpoints
from learned_rule.training import loop
from learned_rule.training import schedule

# One root per test process, so that reruns in one process never meet.
RAM = f'ram://test_filesystems_{uuid.uuid4().hex}'


def _read(path):
  with tf.io.gfile.GFile(path, 'rb') as stream:
    return stream.read()


def _write(path, content):
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, 'wb') as stream:
    stream.write(content)


def _tree(root):
  """``{relative path: content}`` of the files under a ram:// directory."""
  found = {}
  for directory, _, names in tf.io.gfile.walk(root):
    for name in names:
      path = f'{directory}/{name}'
      if tf.io.gfile.exists(path):  # ram:// lists some names that are not.
        found[path[len(root) + 1:]] = _read(path)
  return found


@pytest.fixture(name='empty_cwd')
def fixture_empty_cwd(tmp_path, monkeypatch):
  """An empty working directory; the test fails if anything lands there."""
  cwd = tmp_path / 'cwd'
  cwd.mkdir()
  monkeypatch.chdir(cwd)
  yield cwd
  assert sorted(os.listdir(cwd)) == []


@pytest.fixture(name='ram_meta_run', scope='module')
def fixture_ram_meta_run(tmp_path_factory):
  """A meta-training run on ram:// of two steps, each checkpointed and
  exported, then resumed from its checkpoint (with nothing left to do).

  Returns ``(root_dir, log lines, θ after the run, θ after the resume)``.
  """
  cwd = tmp_path_factory.mktemp('meta_cwd')
  before = os.getcwd()
  os.chdir(cwd)
  try:
    root = f'{RAM}/meta_run'
    lines = []
    every_step = schedule.Schedule(checkpoint_every_steps=1,
                                   export_every_steps=1)
    configuration.parse_gin(['meta_train/tiny.gin'], [])
    trained = loop.train(root, num_steps=2, schedule=every_step,
                         batch_tasks=False, log=lines.append)
    resumed = loop.train(root, num_steps=2, schedule=every_step,
                         batch_tasks=False, log=lines.append)
    assert sorted(os.listdir(cwd)) == []
  finally:
    os.chdir(before)
  return (root, lines, [v.numpy() for v in trained.trainable_variables],
          [v.numpy() for v in resumed.trainable_variables])


def test_meta_training_checkpoints_resumes_and_exports_on_ram(
    ram_meta_run, empty_cwd):
  del empty_cwd  # Checked when the test ends.
  root, lines, trained, resumed = ram_meta_run
  assert any(line.startswith('Resumed from step 2 (ram://')
             for line in lines), lines
  assert sorted(file_io.listdir(root)) == sorted([
      run_dirs.CHECKPOINTS, run_dirs.EXPORT, run_dirs.EXPORT_INIT,
      run_dirs.OPERATIVE_CONFIG, run_dirs.SUMMARIES])
  manager = checkpoints.CheckpointManager(
      run_dirs.path(root, run_dirs.CHECKPOINTS))
  assert [step for step, _ in manager.checkpoints()] == [1, 2]
  # No temporaries left: the swaps and prunes cleaned up after themselves.
  assert not [name for name in file_io.listdir(manager.directory)
              if name.startswith(atomic_files.TEMPORARY_PREFIX)]
  step, arrays, metadata = manager.restore()
  assert step == 2 and metadata['step'] == 2
  rule, export_metadata = export.load_rule(run_dirs.path(root, run_dirs.EXPORT))
  assert export_metadata['extra']['step'] == 2
  exported = [v.numpy() for v in rule.trainable_variables]
  # θ of the run, its checkpoint, its export and the resumed run: the same.
  for i, value in enumerate(exported):
    np.testing.assert_array_equal(value, trained[i])
    np.testing.assert_array_equal(value, arrays[f'theta/{i}'])
    np.testing.assert_array_equal(value, resumed[i])
  _, init_metadata = export.load_rule(run_dirs.path(root,
                                                    run_dirs.EXPORT_INIT))
  assert init_metadata['extra']['step'] == 0
  assert tf.io.gfile.glob(run_dirs.path(root, run_dirs.SUMMARIES,
                                        'events.out.tfevents.*'))
  assert b'RuleConfig.hidden_size = 6' in _read(
      run_dirs.path(root, run_dirs.OPERATIVE_CONFIG))


def test_transfer_evaluation_writes_its_results_on_ram(ram_meta_run,
                                                       empty_cwd):
  del empty_cwd  # Checked when the test ends.
  meta_root = ram_meta_run[0]
  root = f'{RAM}/transfer'
  methods = (method_names.LEARNED_RULE, method_names.THETA_INIT)
  configuration.parse_gin(['transfer/tiny.gin'], [
      f'TransferConfig.methods = {methods!r}', 'TransferConfig.seeds = (0,)'])
  source = rule_source.load(meta_root)
  assert source.path == run_dirs.path(meta_root, run_dirs.EXPORT)
  evaluation = transfer.TransferEvaluation(root, source,
                                           transfer.TransferConfig(),
                                           log=lambda message: None)
  evaluation.prepare()
  evaluation.run()
  content = results.read_results(run_dirs.path(root, run_dirs.RESULTS_JSON))
  assert {row['method'] for row in content['summary']} == set(methods)
  assert json.loads(_read(run_dirs.path(root, run_dirs.EVALUATION_CONFIG)))[
      'rule'] == source.path
  names = file_io.listdir(root)
  assert {run_dirs.CELLS, run_dirs.FILTERS, run_dirs.PLOTS,
          run_dirs.RESULTS_JSON, run_dirs.RESULTS_MARKDOWN} <= set(names)
  assert len(file_io.listdir(run_dirs.path(root, run_dirs.CELLS))) == 2
  plots = file_io.listdir(run_dirs.path(root, run_dirs.PLOTS))
  assert plots and all(name.endswith('.png') for name in plots)
  assert _read(run_dirs.path(root, run_dirs.PLOTS, plots[0])).startswith(
      b'\x89PNG')
  with np.load(io.BytesIO(_read(run_dirs.path(
      root, run_dirs.FILTERS,
      file_io.listdir(run_dirs.path(root, run_dirs.FILTERS))[0])))) as saved:
    assert saved['weights'].ndim == 3
  # A second run finds every cell done and the same configuration.
  evaluation.prepare()
  assert all(evaluation.store.has_cell('digits', (8, 4), 'relu', method, 0)
             for method in methods)


def test_file_writes_on_ram_are_whole_or_not_at_all(empty_cwd):
  del empty_cwd  # Checked when the test ends.
  path = f'{RAM}/files/a/value.json'
  atomic_files.write_json(path, {'x': 1})
  atomic_files.write_text(path, 'new')
  assert _read(path) == b'new'
  with pytest.raises(RuntimeError, match='half way'):
    with atomic_files.replacing(path, binary=True) as stream:
      stream.write(b'partial')
      raise RuntimeError('half way')
  assert _read(path) == b'new'
  assert file_io.listdir(f'{RAM}/files/a') == ['value.json']
  assert file_io.read_text(path) == 'new'
  with pytest.raises(FileNotFoundError, match='gone.json'):
    file_io.read_text(f'{RAM}/files/gone.json')


def test_a_replaced_directory_on_ram_keeps_its_content_if_the_write_fails(
    empty_cwd):
  del empty_cwd  # Checked when the test ends.
  parent = f'{RAM}/directories'
  target = f'{parent}/out'
  # A sibling whose name extends the target's, as export_init extends
  # export: ram:// lists it inside the target, which must not disturb.
  _write(f'{parent}/out_init/kept.txt', b'sibling')
  for content in (b'first', b'second'):
    with atomic_files.replacing_directory(target, last_file='DONE') as staging:
      assert file_io.split(staging)[0] == parent
      _write(f'{staging}/sub/data.txt', content)
      _write(f'{staging}/DONE', b'')
  assert _tree(target) == {'sub/data.txt': b'second', 'DONE': b''}
  with pytest.raises(RuntimeError, match='half way'):
    with atomic_files.replacing_directory(target, last_file='DONE') as staging:
      _write(f'{staging}/sub/data.txt', b'partial')
      raise RuntimeError('half way')
  assert _tree(target) == {'sub/data.txt': b'second', 'DONE': b''}
  assert file_io.listdir(parent) == ['out', 'out_init']
  assert _tree(f'{parent}/out_init') == {'kept.txt': b'sibling'}
  atomic_files.remove_directory(target, last_file='DONE')
  assert file_io.listdir(parent) == ['out_init']


def test_the_marker_moves_in_last_and_out_first(empty_cwd, monkeypatch):
  del empty_cwd  # Checked when the test ends.
  parent = f'{RAM}/marker_order'
  target = f'{parent}/out'
  for name in ('DONE', 'a.txt', 'sub/b.txt'):
    _write(f'{target}/{name}', b'old')
  real_rename = tf.io.gfile.rename
  renames = []

  def recording_rename(source, destination, overwrite=False):
    renames.append((source, destination))
    real_rename(source, destination, overwrite)

  monkeypatch.setattr(tf.io.gfile, 'rename', recording_rename)
  with atomic_files.replacing_directory(target, last_file='DONE') as staging:
    for name in ('DONE', 'a.txt', 'sub/b.txt'):
      _write(f'{staging}/{name}', b'new')
  moved_out = [source[len(target) + 1:] for source, _ in renames
               if source.startswith(f'{target}/')]
  moved_in = [destination[len(target) + 1:] for _, destination in renames
              if destination.startswith(f'{target}/')]
  assert moved_out[0] == 'DONE' and sorted(moved_out) == [
      'DONE', 'a.txt', 'sub/b.txt']
  assert moved_in[-1] == 'DONE' and sorted(moved_in) == [
      'DONE', 'a.txt', 'sub/b.txt']
  assert set(_tree(target).values()) == {b'new'}


def test_a_failed_move_on_ram_puts_the_old_directory_back(empty_cwd,
                                                           monkeypatch):
  del empty_cwd  # Checked when the test ends.
  parent = f'{RAM}/failed_move'
  target = f'{parent}/out'
  _write(f'{target}/old.txt', b'old')
  _write(f'{target}/DONE', b'')
  real_rename = tf.io.gfile.rename

  def rename_failing_into_target(source, destination, overwrite=False):
    if destination.startswith(f'{target}/') and 'new' in destination:
      raise tf.errors.UnavailableError(None, None, 'simulated failure')
    real_rename(source, destination, overwrite)

  monkeypatch.setattr(tf.io.gfile, 'rename', rename_failing_into_target)
  with pytest.raises(tf.errors.UnavailableError, match='simulated'):
    with atomic_files.replacing_directory(target, last_file='DONE') as staging:
      _write(f'{staging}/new.txt', b'new')
      _write(f'{staging}/DONE', b'')
  monkeypatch.setattr(tf.io.gfile, 'rename', real_rename)
  assert _tree(target) == {'old.txt': b'old', 'DONE': b''}
  assert file_io.listdir(parent) == ['out']


def test_url_paths_are_not_made_local():
  assert file_io.is_url('gs://bucket/run') and file_io.is_url('ram://x')
  assert not file_io.is_url('runs/gs:/x') and not file_io.is_url('/tmp/x')
  assert file_io.absolute('gs://bucket/run') == 'gs://bucket/run'
  assert file_io.canonical('ram://x/y') == 'ram://x/y'
  assert file_io.absolute('run') == os.path.join(os.getcwd(), 'run')
  assert file_io.split('ram://x') == ('ram://', 'x')
  assert file_io.split('gs://bucket/run/export/') == ('gs://bucket/run',
                                                       'export')
  assert file_io.split('/tmp/a/b') == ('/tmp/a', 'b')


def test_checkpoints_on_ram_are_written_and_pruned(empty_cwd):
  del empty_cwd  # Checked when the test ends.
  directory = f'{RAM}/ckpt'
  assert checkpoints.check_writable(directory) == directory
  assert file_io.listdir(directory) == []
  manager = checkpoints.CheckpointManager(directory, keep=2)
  for step in (1, 2, 3):
    manager.save(step, {'x': np.full(3, step)}, {'step': step})
  assert file_io.listdir(directory) == ['ckpt-00000002', 'ckpt-00000003']
  step, arrays, metadata = manager.restore()
  assert step == 3 and metadata == {'step': 3}
  np.testing.assert_array_equal(arrays['x'], [3, 3, 3])
  arrays_path = f'{directory}/ckpt-00000003/arrays.npz'
  content = _read(arrays_path)
  tf.io.gfile.remove(arrays_path)  # A ram:// file opened again is appended to.
  _write(arrays_path, content[:len(content) // 2])
  with pytest.raises(checkpoints.CheckpointError, match='arrays.npz'):
    manager.restore()
  assert manager.restore(fall_back=True)[0] == 2


def test_results_show_paths_below_the_working_directory_relative(
    tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  inside = tmp_path / 'learned_rule' / 'rules' / 'x' / 'export'
  assert file_io.shown(str(inside)) == os.path.join(
      'learned_rule', 'rules', 'x', 'export')
  outside = os.path.dirname(str(tmp_path))
  assert file_io.shown(outside) == outside
  assert file_io.shown('gs://bucket/rule') == 'gs://bucket/rule'
