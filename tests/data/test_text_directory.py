"""Tests of the text-directory corpus loader (bag of words, spec §7.2)."""

import numpy as np
import pytest

from learned_rule.data import text
from learned_rule.data import text_directory


def _write(root, tree):
  """Writes ``{class: {file name: text}}`` below ``root``."""
  for name, files in tree.items():
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, content in files.items():
      (directory / file_name).write_text(content, encoding='utf-8')
  return root


def _one_tree(root, per_class=8):
  return _write(root, {
      'sports': {f'{i:02d}.txt': f'ball goal team match {i} score'
                 for i in range(per_class)},
      'cooking': {f'{i:02d}.txt': f'salt pan oven recipe {i} taste'
                  for i in range(per_class)},
      'music': {f'{i:02d}.txt': f'song guitar drum band {i} tune'
                for i in range(per_class)},
  })


def test_one_tree_gets_a_stratified_deterministic_split(tmp_path):
  root = _one_tree(tmp_path)
  train = text_directory.load_text_directory(root, 'train')
  test = text_directory.load_text_directory(root, 'test')
  everything = text_directory.load_text_directory(root, 'all')
  assert train.class_names == ('cooking', 'music', 'sports')
  assert train.num_classes == 3 and train.modality == 'text'
  np.testing.assert_array_equal(np.bincount(train.labels), [6, 6, 6])
  np.testing.assert_array_equal(np.bincount(test.labels), [2, 2, 2])
  assert len(everything) == 24 and everything.split == 'all'
  _, splits = text_directory.read_corpus(root)
  for name in train.class_names:
    train_files = {path for path, _ in splits['train'][name]}
    test_files = {path for path, _ in splits['test'][name]}
    assert not train_files & test_files
    assert len(train_files | test_files) == 8
  _, again = text_directory.read_corpus(root)
  assert again == splits
  _, reseeded = text_directory.read_corpus(root, seed=1)
  assert reseeded != splits


def test_pre_split_layout_is_used_as_is(tmp_path):
  _write(tmp_path / 'train', {'neg': {'a.txt': 'bad awful', 'b.txt': 'bad'},
                              'pos': {'c.txt': 'good great'}})
  _write(tmp_path / 'test', {'neg': {'d.txt': 'awful'},
                             'pos': {'e.txt': 'great', 'f.txt': 'good'}})
  _write(tmp_path, {'unsup': {'g.txt': 'ignored'}})
  train = text_directory.load_text_directory(tmp_path, 'train')
  test = text_directory.load_text_directory(tmp_path, 'test')
  np.testing.assert_array_equal(train.labels, [0, 0, 1])
  np.testing.assert_array_equal(test.labels, [0, 1, 1])
  assert train.name == tmp_path.name


def test_vocabulary_comes_from_train_only(tmp_path):
  _write(tmp_path / 'train', {'neg': {'a.txt': 'bad bad awful'},
                              'pos': {'b.txt': 'good great good'}})
  _write(tmp_path / 'test', {'neg': {'c.txt': 'dreadful terrible'},
                             'pos': {'d.txt': 'good superb'}})
  train = text_directory.load_text_directory(tmp_path, 'train')
  test = text_directory.load_text_directory(tmp_path, 'test')
  vocabulary = text.build_vocabulary(['bad bad awful', 'good great good'])
  assert train.shape == test.shape == (len(vocabulary),) == (4,)
  np.testing.assert_array_equal(
      test.features,
      text.bag_of_words(['dreadful terrible', 'good superb'], vocabulary))
  # Words seen only in 'test' have no column: the first document is empty.
  assert not test.features[0].any()


def test_binary_and_counts(tmp_path):
  _write(tmp_path, {'a': {'1.txt': 'cat cat cat dog', '2.txt': 'cat'},
                    'b': {'3.txt': 'dog dog', '4.txt': 'dog'}})
  options = {'split': 'all', 'vocabulary_size': 10}
  binary = text_directory.load_text_directory(tmp_path, **options)
  counts = text_directory.load_text_directory(tmp_path, binary=False,
                                              **options)
  assert set(np.unique(binary.features)) <= {0.0, 1.0}
  assert counts.features.max() == 3.0
  np.testing.assert_array_equal(binary.features, counts.features > 0)


def test_vocabulary_size(tmp_path):
  root = _one_tree(tmp_path)
  small = text_directory.load_text_directory(root, vocabulary_size=5)
  assert small.features.shape[1] == 5
  full = text_directory.load_text_directory(root)
  assert full.features.shape[1] < text.VOCABULARY_SIZE


def test_hidden_files_are_skipped(tmp_path):
  root = _one_tree(tmp_path, per_class=4)
  (root / 'music' / '.DS_Store').write_bytes(b'')
  assert len(text_directory.load_text_directory(root, 'all')) == 12


def test_classes_option(tmp_path):
  root = _one_tree(tmp_path)
  data = text_directory.load_text_directory(root, 'all',
                                            classes=('music', 'sports'))
  assert data.class_names == ('music', 'sports') and len(data) == 16
  with pytest.raises(ValueError, match='jazz'):
    text_directory.load_text_directory(root, classes=('music', 'jazz'))


def test_missing_directory(tmp_path):
  with pytest.raises(FileNotFoundError, match='does not exist'):
    text_directory.load_text_directory(tmp_path / 'nowhere')


def test_one_class(tmp_path):
  _write(tmp_path, {'only': {'a.txt': 'some words'}})
  with pytest.raises(ValueError, match="text directory with one class"):
    text_directory.load_text_directory(tmp_path)


def test_no_classes(tmp_path):
  (tmp_path / 'loose.txt').write_text('words')
  with pytest.raises(ValueError, match='no class sub-directories'):
    text_directory.load_text_directory(tmp_path)


def test_empty_files_are_named(tmp_path):
  root = _one_tree(tmp_path)
  (root / 'music' / 'blank.txt').write_text('')
  (root / 'sports' / 'spaces.txt').write_text('  \n ')
  with pytest.raises(ValueError, match='2 empty.*delete them or give them '
                     'text') as error:
    text_directory.load_text_directory(root)
  assert 'blank.txt' in str(error.value) and 'spaces.txt' in str(error.value)


def test_class_without_files(tmp_path):
  root = _one_tree(tmp_path)
  (root / 'poetry').mkdir()
  with pytest.raises(ValueError, match="'poetry'.*no files.*add text files"):
    text_directory.load_text_directory(root)


def test_train_without_test(tmp_path):
  _write(tmp_path / 'train', {'a': {'1.txt': 'x y'}, 'b': {'2.txt': 'z'}})
  with pytest.raises(ValueError, match='train/ but no test/'):
    text_directory.load_text_directory(tmp_path)


def test_train_and_test_classes_differ(tmp_path):
  _write(tmp_path / 'train', {'a': {'1.txt': 'x y'}, 'b': {'2.txt': 'z'}})
  _write(tmp_path / 'test', {'a': {'3.txt': 'x'}, 'c': {'4.txt': 'z'}})
  with pytest.raises(ValueError, match='differ'):
    text_directory.load_text_directory(tmp_path)


def test_bad_split(tmp_path):
  with pytest.raises(ValueError, match='split'):
    text_directory.load_text_directory(_one_tree(tmp_path), 'validation')
