"""Checks of the settings of tasks and task distributions (spec §6).

Each returns the value normalised (tuples of Python ints, bools) or raises a
ValueError naming the setting.
"""

import numbers

import numpy as np


def is_int(value):
  """Whether ``value`` is an integer (NumPy's included), not a bool."""
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_choices(name, values, minimum):
  """A non-empty tuple of ints >= ``minimum``; raises naming ``name``."""
  if isinstance(values, (str, bytes)) or not hasattr(values, '__iter__'):
    raise ValueError(f'`{name}` must be a non-empty tuple of ints >= '
                     f'{minimum}, got {values!r}.')
  values = tuple(values)
  if not values or not all(is_int(v) and v >= minimum for v in values):
    raise ValueError(f'`{name}` must be a non-empty tuple of ints >= '
                     f'{minimum}, got {values!r}.')
  return tuple(int(v) for v in values)


def check_int(name, value, minimum):
  """An int >= ``minimum``; raises naming ``name``."""
  if not is_int(value) or value < minimum:
    raise ValueError(f'`{name}` must be an int >= {minimum}, got {value!r}.')
  return int(value)


def check_bool(name, value):
  """True or False (NumPy's included) as a bool; raises naming ``name``."""
  if not isinstance(value, (bool, np.bool_)):
    raise ValueError(f'`{name}` must be True or False, got {value!r}.')
  return bool(value)
