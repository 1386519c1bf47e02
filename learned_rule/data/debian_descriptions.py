"""Debian package descriptions: an offline topical text corpus (spec §7.2).

The paper transfers its rule from images to IMDB as a 1K-word bag of words
(spec §7.2). IMDB needs the internet; apt's package lists do not, once
``apt-get update`` has run. This corpus holds the packages of four
:data:`SECTIONS` of the archive, one class each, and serves the same
image → text transfer with four topics instead of two sentiments.

A document is a package's description: the short description, then the
long one where the lists carry it. Debian's ``Packages`` lists usually hold
the short line only (the long text lives in ``Translation-*`` files, which
``apt-cache dumpavail`` does not print), so most documents are one line.
No other field is used, and whole-word occurrences of the package's own
name and of its source package's name are removed, case-insensitively,
since names such as "openttd-data" repeat across a family of packages and
would let a classifier match families instead of topics. A package listed
twice keeps its first record; an archive area prefix (``contrib/games``,
``non-free/sound``) is dropped from the section; a record whose text has no
words left is left out.

The corpus is written once (see :func:`write_corpus`, run by
``python bin/prepare_data.py --dataset=debian_descriptions``) as
``DIR/<section>/<package>.txt`` (:mod:`prepared_corpus`), the layout that
:mod:`learned_rule.data.text_directory` reads; that module makes the
stratified train/test split and the bag of words.
"""

import re
import shutil
import subprocess

from learned_rule.data import prepared_corpus
from learned_rule.data import text

NAME = 'debian_descriptions'
# Our choice of topics (spec §7.2 only fixes IMDB's two sentiments): four
# sections of Debian's main archive with 600-1700 packages each in bookworm.
SECTIONS = ('games', 'graphics', 'science', 'sound')
CORPUS = prepared_corpus.PreparedCorpus(NAME, SECTIONS)
PREPARE_COMMAND = CORPUS.prepare_command
DUMP_COMMAND = ('apt-cache', 'dumpavail')
# `apt-cache dumpavail` takes ~2 s for ~60k packages; this only guards
# against a hung apt.
DUMP_TIMEOUT_S = 300

# Debian policy §5.6.7: package names are lower-case letters, digits, '+',
# '-' and '.', at least two characters, starting with a letter or digit.
_PACKAGE_NAME = re.compile(r'[a-z0-9][a-z0-9+.-]+')
_RECORD_SEPARATOR = re.compile(r'\n[ \t]*\n')
_SPACES = re.compile(r'[ \t]+')
_PACKAGE_FIELD = re.compile(r'^Package:[ \t]*(\S+)', re.MULTILINE)
_SECTION_FIELD = re.compile(r'^Section:[ \t]*(\S+)', re.MULTILINE)
# A whole name-like word: a longest run of name characters, less trailing
# dots (they end a sentence), e.g. 'foo' in 'uses foo.' or 'foo-data' in
# 'see foo-data', but not inside 'python3-foo' or 'foo.conf'.
_NAME_LIKE = re.compile(r'(?<![\w+.-])[\w+.-]*[\w+-]')


class DumpError(RuntimeError):
  """apt gave no usable package records."""


NotPreparedError = prepared_corpus.NotPreparedError


def corpus_directory(data_dir=None):
  """Where the corpus lives (:meth:`PreparedCorpus.directory`)."""
  return CORPUS.directory(data_dir)


def _fields(record):
  """``{field name: value}`` of one deb822 record; continuations joined."""
  fields = {}
  name = None
  for line in record.split('\n'):
    if line[:1] in (' ', '\t'):
      if name is not None:
        fields[name] += '\n' + line
    elif ':' in line:
      name, value = line.split(':', 1)
      name = name.strip()
      if name in fields:
        name = None  # A repeated field: the first one counts.
      else:
        fields[name] = value.strip()
    else:
      name = None
  return fields


def _description(value):
  """The short and long description as plain text, paragraph dots gone."""
  lines = value.split('\n')
  body = ['' if line.strip() == '.' else line.strip() for line in lines[1:]]
  return '\n'.join([lines[0].strip()] + body)


def _without_names(description, names):
  """``description`` with whole-word ``names`` removed, case-insensitively."""
  names = {name.lower() for name in names}

  def blank_if_name(match):
    return ' ' if match.group(0).lower() in names else match.group(0)

  description = _NAME_LIKE.sub(blank_if_name, description)
  lines = (_SPACES.sub(' ', line).strip() for line in description.split('\n'))
  return '\n'.join(lines).strip()


def section_name(section):
  """The archive section without its area prefix: 'contrib/games' → 'games'."""
  return section.strip().rsplit('/', 1)[-1]


def parse_dump(dump_text, sections=SECTIONS):
  """Documents of ``sections`` in an ``apt-cache dumpavail`` listing.

  Args:
    dump_text: deb822 records separated by blank lines.
    sections: Section names to keep (area prefixes are ignored).

  Returns:
    ``{section: {package name: text}}`` with every section of ``sections``
    as a key (possibly empty), packages in order of first appearance.

  Raises:
    ValueError: A record of a kept section whose package name is not a
      valid Debian package name (it becomes a file name).
  """
  documents = {section: {} for section in sections}
  seen = set()
  for record in _RECORD_SEPARATOR.split(dump_text):
    # Two searches rule out the many records of other sections.
    found = _PACKAGE_FIELD.search(record)
    if found is None or found.group(1) in seen:
      continue
    package = found.group(1)
    seen.add(package)
    found = _SECTION_FIELD.search(record)
    section = section_name(found.group(1)) if found else None
    if section not in documents:
      continue
    fields = _fields(record)
    if not fields.get('Description'):
      continue
    if not _PACKAGE_NAME.fullmatch(package):
      raise ValueError(f'Package name {package!r} is not a Debian package '
                       f'name (lower-case letters, digits, "+", "-", ".").')
    names = [package]
    if fields.get('Source'):
      names.append(fields['Source'].split()[0])
    content = _without_names(_description(fields['Description']), names)
    if text.tokenize(content):
      documents[section][package] = content
  return documents


def run_dump():
  """The output of ``apt-cache dumpavail``.

  Raises:
    DumpError: apt-cache is missing or fails.
  """
  if shutil.which(DUMP_COMMAND[0]) is None:
    raise DumpError(
        f'{DUMP_COMMAND[0]} not found: the {NAME} corpus is read from apt\'s '
        f'package lists, so it needs a Debian or Ubuntu system where '
        f'`apt-get update` has run.')
  try:
    finished = subprocess.run(
        DUMP_COMMAND, capture_output=True, check=False, encoding='utf-8',
        errors='replace', timeout=DUMP_TIMEOUT_S)
  except subprocess.TimeoutExpired as error:
    raise DumpError(f'`{" ".join(DUMP_COMMAND)}` ran over '
                    f'{DUMP_TIMEOUT_S} s.') from error
  if finished.returncode != 0:
    raise DumpError(f'`{" ".join(DUMP_COMMAND)}` failed with exit status '
                    f'{finished.returncode}: {finished.stderr.strip()[-500:]}')
  return finished.stdout


def _check_sections(documents):
  empty = [section for section, packages in documents.items() if not packages]
  if empty:
    raise DumpError(
        f'The package lists hold no records of section(s) {empty} (of '
        f'{list(SECTIONS)}); apt\'s lists are probably empty: run '
        f'`apt-get update` (as root), then `{PREPARE_COMMAND}`.')


def write_corpus(target_dir, dump_text=None):
  """Writes the corpus to ``target_dir``, atomically.

  The tree is built in a temporary directory beside ``target_dir`` and
  renamed into place (:func:`learned_rule.storage.atomic_files.replacing_directory`),
  so that a failure leaves no partial corpus; an existing corpus at
  ``target_dir`` is replaced.

  Args:
    target_dir: The corpus directory to write.
    dump_text: deb822 records to read instead of running
      ``apt-cache dumpavail``.

  Returns:
    ``{section: number of documents}`` in :data:`SECTIONS` order.

  Raises:
    DumpError: apt-cache is missing or fails, or the records hold no
      package of one of :data:`SECTIONS`.
  """
  if dump_text is None:
    dump_text = run_dump()
  documents = parse_dump(dump_text)
  _check_sections(documents)
  return CORPUS.write(target_dir, documents)


def prepared_counts(data_dir=None):
  """``{section: documents}`` of the prepared corpus, or None where none
  was written (:meth:`PreparedCorpus.counts`)."""
  return CORPUS.counts(corpus_directory(data_dir))


def load_split(split='train', data_dir=None):
  """One split of the prepared corpus as a 1K-word bag of words (spec
  §7.2), classes :data:`SECTIONS` (:meth:`PreparedCorpus.load_split`)."""
  return CORPUS.load_split(split, data_dir)
