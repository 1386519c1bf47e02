"""Tests of the fortunes corpus (learned_rule/data/fortunes.py), the text
that no rule meta-trains on."""

import glob
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from learned_rule import configuration
from learned_rule.data import fortunes
from learned_rule.data import registry

# Three entries per topic, one of them spread over lines, and an empty one.
ENTRIES = {
    'computers': ['A program is never finished.', 'Bugs hide in\nloops.',
                  'The network is the computer.'],
    'politics': ['Votes are counted twice.', 'A senate debates\nslowly.',
                 'Every law has a lobby.'],
    'science': ['Atoms make up everything.', 'The experiment\nfailed again.',
                'Light bends near stars.'],
    'songs-poems': ['Roses are red.', 'Sing a song\nof sixpence.',
                    'The ballad ends in rain.'],
}


def write_source(directory):
  directory.mkdir(parents=True, exist_ok=True)
  for topic, entries in ENTRIES.items():
    # An empty entry and a trailing separator, as real files have.
    (directory / topic).write_text(
        '\n%\n'.join(entries) + '\n%\n   \n%\n', encoding='utf-8')
  # A topic of the package that is not one of the four.
  (directory / 'zippy').write_text('Are we having fun yet?\n%\n',
                                   encoding='utf-8')
  return directory


def test_entries_are_the_text_between_separator_lines():
  assert fortunes.parse_entries('One.\n%\nTwo\nlines.\n%\n%\n  \n%\n--\n') \
      == ['One.', 'Two\nlines.']
  # A '%' inside a line is text.
  assert fortunes.parse_entries('100% sure.\r\n%\r\n') == ['100% sure.']


def test_written_once_then_read_as_a_four_topic_bag_of_words(tmp_path):
  source = write_source(tmp_path / 'source')
  counts = fortunes.write_corpus(tmp_path / 'corpus', source_dir=source)
  assert counts == {topic: 3 for topic in fortunes.TOPICS}
  assert fortunes.CORPUS.counts(tmp_path / 'corpus') == counts
  assert (tmp_path / 'corpus' / 'computers' / '0001.txt').read_text() == (
      'Bugs hide in\nloops.\n')
  train = fortunes.load_split('train', data_dir=tmp_path / 'corpus')
  test = fortunes.load_split('test', data_dir=tmp_path / 'corpus')
  for data in (train, test):
    assert data.name == 'fortunes' and data.modality == 'text'
    assert data.class_names == fortunes.TOPICS and data.num_classes == 4
  # A stratified quarter of each topic is held out.
  np.testing.assert_array_equal(np.bincount(train.labels), [2, 2, 2, 2])
  np.testing.assert_array_equal(np.bincount(test.labels), [1, 1, 1, 1])


def test_a_missing_package_names_the_install_command(tmp_path):
  with pytest.raises(fortunes.SourceError,
                     match=r"\['computers', 'politics', 'science', "
                     r"'songs-poems'\] not found in .*apt-get install fortunes"):
    fortunes.read_topics(tmp_path)
  with pytest.raises(fortunes.NotPreparedError,
                     match='learned-rule-prepare-data --dataset=fortunes'):
    fortunes.load_split('train', data_dir=tmp_path / 'none')


def test_prepare_data_writes_it_once(tmp_path):
  source = write_source(tmp_path / 'source')
  environment = dict(os.environ, LEARNED_RULE_CACHE=str(tmp_path / 'cache'))
  command = [sys.executable, os.path.join(REPO_ROOT, 'bin', 'prepare_data.py'),
             '--dataset=fortunes', f'--archive_dir={source}']
  outputs = [subprocess.run(command, env=environment, capture_output=True,
                            text=True, check=True, timeout=120).stdout
             for _ in range(2)]
  assert 'written to' in outputs[0] and 'computers: 3 fortunes' in outputs[0]
  assert 'is prepared at' in outputs[1]
  held_out = registry.load_for(
      registry.HELD_OUT, 'fortunes',
      data_dir=str(tmp_path / 'cache' / 'fortunes'))
  assert held_out.split == 'test' and len(held_out) == 4
  # Without the package, the message says how to install it.
  failed = subprocess.run(
      command[:-1] + [f'--archive_dir={tmp_path / "none"}'],
      env=dict(environment, LEARNED_RULE_CACHE=str(tmp_path / 'other')),
      capture_output=True, text=True, check=False, timeout=120)
  assert failed.returncode != 0
  assert 'apt-get install fortunes' in failed.stderr
  assert 'Traceback' not in failed.stderr


def test_no_meta_training_config_names_it():
  """The corpus stays out of meta-training, so that the transfer to it
  measures text that no rule has seen (paper Fig. 4 right)."""
  configs = glob.glob(os.path.join(configuration.GIN_CONFIG_DIR, 'meta_train',
                                   '**', '*.gin'), recursive=True)
  assert configs
  for path in configs:
    with open(path, encoding='utf-8') as stream:
      assert 'fortunes' not in stream.read(), path


def test_the_installed_package_gives_four_large_topics():
  if not os.path.isdir(fortunes.SOURCE_DIR):
    if os.environ.get('CI'):
      pytest.fail(f'CI needs Debian\'s fortunes package '
                  f'({fortunes.SOURCE_DIR}): apt-get install fortunes')
    pytest.skip(f'{fortunes.SOURCE_DIR} missing: apt-get install fortunes')
  documents = fortunes.read_topics()
  assert all(len(documents[topic]) >= 500 for topic in fortunes.TOPICS), {
      topic: len(found) for topic, found in documents.items()}
