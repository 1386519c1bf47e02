"""Datasets by name, and which split each role may use.

Every loader takes a split name and returns a :class:`Dataset` held in
memory. :data:`ROLE_SPLITS` says, for each dataset, which split
meta-training may use and which split is held out for evaluation, so that
the two never share examples by accident.
"""

import dataclasses
import functools

from learned_rule.data import alphabet
from learned_rule.data import debian_descriptions
from learned_rule.data import digits
from learned_rule.data import tfds_sources
from learned_rule.data import toy
from learned_rule.data import transforms

META_TRAIN = 'meta_train'
HELD_OUT = 'held_out'
ROLES = (META_TRAIN, HELD_OUT)

# §7.1: TinyMnist is MNIST resized to 14×14; §6.2: meta-training inputs are
# 16×16 or less ("MiniCIFAR").
TINY_SIZE = 14
MINI_SIZE = 16


def _resized(loader, size, name):
  """A loader of ``loader``'s images bilinearly resized to size × size."""

  def load_resized(split='train', **options):
    data = transforms.resize(loader(split, **options), size)
    return dataclasses.replace(data, name=name)

  return load_resized


# Name -> (loader(split, **options) -> Dataset, meta-training split,
# held-out split). Every dataset's two splits are disjoint: Alphabet's by
# font face, digits' and the Debian descriptions' by a fixed stratified
# partition, the TFDS datasets' by their own train/test splits, two moons'
# by seed.
_DATASETS = {
    'alphabet': (alphabet.load_split, 'train', 'test'),
    'debian_descriptions': (debian_descriptions.load_split, 'train', 'test'),
    'digits': (digits.load_split, 'train', 'test'),
    'two_moons': (toy.load_split, 'train', 'test'),
    **{name: (loader, tfds_sources.META_TRAIN_SPLIT,
              tfds_sources.HELD_OUT_SPLIT)
       for name, loader in tfds_sources.LOADERS.items()},
    'tiny_mnist': (_resized(tfds_sources.load_mnist, TINY_SIZE, 'tiny_mnist'),
                   'train', 'test'),
    'tiny_fashion_mnist': (_resized(tfds_sources.load_fashion_mnist,
                                    TINY_SIZE, 'tiny_fashion_mnist'),
                           'train', 'test'),
    'mini_cifar10': (_resized(tfds_sources.load_cifar10, MINI_SIZE,
                              'mini_cifar10'), 'train', 'test'),
}
LOADERS = {name: entry[0] for name, entry in _DATASETS.items()}
ROLE_SPLITS = {name: {META_TRAIN: entry[1], HELD_OUT: entry[2]}
               for name, entry in _DATASETS.items()}


def register(name, loader, meta_train_split='train', held_out_split='test'):
  """Adds a loader ``loader(split, **options) -> Dataset`` under ``name``."""
  LOADERS[name] = loader
  ROLE_SPLITS[name] = {META_TRAIN: meta_train_split, HELD_OUT: held_out_split}


def _check_name(name):
  if name not in LOADERS:
    raise ValueError(f'Unknown dataset {name!r}; available: '
                     f'{", ".join(sorted(LOADERS))}.')


@functools.lru_cache(maxsize=None)
def _load_cached(name, split, options):
  return LOADERS[name](split, **dict(options))


def load(name, split='train', **options):
  """The split ``split`` of dataset ``name``, loaded once and cached.

  The error for an unknown name lists the known ones.
  """
  _check_name(name)
  return _load_cached(name, split, tuple(sorted(options.items())))


def load_for(role, name, **options):
  """The split of ``name`` that ``role`` ('meta_train' or 'held_out') uses."""
  if role not in ROLES:
    raise ValueError(f'Unknown role {role!r}; allowed: {ROLES}.')
  _check_name(name)
  return load(name, ROLE_SPLITS[name][role], **options)
