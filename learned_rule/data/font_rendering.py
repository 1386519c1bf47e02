"""Rendering the Alphabet's glyphs from font faces (spec §6.2, §7.2).

All inputs are at 16×16 pixels or less (spec §6.2, §7.2). Rendering (our
choices, spec §6.3):

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
"""

import hashlib
import pathlib

import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from learned_rule import progress
from learned_rule.data import font_faces
from learned_rule.data import font_splits

# Our choices, not the paper's (§6.3): supersampling factor and border in
# output pixels.
SUPERSAMPLE = 4
MARGIN = 1
# Faces are compared (duplicates, clones) as rendered at this size whatever
# the requested size, so the faces kept and the split do not depend on it.
SIGNATURE_SIZE = 16

# Font size at which glyphs are measured before the face's scale is fixed.
_REFERENCE_SIZE = 256
# A noncharacter that no font maps: it draws the face's .notdef glyph.
_NOTDEF_PROBE = '\uffff'
_TEXT_PROBES = '\u2019\u201c\u2013\u2022\u20ac\u0152'
_MAX_COLLECTION_FACES = 64


class _Unusable(Exception):
  """A face that cannot give the 62 characters; the message says why."""


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
  """Raises :class:`_Unusable` unless ``font`` draws all the characters."""
  inks = [_ink(font, char) for char in font_faces.CHARACTERS]
  notdef = _ink(font, _NOTDEF_PROBE)
  missing = [char for char, ink in zip(font_faces.CHARACTERS, inks)
             if ink is None or _same(ink, notdef)]
  if missing:
    raise _Unusable(f'no glyph for {"".join(missing)!r}')
  counts = {}
  for char, ink in zip(font_faces.CHARACTERS, inks):
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


def render_face(path, index, size):
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
  images = np.zeros((len(font_faces.CHARACTERS), size, size), np.float32)
  for i, char in enumerate(font_faces.CHARACTERS):
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
      font_faces.FONT_EXTENSIONS[pathlib.Path(path).suffix.lower()], path))
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


def render_all(font_files, size):
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
        family, style, glyphs = render_face(path, index, size)
        signature = (glyphs if size == SIGNATURE_SIZE else
                     render_face(path, index, SIGNATURE_SIZE)[2])
      except _Unusable as error:
        dropped.append((label, str(error)))
      else:
        digest = hashlib.sha256(signature.tobytes()).hexdigest()
        if digest in pixels:
          dropped.append((label, f'renders like {pixels[digest]}'))
        else:
          names[name] = pixels[digest] = label
          faces.append(font_faces.Face(path, index, family, style))
          images.append(glyphs)
          signatures.append(signature)
    if path not in done:
      done.add(path)
      bar.update(1)
  dropped = tuple(sorted(dropped))
  if not faces:
    empty = np.zeros((0, len(font_faces.CHARACTERS), size, size), np.float32)
    return [], empty, dropped
  order = sorted(range(len(faces)), key=lambda i: (
      pathlib.Path(faces[i].path).name, faces[i].path, faces[i].index))
  faces = [faces[i] for i in order]
  images = np.stack([images[i] for i in order])
  signatures = np.stack([signatures[i] for i in order])
  return font_splits.group_faces(faces, signatures), images, dropped
