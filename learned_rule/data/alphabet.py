"""The "Alphabet": characters rendered from the installed fonts (spec §6.2).

The paper meta-trains on "a dataset of rendered fonts" with all inputs at
16×16 pixels or less (spec §6.2, §7.2) and gives no further detail. Ours:
the 62 characters 0-9, A-Z, a-z, one class each, drawn from every usable
font face found on the machine (Debian's fonts-* packages give ~90 faces).
:func:`load_alphabet` puts together:

* :mod:`learned_rule.data.font_faces`: the characters, the font files, a face;
* :mod:`learned_rule.data.font_rendering`: which faces are usable and how
  their glyphs are drawn;
* :mod:`learned_rule.data.font_splits`: the font-disjoint 'train' and
  'test' splits;
* :mod:`learned_rule.data.alphabet_cache`: the render, cached on disk (see
  :func:`cache_directory`) and written atomically.
"""

import dataclasses
import os
import pathlib
import warnings
import zipfile

import numpy as np

from learned_rule.data import alphabet_cache
from learned_rule.data import dataset
from learned_rule.data import font_faces
from learned_rule.data import font_rendering
from learned_rule.data import font_splits

# §6.2: meta-training inputs are 16×16 pixels or less.
DEFAULT_SIZE = 16
MIN_SIZE = 4
# Our floor on the variety of styles (§6.3); Debian's
# font_faces.FONT_PACKAGES give ~90.
MIN_FACES = 40
SPLITS = ('train', 'test', 'all')


@dataclasses.dataclass(frozen=True)
class Alphabet:
  """Every usable face's 62 glyphs.

  Attributes:
    size: Side of one image in pixels.
    images: float32 [num_faces, 62, size, size] in [0, 1].
    faces: The :class:`font_faces.Face` of each row of ``images``.
    dropped: ``(font, reason)`` for each face left out.
    cache_path: File the render was read from or written to.
  """

  size: int
  images: np.ndarray
  faces: tuple
  dropped: tuple = ()
  cache_path: str = ''

  def split_indices(self, split):
    """Indices into ``faces`` of the faces of ``split``."""
    _check_split(split)
    return [i for i, face in enumerate(self.faces)
            if split == 'all' or face.split == split]

  def to_dataset(self, split):
    """The examples of ``split``: face by face, the 62 characters in order."""
    rows = self.split_indices(split)
    count = len(font_faces.CHARACTERS)
    features_ = self.images[rows].reshape(len(rows) * count, -1)
    labels = np.tile(np.arange(count, dtype=np.int64), len(rows))
    return dataset.Dataset(
        name='alphabet', features=features_, labels=labels,
        shape=(self.size, self.size, 1), num_classes=count, modality='image',
        split=split, class_names=tuple(font_faces.CHARACTERS))


def _check_split(split):
  if split not in SPLITS:
    raise ValueError(f'Unknown alphabet split {split!r}; allowed: {SPLITS}.')


def _check_size(size):
  if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
    raise ValueError(f'Alphabet `size` must be an integer, got {size!r}.')
  if size < MIN_SIZE:
    raise ValueError(f'Alphabet `size` must be at least {MIN_SIZE} pixels, '
                     f'got {size}.')


def cache_directory(cache_dir=None):
  """Where renders are cached.

  Args:
    cache_dir: Used as is when given.

  Returns:
    ``cache_dir``, else ``$LEARNED_RULE_CACHE/alphabet``, else
    ``~/.cache/learned_rule/alphabet``.
  """
  if cache_dir is not None:
    return pathlib.Path(cache_dir)
  root = os.environ.get('LEARNED_RULE_CACHE')
  if root:
    return pathlib.Path(root) / 'alphabet'
  return pathlib.Path.home() / '.cache' / 'learned_rule' / 'alphabet'


def load_alphabet(size=DEFAULT_SIZE, font_dirs=None, cache_dir=None,
                  min_faces=MIN_FACES,
                  test_fraction=font_splits.TEST_FRACTION):
  """The rendered Alphabet, from the disk cache or rendered and cached.

  Args:
    size: Side of each image in pixels.
    font_dirs: Directories searched for fonts, recursively (default
      :data:`font_faces.DEFAULT_FONT_DIRS`).
    cache_dir: Cache directory (default: see :func:`cache_directory`).
    min_faces: Fewer usable faces than this is an error.
    test_fraction: Share of faces in the 'test' split.

  Returns:
    An :class:`Alphabet` whose faces have their splits set.

  Raises:
    NotEnoughFontsError: Fewer than ``min_faces`` usable faces.
    ValueError: A bad ``size`` or ``test_fraction``.
  """
  _check_size(size)
  font_files = font_faces.find_font_files(font_dirs)
  if not font_files:
    raise font_faces.not_enough(0, font_dirs, min_faces)
  path = (cache_directory(cache_dir) /
          f'alphabet-{int(size)}px-'
          f'{alphabet_cache.cache_key(font_files, size)}.zip')
  cached = None
  if path.exists():
    try:
      cached = alphabet_cache.read_cache(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
      warnings.warn(f'Rendering the Alphabet again: unreadable cache {path} '
                    f'({error}).')
  if cached is None:
    cached = font_rendering.render_all(font_files, int(size))
    alphabet_cache.write_cache(path, *cached)
  faces, images, dropped = cached
  if len(faces) < min_faces:
    raise font_faces.not_enough(len(faces), font_dirs, min_faces)
  return Alphabet(size=int(size), images=images,
                  faces=tuple(font_splits.assign_splits(faces,
                                                        test_fraction)),
                  dropped=dropped, cache_path=str(path))


def load_split(split='train', size=DEFAULT_SIZE, font_dirs=None,
               cache_dir=None, min_faces=MIN_FACES,
               test_fraction=font_splits.TEST_FRACTION):
  """One of :data:`SPLITS` as a :class:`Dataset`; see :func:`load_alphabet`.

  'train' and 'test' hold disjoint font faces; 'all' holds every face.
  ``font_dirs`` must be a tuple when loading through the registry.
  """
  _check_split(split)
  alphabet = load_alphabet(size=size, font_dirs=font_dirs,
                           cache_dir=cache_dir, min_faces=min_faces,
                           test_fraction=test_fraction)
  return alphabet.to_dataset(split)
