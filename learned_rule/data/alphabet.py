"""The "Alphabet": characters rendered from the installed fonts (spec §6.2).

The paper meta-trains on "a dataset of rendered fonts" with all inputs at
16×16 pixels or less (spec §6.2, §7.2) and gives no further detail. Ours:
the 62 characters 0-9, A-Z, a-z, one class each, drawn from every usable
font face found on the machine (Debian's fonts-* packages give ~90 faces).

Rendering (our choices):

* One scale per face: the face's largest glyph (over all 62 characters)
  fills the box less a :data:`MARGIN`-pixel border, so that within a face
  'o' stays smaller than 'O' and 'x' smaller than 'X' (scaling every glyph
  to fit would make those pairs identical).
* Each glyph is centred on its own ink, not on the baseline: baselines
  would waste rows of a 16-pixel box on descenders that few glyphs have.
* Glyphs are drawn :data:`SUPERSAMPLE` times larger and block-averaged
  down, which is exact area coverage and places the ink to a fraction of
  an output pixel. White ink on black, float32 in [0, 1].

A face is usable when it loads with a Unicode character map, draws ink for
all 62 characters, draws none of them as its ".notdef" box, draws no three
of them identically, and also draws one of ’ “ – • € Œ. The last rule
drops symbol fonts (Symbol, Dingbats) that put pictures at the letters'
codes through a legacy 8-bit map and map nothing above U+00FF. The same
face installed twice (e.g. as OpenType and as Type 1) is kept once,
preferring OpenType/TrueType; faces that render to identical pixels are
kept once.

Splits are font-disjoint: faces of one family (bold, italic, condensed…)
and faces that render almost identically (metric clones such as Arimo and
Liberation Sans, :data:`CLONE_DISTANCE`) form one group, and whole groups
go to 'test' (see :func:`assign_splits`) up to :data:`TEST_FRACTION` of
the faces; the rest is 'train'.

The render is cached on disk (see :func:`cache_directory`) under a key of
the size, the rendering settings, the Pillow and FreeType versions and
every font file's path, size and mtime, and is written atomically.
"""

import dataclasses
import hashlib
import io
import json
import os
import pathlib
import tempfile
import warnings
import zipfile

import numpy as np
import PIL
from PIL import features
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from learned_rule import progress
from learned_rule.data import dataset

CHARACTERS = ('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
              'abcdefghijklmnopqrstuvwxyz')
# §6.2: meta-training inputs are 16×16 pixels or less.
DEFAULT_SIZE = 16
MIN_SIZE = 4
# Our choices, not the paper's (§6.3): supersampling factor, border in
# output pixels, share of faces held out.
SUPERSAMPLE = 4
MARGIN = 1
TEST_FRACTION = 0.25
# Faces are compared (duplicates, clones) as rendered at this size whatever
# the requested size, so the faces kept and the split do not depend on it.
SIGNATURE_SIZE = 16
# Mean absolute pixel difference over all 62 glyphs at SIGNATURE_SIZE below
# which two faces count as clones and share a split. Measured on the Debian
# fonts: clones 0.008-0.024, distinct designs from 0.028 up.
CLONE_DISTANCE = 0.026
# Our floor on the variety of styles; Debian's FONT_PACKAGES give ~90.
MIN_FACES = 40
SPLITS = ('train', 'test', 'all')
FORMAT_VERSION = 1

DEFAULT_FONT_DIRS = ('/usr/share/fonts',)
FONT_PACKAGES = ('fonts-dejavu-core', 'fonts-dejavu-extra',
                 'fonts-liberation2', 'fonts-freefont-ttf', 'fonts-urw-base35',
                 'fonts-croscore')
# Extension -> preference when one face is installed in several formats.
FONT_EXTENSIONS = {'.otf': 0, '.ttf': 0, '.ttc': 0, '.otc': 0,
                   '.pfb': 1, '.pfa': 1, '.t1': 1}

# Font size at which glyphs are measured before the face's scale is fixed.
_REFERENCE_SIZE = 256
# A noncharacter that no font maps: it draws the face's .notdef glyph.
_NOTDEF_PROBE = '\uffff'
_TEXT_PROBES = '\u2019\u201c\u2013\u2022\u20ac\u0152'
_MAX_COLLECTION_FACES = 64
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class NotEnoughFontsError(RuntimeError):
  """Fewer usable font faces than the Alphabet needs."""


class _Unusable(Exception):
  """A face that cannot give the 62 characters; the message says why."""


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


@dataclasses.dataclass(frozen=True)
class Alphabet:
  """Every usable face's 62 glyphs.

  Attributes:
    size: Side of one image in pixels.
    images: float32 [num_faces, 62, size, size] in [0, 1].
    faces: The :class:`Face` of each row of ``images``.
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
    count = len(CHARACTERS)
    features_ = self.images[rows].reshape(len(rows) * count, -1)
    labels = np.tile(np.arange(count, dtype=np.int64), len(rows))
    return dataset.Dataset(
        name='alphabet', features=features_, labels=labels,
        shape=(self.size, self.size, 1), num_classes=count, modality='image',
        split=split, class_names=tuple(CHARACTERS))


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


def _open(path, index, size):
  # BASIC layout keeps the render independent of whether libraqm exists.
  return ImageFont.truetype(path, size, index=index, encoding='unic',
                            layout_engine=ImageFont.Layout.BASIC)


def _ink(font, char):
  """uint8 [h, w]: the ink of ``char`` cropped to its bounding box, or None."""
  left, top, right, bottom = font.getbbox(char)
  pad = int(font.size) // 8 + 4
  canvas = Image.new('L', (right - left + 2 * pad, bottom - top + 2 * pad))
  ImageDraw.Draw(canvas).text((pad - left, pad - top), char, fill=255,
                              font=font)
  box = canvas.getbbox()
  return None if box is None else np.asarray(canvas.crop(box))


def _same(a, b):
  return a is not None and b is not None and np.array_equal(a, b)


def _check_glyphs(font):
  """Raises :class:`_Unusable` unless ``font`` draws all of CHARACTERS."""
  inks = [_ink(font, char) for char in CHARACTERS]
  notdef = _ink(font, _NOTDEF_PROBE)
  missing = [char for char, ink in zip(CHARACTERS, inks)
             if ink is None or _same(ink, notdef)]
  if missing:
    raise _Unusable(f'no glyph for {"".join(missing)!r}')
  counts = {}
  for char, ink in zip(CHARACTERS, inks):
    counts.setdefault((ink.shape, ink.tobytes()), []).append(char)
  shared = max(counts.values(), key=len)
  if len(shared) >= 3:
    raise _Unusable(f'draws {"".join(shared)!r} identically')
  probes = [_ink(font, char) for char in _TEXT_PROBES]
  if not any(ink is not None and not _same(ink, notdef) for ink in probes):
    raise _Unusable('maps nothing above U+00FF (a symbol font)')
  return inks


def _fit(ink, inner):
  """Shrinks ``ink`` to fit ``inner`` pixels if hinting made it overflow."""
  height, width = ink.shape
  if max(height, width) <= inner:
    return ink
  scale = inner / max(height, width)
  shape = (max(1, min(inner, round(width * scale))),
           max(1, min(inner, round(height * scale))))
  return np.asarray(Image.fromarray(ink).resize(shape, Image.Resampling.BOX))


def _render_face(path, index, size):
  """(family, style, float32 [62, size, size]) of one face.

  Raises:
    _Unusable: The face cannot give the 62 characters.
  """
  try:
    reference = _open(path, index, _REFERENCE_SIZE)
  except (OSError, ValueError) as error:
    raise _Unusable(f'cannot be opened ({error})') from error
  inks = _check_glyphs(reference)
  box = size * SUPERSAMPLE
  inner = (size - 2 * MARGIN) * SUPERSAMPLE
  extent = max(max(ink.shape) for ink in inks)
  font = _open(path, index, _REFERENCE_SIZE * inner / extent)
  images = np.zeros((len(CHARACTERS), size, size), np.float32)
  for i, char in enumerate(CHARACTERS):
    ink = _ink(font, char)
    if ink is None:
      raise _Unusable(f'no ink for {char!r} at {font.size:.1f} px')
    ink = _fit(ink, inner)
    height, width = ink.shape
    canvas = np.zeros((box, box), np.float32)
    top, left = (box - height) // 2, (box - width) // 2
    canvas[top:top + height, left:left + width] = ink
    images[i] = canvas.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(
        axis=(1, 3)) / 255.0
  family, style = reference.getname()
  return family or pathlib.Path(path).stem, style or 'Regular', images


def _candidates(font_files):
  """``(path, index)`` of every face, OpenType/TrueType files first."""
  ordered = sorted(font_files, key=lambda path: (
      FONT_EXTENSIONS[pathlib.Path(path).suffix.lower()], path))
  for path in ordered:
    if pathlib.Path(path).suffix.lower() not in ('.ttc', '.otc'):
      yield path, 0
      continue
    for index in range(_MAX_COLLECTION_FACES):
      try:
        _open(path, index, 12)
      except (OSError, ValueError):
        break
      yield path, index


def _render_all(font_files, size):
  """Renders, checks and de-duplicates every face in ``font_files``."""
  faces, images, signatures, dropped = [], [], [], []
  names, pixels = {}, {}
  bar = progress.Progress(len(font_files), 'Rendering the Alphabet', 'font')
  done = set()
  for path, index in _candidates(font_files):
    label = path if index == 0 else f'{path}#{index}'
    try:
      name = _open(path, index, 12).getname()
    except (OSError, ValueError) as error:
      name = None
      dropped.append((label, f'cannot be opened ({error})'))
    if name is not None and name in names:
      dropped.append((label, f'same face as {names[name]}'))
    elif name is not None:
      try:
        family, style, glyphs = _render_face(path, index, size)
        signature = (glyphs if size == SIGNATURE_SIZE else
                     _render_face(path, index, SIGNATURE_SIZE)[2])
      except _Unusable as error:
        dropped.append((label, str(error)))
      else:
        digest = hashlib.sha256(signature.tobytes()).hexdigest()
        if digest in pixels:
          dropped.append((label, f'renders like {pixels[digest]}'))
        else:
          names[name] = pixels[digest] = label
          faces.append(Face(path, index, family, style))
          images.append(glyphs)
          signatures.append(signature)
    if path not in done:
      done.add(path)
      bar.update(1)
  dropped = tuple(sorted(dropped))
  if not faces:
    return [], np.zeros((0, len(CHARACTERS), size, size), np.float32), dropped
  order = sorted(range(len(faces)), key=lambda i: (
      pathlib.Path(faces[i].path).name, faces[i].path, faces[i].index))
  faces = [faces[i] for i in order]
  images = np.stack([images[i] for i in order])
  signatures = np.stack([signatures[i] for i in order])
  return _group(faces, signatures), images, dropped


def _group(faces, signatures):
  """Sets each face's group: same family or clone renders, transitively."""
  parent = list(range(len(faces)))

  def root(i):
    while parent[i] != i:
      parent[i] = parent[parent[i]]
      i = parent[i]
    return i

  flat = signatures.reshape(len(faces), -1)
  for i in range(len(faces)):
    distances = np.abs(flat[i + 1:] - flat[i]).mean(axis=1)
    for j in range(i + 1, len(faces)):
      if (faces[i].family == faces[j].family or
          distances[j - i - 1] < CLONE_DISTANCE):
        parent[root(j)] = root(i)
  members = {}
  for i in range(len(faces)):
    members.setdefault(root(i), []).append(faces[i].family)
  return [dataclasses.replace(face, group=min(members[root(i)]))
          for i, face in enumerate(faces)]


def assign_splits(faces, test_fraction=TEST_FRACTION):
  """Faces with ``split`` set; whole groups go to 'test' in hash order.

  Groups are taken in the order of the SHA-256 of their names, and each
  goes to 'test' if that keeps 'test' at most ``test_fraction`` of all
  faces (if none fits, the smallest goes), so the assignment depends on
  neither the order of files nor the process.
  """
  if not 0.0 < test_fraction < 1.0:
    raise ValueError(f'`test_fraction` must be in (0, 1), got {test_fraction}.')
  sizes = {}
  for face in faces:
    sizes[face.group] = sizes.get(face.group, 0) + 1
  if len(sizes) < 2:
    raise NotEnoughFontsError(
        f'The Alphabet needs faces of at least two font families for a '
        f'font-disjoint split; found {sorted(sizes)}.')
  target = round(test_fraction * len(faces))
  ordered = sorted(sizes, key=lambda group: hashlib.sha256(
      group.encode('utf-8')).hexdigest())
  test, count = set(), 0
  for group in ordered:
    if count + sizes[group] <= target and len(test) < len(sizes) - 1:
      test.add(group)
      count += sizes[group]
  if not test:
    test.add(min(ordered, key=lambda group: sizes[group]))
  return [dataclasses.replace(
      face, split='test' if face.group in test else 'train') for face in faces]


def _cache_key(font_files, size):
  stats = []
  for path in font_files:
    stat = os.stat(path)
    stats.append([path, stat.st_size, stat.st_mtime_ns])
  settings = {
      'format': FORMAT_VERSION, 'size': int(size), 'characters': CHARACTERS,
      'supersample': SUPERSAMPLE, 'margin': MARGIN,
      'signature_size': SIGNATURE_SIZE, 'clone_distance': CLONE_DISTANCE,
      'pillow': PIL.__version__,
      'freetype': features.version('freetype2'), 'fonts': stats}
  text = json.dumps(settings, sort_keys=True).encode('utf-8')
  return hashlib.sha256(text).hexdigest()[:20]


def _write_cache(path, faces, images, dropped):
  """Writes a zip whose bytes depend only on its contents, atomically."""
  array = io.BytesIO()
  np.lib.format.write_array(array, images, allow_pickle=False)
  meta = json.dumps({
      'format': FORMAT_VERSION,
      'faces': [[f.path, f.index, f.family, f.style, f.group] for f in faces],
      'dropped': [list(item) for item in dropped]}, sort_keys=True)
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as archive:
    for name, payload in (('images.npy', array.getvalue()),
                          ('faces.json', meta.encode('utf-8'))):
      info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
      info.compress_type = zipfile.ZIP_DEFLATED
      archive.writestr(info, payload)
  path.parent.mkdir(parents=True, exist_ok=True)
  handle, temporary = tempfile.mkstemp(dir=path.parent, prefix='.tmp-',
                                       suffix=path.suffix)
  try:
    with os.fdopen(handle, 'wb') as stream:
      stream.write(buffer.getvalue())
      stream.flush()
      os.fsync(stream.fileno())
    os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide a shared cache.
    os.replace(temporary, path)
  except BaseException:
    if os.path.exists(temporary):
      os.unlink(temporary)
    raise


def _read_cache(path):
  with zipfile.ZipFile(path) as archive:
    meta = json.loads(archive.read('faces.json'))
    images = np.lib.format.read_array(io.BytesIO(archive.read('images.npy')),
                                      allow_pickle=False)
  if meta['format'] != FORMAT_VERSION or len(images) != len(meta['faces']):
    raise ValueError(f'{path} is not an Alphabet cache of format '
                     f'{FORMAT_VERSION}.')
  faces = [Face(*row) for row in meta['faces']]
  return faces, images, tuple(tuple(item) for item in meta['dropped'])


def _not_enough(found, font_dirs, minimum):
  searched = DEFAULT_FONT_DIRS if font_dirs is None else font_dirs
  dirs = ', '.join(str(directory) for directory in searched) or 'nowhere'
  return NotEnoughFontsError(
      f'The Alphabet needs at least {minimum} usable font faces; found '
      f'{found} under {dirs}. Install fonts, e.g. `apt-get install -y '
      f'{" ".join(FONT_PACKAGES)}` (or `make fonts`), or pass `font_dirs`.')


def load_alphabet(size=DEFAULT_SIZE, font_dirs=None, cache_dir=None,
                  min_faces=MIN_FACES, test_fraction=TEST_FRACTION):
  """The rendered Alphabet, from the disk cache or rendered and cached.

  Args:
    size: Side of each image in pixels.
    font_dirs: Directories searched for fonts, recursively (default
      :data:`DEFAULT_FONT_DIRS`).
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
  font_files = find_font_files(font_dirs)
  if not font_files:
    raise _not_enough(0, font_dirs, min_faces)
  path = (cache_directory(cache_dir) /
          f'alphabet-{int(size)}px-{_cache_key(font_files, size)}.zip')
  cached = None
  if path.exists():
    try:
      cached = _read_cache(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
      warnings.warn(f'Rendering the Alphabet again: unreadable cache {path} '
                    f'({error}).')
  if cached is None:
    cached = _render_all(font_files, int(size))
    _write_cache(path, *cached)
  faces, images, dropped = cached
  if len(faces) < min_faces:
    raise _not_enough(len(faces), font_dirs, min_faces)
  return Alphabet(size=int(size), images=images,
                  faces=tuple(assign_splits(faces, test_fraction)),
                  dropped=dropped, cache_path=str(path))


def load_split(split='train', size=DEFAULT_SIZE, font_dirs=None,
               cache_dir=None, min_faces=MIN_FACES,
               test_fraction=TEST_FRACTION):
  """One of :data:`SPLITS` as a :class:`Dataset`; see :func:`load_alphabet`.

  'train' and 'test' hold disjoint font faces; 'all' holds every face.
  ``font_dirs`` must be a tuple when loading through the registry.
  """
  _check_split(split)
  alphabet = load_alphabet(size=size, font_dirs=font_dirs,
                           cache_dir=cache_dir, min_faces=min_faces,
                           test_fraction=test_fraction)
  return alphabet.to_dataset(split)
