"""Strict gin parsing shared by the binaries.

Binaries take ``--gin_file`` and ``--gin_bindings`` and parse them with
``skip_unknown=False``, so a misspelled configurable or parameter stops the
run at startup with a message that names it (DESIGN §4.1).
"""

import contextlib
import functools
import inspect
import io
import logging
import os
import re
import tokenize

import gin

from learned_rule import suggestions



def _gin_config_dir():
  """The directory of the gin files that ship: ``gin_configs/`` at the top
  of a checkout, or ``gin_configs/`` where a wheel put it (the
  same files under the same names, setup.py)."""
  package = os.path.dirname(os.path.abspath(__file__))
  for directory in (os.path.join(os.path.dirname(package), 'gin_configs'),
                    os.path.join(package, 'gin_configs')):
    if os.path.isdir(os.path.join(directory, 'meta_train')):
      return directory
  raise FileNotFoundError(
      f'The gin configs of learned_rule are missing: neither gin_configs/ '
      f'beside {package} nor inside it. Reinstall the package.')


GIN_CONFIG_DIR = _gin_config_dir()


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


def shipped_gin_files():
  """The package's gin files, relative to :data:`GIN_CONFIG_DIR`, sorted."""
  found = []
  for directory, _, files in os.walk(GIN_CONFIG_DIR):
    found += [os.path.relpath(os.path.join(directory, name), GIN_CONFIG_DIR)
              for name in files if name.endswith('.gin')]
  return sorted(path.replace(os.sep, '/') for path in found)


def resolve_gin_file(path):
  """Finds ``path`` as given or relative to ``gin_configs/``.

  Raises:
    ConfigError: Neither exists; names the package's closest files.
  """
  if os.path.exists(path):
    return path
  candidate = os.path.join(GIN_CONFIG_DIR, path)
  if os.path.exists(candidate):
    return candidate
  shipped = shipped_gin_files()
  hint = suggestions.did_you_mean(path, shipped) or (
      f' The package\'s gin files: {", ".join(shipped)}.')
  raise ConfigError(f'Gin file {path!r} not found (also looked in '
                    f'{GIN_CONFIG_DIR}).{hint}')


def _parameters(configurable):
  """Parameter names of a registered gin configurable (a class's
  constructor's), or () where gin does not say."""
  try:
    # pylint: disable-next=protected-access
    found = gin.config._REGISTRY.get_match(configurable)
    signature = inspect.signature(found.wrapped)
  except (AttributeError, KeyError, TypeError, ValueError):
    return ()
  return tuple(name for name, parameter in signature.parameters.items()
               if parameter.kind not in (parameter.VAR_POSITIONAL,
                                         parameter.VAR_KEYWORD)
               and name != 'self')


def _configurables():
  """Short and full names of every registered gin configurable."""
  try:
    # pylint: disable-next=protected-access
    registered = [c for _, c in gin.config._REGISTRY.items()]
  except AttributeError:
    return ()
  return sorted({configurable.name for configurable in registered} |
                {configurable.selector for configurable in registered})


def suggestion(message):
  """A "Did you mean ...?" for gin's message of an unknown configurable or
  parameter, with the configurable's parameters; '' for other messages."""
  unknown = re.search(r"No configurable matching (?:reference )?'@?([\w.]+)",
                      message)
  if unknown:
    return suggestions.did_you_mean(unknown.group(1), _configurables())
  missing = re.search(
      r"Configurable '([\w.]+)' doesn't have a parameter named '(\w+)'",
      message)
  if missing:
    configurable, name = missing.groups()
    parameters = _parameters(configurable)
    if parameters:
      return (suggestions.did_you_mean(name, parameters) +
              f' {configurable} takes: {", ".join(parameters)}.')
  return ''


def _tokenizes(text):
  """Whether ``text`` has no open bracket or quote (Python's tokenizer,
  which gin's parser uses)."""
  try:
    list(tokenize.generate_tokens(io.StringIO(text).readline))
  except (tokenize.TokenError, SyntaxError):
    return False
  return True


def _unclosed(gin_files, gin_bindings):
  """Where a bracket or quote is left open: a gin file or a binding."""
  for path in gin_files:
    try:
      with open(path, encoding='utf-8') as stream:
        if not _tokenizes(stream.read()):
          return f'the gin file {path}'
    except OSError:
      continue
  for binding in gin_bindings:
    if not _tokenizes(binding):
      return f'--gin_bindings={binding!r}'
  return 'the gin configuration (or a file it includes)'


def parse_gin(gin_files, gin_bindings):
  """Parses gin files then bindings strictly and finalizes the config.

  Raises:
    ConfigError: with gin's message, which names the unknown binding, and
      the closest known names.
  """
  files = [resolve_gin_file(path) for path in gin_files or []]
  _add_search_path_once()
  try:
    with _quiet_include_lookup():
      gin.parse_config_files_and_bindings(
          files, gin_bindings or [], skip_unknown=False, finalize_config=True)
  except tokenize.TokenError as error:  # gin's tokenizer: an open bracket.
    raise ConfigError(
        f'Invalid gin configuration: a bracket or quote is never closed in '
        f'{_unclosed(files, gin_bindings or [])} ({error.args[0]}); close '
        f'it.') from error
  except (ValueError, KeyError, SyntaxError, OSError) as error:
    message = str(error)
    hint = suggestion(message)
    if hint:  # After gin's first line, before its "In bindings ..." lines.
      first, newline, rest = message.partition('\n')
      message = first + hint + newline + rest
    raise ConfigError(f'Invalid gin configuration: {message}') from error
