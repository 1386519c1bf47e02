"""Run and output paths are refused before any work, naming the flag."""

import os

import pytest

from learned_rule.storage import run_dirs


def test_a_new_directory_is_accepted_and_not_left_behind(tmp_path):
  run_dirs.check_directory(tmp_path / 'runs' / 'new')
  run_dirs.check_directory(tmp_path)
  assert os.listdir(tmp_path) == []


def test_a_file_is_not_a_run_directory(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('x')
  with pytest.raises(ValueError, match='--root_dir=.* is a file, not a '
                     'directory; give a directory'):
    run_dirs.check_directory(blocker)
  with pytest.raises(ValueError, match=f'is under {blocker}, which is a '
                     'file'):
    run_dirs.check_directory(blocker / 'run', '--root_dir')


def test_a_directory_that_cannot_be_created_is_refused():
  # /proc takes no new directories, even from root.
  with pytest.raises(ValueError, match='--root_dir=/proc/learned_rule_run '
                     'cannot be created'):
    run_dirs.check_directory('/proc/learned_rule_run')


def test_urls_are_left_to_their_filesystem():
  run_dirs.check_directory('gs://bucket/run')
  run_dirs.check_output_file('gs://bucket/out.json', '--output_json')


def test_an_output_file_needs_a_directory_it_can_go_in(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('x')
  with pytest.raises(ValueError, match='--output_json=.*: its directory .* '
                     'is a file'):
    run_dirs.check_output_file(str(blocker / 'out.json'), '--output_json')
  with pytest.raises(ValueError, match='is a directory; give the path of a '
                     'file'):
    run_dirs.check_output_file(str(tmp_path), '--output_json')
  run_dirs.check_output_file(str(tmp_path / 'new' / 'out.json'),
                             '--output_json')
  run_dirs.check_output_file(None, '--output_json')
  assert os.listdir(tmp_path) == ['file']
