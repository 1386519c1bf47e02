"""Tests of the rendered-font Alphabet (spec §6.2).

The fonts come from Debian packages (``make fonts``). With fewer than
``alphabet.MIN_FACES`` usable faces the tests are skipped, or fail when the
environment variable CI is set. One full render (~2 s) is shared by the
session through a temporary cache directory.
"""

import dataclasses
import os
import pathlib
import shutil

import numpy as np
import pytest

from learned_rule.data import alphabet
from learned_rule.data import font_faces
from learned_rule.data import font_rendering
from learned_rule.data import font_splits
from learned_rule.data import registry


@pytest.fixture(scope='session')
def cache_dir(tmp_path_factory):
  return tmp_path_factory.mktemp('alphabet_cache')


@pytest.fixture(scope='session')
def rendered(cache_dir):
  try:
    return alphabet.load_alphabet(cache_dir=cache_dir)
  except font_faces.NotEnoughFontsError as error:
    if os.environ.get('CI'):
      pytest.fail(f'CI needs the fonts: {error}')
    pytest.skip(f'Fonts missing: {error}')


class _CountingRenderer:
  """Counts calls of ``font_rendering.render_face``."""

  def __init__(self, monkeypatch):
    self.calls = 0
    self._render = font_rendering.render_face
    monkeypatch.setattr(font_rendering, 'render_face', self)

  def __call__(self, *args, **kwargs):
    self.calls += 1
    return self._render(*args, **kwargs)


def test_62_classes_in_character_order(rendered):
  data = rendered.to_dataset('all')
  assert data.num_classes == 62
  assert data.class_names == tuple('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
                                   'abcdefghijklmnopqrstuvwxyz')
  assert len(data) == 62 * len(rendered.faces)
  np.testing.assert_array_equal(
      data.labels.reshape(len(rendered.faces), 62),
      np.tile(np.arange(62), (len(rendered.faces), 1)))


def test_at_least_40_faces(rendered):
  assert len(rendered.faces) >= alphabet.MIN_FACES == 40
  names = [(face.family, face.style) for face in rendered.faces]
  assert len(set(names)) == len(names)


def test_images_are_white_ink_on_black_in_unit_range(rendered):
  data = alphabet.load_split('train', cache_dir=pathlib.Path(
      rendered.cache_path).parent)
  assert data.shape == (16, 16, 1)
  assert data.modality == 'image'
  assert data.features.dtype == np.float32
  assert data.features.min() >= 0.0 and data.features.max() <= 1.0
  # Every glyph has ink (hairline stems of light faces cover about a third
  # of a pixel), and the border stays mostly black.
  images = rendered.images
  assert (images.max(axis=(2, 3)) > 0.25).all()
  assert np.median(images.max(axis=(2, 3))) > 0.9
  border = np.concatenate([images[:, :, 0], images[:, :, -1],
                           images[:, :, :, 0], images[:, :, :, -1]], axis=-1)
  assert border.mean() < 0.05


def test_splits_are_font_disjoint(rendered):
  train = rendered.split_indices('train')
  test = rendered.split_indices('test')
  assert train and test
  assert not set(train) & set(test)
  assert sorted(train + test) == list(range(len(rendered.faces)))
  for attribute in ('path', 'family', 'group'):
    train_values = {getattr(rendered.faces[i], attribute) for i in train}
    test_values = {getattr(rendered.faces[i], attribute) for i in test}
    assert not train_values & test_values, attribute
  assert 0.15 <= len(test) / len(rendered.faces) <= 0.35
  for split, rows in (('train', train), ('test', test)):
    data = rendered.to_dataset(split)
    assert data.split == split
    np.testing.assert_array_equal(
        data.features, rendered.images[rows].reshape(len(rows) * 62, -1))


def test_symbol_fonts_are_dropped(rendered):
  kept = {pathlib.Path(face.path).stem for face in rendered.faces}
  assert not kept & {'StandardSymbolsPS', 'D050000L'}
  dropped = {pathlib.Path(path).stem: reason
             for path, reason in rendered.dropped}
  if 'StandardSymbolsPS' not in dropped:
    pytest.skip('fonts-urw-base35 is not installed.')
  assert 'symbol' in dropped['StandardSymbolsPS'] or 'no glyph' in dropped[
      'StandardSymbolsPS']


def test_render_is_deterministic_and_cached(rendered, tmp_path, monkeypatch):
  counter = _CountingRenderer(monkeypatch)
  again = alphabet.load_alphabet(cache_dir=tmp_path)
  assert counter.calls >= len(rendered.faces)
  first = pathlib.Path(rendered.cache_path)
  second = pathlib.Path(again.cache_path)
  assert first.name == second.name and first != second
  assert first.read_bytes() == second.read_bytes()
  assert again.faces == rendered.faces

  counter.calls = 0
  mtime = second.stat().st_mtime_ns
  cached = alphabet.load_alphabet(cache_dir=tmp_path)
  assert counter.calls == 0
  assert second.stat().st_mtime_ns == mtime
  assert cached.images.tobytes() == rendered.images.tobytes()
  assert cached.faces == rendered.faces
  assert [p.name for p in tmp_path.iterdir()] == [second.name]


def test_cache_key_follows_the_font_files(rendered, tmp_path, monkeypatch):
  fonts = tmp_path / 'fonts'
  fonts.mkdir()
  first_of_group = {}
  for face in rendered.faces:
    first_of_group.setdefault(face.group, face)
  for face in list(first_of_group.values())[:2]:
    shutil.copy(face.path, fonts)
  cache = tmp_path / 'cache'
  counter = _CountingRenderer(monkeypatch)
  small = alphabet.load_alphabet(font_dirs=[fonts], cache_dir=cache,
                                 min_faces=2)
  assert len(small.faces) == 2 and counter.calls == 2
  assert {face.split for face in small.faces} == {'train', 'test'}
  alphabet.load_alphabet(font_dirs=[fonts], cache_dir=cache, min_faces=2)
  assert counter.calls == 2
  touched = next(fonts.iterdir())
  stat = touched.stat()
  os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
  alphabet.load_alphabet(font_dirs=[fonts], cache_dir=cache, min_faces=2)
  assert counter.calls == 4
  assert len(list(cache.iterdir())) == 2


def test_cache_directory(tmp_path, monkeypatch):
  assert alphabet.cache_directory(tmp_path) == tmp_path
  monkeypatch.setenv('LEARNED_RULE_CACHE', str(tmp_path))
  assert alphabet.cache_directory() == tmp_path / 'alphabet'
  monkeypatch.delenv('LEARNED_RULE_CACHE')
  monkeypatch.setenv('HOME', str(tmp_path / 'home'))
  assert alphabet.cache_directory() == (
      tmp_path / 'home' / '.cache' / 'learned_rule' / 'alphabet')


def test_too_few_fonts_says_what_to_install(tmp_path):
  with pytest.raises(font_faces.NotEnoughFontsError,
                     match=r'apt-get install -y fonts-dejavu-core .*'
                     r'fonts-urw-base35'):
    alphabet.load_alphabet(font_dirs=[tmp_path / 'none'],
                           cache_dir=tmp_path / 'cache')


def test_symbol_fonts_alone_are_not_enough(rendered, tmp_path):
  symbols = [path for path, reason in rendered.dropped
             if 'symbol' in reason]
  if not symbols:
    pytest.skip('No symbol font is installed.')
  fonts = tmp_path / 'fonts'
  fonts.mkdir()
  shutil.copy(symbols[0], fonts)
  with pytest.raises(font_faces.NotEnoughFontsError, match='found 0 under'):
    alphabet.load_alphabet(font_dirs=[fonts], cache_dir=tmp_path / 'cache',
                           min_faces=1)


@pytest.mark.parametrize('size', [0, 3, -16, 16.0, True, '16'])
def test_bad_size_raises(size, tmp_path):
  with pytest.raises(ValueError, match='size'):
    alphabet.load_alphabet(size=size, cache_dir=tmp_path)


def test_bad_split_raises(tmp_path):
  with pytest.raises(ValueError, match='split'):
    alphabet.load_split('validation', cache_dir=tmp_path)


def test_assign_splits_keeps_groups_whole():
  faces = [font_faces.Face(f'/f/{group}{i}.ttf', 0, group, str(i),
                           group=group)
           for group, count in (('A', 4), ('B', 4), ('C', 2), ('D', 6),
                                ('E', 4))
           for i in range(count)]
  assigned = font_splits.assign_splits(faces, test_fraction=0.25)
  assert font_splits.assign_splits(faces[::-1], 0.25) == assigned[::-1]
  splits = {}
  for face in assigned:
    splits.setdefault(face.group, set()).add(face.split)
  assert all(len(values) == 1 for values in splits.values())
  test = sum(face.split == 'test' for face in assigned)
  assert 1 <= test <= 5
  with pytest.raises(font_faces.NotEnoughFontsError,
                     match='two font families'):
    font_splits.assign_splits([dataclasses.replace(face, group='A')
                               for face in faces])


def test_registered_with_its_roles(rendered):
  options = {'cache_dir': str(pathlib.Path(rendered.cache_path).parent)}
  held_out = registry.load_for(registry.HELD_OUT, 'alphabet', **options)
  meta_train = registry.load_for(registry.META_TRAIN, 'alphabet', **options)
  assert held_out.split == 'test' and meta_train.split == 'train'
  assert len(held_out) == 62 * len(rendered.split_indices('test'))
  assert len(meta_train) == 62 * len(rendered.split_indices('train'))
