"""The bad-input campaign's table (reliability/bad_inputs.py),
checked without running it, and a few of its cases run for real.

The whole table takes minutes (a TensorFlow start per case);
``python -m reliability.bad_inputs --work_dir=DIR`` runs it.
"""

import os
import re
import sys

import pytest

from reliability import bad_inputs

# The issue's families of bad input, every one of which the table covers.
FAMILIES = ('gin', 'dataset', 'own data', 'savedmodel', 'data', 'run dir',
            'flags', 'checkpoint', 'archive')
# One quick case of three families: gin through paired_eval, own data, and
# a flag refused before TensorFlow loads.
REPRESENTATIVE = ('gin_misspelled_parameter', 'npz_missing_keys',
                  'flags_negative_max_minutes')


def test_the_table_has_forty_uniquely_named_cases_or_more():
  names = [case.name for case in bad_inputs.CASES]
  assert len(names) >= 40
  assert len(set(names)) == len(names)
  assert all(re.fullmatch(r'[a-z0-9_]+', name) for name in names)


def test_every_family_of_the_issue_is_covered():
  families = {case.family or case.kind for case in bad_inputs.CASES}
  assert set(FAMILIES) <= families
  assert {case.kind for case in bad_inputs.CASES} <= set(bad_inputs.KINDS)
  own = {case.name.split('_')[0] for case in bad_inputs.CASES
         if case.kind == 'own data'}
  assert own == {'imagedir', 'npz', 'textdir'}
  api = [case for case in bad_inputs.CASES if case.kind == 'api']
  assert 5 <= len(api) <= 10
  assert all(case.family in FAMILIES for case in api)


def test_every_case_expects_a_message_that_names_the_fix():
  for case in bad_inputs.CASES:
    expect = getattr(case.expect, 'pattern', case.expect)
    assert isinstance(expect, str) and len(expect) >= 8, case.name


def _case(name, code, expect='use --fix'):
  return bad_inputs.Case(name, 'flags', lambda work: ['-c', code], expect)


@pytest.mark.parametrize('code, clean, reason', [
    ('import sys; sys.exit("bad: use --fix")', True, ''),
    ('print("use --fix")', False, 'accepted'),
    ('raise ValueError("use --fix")', False, 'traceback'),
    ('import sys; sys.exit("bad input")', False, "no 'use --fix'"),
    ('import time; time.sleep(30)', False, 'timed out'),
])
def test_clean_means_refused_in_time_without_traceback_naming_the_fix(
    tmp_path, code, clean, reason):
  result = bad_inputs.run_case(_case('fake', code), tmp_path, timeout=5)
  assert result['clean'] is clean
  assert reason in result['reason']
  assert result['name'] == 'fake' and (tmp_path / 'fake').is_dir()


def test_a_failed_setup_is_reported_not_raised(tmp_path):
  def setup(work):
    raise OSError(f'cannot write in {work}')
  case = bad_inputs.Case('broken', 'gin', setup, 'x')
  result = bad_inputs.run_case(case, tmp_path)
  assert not result['clean'] and 'setup failed' in result['reason']


def test_summary_counts_and_lists_the_failures():
  results = [{'name': 'a', 'clean': True, 'reason': '', 'message': ''},
             {'name': 'b', 'clean': False, 'reason': 'accepted',
              'message': 'ok'}]
  assert bad_inputs.summary(results) == {
      'tried': 2, 'rejected_cleanly': 1,
      'failures': [{'name': 'b', 'reason': 'accepted', 'message': 'ok'}]}


def test_unknown_case_names_are_refused(tmp_path):
  with pytest.raises(ValueError, match='no_such_case'):
    bad_inputs.run_cases(tmp_path, only=['no_such_case'])


def test_representative_cases_are_rejected_cleanly(tmp_path):
  lines = []
  results = bad_inputs.run_cases(tmp_path, only=REPRESENTATIVE,
                                 log=lines.append)
  assert [r['name'] for r in results] == list(REPRESENTATIVE)
  assert len(lines) == len(REPRESENTATIVE)
  for result in results:
    assert result['clean'], result
    assert result['returncode'] not in (0, None)


def test_recorded_commands_hold_no_path_of_this_machine(tmp_path):
  work = tmp_path / 'case'
  shown = bad_inputs.shown_command(
      ['bin/paired_eval.py', f'--root_dir={work}/run',
       '--gin_bindings=HeldOutEvaluation.steps = 2'], work)
  assert shown == ("python bin/paired_eval.py '--root_dir=$WORK/run' "
                   "'--gin_bindings=HeldOutEvaluation.steps = 2'")
  assert str(tmp_path) not in shown
  message = (f"Gin file 'x.gin' not found (also looked in "
             f"{bad_inputs.REPO_ROOT}/gin_configs)")
  assert bad_inputs.shown_text(message, work) == (
      "Gin file 'x.gin' not found (also looked in $REPO/gin_configs)")
