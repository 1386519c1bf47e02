"""The fonts of the Alphabet (spec §6.2): its characters, the font files
found on the machine and the record of one font face.

The paper meta-trains on "a dataset of rendered fonts" (spec §6.2) and
gives no further detail. Ours: the 62 characters 0-9, A-Z, a-z, one class
each, drawn from every usable font face found on the machine (Debian's
:data:`FONT_PACKAGES` give ~90 faces); see
:mod:`learned_rule.data.font_rendering` for which faces are usable.
"""

import dataclasses
import pathlib

CHARACTERS = ('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
              'abcdefghijklmnopqrstuvwxyz')

DEFAULT_FONT_DIRS = ('/usr/share/fonts',)
FONT_PACKAGES = ('fonts-dejavu-core', 'fonts-dejavu-extra',
                 'fonts-liberation2', 'fonts-freefont-ttf', 'fonts-urw-base35',
                 'fonts-croscore')
# Extension -> preference when one face is installed in several formats.
FONT_EXTENSIONS = {'.otf': 0, '.ttf': 0, '.ttc': 0, '.otc': 0,
                   '.pfb': 1, '.pfa': 1, '.t1': 1}


class NotEnoughFontsError(RuntimeError):
  """Fewer usable font faces than the Alphabet needs."""


@dataclasses.dataclass(frozen=True)
class Face:
  """One font face of the Alphabet.

  Attributes:
    path: Font file.
    index: Face index inside the file (collections hold several).
    family: Family name from the font, e.g. 'DejaVu Sans'.
    style: Style name, e.g. 'Bold Oblique'.
    group: Faces of one group always share a split.
    split: 'train' or 'test'.
  """

  path: str
  index: int
  family: str
  style: str
  group: str = ''
  split: str = ''

  @property
  def name(self):
    return f'{self.family} {self.style}'


def find_font_files(font_dirs=None):
  """Font files under ``font_dirs`` (default :data:`DEFAULT_FONT_DIRS`).

  Symbolic links are resolved and each file is listed once, sorted by
  path; missing directories are skipped.
  """
  found = set()
  for directory in DEFAULT_FONT_DIRS if font_dirs is None else font_dirs:
    directory = pathlib.Path(directory).expanduser()
    if not directory.is_dir():
      continue
    for path in directory.rglob('*'):
      if path.suffix.lower() in FONT_EXTENSIONS and path.is_file():
        found.add(str(path.resolve()))
  return sorted(found)


def not_enough(found, font_dirs, minimum):
  """The error for ``found`` usable faces of ``minimum``, saying what to do."""
  searched = DEFAULT_FONT_DIRS if font_dirs is None else font_dirs
  dirs = ', '.join(str(directory) for directory in searched) or 'nowhere'
  return NotEnoughFontsError(
      f'The Alphabet needs at least {minimum} usable font faces; found '
      f'{found} under {dirs}. Install fonts, e.g. `apt-get install -y '
      f'{" ".join(FONT_PACKAGES)}` (or `make fonts`), or pass `font_dirs`.')
