"""Files written whole or not at all."""

import errno
import json
import os
import pathlib

import pytest

from learned_rule.storage import atomic_files


def test_writes_text_and_json_creating_directories(tmp_path):
  path = tmp_path / 'a' / 'b' / 'value.json'
  atomic_files.write_json(path, {'x': [1, 2]})
  assert json.loads(path.read_text()) == {'x': [1, 2]}
  atomic_files.write_text(path, 'new')
  assert path.read_text() == 'new'
  assert [p.name for p in path.parent.iterdir()] == ['value.json']


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path):
  path = tmp_path / 'kept.bin'
  path.write_bytes(b'old')
  with pytest.raises(RuntimeError, match='half way'):
    with atomic_files.replacing(path, binary=True) as stream:
      stream.write(b'partial')
      raise RuntimeError('half way')
  assert path.read_bytes() == b'old'
  assert [p.name for p in tmp_path.iterdir()] == ['kept.bin']


def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path,
                                                         monkeypatch):
  # A write that finds the disk full fails at the flush, with no file name.
  path = tmp_path / 'cells' / 'cell.json'
  atomic_files.write_text(path, 'old')

  def full(unused_handle):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  monkeypatch.setattr(os, 'fsync', full)
  with pytest.raises(OSError) as raised:
    atomic_files.write_text(path, 'new')
  assert raised.value.errno == errno.ENOSPC
  assert raised.value.filename == str(path)
  assert path.read_text() == 'old'
  assert [p.name for p in path.parent.iterdir()] == ['cell.json']


def test_replacing_sets_the_mode_when_asked(tmp_path):
  path = tmp_path / 'shared.bin'
  with atomic_files.replacing(path, binary=True, mode=0o640) as stream:
    stream.write(b'x')
  assert path.stat().st_mode & 0o777 == 0o640


def _tree(root):
  return {path.relative_to(root).as_posix(): path.read_text()
          for path in sorted(root.rglob('*')) if path.is_file()}


def _fill(directory, files):
  for name, text in files.items():
    path = pathlib.Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_replacing_directory_creates_a_new_directory(tmp_path):
  target = tmp_path / 'a' / 'b' / 'out'
  with atomic_files.replacing_directory(target) as staging:
    assert pathlib.Path(staging).parent == target.parent
    assert not target.exists()
    _fill(staging, {'x.txt': 'x', 'sub/y.txt': 'y'})
  assert _tree(target) == {'x.txt': 'x', 'sub/y.txt': 'y'}
  assert [p.name for p in target.parent.iterdir()] == ['out']


@pytest.mark.parametrize('old_is_a_file', [False, True])
def test_replacing_directory_replaces_the_old_one_whole(tmp_path,
                                                         old_is_a_file):
  target = tmp_path / 'out'
  if old_is_a_file:
    target.write_text('old file')
  else:
    _fill(target, {'old.txt': 'old', 'gone/z.txt': 'z'})
  with atomic_files.replacing_directory(str(target)) as staging:
    _fill(staging, {'new.txt': 'new'})
    assert target.exists()  # The old one stays until the block is done.
  assert _tree(target) == {'new.txt': 'new'}
  assert [p.name for p in tmp_path.iterdir()] == ['out']


def test_a_failure_in_the_block_keeps_the_old_directory(tmp_path):
  target = tmp_path / 'out'
  _fill(target, {'old.txt': 'old'})
  with pytest.raises(RuntimeError, match='half way'):
    with atomic_files.replacing_directory(target) as staging:
      _fill(staging, {'new.txt': 'partial'})
      raise RuntimeError('half way')
  assert _tree(target) == {'old.txt': 'old'}
  assert [p.name for p in tmp_path.iterdir()] == ['out']


def test_a_failure_in_the_block_leaves_nothing_new(tmp_path):
  with pytest.raises(KeyboardInterrupt):
    with atomic_files.replacing_directory(tmp_path / 'out') as staging:
      _fill(staging, {'new.txt': 'partial'})
      raise KeyboardInterrupt
  assert not list(tmp_path.iterdir())


def test_a_failed_final_rename_puts_the_old_directory_back(tmp_path,
                                                          monkeypatch):
  target = tmp_path / 'out'
  _fill(target, {'old.txt': 'old'})
  real_rename = os.rename
  renames = []

  def rename_failing_into_target(source, destination):
    renames.append((os.path.basename(source), os.path.basename(destination)))
    if (os.path.basename(destination) == 'out' and
        not str(source).endswith('.old')):
      raise OSError('simulated failure')
    real_rename(source, destination)

  monkeypatch.setattr(os, 'rename', rename_failing_into_target)
  with pytest.raises(OSError, match='simulated'):
    with atomic_files.replacing_directory(target) as staging:
      _fill(staging, {'new.txt': 'new'})
  monkeypatch.setattr(os, 'rename', real_rename)
  # Moved aside, the new one refused, the old one renamed back.
  assert [destination for _, destination in renames] == [
      renames[0][1], 'out', 'out']
  assert renames[0][0] == 'out' and renames[0][1].startswith('.tmp-out-')
  assert _tree(target) == {'old.txt': 'old'}
  assert [p.name for p in tmp_path.iterdir()] == ['out']


def test_the_new_tree_is_flushed_before_the_swap(tmp_path, monkeypatch):
  target = tmp_path / 'out'
  opened, synced = {}, []
  real_open, real_fsync = os.open, os.fsync

  def recording_open(path, *args, **kwargs):
    handle = real_open(path, *args, **kwargs)
    opened[handle] = os.fspath(path)
    return handle

  def recording_fsync(handle):
    synced.append((opened[handle], target.exists()))
    real_fsync(handle)

  monkeypatch.setattr(os, 'open', recording_open)
  monkeypatch.setattr(os, 'fsync', recording_fsync)
  with atomic_files.replacing_directory(target) as staging:
    _fill(staging, {'x.txt': 'x', 'sub/y.txt': 'y'})
  staged = [(os.path.relpath(path, staging), swapped)
            for path, swapped in synced if path.startswith(staging)]
  assert sorted(staged) == [('.', False), ('sub', False),
                            ('sub/y.txt', False), ('x.txt', False)]
  assert (str(tmp_path), True) in synced  # The rename itself, after it.


def test_replacements_get_the_permissions_of_a_plain_write(tmp_path):
  old_mask = os.umask(0o022)
  try:
    path = atomic_files.write_text(tmp_path / 'file.txt', 'text')
    with atomic_files.replacing_directory(tmp_path / 'tree') as staging:
      atomic_files.write_text(os.path.join(staging, 'inner.txt'), 'text')
  finally:
    os.umask(old_mask)
  # Not tempfile's private 0o600 / 0o700: others can read a shared run.
  assert os.stat(path).st_mode & 0o777 == 0o644
  assert os.stat(tmp_path / 'tree').st_mode & 0o777 == 0o755
