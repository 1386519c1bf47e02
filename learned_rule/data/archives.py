"""Prepares TFDS datasets offline from upstream archives (DESIGN.md §5).

A machine without internet cannot let TFDS download MNIST, Fashion-MNIST,
CIFAR-10 or IMDB, but TFDS builds them from the upstream archives when they
sit in a ``manual_dir``:
``builder.download_and_prepare(download_config=DownloadConfig(manual_dir=M,
try_download_gcs=False))``. :func:`prepare` does that, after checking every
archive against the size and sha256 that TFDS registers for the dataset
(``builder.url_infos``, read from the checksums file inside the installed
TFDS package), so that a wrong or missing file is named up front and TFDS
never falls back to downloading.

Fashion-MNIST also comes from Debian (``apt-get install
dataset-fashion-mnist``, files in :data:`DEBIAN_FASHION_MNIST_DIR`). Debian
rewrote the gzip headers (file name dropped, mtime reset), so the files fail
the checksums as they are. :func:`restore_gzip_header` puts the upstream
header back (flag FNAME, the upstream mtime, the original name and a NUL,
DESIGN.md §5), which gives byte-identical upstream archives; they are staged
in a manual_dir of their own (MNIST uses the same file names).
"""

import dataclasses
import hashlib
import os
import shutil
import struct
import tempfile

from absl import logging

from learned_rule import suggestions
from learned_rule.data import tfds_sources

SUPPORTED = tuple(sorted(tfds_sources.TFDS_NAMES))
# `archive_dir` value that means: Fashion-MNIST from the Debian package.
DEBIAN = 'debian'
DEBIAN_PACKAGE = 'dataset-fashion-mnist'
DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'
# Gzip header (RFC 1952): magic, method (8 = deflate), flags, 4-byte mtime,
# extra flags, OS; 10 bytes in all. FNAME: a NUL-terminated file name
# follows the fixed header.
_GZIP_MAGIC = b'\x1f\x8b'
_GZIP_FIXED_HEADER = 10
_FNAME = 0x08
# DESIGN.md §5: mtimes of the upstream Fashion-MNIST archives, by prefix.
FASHION_MNIST_MTIMES = {'train-': 1504176606, 't10k-': 1504176627}
_HASH_CHUNK = 1 << 20


class ArchiveError(ValueError):
  """An archive is missing, wrong or cannot be used."""


class MissingArchiveError(ArchiveError):
  """Expected archives are not in the archive directory."""


class ChecksumError(ArchiveError):
  """An archive's size or sha256 differs from the one TFDS registers."""


@dataclasses.dataclass(frozen=True)
class ExpectedArchive:
  """An upstream archive as TFDS registers it.

  Attributes:
    filename: File name TFDS looks for in the manual_dir.
    size: Size in bytes.
    sha256: Hex digest.
    url: Where it comes from upstream.
  """

  filename: str
  size: int
  sha256: str
  url: str


@dataclasses.dataclass(frozen=True)
class Prepared:
  """What :func:`prepare` did.

  Attributes:
    name: Our dataset name.
    tfds_name: TFDS name and version, e.g. 'fashion_mnist/3.0.1'.
    data_dir: Root TFDS data directory (pass it to the loaders).
    dataset_dir: Where the prepared records are.
    split_sizes: Split name -> number of examples.
    already_prepared: True if nothing was built because the data was there.
    actions: What was done, one line each, in order.
  """

  name: str
  tfds_name: str
  data_dir: str
  dataset_dir: str
  split_sizes: dict
  already_prepared: bool
  actions: tuple


def _check_name(name):
  if name not in SUPPORTED:
    raise ArchiveError(f'Unknown dataset {name!r}; supported: '
                       f'{", ".join(SUPPORTED)}.'
                       f'{suggestions.did_you_mean(name, SUPPORTED)}')


def expected_archives(name):
  """The archives TFDS needs for ``name``, with their registered checksums.

  They come from ``builder.url_infos``: the checksums .tsv/.txt files that
  ship inside the installed TFDS package. Nothing is downloaded.
  """
  _check_name(name)
  builder = tfds_sources.get_builder(name)
  return [
      ExpectedArchive(info.filename, int(info.size), info.checksum, url)
      for url, info in sorted(builder.url_infos.items(),
                              key=lambda item: item[1].filename)
  ]


def file_digest(path):
  """(size in bytes, sha256 hex digest) of the file at ``path``."""
  digest = hashlib.sha256()
  size = 0
  with open(path, 'rb') as stream:
    for chunk in iter(lambda: stream.read(_HASH_CHUNK), b''):
      digest.update(chunk)
      size += len(chunk)
  return size, digest.hexdigest()


def verify_archives(directory, expected):
  """Checks that ``directory`` holds every expected archive, bit for bit.

  Args:
    directory: The manual_dir.
    expected: List of :class:`ExpectedArchive`.

  Raises:
    MissingArchiveError: lists every expected name and which are missing.
    ChecksumError: names each wrong file with expected and actual sha256 and
      size.
  """
  names = [archive.filename for archive in expected]
  missing = [name for name in names
             if not os.path.isfile(os.path.join(directory, name))]
  if missing:
    raise MissingArchiveError(
        f'Missing in {directory}: {", ".join(missing)}. Expected all of: '
        f'{", ".join(names)}.')
  wrong = []
  for archive in expected:
    size, sha256 = file_digest(os.path.join(directory, archive.filename))
    if (size, sha256) != (archive.size, archive.sha256):
      wrong.append(
          f'{archive.filename}: expected sha256 {archive.sha256} '
          f'({archive.size} bytes), got {sha256} ({size} bytes)')
  if wrong:
    raise ChecksumError(
        f'Wrong archives in {directory} (not the upstream files):\n  ' +
        '\n  '.join(wrong))


def restore_gzip_header(data, original_name, mtime):
  """Gzip bytes with the upstream header put back (DESIGN.md §5).

  Sets the FNAME flag and ``mtime``, and inserts ``original_name`` and a NUL
  after the fixed header; the compressed stream is kept as it is.

  Args:
    data: Bytes of a gzip file whose header has no flags set.
    original_name: File name to store, e.g. 'train-images-idx3-ubyte'.
    mtime: Modification time to store (seconds since the epoch).

  Returns:
    The restored bytes.

  Raises:
    ArchiveError: ``data`` is not gzip, or its header has flags set.
  """
  if len(data) < _GZIP_FIXED_HEADER or data[:2] != _GZIP_MAGIC:
    raise ArchiveError('Not a gzip file.')
  flags = data[3]
  if flags:
    raise ArchiveError(f'Gzip header has flags {flags:#04x}; expected none '
                       '(the Debian files have none).')
  header = (data[:3] + bytes([_FNAME]) + struct.pack('<I', mtime) +
            data[8:_GZIP_FIXED_HEADER])
  return (header + original_name.encode('latin-1') + b'\0' +
          data[_GZIP_FIXED_HEADER:])


def _upstream_mtime(filename):
  for prefix, mtime in FASHION_MNIST_MTIMES.items():
    if filename.startswith(prefix):
      return mtime
  raise ArchiveError(f'No upstream mtime known for {filename}.')


def stage_debian_fashion_mnist(staging_dir, source_dir=None):
  """Writes upstream Fashion-MNIST archives rebuilt from Debian's files.

  Args:
    staging_dir: Directory to write the four archives to (a manual_dir of
      Fashion-MNIST's own).
    source_dir: Where the Debian package put its files; None means
      :data:`DEBIAN_FASHION_MNIST_DIR`.

  Returns:
    List of the paths written.

  Raises:
    MissingArchiveError: the Debian files are not there (says how to install
      the package).
  """
  source_dir = source_dir or DEBIAN_FASHION_MNIST_DIR
  expected = expected_archives('fashion_mnist')
  missing = [archive.filename for archive in expected
             if not os.path.isfile(os.path.join(source_dir, archive.filename))]
  if missing:
    raise MissingArchiveError(
        f'Missing in {source_dir}: {", ".join(missing)}. Install Debian\'s '
        f'package first: apt-get install {DEBIAN_PACKAGE}')
  os.makedirs(staging_dir, exist_ok=True)
  written = []
  for archive in expected:
    with open(os.path.join(source_dir, archive.filename), 'rb') as stream:
      data = stream.read()
    if data[3] & _FNAME:
      restored = data  # Already an upstream header: copy as it is.
    else:
      original_name = archive.filename[:-len('.gz')]
      restored = restore_gzip_header(data, original_name,
                                     _upstream_mtime(archive.filename))
    path = os.path.join(staging_dir, archive.filename)
    with open(path, 'wb') as stream:
      stream.write(restored)
    written.append(path)
  return written


def _find_manual_dir(name, archive_dir, expected):
  """``archive_dir/name`` if it holds any expected archive, else archive_dir.

  Lets one directory hold the archives of several datasets, one
  sub-directory each (MNIST and Fashion-MNIST share file names).
  """
  nested = os.path.join(archive_dir, name)
  if any(os.path.isfile(os.path.join(nested, archive.filename))
         for archive in expected):
    return nested
  return archive_dir


def _split_sizes(builder):
  return {str(split): int(info.num_examples)
          for split, info in sorted(builder.info.splits.items())}


def prepare(name, archive_dir, data_dir=None, staging_dir=None):
  """Builds dataset ``name`` into ``data_dir`` from archives a user holds.

  Args:
    name: One of :data:`SUPPORTED`.
    archive_dir: Directory holding the upstream archives (or a
      sub-directory named ``name`` that does), or :data:`DEBIAN` for
      Fashion-MNIST from Debian's package.
    data_dir: TFDS data directory to build into; None means TFDS's default
      (which honours ``TFDS_DATA_DIR``).
    staging_dir: With :data:`DEBIAN`, where to keep the restored archives;
      None means a temporary directory, removed afterwards.

  Returns:
    A :class:`Prepared` summary.

  Raises:
    ArchiveError: unknown name (lists the supported ones), missing archives
      (lists the expected names) or a wrong archive (names it, with expected
      and actual sha256 and size).
  """
  _check_name(name)
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds_sources.get_builder(name, data_dir)
  root = os.fspath(builder.data_dir_root)
  full_name = builder.info.full_name
  if tfds_sources.is_prepared(builder):
    logging.info('%s is already prepared in %s.', full_name, builder.data_dir)
    return Prepared(name, full_name, root, builder.data_dir,
                    _split_sizes(builder), True,
                    (f'{full_name} was already prepared in '
                     f'{builder.data_dir}; nothing to do.',))

  expected = expected_archives(name)
  actions = []
  with tempfile.TemporaryDirectory(prefix='learned_rule_archives_') as temp:
    if archive_dir == DEBIAN:
      if name != 'fashion_mnist':
        raise ArchiveError(f'archive_dir={DEBIAN!r} serves fashion_mnist '
                           f'only, not {name!r}.')
      manual_dir = staging_dir or os.path.join(temp, name)
      stage_debian_fashion_mnist(manual_dir)
      actions.append(
          f'Restored the upstream gzip headers of the {len(expected)} Debian '
          f'files in {DEBIAN_FASHION_MNIST_DIR} into {manual_dir}.')
    else:
      if not os.path.isdir(archive_dir):
        raise MissingArchiveError(
            f'No directory {archive_dir}. Expected it to hold: '
            f'{", ".join(a.filename for a in expected)}.')
      manual_dir = _find_manual_dir(name, archive_dir, expected)
    try:
      verify_archives(manual_dir, expected)
    except ChecksumError as error:
      if name != 'fashion_mnist':
        raise
      # Debian recompresses the upstream files (another gzip header).
      raise ChecksumError(
          f'{error}\nDebian\'s {DEBIAN_PACKAGE} files (in '
          f'{DEBIAN_FASHION_MNIST_DIR}) differ from upstream only in their '
          'gzip headers: give --from_debian instead of --archive_dir, which '
          'restores them.') from None
    actions.append(
        f'Checked {len(expected)} archive(s) in {manual_dir} against the '
        'sha256 sums TFDS registers: '
        f'{", ".join(a.filename for a in expected)}.')
    logging.info('Building %s from %s into %s.', full_name, manual_dir, root)
    os.makedirs(root, exist_ok=True)
    # TFDS extracts archives under download_dir; keep that out of data_dir.
    download_dir = tempfile.mkdtemp(prefix='learned_rule_extract_', dir=root)
    try:
      builder.download_and_prepare(
          download_dir=download_dir,
          download_config=tfds.download.DownloadConfig(
              manual_dir=manual_dir, try_download_gcs=False))
    finally:
      shutil.rmtree(download_dir, ignore_errors=True)
  sizes = _split_sizes(builder)
  actions.append(
      f'Built {full_name} into {builder.data_dir} with TFDS (manual_dir '
      f'route): ' + ', '.join(f'{s} {n}' for s, n in sizes.items()) + '.')
  logging.info('%s', actions[-1])
  return Prepared(name, full_name, root, builder.data_dir, sizes, False,
                  tuple(actions))
