"""Flags of every binary that reads a learned rule, and their start-up.

``--rule`` is a shipped rule's name (``learned_rule.rules``), an exported
rule (SavedModel) or a meta-training run directory (its ``export/`` and
``export_init/``); ``--gin_file`` and
``--gin_bindings`` configure the science, parsed strictly.
"""

import contextlib

from absl import app
from absl import flags

flags.DEFINE_string('rule', None, 'A shipped rule\'s name (see '
                    'learned_rule.rules.available()), an exported rule '
                    '(SavedModel) or a meta-training run directory.')
flags.DEFINE_string('init_rule', None, 'Exported θ-init rule (default: the '
                    'run directory\'s export_init/, else redrawn from the '
                    'seed in the rule\'s metadata).')
flags.DEFINE_multi_string('gin_file', [], 'Gin files.')
flags.DEFINE_multi_string('gin_bindings', [], 'Gin bindings.')

FLAGS = flags.FLAGS

# What bad input raises before any compute: a misspelled binding, a path
# that is not a rule, a missing dataset, an inconsistent configuration.
STARTUP_ERRORS = (ValueError, RuntimeError, OSError)


def check_no_arguments(argv):
  """Raises app.UsageError for positional arguments after the binary."""
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')


def parse_gin():
  """Parses ``--gin_file`` and ``--gin_bindings`` strictly.

  Gin locks its registry once parsed, so the configurables of every module
  a binary uses must be imported before; the rule's are imported here.
  """
  # pylint: disable=g-import-not-at-top,unused-import
  from learned_rule import configuration
  from learned_rule.evaluation import rule_source
  # pylint: enable=g-import-not-at-top,unused-import
  configuration.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)


def load_source():
  """The :class:`rule_source.RuleSource` of ``--rule`` and ``--init_rule``."""
  # pylint: disable=g-import-not-at-top
  from learned_rule import rules
  from learned_rule.evaluation import rule_source
  # pylint: enable=g-import-not-at-top
  return rule_source.load(rules.resolve(FLAGS.rule), FLAGS.init_rule)


@contextlib.contextmanager
def usage_errors():
  """A block in which start-up errors become ``app.UsageError``."""
  try:
    yield
  except STARTUP_ERRORS as error:
    raise app.UsageError(str(error)) from error
