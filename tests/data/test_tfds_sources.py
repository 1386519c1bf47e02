"""The TFDS-backed loaders on mocked data, and their offline errors.

Examples come from ``tfds.testing.mock_data`` (``MockPolicy.USE_CODE``:
random examples shaped by the builders' own feature specs), so no test needs
prepared data or the network; sockets are blocked to make sure of the
latter.
"""

import contextlib
import socket
import time

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from learned_rule.data import registry
from learned_rule.data import text
from learned_rule.data import tfds_sources

NUM_EXAMPLES = 12
# The fail-fast error must come long before an offline DNS stall (~200 s).
FAIL_FAST_SECONDS = 5.0
IMAGE_DATASETS = {
    'mnist': ((28, 28, 1), tfds_sources.load_mnist),
    'fashion_mnist': ((28, 28, 1), tfds_sources.load_fashion_mnist),
    'cifar10': ((32, 32, 3), tfds_sources.load_cifar10),
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
  """Any attempt to resolve a host or connect a socket fails the test."""

  def refuse(*args, **kwargs):
    raise AssertionError(f'Network access attempted: {args} {kwargs}')

  monkeypatch.setattr(socket, 'getaddrinfo', refuse)
  monkeypatch.setattr(socket.socket, 'connect', refuse)
  monkeypatch.setattr(socket.socket, 'connect_ex', refuse)


@pytest.fixture(autouse=True)
def fresh_caches():
  tfds_sources.clear_caches()
  yield
  tfds_sources.clear_caches()


@contextlib.contextmanager
def mocked_tfds(monkeypatch, **kwargs):
  """``tfds.testing.mock_data``, with every dataset reported as prepared.

  Under mock_data the builders look in a data_dir that does not exist, so
  the loaders' "is it prepared?" check is answered yes here.
  """
  monkeypatch.setattr(tfds_sources, 'is_prepared', lambda builder: True)
  with tfds.testing.mock_data(policy=tfds.testing.MockPolicy.USE_CODE,
                              **kwargs):
    yield


@pytest.mark.parametrize('name', sorted(IMAGE_DATASETS))
def test_image_loaders_give_flat_unit_range_float32(monkeypatch, name):
  shape, loader = IMAGE_DATASETS[name]
  with mocked_tfds(monkeypatch, num_examples=NUM_EXAMPLES):
    data = loader('test')
  assert data.name == name
  assert data.split == 'test'
  assert data.modality == 'image'
  assert data.shape == shape
  assert data.features.shape == (NUM_EXAMPLES, int(np.prod(shape)))
  assert data.features.dtype == np.float32
  assert 0.0 <= data.features.min() and data.features.max() <= 1.0
  assert data.features.max() > 0.5  # Scaled from 0..255, not left as is.
  assert data.labels.dtype == np.int64
  assert data.labels.shape == (NUM_EXAMPLES,)
  assert data.num_classes == 10
  assert len(data.class_names) == 10
  assert ((0 <= data.labels) & (data.labels < 10)).all()


def test_fashion_mnist_class_names_come_from_the_builder(monkeypatch):
  with mocked_tfds(monkeypatch, num_examples=2):
    data = tfds_sources.load_fashion_mnist('train')
  assert data.class_names[0] == 'T-shirt/top'
  assert data.class_names[-1] == 'Ankle boot'


def test_cifar10_greyscale_is_luma_of_the_colour_images(monkeypatch):
  with mocked_tfds(monkeypatch, num_examples=NUM_EXAMPLES):
    colour = tfds_sources.load_cifar10('train')
    grey = tfds_sources.load_cifar10('train', greyscale=True)
  assert grey.shape == (32, 32, 1)
  assert grey.features.shape == (NUM_EXAMPLES, 32 * 32)
  rgb = colour.features.reshape(NUM_EXAMPLES, 32, 32, 3)
  expected = tf.image.rgb_to_grayscale(rgb).numpy().reshape(NUM_EXAMPLES, -1)
  np.testing.assert_allclose(grey.features, expected, atol=1e-3)
  np.testing.assert_array_equal(grey.labels, colour.labels)


def test_loaders_cache_each_split(monkeypatch):
  with mocked_tfds(monkeypatch, num_examples=3):
    first = tfds_sources.load_mnist('train')
    assert tfds_sources.load_mnist('train') is first
    assert tfds_sources.load_mnist('test') is not first


# Train and test reviews for the bag-of-words tests. 'zebra' occurs in the
# test reviews only, 'great' in both.
TRAIN_REVIEWS = [(b'A great film, great cast.<br />Loved it', 1),
                 (b'Dull plot and a dull cast', 0),
                 (b'great great fun', 1)]
TEST_REVIEWS = [(b'zebra zebra zebra great', 1),
                (b'zebra dull', 0)]


def _reviews_as_dataset(self, split, decoders=None, read_config=None,
                        shuffle_files=False):
  """Stands in for ``_as_dataset``: fixed reviews per split."""
  del self, decoders, read_config, shuffle_files  # Unused.
  reviews = TRAIN_REVIEWS if str(split).startswith('train') else TEST_REVIEWS
  texts, labels = zip(*reviews)
  return tf.data.Dataset.from_tensor_slices({
      'text': tf.constant(texts),
      'label': tf.constant(labels, tf.int64),
  })


def test_imdb_vocabulary_comes_from_the_train_split_only(monkeypatch):
  with mocked_tfds(monkeypatch, as_dataset_fn=_reviews_as_dataset):
    vocabulary = tfds_sources.imdb_vocabulary()
    test = tfds_sources.load_imdb_reviews('test')
  assert vocabulary == tuple(
      text.build_vocabulary([r for r, _ in TRAIN_REVIEWS]))
  assert 'zebra' not in vocabulary
  assert 'br' not in vocabulary  # HTML markup is dropped.
  assert vocabulary[0] == 'great'
  assert test.shape == (len(vocabulary),)
  assert test.features.shape == (len(TEST_REVIEWS), len(vocabulary))
  # 'zebra' counts nowhere: the first test review has only 'great'.
  np.testing.assert_array_equal(test.features.sum(axis=1), [1.0, 1.0])
  np.testing.assert_array_equal(test.labels, [1, 0])


def test_imdb_bag_of_words_is_binary_unless_counts(monkeypatch):
  with mocked_tfds(monkeypatch, as_dataset_fn=_reviews_as_dataset):
    binary = tfds_sources.load_imdb_reviews('train')
    counts = tfds_sources.load_imdb_reviews('train', counts=True)
    vocabulary = tfds_sources.imdb_vocabulary()
  great = vocabulary.index('great')
  np.testing.assert_array_equal(binary.features[:, great], [1, 0, 1])
  np.testing.assert_array_equal(counts.features[:, great], [2, 0, 2])
  assert binary.modality == counts.modality == 'text'
  assert binary.class_names == ('neg', 'pos')
  assert binary.num_classes == 2


def test_imdb_on_mock_data_has_the_paper_shape(monkeypatch):
  with mocked_tfds(monkeypatch, num_examples=NUM_EXAMPLES):
    data = tfds_sources.load_imdb_reviews('test', vocabulary_size=50)
  assert data.features.dtype == np.float32
  assert data.features.shape[0] == NUM_EXAMPLES
  assert data.features.shape[1] == data.shape[0] <= 50
  assert set(np.unique(data.features)) <= {0.0, 1.0}
  assert data.labels.dtype == np.int64


@pytest.mark.parametrize('name', sorted(tfds_sources.TFDS_NAMES))
def test_unprepared_dataset_fails_fast_and_says_what_to_run(tmp_path, name):
  start = time.monotonic()
  with pytest.raises(tfds_sources.DatasetNotAvailableError) as error:
    tfds_sources.LOADERS[name]('train', data_dir=str(tmp_path))
  elapsed = time.monotonic() - start
  assert elapsed < FAIL_FAST_SECONDS, f'took {elapsed:.1f} s'
  message = str(error.value)
  assert str(tmp_path) in message
  assert 'learned-rule-prepare-data' in message
  assert f'--dataset={name}' in message
  assert 'tfds build' in message
  archives = tfds_sources.get_builder(name).url_infos.values()
  assert all(info.filename in message for info in archives)
  assert isinstance(error.value, ValueError)
  assert not list(tmp_path.iterdir())  # Nothing was written.


def test_fashion_mnist_error_mentions_the_debian_route(tmp_path):
  with pytest.raises(tfds_sources.DatasetNotAvailableError,
                     match='dataset-fashion-mnist'):
    tfds_sources.load_fashion_mnist('test', data_dir=str(tmp_path))


def test_unknown_dataset_lists_the_available_ones():
  with pytest.raises(ValueError, match='available: cifar10, fashion_mnist, '
                     'imdb_reviews, mnist'):
    tfds_sources.get_builder('svhn')
  with pytest.raises(ValueError, match="Did you mean 'cifar10'"):
    tfds_sources.get_builder('cifar_10')


def test_a_misspelled_dataset_name_says_what_was_meant():
  with pytest.raises(ValueError, match="available: .*Did you mean "
                     "'fashion_mnist' or 'tiny_fashion_mnist'\\?"):
    registry.load('fashion_minst')


def test_registered_loaders_use_train_and_test_roles(tmp_path):
  for name in tfds_sources.TFDS_NAMES:
    assert registry.LOADERS[name] is tfds_sources.LOADERS[name]
    assert registry.ROLE_SPLITS[name] == {registry.META_TRAIN: 'train',
                                          registry.HELD_OUT: 'test'}
  with pytest.raises(tfds_sources.DatasetNotAvailableError):
    registry.load_for(registry.HELD_OUT, 'mnist', data_dir=str(tmp_path))
  with pytest.raises(ValueError, match='available:.*fashion_mnist'):
    registry.load('no_such_dataset')
