"""Font-disjoint splits of the Alphabet (spec §6.2).

Faces of one family (bold, italic, condensed…) and faces that render almost
identically (metric clones such as Arimo and Liberation Sans,
:data:`CLONE_DISTANCE`) form one group (:func:`group_faces`), and whole
groups go to 'test' (see :func:`assign_splits`) up to
:data:`TEST_FRACTION` of the faces; the rest is 'train'. Both constants
are ours (spec §6.3).
"""

import dataclasses
import hashlib

import numpy as np

from learned_rule.data import font_faces

# Share of faces held out (ours, spec §6.3).
TEST_FRACTION = 0.25
# Mean absolute pixel difference over all 62 glyphs at
# font_rendering.SIGNATURE_SIZE below which two faces count as clones and
# share a split. Measured on the Debian fonts: clones 0.008-0.024, distinct
# designs from 0.028 up.
CLONE_DISTANCE = 0.026


def group_faces(faces, signatures):
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
    raise font_faces.NotEnoughFontsError(
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
