"""The reliability campaign's parts (reliability/), and the disk
that fills during a checkpoint, through the real binary: it stops with
status 74 and a message, the previous checkpoint intact, and resumes."""

import errno
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from reliability import inject_enospc
from reliability import evaluation_kills
from reliability import integrity
from reliability import kills
from reliability import report
from learned_rule.storage import atomic_files
from learned_rule.cli import exits
from learned_rule.training import checkpoints

REPO = REPO_ROOT
RESULTS = os.path.join(REPO, 'results', 'reliability')


def test_the_table_is_the_campaigns():
  # tests/test_quoted_tables.py checks that the docs quote it as it is.
  with open(os.path.join(RESULTS, 'chaos.json'), encoding='utf-8') as stream:
    results = json.load(stream)
  with open(os.path.join(RESULTS, 'chaos.md'), encoding='utf-8') as stream:
    table = stream.read()
  assert report.markdown(results) == table
  # What the campaign's table must give.
  for measure in ('SIGKILLs of meta-training survived', 'Corrupt checkpoints',
                  'resumed from the newest checkpoint', 'Bad inputs rejected',
                  'Full disk', 'Wall time'):
    assert measure in table


def test_a_damaged_checkpoint_is_counted_as_corrupt(tmp_path):
  manager = checkpoints.CheckpointManager(tmp_path / 'ckpt', keep=None)
  manager.save(1, {'theta/0': np.ones(3)})
  damaged = manager.save(2, {'theta/0': np.ones(3)})
  arrays = os.path.join(damaged, checkpoints.ARRAYS_FILE)
  with open(arrays, 'r+b') as stream:
    stream.truncate(20)
  found = integrity.check_run(str(tmp_path))
  assert found['checkpoints'] == 2
  assert len(found['corrupt_checkpoints']) == 1
  assert 'arrays.npz' in found['corrupt_checkpoints'][0]
  assert integrity.latest_step(str(tmp_path)) == 2


def test_bit_equality_sees_what_equality_does_not():
  zeros = [np.zeros(2, np.float32)]
  assert kills.bit_equal(zeros, [np.zeros(2, np.float32)])
  assert not kills.bit_equal(zeros, [-np.zeros(2, np.float32)])
  assert not kills.bit_equal(zeros, [np.zeros(2, np.float64)])
  assert not kills.bit_equal(zeros, zeros * 2)


def test_a_resume_is_read_from_the_log():
  assert kills._resumed('Resumed from step 12 (ckpt-12).', 12)
  assert kills._resumed('Resumed from step 120 (ckpt-120).', 12) is False
  # Trained from scratch although a checkpoint was there.
  assert kills._resumed('Saved checkpoint ckpt-1.', 12) is False
  assert kills._resumed('importing TensorFlow', 12) is None
  assert kills._resumed('Saved checkpoint ckpt-1.', None) is None


def test_the_report_counts_kills_and_resumes():
  lives = [kills.Life('tiny', 'random', landed='checkpoint write',
                      killed=True),
           kills.Life('tiny', 'random', landed='between writes', killed=True,
                      resume_expected=3, resumed=True,
                      corrupt=['ckpt-3: truncated']),
           kills.Life('tiny', 'none', landed='ended first', resumed=False,
                      resume_expected=4)]
  found = kills.summarize([{'lives': lives, 'finished': True}])
  assert found['kills'] == 2 and found['kills_survived'] == 1
  assert found['corrupt'] == 1
  assert (found['resumes_matched'], found['resumes_checked']) == (1, 2)
  table = report.markdown({'kills': found, 'wall_minutes': 1.2,
                           'git_revision': 'abc', 'machine': '2 cores',
                           'date': '2026-12-01'})
  assert '| SIGKILLs of meta-training survived (every checkpoint and ' \
      'export reads back after it) | 1 / 2 |' in table
  assert '| Corrupt checkpoints or exports found | 1 |' in table


def test_injected_enospc_fails_the_writes_after_the_first_ones(
    tmp_path, monkeypatch):
  # Restored after the test: install() replaces these two.
  monkeypatch.setattr(atomic_files, 'replacing', atomic_files.replacing)
  monkeypatch.setattr(atomic_files, 'replacing_directory',
                      atomic_files.replacing_directory)
  inject_enospc.install('/cells/', after=1)
  atomic_files.write_text(tmp_path / 'cells' / 'a.json', 'a')
  atomic_files.write_text(tmp_path / 'other.json', 'not matched')
  with pytest.raises(OSError) as raised:
    atomic_files.write_text(tmp_path / 'cells' / 'b.json', 'b')
  assert raised.value.errno == errno.ENOSPC
  assert exits.is_disk_full(raised.value)
  assert sorted(os.listdir(tmp_path / 'cells')) == ['a.json']


def test_a_full_disk_during_a_checkpoint_stops_and_resumes(tmp_path):
  root = tmp_path / 'run'
  argv = [os.path.join(REPO, 'bin', 'meta_train.py'), f'--root_dir={root}',
          '--gin_file=meta_train/tiny.gin', '--nobatch_tasks',
          '--num_steps=3', '--checkpoint_every_steps=1',
          '--export_every_steps=100', '--filters_every_steps=0']
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='')
  full = subprocess.run(
      [sys.executable, inject_enospc.__file__, *argv], capture_output=True,
      text=True, timeout=600, check=False,
      env=dict(env, **{inject_enospc.MATCH: '/ckpt/ckpt-',
                       inject_enospc.AFTER: '1'}))
  assert full.returncode == exits.EXIT_DISK_FULL, full.stderr[-3000:]
  assert 'meta_train.py: the disk is full: OSError' in full.stderr
  assert 'run the same command again' in full.stderr
  assert 'Traceback' not in full.stderr
  assert integrity.check_run(str(root), load_exports=False) == {
      'checkpoints': 1, 'corrupt_checkpoints': [], 'exports': 0,
      'corrupt_exports': []}
  assert not integrity.temporaries(root / 'ckpt')
  resumed = subprocess.run([sys.executable, *argv], capture_output=True,
                           text=True, timeout=600, check=False, env=env)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert 'Resumed from step 1 ' in resumed.stderr
  assert integrity.latest_step(str(root)) == 3


def test_cells_read_while_an_evaluation_writes_skip_its_temporary_files(
    tmp_path, monkeypatch):
  cells_dir = tmp_path / 'cells'
  cells_dir.mkdir()
  (cells_dir / 'a.json').write_text('{}')
  (cells_dir / (atomic_files.TEMPORARY_PREFIX + 'b.json')).write_text('{')
  (cells_dir / 'gone.json').write_text('{}')
  listed = sorted(os.listdir(cells_dir))
  # 'gone.json' is renamed away between the listing and the read.
  (cells_dir / 'gone.json').unlink()
  monkeypatch.setattr(evaluation_kills.os, 'listdir', lambda _: listed)
  assert list(evaluation_kills.cells(str(tmp_path))) == ['a.json']
