"""The Alphabet's disk cache: one zip per size and set of fonts.

A render is stored as ``images.npy`` and ``faces.json`` in a zip whose
bytes depend only on its contents, written atomically, under a key of the
size, the rendering settings, the Pillow and FreeType versions and every
font file's path, size and mtime (:func:`cache_key`).
"""

import hashlib
import io
import json
import os
import zipfile

import numpy as np
import PIL
from PIL import features

from learned_rule.storage import atomic_files
from learned_rule.data import font_faces
from learned_rule.data import font_rendering
from learned_rule.data import font_splits

# Version of the cache layout and of the rendering; bump on any change.
FORMAT_VERSION = 1

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def cache_key(font_files, size):
  """20 hex digits that change with the fonts, the size and the settings."""
  stats = []
  for path in font_files:
    stat = os.stat(path)
    stats.append([path, stat.st_size, stat.st_mtime_ns])
  settings = {
      'format': FORMAT_VERSION, 'size': int(size),
      'characters': font_faces.CHARACTERS,
      'supersample': font_rendering.SUPERSAMPLE,
      'margin': font_rendering.MARGIN,
      'signature_size': font_rendering.SIGNATURE_SIZE,
      'clone_distance': font_splits.CLONE_DISTANCE,
      'pillow': PIL.__version__,
      'freetype': features.version('freetype2'), 'fonts': stats}
  text = json.dumps(settings, sort_keys=True).encode('utf-8')
  return hashlib.sha256(text).hexdigest()[:20]


def write_cache(path, faces, images, dropped):
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
  # 0o644: the temporary file's 0o600 would hide a shared cache.
  with atomic_files.replacing(path, binary=True, mode=0o644) as stream:
    stream.write(buffer.getvalue())


def read_cache(path):
  """``(faces, images, dropped)`` as written by :func:`write_cache`.

  Raises:
    ValueError: ``path`` holds another format.
  """
  with zipfile.ZipFile(path) as archive:
    meta = json.loads(archive.read('faces.json'))
    images = np.lib.format.read_array(io.BytesIO(archive.read('images.npy')),
                                      allow_pickle=False)
  if meta['format'] != FORMAT_VERSION or len(images) != len(meta['faces']):
    raise ValueError(f'{path} is not an Alphabet cache of format '
                     f'{FORMAT_VERSION}.')
  faces = [font_faces.Face(*row) for row in meta['faces']]
  return faces, images, tuple(tuple(item) for item in meta['dropped'])
