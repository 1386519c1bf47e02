"""A text corpus written once into a cache directory, read as a bag of words.

The offline text corpora (:mod:`debian_descriptions`, :mod:`fortunes`) are
made from files that Debian installs, once, by ``learned-rule-prepare-data
--dataset=<name>``: one directory per class, one ``.txt`` file per document,
the layout that :mod:`text_directory` reads, with its stratified train/test
split and its 1K-word bag of words (spec §7.2). A manifest with the format
version and the counts per class is written last, inside the same atomic
rename, so a corpus is either whole or absent.
"""

import dataclasses
import json
import os
import pathlib

from learned_rule import console_scripts
from learned_rule.data import text_directory
from learned_rule.storage import atomic_files

_MANIFEST = '.manifest.json'


class NotPreparedError(FileNotFoundError):
  """The corpus has not been written yet."""


@dataclasses.dataclass(frozen=True)
class PreparedCorpus:
  """Where a corpus lives, how it is written and how it is read.

  Attributes:
    name: The dataset's name, also its cache directory's.
    classes: The class names, in label order.
    format_version: Bumped when the documents written change, so that an
      older corpus is written again rather than read.
  """

  name: str
  classes: tuple
  format_version: int = 1

  @property
  def prepare_command(self):
    return (console_scripts.command('prepare_data') +
            f' --dataset={self.name}')

  def directory(self, data_dir=None):
    """``data_dir`` when given, else ``$LEARNED_RULE_CACHE/<name>``, else
    ``~/.cache/learned_rule/<name>`` (the convention of
    :func:`learned_rule.data.alphabet.cache_directory`)."""
    if data_dir is not None:
      return pathlib.Path(data_dir).expanduser()
    root = os.environ.get('LEARNED_RULE_CACHE')
    if root:
      return pathlib.Path(root) / self.name
    return pathlib.Path.home() / '.cache' / 'learned_rule' / self.name

  def write(self, target_dir, documents):
    """Writes ``{class: {document name: text}}`` to ``target_dir``.

    The tree is built beside ``target_dir`` and renamed into place
    (:func:`atomic_files.replacing_directory`), replacing a corpus there.

    Returns:
      ``{class: number of documents}`` in :attr:`classes` order.
    """
    target = pathlib.Path(target_dir).expanduser()
    with atomic_files.replacing_directory(target) as staging:
      root = pathlib.Path(staging)
      for name in self.classes:
        directory = root / name
        directory.mkdir()
        for document, content in documents[name].items():
          (directory / f'{document}.txt').write_text(content + '\n',
                                                     encoding='utf-8')
      counts = {name: len(documents[name]) for name in self.classes}
      (root / _MANIFEST).write_text(
          json.dumps({'format': self.format_version, 'counts': counts},
                     sort_keys=True), encoding='utf-8')
    return counts

  def counts(self, data_dir=None):
    """``{class: number of documents}`` of the prepared corpus, or None
    where none of this :attr:`format_version` was written."""
    manifest = self.directory(data_dir) / _MANIFEST
    try:
      content = json.loads(manifest.read_text(encoding='utf-8'))
    except (OSError, ValueError):
      return None
    if not isinstance(content, dict) or content.get(
        'format') != self.format_version:
      return None
    return content.get('counts')

  def load_split(self, split='train', data_dir=None):
    """One split of the prepared corpus as a 1K-word bag of words.

    Args:
      split: 'train', 'test' or 'all' (stratified by class, see
        :mod:`text_directory`).
      data_dir: The corpus directory (default: :meth:`directory`).

    Returns:
      A :class:`Dataset`, modality 'text', classes :attr:`classes`.

    Raises:
      NotPreparedError: No corpus (of this format) at ``data_dir``.
    """
    if split not in text_directory.SPLITS:
      raise ValueError(f'Unknown {self.name} split {split!r}; allowed: '
                       f'{text_directory.SPLITS}.')
    directory = self.directory(data_dir)
    if self.counts(directory) is None:
      raise NotPreparedError(
          f'The {self.name} corpus is not prepared at {directory}. Prepare '
          f'it with `{self.prepare_command}` (it writes to '
          f'$LEARNED_RULE_CACHE/{self.name}, else '
          f'~/.cache/learned_rule/{self.name}).')
    return text_directory.load_text_directory(
        directory, split, classes=self.classes, name=self.name)
