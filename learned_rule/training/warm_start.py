"""Starting a meta-training run from θ that an earlier run learned.

A new run normally starts from θ-init drawn from its seed. Started from an
earlier rule instead, it continues that rule's meta-training under this
run's configuration (a longer run, a wider task distribution) with fresh
Adam slots. The rule's own θ-init stays the baseline of paired evaluations,
and every export records where θ came from and how many θ updates it had
before this run, so that a rule card can give the total.
"""

import dataclasses

from learned_rule.update_rule import rule as rule_lib


@dataclasses.dataclass(frozen=True)
class WarmStart:
  """θ to start from, with the θ-init it descends from.

  Attributes:
    rule: The :class:`UnsupervisedUpdate` whose θ the run starts from.
    init_rule: The θ-init that ``rule`` was meta-trained from.
    path: Where ``rule`` was loaded from, for the provenance.
    updates_before: θ updates behind ``rule``, all earlier runs together.
  """

  rule: rule_lib.UnsupervisedUpdate
  init_rule: rule_lib.UnsupervisedUpdate
  path: str
  updates_before: int

  def check_fits(self, config):
    """Raises ValueError unless the run's :class:`RuleConfig` is the rule's."""
    if self.rule.config != config:
      raise ValueError(
          f'Cannot start from {self.path}: its rule configuration differs '
          f'from this run\'s: ' + '; '.join(
              self.rule.config.differences(config)) +
          ' (that rule vs this run). Use the rule config it was trained '
          'with (its export records it).')

  def provenance(self):
    """What exports of the run record about the start, as JSON values."""
    return {'path': self.path, 'updates_before': int(self.updates_before)}


def updates_behind(metadata):
  """θ updates behind an export, from its meta-training provenance.

  Args:
    metadata: An export's metadata (``export.read_metadata``).

  Returns:
    The export's step plus the updates of the runs it was started from;
    0 for an export that records no step.
  """
  extra = metadata.get('extra') or {}
  before = (extra.get('started_from') or {}).get('updates_before', 0)
  return int(extra.get('step') or 0) + int(before)


def from_source(source, path=None):
  """A :class:`WarmStart` from anything with ``rule``, ``init_rule``,
  ``metadata`` and ``path`` (``evaluation.rule_source.RuleSource``).

  ``path``, if given, is recorded instead of ``source.path``.
  """
  return WarmStart(rule=source.rule, init_rule=source.init_rule,
                   path=path or source.path,
                   updates_before=updates_behind(source.metadata))
