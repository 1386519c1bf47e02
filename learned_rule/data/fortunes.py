"""Fortune-cookie quotations by topic: a text corpus no rule meta-trains on.

The paper's last transfer is to a modality the rule never met (images →
IMDB, spec §7.2, Fig. 4 right). Offline, the Debian package descriptions
serve as text, but ``meta_train/cpu_long.gin`` meta-trains on their
training split. This corpus is the held-out text instead: Debian's
``fortunes`` package (``apt-get install fortunes``) installs the quotations
of ``fortune(6)`` as one file per topic under :data:`SOURCE_DIR`, entries
separated by lines holding a single ``%``. Four topics with 600–1050
entries each are the four classes (:data:`TOPICS`, our choice): every entry
is a document, written once by ``learned-rule-prepare-data
--dataset=fortunes`` as ``DIR/<topic>/<index>.txt`` (:mod:`prepared_corpus`)
and read with the stratified split and 1K-word bag of words of
:mod:`text_directory`. No gin config of ``meta_train/`` names it
(``tests/data/test_fortunes.py`` checks).
"""

import pathlib

from learned_rule.data import prepared_corpus
from learned_rule.data import text

NAME = 'fortunes'
DEBIAN_PACKAGE = 'fortunes'
SOURCE_DIR = '/usr/share/games/fortunes'
# Our choice: the four topics of the package with 600 or more entries
# whose names are topics rather than forms ('definitions', 'cookie') or
# people ('people', 'zippy'): 1050, 703, 625 and 720 entries in bookworm.
TOPICS = ('computers', 'politics', 'science', 'songs-poems')
CORPUS = prepared_corpus.PreparedCorpus(NAME, TOPICS)
SEPARATOR = '%'

NotPreparedError = prepared_corpus.NotPreparedError


class SourceError(FileNotFoundError):
  """The package's files are not installed."""


def parse_entries(content):
  """The entries of one fortune file: text between ``%`` lines, stripped,
  the ones without a word left out."""
  entries, lines = [], []
  for line in content.split('\n') + [SEPARATOR]:
    if line.rstrip('\r') == SEPARATOR:
      entry = '\n'.join(lines).strip()
      if text.tokenize(entry):
        entries.append(entry)
      lines = []
    else:
      lines.append(line.rstrip('\r'))
  return entries


def read_topics(source_dir=None):
  """``{topic: {document name: text}}`` of :data:`TOPICS` in ``source_dir``
  (default: :data:`SOURCE_DIR`, where the package installs them).

  Raises:
    SourceError: A topic's file is missing, or holds no entry.
  """
  source = pathlib.Path(source_dir or SOURCE_DIR)
  missing = [topic for topic in TOPICS if not (source / topic).is_file()]
  if missing:
    raise SourceError(
        f'{missing} not found in {source}: install Debian\'s '
        f'{DEBIAN_PACKAGE} package (apt-get install {DEBIAN_PACKAGE}), then '
        f'run `{CORPUS.prepare_command}`.')
  documents = {}
  for topic in TOPICS:
    entries = parse_entries((source / topic).read_bytes().decode(
        'utf-8', errors='replace'))
    if not entries:
      raise SourceError(f'{source / topic} holds no fortune.')
    documents[topic] = {f'{index:04d}': entry
                        for index, entry in enumerate(entries)}
  return documents


def write_corpus(target_dir=None, source_dir=None):
  """Writes the corpus of the topic files in ``source_dir`` (default:
  :data:`SOURCE_DIR`) to ``target_dir`` (default:
  :meth:`PreparedCorpus.directory`), atomically.

  Returns:
    ``{topic: number of documents}``.
  """
  return CORPUS.write(CORPUS.directory(target_dir), read_topics(source_dir))


def load_split(split='train', data_dir=None):
  """One split of the prepared corpus as a 1K-word bag of words (spec
  §7.2), classes :data:`TOPICS`."""
  return CORPUS.load_split(split, data_dir)
