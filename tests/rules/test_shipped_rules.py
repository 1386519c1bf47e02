"""Tests of the shipped rules by name (learned_rule.rules) and their
manifests (learned_rule/rules/manifest.py)."""

import os
import re
import shutil

import numpy as np
import pytest

from learned_rule import export
from learned_rule import rules
from learned_rule.rules import manifest
from learned_rule.training import warm_start
from conftest import run_repo_binary

SHIPPED = os.path.dirname(os.path.abspath(rules.__file__))
VARIABLES = 'export/variables/variables.data-00000-of-00001'


@pytest.fixture
def copied_rules(tmp_path, monkeypatch):
  """A copy of the shipped rules that a test may damage, in their place."""
  root = tmp_path / 'rules'
  root.mkdir()
  shutil.copytree(os.path.join(SHIPPED, 'cpu_60min'), root / 'cpu_60min')
  monkeypatch.setattr(rules, '_HERE', str(root))
  return root / 'cpu_60min'


def test_the_one_hour_rule_is_available():
  assert 'cpu_60min' in rules.available()


@pytest.mark.parametrize('name', rules.available())
def test_every_shipped_rule_matches_its_manifest_and_has_a_card(name):
  directory = rules.path(name)
  listed = manifest.read(directory)
  assert set(listed) == set(manifest.files_of(directory))
  for required in ('CARD.md', 'config.gin', 'export/saved_model.pb',
                   'export_init/saved_model.pb'):
    assert required in listed
  with open(os.path.join(directory, 'CARD.md'), encoding='utf-8') as stream:
    card = stream.read()
  assert f'# Rule card: `{name}`' in card and '## Licence' in card


def test_load_by_name_gives_the_exported_theta_and_its_init():
  source = rules.load('cpu_60min')
  directory = os.path.join(SHIPPED, 'cpu_60min')
  for name, rule in (('export', source.rule), ('export_init',
                                               source.init_rule)):
    expected, _ = export.load_rule(os.path.join(directory, name))
    for ours, theirs in zip(rule.trainable_variables,
                            expected.trainable_variables):
      np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
  assert source.training['step'] == 501


def test_the_continued_rule_counts_the_updates_behind_it():
  longer = rules.load('cpu_160min')
  assert warm_start.updates_behind(longer.metadata) == 801
  # Both descend from the same θ-init.
  for ours, theirs in zip(longer.init_rule.trainable_variables,
                          rules.load('cpu_60min').init_rule
                          .trainable_variables):
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_the_long_run_rule_descends_from_the_continued_one():
  shipped = rules.load('architectures_2906')
  assert warm_start.updates_behind(shipped.metadata) == 2906
  assert shipped.training['started_from'] == {'path': 'cpu_160min',
                                              'updates_before': 801}
  # Meta-trained across widths, depths and two nonlinearities (§6.2).
  assert shipped.training['meta_training']['depths'] == [2, 3, 4, 5]
  assert shipped.training['meta_training']['activations'] == ['relu', 'tanh']
  # Its θ-init is the one every shipped rule descends from.
  for ours, theirs in zip(shipped.init_rule.trainable_variables,
                          rules.load('cpu_60min').init_rule
                          .trainable_variables):
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_an_unknown_name_lists_the_available_ones():
  with pytest.raises(export.RuleLoadError, match='cpu_60min'):
    rules.load('no_such_rule')
  with pytest.raises(export.RuleLoadError, match='neither a directory'):
    rules.resolve('no_such_rule')


def test_a_misspelled_name_says_what_was_meant():
  with pytest.raises(export.RuleLoadError, match="Did you mean 'cpu_60min'"):
    rules.load('cpu_61min')
  with pytest.raises(export.RuleLoadError, match="Did you mean 'cpu_60min'"):
    rules.resolve('cpu_6min')


def test_resolve_passes_paths_through_and_checks_names(copied_rules,
                                                       tmp_path):
  assert rules.resolve(str(tmp_path)) == str(tmp_path)
  assert rules.resolve('gs://bucket/run') == 'gs://bucket/run'
  assert rules.resolve('cpu_60min') == str(copied_rules)


def test_a_missing_path_is_refused_with_the_shipped_names():
  names = re.escape(', '.join(rules.available()))
  assert 'cpu_60min' in names
  with pytest.raises(export.RuleLoadError,
                     match=r"no such directory\. Give an exported rule .* "
                     rf"shipped rule's name \({names}\)"):
    rules.resolve('some/dir')


def test_a_flipped_byte_is_refused_with_the_file_named(copied_rules):
  path = copied_rules / VARIABLES
  data = bytearray(path.read_bytes())
  data[len(data) // 2] ^= 0x01
  path.write_bytes(bytes(data))
  with pytest.raises(export.RuleLoadError, match=r'corrupt: export/variables/'
                     r'variables\.data-00000-of-00001 has sha256'):
    rules.load('cpu_60min')


def test_a_truncated_file_is_refused(copied_rules):
  path = copied_rules / 'export' / 'saved_model.pb'
  path.write_bytes(path.read_bytes()[:100])
  with pytest.raises(export.RuleLoadError, match='export/saved_model.pb'):
    rules.path('cpu_60min')


def test_missing_and_unlisted_files_are_refused(copied_rules):
  os.remove(copied_rules / 'paired_eval.json')
  (copied_rules / 'export' / 'extra.txt').write_text('x')
  with pytest.raises(export.RuleLoadError,
                     match=r"missing \['paired_eval.json'\], not listed "
                           r"\['export/extra.txt'\].* `learned-rule-write-"
                           r"rule-manifest "):
    rules.path('cpu_60min')


def test_an_unreadable_manifest_is_refused(copied_rules):
  (copied_rules / manifest.FILENAME).write_text('{"files": ')
  with pytest.raises(export.RuleLoadError, match='unreadable'):
    rules.path('cpu_60min')


def test_a_rewritten_manifest_accepts_a_deliberate_change(copied_rules):
  (copied_rules / 'CARD.md').write_text('edited')
  with pytest.raises(export.RuleLoadError, match='CARD.md'):
    rules.path('cpu_60min')
  result = run_repo_binary('write_rule_manifest', copied_rules)
  assert result.returncode == 0, result.stderr[-3000:]
  assert rules.path('cpu_60min') == str(copied_rules)


def test_binaries_take_a_name_and_refuse_an_unknown_one(tmp_path):
  result = run_repo_binary('paired_eval', '--rule=no_such_rule',
                           '--gin_file=held_out/cpu.gin',
                           f'--output_json={tmp_path / "out.json"}')
  assert result.returncode != 0
  assert 'no_such_rule' in result.stderr and 'cpu_60min' in result.stderr
  assert 'Traceback' not in result.stderr
  result = run_repo_binary(
      'paired_eval', '--rule=cpu_60min', '--gin_file=held_out/cpu.gin',
      '--gin_bindings=HeldOutEvaluation.seeds = (0,)',
      '--gin_bindings=HeldOutEvaluation.steps = 2',
      '--gin_bindings=HeldOutEvaluation.num_draws = 1',
      '--gin_bindings=HeldOutEvaluation.jit_compile = False',
      f'--output_json={tmp_path / "out.json"}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert os.path.isfile(tmp_path / 'out.json')
