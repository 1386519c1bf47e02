"""Samplers: balance, disjointness, determinism, class subsets, permutation."""

import dataclasses

import numpy as np
import pytest

from learned_rule.data import dataset
from learned_rule.data import digits
from learned_rule.data import sampling
from learned_rule.data import transforms


def _numbered(num_classes=4, per_class=30, dim=5):
  """Examples whose first feature is their unique index."""
  count = num_classes * per_class
  features = np.zeros((count, dim), np.float32)
  features[:, 0] = np.arange(count)
  labels = np.repeat(np.arange(num_classes), per_class)
  return dataset.Dataset('numbered', features, labels, (dim,), num_classes,
                         modality='toy')


def test_few_shot_sets_are_balanced_disjoint_and_shuffled():
  data = _numbered()
  batch = sampling.few_shot_batch(data, np.random.default_rng(0), shots=7)
  assert np.bincount(batch.support_y).tolist() == [7] * 4
  assert np.bincount(batch.query_y).tolist() == [7] * 4
  support, query = batch.support_x[:, 0], batch.query_x[:, 0]
  assert not set(support) & set(query)
  # Labels follow the examples they belong to.
  np.testing.assert_array_equal(data.labels[support.astype(int)],
                                batch.support_y)
  assert list(batch.support_y) != sorted(batch.support_y)


def test_samplers_are_deterministic_given_the_seed():
  data = _numbered()
  draws = [sampling.few_shot_batch(data, np.random.default_rng(s), shots=3)
           for s in (5, 5, 6)]
  np.testing.assert_array_equal(draws[0].support_x, draws[1].support_x)
  np.testing.assert_array_equal(draws[0].query_x, draws[1].query_x)
  assert not np.array_equal(draws[0].support_x, draws[2].support_x)
  batches = [sampling.unlabeled_batches(data, 3, 8, np.random.default_rng(s))
             for s in (1, 1, 2)]
  np.testing.assert_array_equal(batches[0], batches[1])
  assert not np.array_equal(batches[0], batches[2])


def test_class_subset_tasks_relabel_and_restrict_examples():
  data = _numbered(num_classes=6)
  rng = np.random.default_rng(3)
  classes = sampling.sample_classes(data, 3, rng)
  assert len(set(classes)) == 3 and list(classes) == sorted(classes)
  batch = sampling.few_shot_batch(data, rng, shots=4, classes=classes)
  assert set(batch.support_y) == {0, 1, 2}
  original = data.labels[batch.support_x[:, 0].astype(int)]
  np.testing.assert_array_equal(classes[batch.support_y], original)
  unlabeled = sampling.unlabeled_batches(data, 5, 10, rng, classes=classes)
  assert set(data.labels[unlabeled[..., 0].astype(int)].ravel()) <= set(
      classes)
  with pytest.raises(ValueError, match='num_classes'):
    sampling.sample_classes(data, 7, rng)
  with pytest.raises(ValueError, match='no classes'):
    sampling.few_shot_batch(data, rng, classes=[0, 9])


def test_unlabeled_batches_have_distinct_examples_and_the_right_shape():
  data = _numbered()
  batches = sampling.unlabeled_batches(data, 4, 16, np.random.default_rng(0))
  assert batches.shape == (4, 16, 5)
  for batch in batches:
    assert len(set(batch[:, 0])) == 16


@pytest.mark.parametrize('kwargs, word', [
    (dict(batch_size=1), 'batch_size'),
    (dict(batch_size=1000), 'exceeds'),
])
def test_bad_unlabeled_requests_fail_clearly(kwargs, word):
  with pytest.raises(ValueError, match=word):
    sampling.unlabeled_batches(_numbered(), 2, rng=np.random.default_rng(0),
                               **kwargs)


def test_too_many_shots_names_the_class_and_counts():
  with pytest.raises(ValueError, match='class 0 has 30 examples; 40'):
    sampling.few_shot_batch(_numbered(), np.random.default_rng(0), shots=20)


def test_permutation_is_a_bijection_shared_by_every_sample():
  data = _numbered(dim=9)
  data = dataclasses.replace(
      data, features=np.random.default_rng(0).normal(
          size=data.features.shape).astype(np.float32))
  permuted, permutation = transforms.permute(data, seed=4)
  assert sorted(permutation) == list(range(9))
  assert not np.array_equal(permutation, np.arange(9))
  rng = np.random.default_rng(1)
  batch = sampling.few_shot_batch(permuted, rng, shots=3)
  unlabeled = sampling.unlabeled_batches(permuted, 2, 5, rng)
  originals = {tuple(row[permutation]): True for row in data.features}
  for row in np.concatenate([batch.support_x, batch.query_x,
                             unlabeled.reshape(-1, 9)]):
    assert tuple(row) in originals


def test_augmented_few_shot_batch_returns_amounts_as_targets():
  data = digits.load_split('train')
  batch = sampling.few_shot_batch(data, np.random.default_rng(2), shots=2,
                                  augment=True)
  assert batch.support_extra.shape == (20, 4)
  assert batch.query_extra.shape == (20, 4)
  assert np.all(np.abs(batch.support_extra) <= 1.0)
  assert batch.support_x.shape == (20, 64)
