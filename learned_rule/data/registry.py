"""Datasets by name, and which split each role may use.

Every loader takes a split name and returns a :class:`Dataset` held in
memory. :data:`ROLE_SPLITS` says, for each dataset, which split
meta-training may use and which split is held out for evaluation, so that
the two never share examples by accident.

Besides the names of :data:`LOADERS`, a name ``PREFIX:PATH`` loads one's
own data (:mod:`learned_rule.data.own_data`): ``imagedir:DIR``,
``npz:FILE`` or ``textdir:DIR``; its 'train' split is meta-training's and
its 'test' split is held out.
"""

import dataclasses
import functools

from learned_rule import suggestions
from learned_rule.data import alphabet
from learned_rule.data import debian_descriptions
from learned_rule.data import fortunes
from learned_rule.data import digits
from learned_rule.data import image_directory
from learned_rule.data import npz_file
from learned_rule.data import own_data
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
# font face, digits', the Debian descriptions' and the fortunes' by a fixed
# stratified partition, the TFDS datasets' by their own train/test splits,
# two moons' by seed.
_DATASETS = {
    'alphabet': (alphabet.load_split, 'train', 'test'),
    'debian_descriptions': (debian_descriptions.load_split, 'train', 'test'),
    'digits': (digits.load_split, 'train', 'test'),
    'fortunes': (fortunes.load_split, 'train', 'test'),
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


# Loaders ``(name, path, split, **options) -> Dataset`` of own data, by
# prefix; the splits of every one are 'train' and 'test'.
_OWN_LOADERS = {'imagedir': image_directory.load, 'npz': npz_file.load,
                'textdir': own_data.load_text}
_OWN_ROLE_SPLITS = {META_TRAIN: 'train', HELD_OUT: 'test'}


def register(name, loader, meta_train_split='train', held_out_split='test'):
  """Adds a loader ``loader(split, **options) -> Dataset`` under ``name``."""
  if own_data.is_own(name):
    raise ValueError(f'Dataset names with a colon are own data '
                     f'({own_data.FORMS}); register {name!r} without one.')
  LOADERS[name] = loader
  ROLE_SPLITS[name] = {META_TRAIN: meta_train_split, HELD_OUT: held_out_split}


def check_name(name, where=''):
  """Raises ValueError unless ``name`` names a dataset.

  Args:
    name: A name of :data:`LOADERS` or ``PREFIX:PATH`` (whose prefix and
      options are checked here, its path when it loads).
    where: Where the name was given, for the message, e.g. ' in `datasets`'.
  """
  if own_data.is_own(name):
    own_data.parse(name)
  elif name not in LOADERS:
    raise ValueError(f'Unknown dataset {name!r}{where}; available: '
                     f'{", ".join(sorted(LOADERS))}; or your own data, '
                     f'named {own_data.FORMS}.'
                     f'{suggestions.did_you_mean(name, LOADERS)}')


@functools.lru_cache(maxsize=None)
def _load_cached(name, split, options):
  if own_data.is_own(name):
    prefix, path, defaults = own_data.parse(name)
    unknown = sorted(set(dict(options)) - set(defaults))
    if unknown:
      raise ValueError(f'Unknown options {unknown} of {name!r}; allowed: '
                       f'{sorted(defaults)}.')
    return _OWN_LOADERS[prefix](name, path, split,
                                **{**defaults, **dict(options)})
  return LOADERS[name](split, **dict(options))


def load(name, split='train', **options):
  """The split ``split`` of dataset ``name``, loaded once and cached.

  The error for an unknown name lists the known ones.
  """
  check_name(name)
  return _load_cached(name, split, tuple(sorted(options.items())))


def load_for(role, name, **options):
  """The split of ``name`` that ``role`` ('meta_train' or 'held_out') uses."""
  if role not in ROLES:
    raise ValueError(f'Unknown role {role!r}; allowed: {ROLES}.')
  check_name(name)
  splits = _OWN_ROLE_SPLITS if own_data.is_own(name) else ROLE_SPLITS[name]
  return load(name, splits[role], **options)
