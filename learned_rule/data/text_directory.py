"""Any text corpus given as a directory tree, as bag-of-words features.

A corpus is a directory with one sub-directory per class holding plain-text
files (UTF-8; undecodable bytes are replaced), e.g. the layout of IMDB's
``aclImdb`` reviews. Class names are the sorted sub-directory names.
Files are found recursively; names starting with '.' are skipped.

Splits, in one of two layouts:

* ``DIR/train/<class>/...`` and ``DIR/test/<class>/...``: the corpus's own
  split is used as is; both must have the same classes.
* ``DIR/<class>/...``: a deterministic stratified split: within each class
  the files, sorted by path, are shuffled with ``seed`` and the first
  ``round(test_fraction × count)`` go to 'test' (a class of one file keeps
  it in 'train').

'all' is both splits together. Features follow spec §7.2 (IMDB "bag of
words with 1K words"): the vocabulary is the ``vocabulary_size`` most
frequent words of the *train* split only, and a document is the presence
(``binary=True``, our default) or count of each word; see
:mod:`learned_rule.data.text`.
"""

import pathlib

import numpy as np

from learned_rule.data import dataset
from learned_rule.data import text

SPLITS = ('train', 'test', 'all')
TEST_FRACTION = 0.25
SEED = 0
_SHOWN = 10


def _files(directory):
  return sorted(
      path for path in directory.rglob('*')
      if path.is_file() and not any(
          part.startswith('.') for part in path.relative_to(directory).parts))


def _classes(root, only=None):
  """Sorted class sub-directories of ``root``; errors if fewer than two."""
  classes = sorted(path for path in root.iterdir()
                   if path.is_dir() and not path.name.startswith('.'))
  if only is not None:
    missing = sorted(set(only) - {path.name for path in classes})
    if missing:
      raise ValueError(f'{root} has no class sub-directories {missing}.')
    classes = [path for path in classes if path.name in set(only)]
  if not classes:
    raise ValueError(f'{root} has no class sub-directories; a text directory '
                     f'needs one sub-directory of text files per class.')
  if len(classes) == 1:
    raise ValueError(
        f'{root} is a text directory with one class ({classes[0].name!r}); '
        f'a classification corpus needs at least two class sub-directories.')
  return classes


def _read_classes(root, only=None):
  """``{class name: [(path, text), ...]}`` of the tree under ``root``."""
  corpus = {}
  empty = []
  for directory in _classes(root, only):
    files = _files(directory)
    if not files:
      raise ValueError(f'Class {directory.name!r} of {root} has no files '
                       f'(in {directory}); add text files to it or remove '
                       f'the directory.')
    documents = []
    for path in files:
      content = path.read_bytes().decode('utf-8', errors='replace')
      if not content.strip():
        empty.append(str(path))
      documents.append((path, content))
    corpus[directory.name] = documents
  if empty:
    shown = ', '.join(empty[:_SHOWN])
    more = f' and {len(empty) - _SHOWN} more' if len(empty) > _SHOWN else ''
    raise ValueError(f'{len(empty)} empty text file(s) in {root}: '
                     f'{shown}{more}; delete them or give them text.')
  return corpus


def _stratified(corpus, test_fraction, seed):
  """Splits each class's files into ('train', 'test') lists."""
  rng = np.random.RandomState(seed)
  train, test = {}, {}
  for name in sorted(corpus):
    documents = corpus[name]
    order = rng.permutation(len(documents))
    count = int(round(test_fraction * len(documents)))
    count = min(count, len(documents) - 1)
    test[name] = [documents[i] for i in sorted(order[:count])]
    train[name] = [documents[i] for i in sorted(order[count:])]
  return train, test


def read_corpus(path, test_fraction=TEST_FRACTION, seed=SEED, classes=None):
  """Reads a corpus directory.

  Args:
    path: The corpus directory.
    test_fraction: Share of each class in 'test' (one-tree layout only).
    seed: Seed of the stratified split (one-tree layout only).
    classes: Names of the class sub-directories to use (default: all), e.g.
      ('neg', 'pos') to leave out aclImdb's unlabelled 'unsup'.

  Returns:
    ``(class_names, {'train': docs, 'test': docs})`` where ``docs`` maps a
    class name to a list of ``(file path, text)``.

  Raises:
    FileNotFoundError: ``path`` is not a directory.
    ValueError: Fewer than two classes, a class without files, empty files,
      or a train/test layout whose classes differ.
  """
  root = pathlib.Path(path).expanduser()
  if not root.is_dir():
    raise FileNotFoundError(f'Text directory {root} does not exist or is not '
                            f'a directory.')
  train_dir, test_dir = root / 'train', root / 'test'
  if train_dir.is_dir() or test_dir.is_dir():
    if not (train_dir.is_dir() and test_dir.is_dir()):
      present, absent = ((train_dir, test_dir) if train_dir.is_dir() else
                         (test_dir, train_dir))
      raise ValueError(f'{root} has {present.name}/ but no {absent.name}/; a '
                       f'pre-split corpus needs both.')
    splits = {'train': _read_classes(train_dir, classes),
              'test': _read_classes(test_dir, classes)}
    if sorted(splits['train']) != sorted(splits['test']):
      raise ValueError(
          f'The classes of {train_dir} ({sorted(splits["train"])}) and '
          f'{test_dir} ({sorted(splits["test"])}) differ.')
  else:
    if not 0.0 < test_fraction < 1.0:
      raise ValueError(
          f'`test_fraction` must be in (0, 1), got {test_fraction}.')
    train, test = _stratified(_read_classes(root, classes), test_fraction,
                              seed)
    splits = {'train': train, 'test': test}
  return tuple(sorted(splits['train'])), splits


def _documents(split_docs, class_names):
  texts, labels = [], []
  for label, name in enumerate(class_names):
    for _, content in split_docs.get(name, []):
      texts.append(content)
      labels.append(label)
  return texts, np.asarray(labels, np.int64)


def load_text_directory(path, split='train',
                        vocabulary_size=text.VOCABULARY_SIZE, binary=True,
                        test_fraction=TEST_FRACTION, seed=SEED, classes=None,
                        name=None):
  """One split of a corpus directory as bag-of-words features.

  Args:
    path: The corpus directory (see the module docstring for layouts).
    split: 'train', 'test' or 'all'.
    vocabulary_size: Number of words, the most frequent in 'train'.
    binary: Word presence (True) or word counts (False).
    test_fraction: Share of each class in 'test' (one-tree layout only).
    seed: Seed of the stratified split (one-tree layout only).
    classes: Class sub-directories to use (default: all).
    name: Dataset name (default: the directory's name).

  Returns:
    A :class:`Dataset`, modality 'text', features float32 [N, V] with V the
    vocabulary's length (at most ``vocabulary_size``).
  """
  if split not in SPLITS:
    raise ValueError(f'Unknown text-directory split {split!r}; allowed: '
                     f'{SPLITS}.')
  class_names, splits = read_corpus(path, test_fraction, seed, classes)
  train_texts, _ = _documents(splits['train'], class_names)
  vocabulary = text.build_vocabulary(train_texts, size=vocabulary_size)
  if split == 'all':
    texts, labels = [], []
    for part in ('train', 'test'):
      part_texts, part_labels = _documents(splits[part], class_names)
      texts += part_texts
      labels.append(part_labels)
    labels = np.concatenate(labels)
  else:
    texts, labels = _documents(splits[split], class_names)
  features = text.bag_of_words(texts, vocabulary, binary=binary)
  return dataset.Dataset(
      name=name or pathlib.Path(path).expanduser().resolve().name,
      features=features, labels=labels, shape=(len(vocabulary),),
      num_classes=len(class_names), modality='text', split=split,
      class_names=class_names)
