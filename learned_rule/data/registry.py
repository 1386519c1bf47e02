"""Datasets by name."""

from learned_rule.data import digits

LOADERS = {
    'digits': digits.load_digits,
}


def load(name):
  """The :class:`Dataset` called ``name``; the error lists the known ones."""
  if name not in LOADERS:
    raise ValueError(f'Unknown dataset {name!r}; available: '
                     f'{", ".join(sorted(LOADERS))}.')
  return LOADERS[name]()
