"""One console script per binary, and a bin/ launcher for each in a
checkout, all naming the same entry points."""

import ast
import os

import pytest

from learned_rule import console_scripts

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(REPO, 'learned_rule', 'cli')
# Flag and start-up helpers of the binaries, not binaries.
NOT_BINARIES = {'__init__', 'rule_flags', 'evaluation_flags', 'startup', 'exits'}


def _defines_run(path):
  with open(path, encoding='utf-8') as stream:
    tree = ast.parse(stream.read())
  return any(isinstance(node, ast.FunctionDef) and node.name == 'run'
             for node in tree.body)


def test_every_binary_has_a_script_and_a_launcher():
  binaries = sorted(name[:-3] for name in os.listdir(CLI)
                    if name.endswith('.py') and name[:-3] not in NOT_BINARIES)
  assert sorted(module for _, module in console_scripts.SCRIPTS) == binaries
  for module in binaries:
    assert _defines_run(os.path.join(CLI, f'{module}.py')), module
    assert os.path.isfile(os.path.join(REPO, 'bin', f'{module}.py')), module


def test_script_names():
  assert console_scripts.command('prepare_data') == (
      'learned-rule-prepare-data')
  assert console_scripts.command('apply_rule') == 'learned-rule-apply'
  assert ('learned-rule-meta-train=learned_rule.cli.meta_train:run' in
          console_scripts.entry_points())
  with pytest.raises(KeyError, match='rule_flags'):
    console_scripts.command('rule_flags')
