"""Tests of the Debian package-descriptions text corpus (spec §7.2).

Every test reads a small listing in ``apt-cache dumpavail``'s format
written here, never apt's real lists; a fake ``apt-cache`` on PATH stands in
for the command.
"""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from learned_rule.data import debian_descriptions
from learned_rule.data import text
from learned_rule.data import text_directory

_REPO_ROOT = pathlib.Path(REPO_ROOT)

# Four packages per kept section, plus: 'chess-board' listed twice (first
# in games, then in science), a contrib/ and a non-free/ area prefix,
# package and source names inside descriptions, a long description, a
# description that is only the package's name, and other sections.
_GAMES = """\
Package: chess-board
Version: 1.0-1
Section: games
Description: chess-board is a chess game with a wooden board
Description-md5: 0123456789abcdef0123456789abcdef

Package: tetris-data
Source: tetris (2.1-3)
Section: contrib/games
Description: Data files for Tetris, the puzzle game of falling blocks

Package: maze
Section: games
Description: maze game with monsters; MAZE is not python3-maze
 Explore the maze and collect treasure before the monsters
 .
 catch you. Play the game with friends.

Package: cards
Section: games
Description: card game of solitaire and patience played by Cards fans
"""
_OTHERS = """\
Package: chess-board
Version: 2.0-1
Section: science
Description: listed again in science, so dropped

Package: libfoo1
Section: libs
Description: shared library for the foo format

Package: audio-tools
Section: non-free/utils
Description: audio file utilities in another section

Package: genome
Section: science
Description: genome sequence alignment tool for biology

Package: orbits
Section: science
Description: orbit simulation for astronomy and physics

Package: atoms
Section: science
Description: molecular dynamics of atoms for chemistry

Package: stats
Section: non-free/science
Description: statistics of experiments in physics and biology

Package: synth
Section: sound
Description: software synthesizer for music and audio

Package: mixer
Section: sound
Description: audio mixer with MIDI and music support

Package: tagger
Section: sound
Description: music audio file tag editor

Package: recorder
Section: sound
Description: audio recorder for microphone sound

Package: solo
Section: sound
Description: Solo

Package: painter
Section: graphics
Description: image painting program with brushes and photo layers

Package: vector
Section: graphics
Description: vector drawing image editor for illustrations

Package: viewer
Section: graphics
Description: photo and image viewer with thumbnails

Package: scanner
Section: graphics
Description: photo scanner image capture tool
"""
FAKE_DUMP = _GAMES + '\n' + _OTHERS


@pytest.fixture(name='corpus_dir')
def fixture_corpus_dir(tmp_path):
  directory = tmp_path / 'debian_descriptions'
  debian_descriptions.write_corpus(directory, dump_text=FAKE_DUMP)
  return directory


def _fake_apt_cache(directory, script):
  """Writes an executable ``apt-cache`` shell script into ``directory``."""
  directory.mkdir(parents=True, exist_ok=True)
  command = directory / 'apt-cache'
  command.write_text('#!/bin/sh\n' + script + '\n', encoding='utf-8')
  command.chmod(0o755)
  return directory


def test_parse_keeps_four_sections_first_records_and_no_area_prefix():
  documents = debian_descriptions.parse_dump(FAKE_DUMP)
  assert list(documents) == list(debian_descriptions.SECTIONS)
  assert {section: sorted(packages)
          for section, packages in documents.items()} == {
              'games': ['cards', 'chess-board', 'maze', 'tetris-data'],
              'graphics': ['painter', 'scanner', 'vector', 'viewer'],
              'science': ['atoms', 'genome', 'orbits', 'stats'],
              'sound': ['mixer', 'recorder', 'synth', 'tagger']}
  assert 'wooden board' in documents['games']['chess-board']
  everything = ' '.join(content for packages in documents.values()
                        for content in packages.values())
  for other in ('listed again', 'shared library', 'another section'):
    assert other not in everything


def test_names_of_the_package_and_its_source_are_removed():
  documents = debian_descriptions.parse_dump(FAKE_DUMP)
  games = documents['games']
  assert games['chess-board'] == 'is a chess game with a wooden board'
  assert games['tetris-data'] == (
      'Data files for , the puzzle game of falling blocks')
  assert games['cards'] == (
      'card game of solitaire and patience played by fans')
  # Whole words only: 'python3-maze' is another name and stays.
  assert games['maze'].startswith('game with monsters; is not python3-maze')
  for packages in documents.values():
    for package, content in packages.items():
      whole_name = r'(?<![\w+.-])' + re.escape(package) + r'(?![\w+-])'
      assert not re.search(whole_name, content, re.IGNORECASE), package
  # A description that was only the name has no words left: left out.
  assert 'solo' not in documents['sound']


def test_long_description_is_kept_with_paragraphs():
  maze = debian_descriptions.parse_dump(FAKE_DUMP)['games']['maze']
  assert maze.split('\n') == [
      'game with monsters; is not python3-maze',
      'Explore the and collect treasure before the monsters',
      '',
      'catch you. Play the game with friends.']


def test_section_name_drops_the_archive_area():
  assert debian_descriptions.section_name('contrib/games') == 'games'
  assert debian_descriptions.section_name('non-free/sound') == 'sound'
  assert debian_descriptions.section_name(' science ') == 'science'


def test_a_package_name_that_is_no_file_name_is_refused():
  dump = _OTHERS.replace('Package: genome', 'Package: ../genome')
  with pytest.raises(ValueError, match=r"'\.\./genome' is not a Debian"):
    debian_descriptions.parse_dump(dump)


def test_write_corpus_lays_out_one_directory_per_section(corpus_dir):
  counts = debian_descriptions.write_corpus(corpus_dir, dump_text=FAKE_DUMP)
  assert counts == {'games': 4, 'graphics': 4, 'science': 4, 'sound': 4}
  assert sorted(path.name for path in corpus_dir.iterdir()
                if not path.name.startswith('.')) == sorted(
                    debian_descriptions.SECTIONS)
  documents = debian_descriptions.parse_dump(FAKE_DUMP)
  for section, packages in documents.items():
    files = sorted((corpus_dir / section).iterdir())
    assert [path.name for path in files] == sorted(
        f'{package}.txt' for package in packages)
    for path in files:
      assert path.read_text(encoding='utf-8') == packages[path.stem] + '\n'
  assert debian_descriptions.prepared_counts(corpus_dir) == counts
  # Nothing but the corpus is left beside it.
  assert [path.name for path in corpus_dir.parent.iterdir()] == [
      corpus_dir.name]


def test_write_corpus_replaces_an_older_corpus(corpus_dir):
  smaller = FAKE_DUMP.replace('Package: cards', 'Package: cards-x').replace(
      'Package: genome\nSection: science', 'Package: genome\nSection: misc')
  counts = debian_descriptions.write_corpus(corpus_dir, dump_text=smaller)
  assert counts['science'] == 3 and counts['games'] == 4
  assert not (corpus_dir / 'science' / 'genome.txt').exists()
  assert not (corpus_dir / 'games' / 'cards.txt').exists()
  assert (corpus_dir / 'games' / 'cards-x.txt').exists()
  assert [path.name for path in corpus_dir.parent.iterdir()] == [
      corpus_dir.name]


def _failing_writes(monkeypatch, fail_at):
  """Makes ``Path.write_text`` fail from its ``fail_at``-th call on.

  Returns:
    A list holding the number of calls so far.
  """
  calls = [0]
  write_text = pathlib.Path.write_text

  def failing_write_text(path, *args, **kwargs):
    calls[0] += 1
    if calls[0] >= fail_at:
      raise OSError('disk full')
    return write_text(path, *args, **kwargs)

  monkeypatch.setattr(pathlib.Path, 'write_text', failing_write_text)
  return calls


def test_failed_write_leaves_no_partial_corpus(tmp_path, monkeypatch):
  target = tmp_path / 'corpus'
  calls = _failing_writes(monkeypatch, fail_at=6)
  with pytest.raises(OSError, match='disk full'):
    debian_descriptions.write_corpus(target, dump_text=FAKE_DUMP)
  assert calls == [6]
  assert not list(tmp_path.iterdir())


def test_failed_rewrite_keeps_the_older_corpus(corpus_dir, monkeypatch):
  before = sorted(path.relative_to(corpus_dir)
                  for path in corpus_dir.rglob('*'))
  _failing_writes(monkeypatch, fail_at=3)
  with pytest.raises(OSError, match='disk full'):
    debian_descriptions.write_corpus(corpus_dir, dump_text=FAKE_DUMP)
  assert sorted(path.relative_to(corpus_dir)
                for path in corpus_dir.rglob('*')) == before
  assert [path.name for path in corpus_dir.parent.iterdir()] == [
      corpus_dir.name]


def test_listing_without_the_sections_says_to_update_apt(tmp_path):
  dump = 'Package: libfoo1\nSection: libs\nDescription: a library\n'
  with pytest.raises(debian_descriptions.DumpError,
                     match=r"\['games', 'graphics', 'science', 'sound'\]"
                     r'.*apt-get update'):
    debian_descriptions.write_corpus(tmp_path / 'corpus', dump_text=dump)
  without_sound = FAKE_DUMP.replace('Section: sound', 'Section: misc')
  with pytest.raises(debian_descriptions.DumpError,
                     match=r"section\(s\) \['sound'\]"):
    debian_descriptions.write_corpus(tmp_path / 'corpus',
                                     dump_text=without_sound)
  assert not list(tmp_path.iterdir())


def test_write_corpus_runs_apt_cache_dumpavail(tmp_path, monkeypatch):
  dump_file = tmp_path / 'dump.txt'
  dump_file.write_text(FAKE_DUMP, encoding='utf-8')
  fake_bin = _fake_apt_cache(
      tmp_path / 'bin',
      f'[ "$1" = dumpavail ] || exit 2\nexec cat "{dump_file}"')
  monkeypatch.setenv('PATH', f'{fake_bin}{os.pathsep}{os.environ["PATH"]}')
  counts = debian_descriptions.write_corpus(tmp_path / 'corpus')
  assert counts == debian_descriptions.write_corpus(tmp_path / 'again',
                                                    dump_text=FAKE_DUMP)
  assert (tmp_path / 'corpus' / 'games' / 'maze.txt').read_text(
      encoding='utf-8') == (tmp_path / 'again' / 'games' / 'maze.txt'
                            ).read_text(encoding='utf-8')


def test_missing_or_failing_apt_cache_is_reported(tmp_path, monkeypatch):
  monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
  with pytest.raises(debian_descriptions.DumpError,
                     match='apt-cache not found'):
    debian_descriptions.write_corpus(tmp_path / 'corpus')
  failing_bin = _fake_apt_cache(tmp_path / 'bin',
                                'echo "E: no lists" >&2\nexit 100')
  monkeypatch.setenv('PATH', str(failing_bin))
  with pytest.raises(debian_descriptions.DumpError,
                     match='exit status 100: E: no lists'):
    debian_descriptions.write_corpus(tmp_path / 'corpus')
  assert not (tmp_path / 'corpus').exists()


def test_load_split_gives_a_four_class_bag_of_words(corpus_dir):
  train = debian_descriptions.load_split('train', data_dir=corpus_dir)
  test = debian_descriptions.load_split('test', data_dir=corpus_dir)
  for data in (train, test):
    assert data.name == 'debian_descriptions'
    assert data.modality == 'text' and data.num_classes == 4
    assert data.class_names == debian_descriptions.SECTIONS
    assert data.shape == (data.features.shape[1],)
    assert data.features.dtype == np.float32
    assert set(np.unique(data.features)) <= {0.0, 1.0}
  np.testing.assert_array_equal(np.bincount(train.labels), [3, 3, 3, 3])
  np.testing.assert_array_equal(np.bincount(test.labels), [1, 1, 1, 1])
  _, splits = text_directory.read_corpus(corpus_dir)
  train_texts = [content for section in debian_descriptions.SECTIONS
                 for _, content in splits['train'][section]]
  vocabulary = text.build_vocabulary(train_texts)
  np.testing.assert_array_equal(train.features,
                                text.bag_of_words(train_texts, vocabulary))
  for section in debian_descriptions.SECTIONS:
    train_files = {path for path, _ in splits['train'][section]}
    test_files = {path for path, _ in splits['test'][section]}
    assert not train_files & test_files
    assert len(train_files | test_files) == 4


def test_unprepared_corpus_names_the_command(tmp_path):
  with pytest.raises(debian_descriptions.NotPreparedError,
                     match=r'learned-rule-prepare-data '
                     r'--dataset=debian_descriptions'):
    debian_descriptions.load_split('train', data_dir=tmp_path / 'none')
  with pytest.raises(ValueError, match='allowed'):
    debian_descriptions.load_split('validation', data_dir=tmp_path)


def test_corpus_directory_follows_the_cache_convention(tmp_path,
                                                       monkeypatch):
  assert debian_descriptions.corpus_directory(tmp_path) == tmp_path
  monkeypatch.setenv('LEARNED_RULE_CACHE', str(tmp_path))
  assert debian_descriptions.corpus_directory() == (
      tmp_path / 'debian_descriptions')
  monkeypatch.delenv('LEARNED_RULE_CACHE')
  monkeypatch.setenv('HOME', str(tmp_path / 'home'))
  assert debian_descriptions.corpus_directory() == (
      tmp_path / 'home' / '.cache' / 'learned_rule' / 'debian_descriptions')


def test_prepare_data_writes_once_then_skips(tmp_path):
  dump_file = tmp_path / 'dump.txt'
  dump_file.write_text(FAKE_DUMP, encoding='utf-8')
  fake_bin = _fake_apt_cache(tmp_path / 'bin', f'exec cat "{dump_file}"')
  environment = dict(os.environ, LEARNED_RULE_CACHE=str(tmp_path / 'cache'),
                     PATH=f'{fake_bin}{os.pathsep}{os.environ["PATH"]}')
  command = [sys.executable, str(_REPO_ROOT / 'bin' / 'prepare_data.py'),
             '--dataset=debian_descriptions']
  outputs = [subprocess.run(command, env=environment, capture_output=True,
                            text=True, check=True, timeout=60).stdout
             for _ in range(2)]
  assert 'written to' in outputs[0] and 'games: 4 package' in outputs[0]
  assert 'is prepared at' in outputs[1] and 'sound: 4 package' in outputs[1]
  corpus = tmp_path / 'cache' / 'debian_descriptions'
  assert len(debian_descriptions.load_split('all', data_dir=corpus)) == 16


def test_registry_serves_the_corpus_by_role(corpus_dir):
  # pylint: disable-next=g-import-not-at-top
  from learned_rule.data import registry
  assert registry.ROLE_SPLITS['debian_descriptions'] == {
      registry.META_TRAIN: 'train', registry.HELD_OUT: 'test'}
  held_out = registry.load_for(registry.HELD_OUT, 'debian_descriptions',
                               data_dir=str(corpus_dir))
  assert held_out.split == 'test' and len(held_out) == 4
