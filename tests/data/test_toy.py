"""Tests of the two-moons toy data (Fig. 6; spec §7.2, §8.3)."""

import numpy as np
import pytest

from learned_rule.data import registry
from learned_rule.data import toy


def test_shape_and_metadata():
  data = toy.load_split('train')
  assert data.features.shape == (toy.NUM_EXAMPLES, 2)
  assert data.features.dtype == np.float32
  assert data.labels.dtype == np.int64
  assert data.shape == (2,)
  assert data.num_classes == 2
  assert data.modality == 'toy'
  assert data.split == 'train'
  assert len(data.class_names) == 2
  np.testing.assert_array_equal(np.bincount(data.labels),
                                [toy.NUM_EXAMPLES // 2] * 2)


def test_deterministic_per_seed_and_split():
  first, again = toy.load_split('train'), toy.load_split('train')
  np.testing.assert_array_equal(first.features, again.features)
  np.testing.assert_array_equal(first.labels, again.labels)
  test = toy.load_split('test')
  assert not np.array_equal(first.features, test.features)
  other = toy.load_split('train', seed=1)
  assert not np.array_equal(first.features, other.features)
  # Seeds never collide across the (seed, split) pairs used here.
  seeds = {toy.split_seed(split, seed) for split in toy.SPLITS
           for seed in range(20)}
  assert len(seeds) == 40


def test_without_noise_points_lie_on_the_moons():
  data = toy.load_split('test', num_examples=200, noise=0.0)
  x, y = data.features[:, 0], data.features[:, 1]
  upper, lower = data.labels == 0, data.labels == 1
  np.testing.assert_allclose(x[upper]**2 + y[upper]**2, 1.0, atol=1e-5)
  assert (y[upper] >= -1e-6).all()
  np.testing.assert_allclose((x[lower] - 1)**2 + (y[lower] - 0.5)**2, 1.0,
                             atol=1e-5)
  assert (y[lower] <= 0.5 + 1e-6).all()


def test_noise_spreads_the_points():
  data = toy.load_split('train', noise=0.1)
  x, y = data.features[:, 0], data.features[:, 1]
  radius = np.sqrt(x**2 + y**2)[data.labels == 0]
  assert 0.05 < radius.std() < 0.2


def test_registered_with_its_roles():
  held_out = registry.load_for(registry.HELD_OUT, 'two_moons')
  meta_train = registry.load_for(registry.META_TRAIN, 'two_moons')
  assert held_out.split == 'test' and meta_train.split == 'train'
  np.testing.assert_array_equal(meta_train.features,
                                toy.load_split('train').features)


@pytest.mark.parametrize('kwargs, message', [
    ({'split': 'all'}, 'split'),
    ({'num_examples': 1}, 'num_examples'),
    ({'noise': -0.1}, 'noise'),
])
def test_bad_arguments_raise(kwargs, message):
  with pytest.raises(ValueError, match=message):
    toy.load_split(**kwargs)
