"""Files written whole or not at all."""

import json

import pytest

from learned_rule import atomic_files


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
