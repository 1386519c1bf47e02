"""Every gin file of transfer/, ablation/ and sweeps/ parses strictly and
builds its configs, and the files are layered on each folder's base.gin."""

import logging
import pathlib
import re

import gin
import pytest

from learned_rule import configuration
from learned_rule.evaluation import ablation
from learned_rule.evaluation import transfer

FOLDERS = ('transfer', 'ablation', 'sweeps')
GIN_DIR = pathlib.Path(configuration.GIN_CONFIG_DIR)
GIN_FILES = sorted(path.relative_to(GIN_DIR).as_posix()
                   for folder in FOLDERS
                   for path in (GIN_DIR / folder).glob('*.gin'))
# The top widths of the rules the files are for: meta_train/tiny.gin's, and
# that of rule/paper.gin and meta_train/cpu.gin (spec §2.1).
TINY_TOP_WIDTH = 4
TOP_WIDTH = 32


def includes(gin_file):
  text = (GIN_DIR / gin_file).read_text()
  return re.findall(r"^include '([^']+)'", text, flags=re.MULTILINE)


def test_every_folder_has_files():
  for folder in FOLDERS:
    assert f'{folder}/base.gin' in GIN_FILES
    assert f'{folder}/tiny.gin' in GIN_FILES


@pytest.mark.parametrize('gin_file', GIN_FILES)
def test_parses_strictly_and_builds_its_configs(gin_file):
  configuration.parse_gin([gin_file], [])
  config = transfer.TransferConfig()
  top_width = gin.query_parameter('%TOP_WIDTH')
  expected = TINY_TOP_WIDTH if 'tiny' in gin_file else TOP_WIDTH
  assert top_width == expected
  assert {widths[-1] for widths in config.widths} == {top_width}
  if gin_file.startswith('ablation/'):
    ablation.AblationConfig()
    ablation.check_bindings()  # Binds nothing the ablation sets itself.


def test_includes_resolve_without_log_noise(caplog):
  # transfer/tiny.gin includes base files by their package-relative names;
  # gin looks for each elsewhere first and logs every miss.
  with caplog.at_level(logging.DEBUG):
    configuration.parse_gin(['transfer/tiny.gin'], [])
    gin.clear_config()
    configuration.parse_gin(['ablation/tiny.gin'], [])  # Twice: no repeats.
  assert [r.getMessage() for r in caplog.records
          if 'resource_reader' in r.pathname] == []


@pytest.mark.parametrize('gin_file', GIN_FILES)
def test_every_file_builds_on_its_base(gin_file):
  """Every file includes one other file; following the includes from any
  file reaches transfer/base.gin, and from any file but a base the base of
  its own folder (or, for offline files, transfer/offline.gin)."""
  if gin_file == 'transfer/base.gin':
    assert not includes(gin_file)
    return
  chain, current = [], gin_file
  while includes(current):
    (current,) = includes(current)
    assert current in GIN_FILES, current
    assert current not in chain, f'{gin_file} includes itself: {chain}'
    chain.append(current)
  assert chain[-1] == 'transfer/base.gin'
  folder = gin_file.split('/')[0]
  assert (f'{folder}/base.gin' in chain or 'transfer/offline.gin' in chain
          or gin_file == f'{folder}/base.gin'), chain


@pytest.mark.parametrize('gin_file', [name for name in GIN_FILES
                                      if 'tiny' in name])
def test_a_tiny_file_shrinks_another(gin_file):
  (parent,) = includes(gin_file)
  assert 'tiny' not in parent and 'base' not in parent


@pytest.mark.parametrize('binding, message', [
    ('TransferConfig.step = (0, 2)',
     "parameter named 'step'. Did you mean 'steps'\\? TransferConfig takes: "
     'datasets, widths'),
    ('TransferConfg.steps = (0, 2)',
     "No configurable matching 'TransferConfg'. Did you mean "
     "'TransferConfig'\\?"),
    ('TransferConfig.steps = (0, 2',
     "a bracket or quote is never closed in --gin_bindings='TransferConfig"
     r"\.steps = \(0, 2'"),
])
def test_a_misspelled_binding_says_what_was_meant(binding, message):
  with pytest.raises(configuration.ConfigError, match=message):
    configuration.parse_gin([], [binding])


def test_an_unknown_gin_file_names_the_closest_shipped_ones():
  with pytest.raises(configuration.ConfigError,
                     match="Did you mean 'transfer/tiny.gin'"):
    configuration.parse_gin(['transfer/tiyn.gin'], [])
  with pytest.raises(configuration.ConfigError,
                     match="The package's gin files: ablation/base.gin"):
    configuration.parse_gin(['nothing/like/it.gin'], [])
