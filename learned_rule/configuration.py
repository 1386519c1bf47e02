"""Strict gin parsing shared by the binaries.

Binaries take ``--gin_file`` and ``--gin_bindings`` and parse them with
``skip_unknown=False``, so a misspelled configurable or parameter stops the
run at startup with a message that names it (DESIGN §4.1).
"""

import contextlib
import functools
import logging
import os

import gin

# Directory of the gin files that ship with the package (package data, so
# that an installed wheel finds them by name too).
GIN_CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'gin_configs')


class ConfigError(ValueError):
  """A gin file or binding is missing or names something unknown."""


class _IncludeLookupFilter(logging.Filter):
  """Drops gin's log lines about where it looks for an ``include``.

  gin tries each search path with each file reader; its Python-path reader
  logs "Path not found" as an error for every path but the one that holds
  the file, so a correct config would print errors.
  """

  def filter(self, record):
    message = record.getMessage()
    return not (os.path.basename(record.pathname) == 'resource_reader.py'
                and message.startswith(('Path not found: ',
                                        'system_path_file_exists:',
                                        'gin-config opened resource file:')))


@functools.lru_cache(maxsize=None)
def _add_search_path_once():
  """Lets ``include`` lines name the package's configs; gin keeps a list,
  to which every call would add the directory again."""
  gin.add_config_file_search_path(GIN_CONFIG_DIR)


@contextlib.contextmanager
def _quiet_include_lookup():
  log = logging.getLogger()
  lookup_filter = _IncludeLookupFilter()
  log.addFilter(lookup_filter)
  try:
    yield
  finally:
    log.removeFilter(lookup_filter)


def resolve_gin_file(path):
  """Finds ``path`` as given or relative to ``learned_rule/gin_configs/``."""
  if os.path.exists(path):
    return path
  candidate = os.path.join(GIN_CONFIG_DIR, path)
  if os.path.exists(candidate):
    return candidate
  raise ConfigError(f'Gin file {path!r} not found (also looked in '
                    f'{GIN_CONFIG_DIR}).')


def parse_gin(gin_files, gin_bindings):
  """Parses gin files then bindings strictly and finalizes the config.

  Raises:
    ConfigError: with gin's message, which names the unknown binding.
  """
  files = [resolve_gin_file(path) for path in gin_files or []]
  _add_search_path_once()
  try:
    with _quiet_include_lookup():
      gin.parse_config_files_and_bindings(
          files, gin_bindings or [], skip_unknown=False, finalize_config=True)
  except (ValueError, KeyError, SyntaxError, OSError) as error:
    raise ConfigError(f'Invalid gin configuration: {error}') from error
