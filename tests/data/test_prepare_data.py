"""Offline preparation of TFDS data: Fashion-MNIST from Debian, and errors.

The real build uses the files of Debian's ``dataset-fashion-mnist`` package.
Without the package these tests skip, saying how to install it, except
where the environment variable CI is set: there they fail. The build runs
once per test session (~15-60 s) into a temporary data directory, shared by
pytest-xdist workers through a file lock. Sockets are blocked throughout, so
any attempt to reach the network fails the tests.
"""

import contextlib
import fcntl
import gzip
import io
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from learned_rule.data import archives
from learned_rule.data import tfds_sources

REPO = REPO_ROOT
FASHION_MNIST_FILES = ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz',
                       'train-images-idx3-ubyte.gz',
                       'train-labels-idx1-ubyte.gz')


@contextlib.contextmanager
def network_blocked():
  """Makes every host lookup or socket connection raise."""

  def refuse(*args, **kwargs):
    raise AssertionError(f'Network access attempted: {args} {kwargs}')

  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(socket, 'getaddrinfo', refuse)
    patch.setattr(socket.socket, 'connect', refuse)
    patch.setattr(socket.socket, 'connect_ex', refuse)
    yield


@pytest.fixture(autouse=True)
def no_network():
  with network_blocked():
    yield


@pytest.fixture(autouse=True)
def fresh_caches():
  tfds_sources.clear_caches()
  yield
  tfds_sources.clear_caches()


@pytest.fixture(scope='session')
def debian_dir():
  """Debian's Fashion-MNIST directory; skip (or fail under CI) without it."""
  source = archives.DEBIAN_FASHION_MNIST_DIR
  missing = [name for name in FASHION_MNIST_FILES
             if not os.path.isfile(os.path.join(source, name))]
  if missing:
    message = (f'Debian package {archives.DEBIAN_PACKAGE} is not installed '
               f'({", ".join(missing)} missing in {source}); install it with: '
               f'apt-get install {archives.DEBIAN_PACKAGE} (or make '
               'offline-data).')
    if os.environ.get('CI'):
      pytest.fail(message)
    pytest.skip(message)
  return source


@pytest.fixture(scope='session')
def shared_tmp(tmp_path_factory):
  """A temporary directory that all pytest-xdist workers of a run share."""
  base = tmp_path_factory.getbasetemp()
  return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


@pytest.fixture(scope='session')
def prepared(debian_dir, shared_tmp):
  """Fashion-MNIST built from the Debian files, once per session."""
  del debian_dir  # Only required.
  data_dir = shared_tmp / 'fashion_mnist_tfds'
  with open(shared_tmp / 'fashion_mnist_tfds.lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    with network_blocked():
      result = archives.prepare('fashion_mnist', archives.DEBIAN,
                                str(data_dir))
  return result


@pytest.fixture(scope='session')
def upstream_archives(debian_dir, shared_tmp):
  """Upstream Fashion-MNIST archives restored from Debian's (read only)."""
  del debian_dir  # Only required.
  staging = shared_tmp / f'restored_{os.getpid()}'
  archives.stage_debian_fashion_mnist(str(staging))
  return staging


def test_restored_archives_match_the_checksums_tfds_registers(
    upstream_archives):
  expected = archives.expected_archives('fashion_mnist')
  assert sorted(a.filename for a in expected) == list(FASHION_MNIST_FILES)
  for archive in expected:
    size, sha256 = archives.file_digest(upstream_archives / archive.filename)
    assert (archive.filename, size, sha256) == (
        archive.filename, archive.size, archive.sha256)
  archives.verify_archives(str(upstream_archives), expected)


def test_debian_files_fail_the_checksums_as_they_are(debian_dir):
  with pytest.raises(archives.ChecksumError) as error:
    archives.verify_archives(debian_dir,
                             archives.expected_archives('fashion_mnist'))
  assert all(name in str(error.value) for name in FASHION_MNIST_FILES)


def test_debian_files_as_archive_dir_are_told_to_use_from_debian(debian_dir,
                                                                 tmp_path):
  with pytest.raises(archives.ChecksumError,
                     match='give --from_debian instead of --archive_dir'):
    archives.prepare('fashion_mnist', debian_dir, str(tmp_path / 'tfds'))


def _strip_gzip_name(data):
  """What Debian did: FNAME flag, name and mtime dropped."""
  end = data.index(b'\0', 10)
  return data[:3] + b'\0' + b'\0\0\0\0' + data[8:10] + data[end + 1:]


def test_restore_gzip_header_is_byte_exact():
  payload = bytes(range(256)) * 64
  stream = io.BytesIO()
  with gzip.GzipFile(filename='train-x-ubyte.gz', mode='wb', fileobj=stream,
                     mtime=1504176606) as writer:
    writer.write(payload)
  upstream = stream.getvalue()
  stripped = _strip_gzip_name(upstream)
  assert len(stripped) == len(upstream) - len(b'train-x-ubyte\0')
  restored = archives.restore_gzip_header(stripped, 'train-x-ubyte',
                                          1504176606)
  assert restored == upstream
  assert gzip.decompress(restored) == payload


def test_restore_gzip_header_rejects_other_input():
  with pytest.raises(archives.ArchiveError, match='Not a gzip'):
    archives.restore_gzip_header(b'plain text, not gzip', 'x', 0)
  named = io.BytesIO()
  with gzip.GzipFile(filename='x.gz', mode='wb', fileobj=named) as writer:
    writer.write(b'data')
  with pytest.raises(archives.ArchiveError, match='flags'):
    archives.restore_gzip_header(named.getvalue(), 'x', 0)


def test_prepare_builds_the_upstream_split_sizes(prepared):
  assert prepared.tfds_name == 'fashion_mnist/3.0.1'
  assert prepared.split_sizes == {'test': 10000, 'train': 60000}
  assert os.path.isdir(prepared.dataset_dir)
  assert tfds_sources.is_prepared(
      tfds_sources.get_builder('fashion_mnist', prepared.data_dir))
  # Only the dataset is left in data_dir: no extracted downloads.
  assert os.listdir(prepared.data_dir) == ['fashion_mnist']


@pytest.mark.parametrize('split,size', [('train', 60000), ('test', 10000)])
def test_loader_reads_the_prepared_data(prepared, split, size):
  data = tfds_sources.load_fashion_mnist(split, data_dir=prepared.data_dir)
  assert len(data) == size
  assert data.features.shape == (size, 28 * 28)
  assert data.features.dtype == np.float32
  assert data.features.min() == 0.0 and data.features.max() == 1.0
  np.testing.assert_array_equal(np.bincount(data.labels, minlength=10),
                                np.full(10, size // 10))
  assert data.class_names[9] == 'Ankle boot'


def test_loader_reads_tfds_slices(prepared):
  data = tfds_sources.load_fashion_mnist('train[:10%]',
                                         data_dir=prepared.data_dir)
  assert len(data) == 6000
  assert data.split == 'train[:10%]'


def test_prepare_again_does_nothing(prepared):
  again = archives.prepare('fashion_mnist', archives.DEBIAN,
                           prepared.data_dir)
  assert again.already_prepared
  assert again.split_sizes == prepared.split_sizes


def test_binary_reports_the_splits(prepared):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='')
  result = subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'prepare_data.py'),
       '--dataset=fashion_mnist', '--from_debian',
       f'--data_dir={prepared.data_dir}'],
      capture_output=True, text=True, env=env, timeout=120, check=False)
  assert result.returncode == 0, result.stderr
  assert 'train: 60000 examples' in result.stdout
  assert 'test: 10000 examples' in result.stdout
  assert prepared.data_dir in result.stdout


def test_corrupted_archive_is_named(upstream_archives, tmp_path):
  archive_dir = tmp_path / 'archives'
  shutil.copytree(upstream_archives, archive_dir)
  corrupted = archive_dir / 'train-labels-idx1-ubyte.gz'
  data = bytearray(corrupted.read_bytes())
  data[len(data) // 2] ^= 0xFF
  corrupted.write_bytes(bytes(data))
  data_dir = tmp_path / 'tfds'
  with pytest.raises(archives.ChecksumError) as error:
    archives.prepare('fashion_mnist', str(archive_dir), str(data_dir))
  message = str(error.value)
  assert 'train-labels-idx1-ubyte.gz' in message
  assert 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845' in (
      message)
  assert archives.file_digest(corrupted)[1] in message
  for intact in FASHION_MNIST_FILES[:3]:
    assert intact not in message
  assert not data_dir.exists() or not list(data_dir.glob('fashion_mnist*'))


def test_archives_in_a_subdirectory_named_after_the_dataset_are_found(
    upstream_archives, tmp_path):
  shutil.copytree(upstream_archives, tmp_path / 'fashion_mnist')
  manual_dir = archives._find_manual_dir(  # pylint: disable=protected-access
      'fashion_mnist', str(tmp_path),
      archives.expected_archives('fashion_mnist'))
  assert manual_dir == str(tmp_path / 'fashion_mnist')


def test_missing_archives_are_listed(tmp_path):
  (tmp_path / 'train-images-idx3-ubyte.gz').write_bytes(b'x')
  with pytest.raises(archives.MissingArchiveError) as error:
    archives.prepare('mnist', str(tmp_path), str(tmp_path / 'tfds'))
  message = str(error.value)
  assert 'Missing in' in message
  for name in ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz',
               'train-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz'):
    assert name in message
  assert not (tmp_path / 'tfds').exists()


def test_missing_archive_dir_lists_expected_names(tmp_path):
  with pytest.raises(archives.MissingArchiveError,
                     match='cifar-10-binary.tar.gz'):
    archives.prepare('cifar10', str(tmp_path / 'nowhere'),
                     str(tmp_path / 'tfds'))


def test_unknown_dataset_lists_the_supported_ones(tmp_path):
  with pytest.raises(archives.ArchiveError,
                     match='supported: cifar10, fashion_mnist, imdb_reviews, '
                     'mnist'):
    archives.prepare('svhn', str(tmp_path), str(tmp_path))
  with pytest.raises(archives.ArchiveError, match="Did you mean 'mnist'"):
    archives.prepare('mnits', str(tmp_path), str(tmp_path))


def test_debian_route_serves_fashion_mnist_only(tmp_path):
  with pytest.raises(archives.ArchiveError, match='fashion_mnist only'):
    archives.prepare('mnist', archives.DEBIAN, str(tmp_path))


def test_expected_archives_come_from_the_installed_tfds_checksums():
  (imdb,) = archives.expected_archives('imdb_reviews')
  assert imdb.filename == 'aclImdb_v1.tar.gz'
  assert imdb.size == 84125825
  (cifar,) = archives.expected_archives('cifar10')
  assert cifar.filename == 'cifar-10-binary.tar.gz'
  assert len(archives.expected_archives('mnist')) == 4
