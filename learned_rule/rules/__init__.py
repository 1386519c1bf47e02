"""Learned rules that ship with the package, loaded by name.

Each shipped rule is a directory of this package with the layout of a
meta-training run (``export/`` θ, ``export_init/`` the θ-init it was trained
from, ``config.gin``), a ``CARD.md`` that says how it was made and what it
does, and a ``MANIFEST.json`` checked at every load (:mod:`.manifest`)::

  from learned_rule import rules
  rules.available()                  # ('cpu_60min', ...)
  source = rules.load('cpu_60min')   # source.rule, source.init_rule, ...

Every binary's ``--rule`` takes a name as well as a path. Modules are
imported where they are used, so that listing the rules does not load
TensorFlow.
"""

import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def available():
  """Names of the shipped rules, sorted."""
  from learned_rule.rules import manifest  # pylint: disable=g-import-not-at-top
  return tuple(sorted(
      name for name in os.listdir(_HERE)
      if os.path.isfile(os.path.join(_HERE, name, manifest.FILENAME))))


def path(name):
  """The directory of the shipped rule ``name``, checked against its
  manifest.

  Raises:
    RuleLoadError: ``name`` is not a shipped rule, or one of its files is
      missing, unlisted or corrupt (the file is named).
  """
  # pylint: disable=g-import-not-at-top
  from learned_rule import export
  from learned_rule import suggestions
  from learned_rule.rules import manifest
  # pylint: enable=g-import-not-at-top
  if name not in available():
    raise export.RuleLoadError(
        f'No shipped rule named {name!r}; available: '
        f'{", ".join(available()) or "none"}.'
        f'{suggestions.did_you_mean(name, available())}')
  directory = os.path.join(_HERE, name)
  try:
    manifest.verify(directory)
  except manifest.ManifestError as error:
    raise export.RuleLoadError(f'Shipped rule {name!r}: {error}') from error
  return directory


def resolve(name_or_path):
  """A rule directory from ``--rule``: an existing path, else a shipped
  rule's name (checked against its manifest)."""
  # pylint: disable=g-import-not-at-top
  from learned_rule import export
  from learned_rule.storage import file_io
  from learned_rule import suggestions
  # pylint: enable=g-import-not-at-top
  if os.path.exists(name_or_path) or file_io.is_url(name_or_path):
    return name_or_path
  if os.sep in name_or_path:  # A path, not a name.
    raise export.RuleLoadError(
        f'--rule={name_or_path}: no such directory. Give an exported rule (a '
        f'directory with saved_model.pb), a meta-training run directory or a '
        f'shipped rule\'s name ({", ".join(available()) or "none"}).')
  if name_or_path in available():
    return path(name_or_path)
  raise export.RuleLoadError(
      f'--rule={name_or_path}: neither a directory nor a shipped rule '
      f'(available: {", ".join(available()) or "none"}).'
      f'{suggestions.did_you_mean(name_or_path, available())}')


def load(name, init_path=None):
  """The shipped rule ``name`` with its θ-init baseline.

  Args:
    name: One of :func:`available`.
    init_path: Optional exported θ-init to use instead of the rule's own.

  Returns:
    An :class:`evaluation.rule_source.RuleSource` (``.rule``,
    ``.init_rule``, ``.metadata``, ``.path``).
  """
  from learned_rule.evaluation import rule_source  # pylint: disable=g-import-not-at-top
  return rule_source.load(path(name), init_path)
