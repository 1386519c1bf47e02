"""Every table that the README, docs/ or a rule card quotes from a results
file is that file, word for word, and the file is what its report makes of
the committed JSON beside it, which records where and when it was made.

A quote is marked in the Markdown as

  <!-- quoted from results/<path>.md -->
  ...the table...
  <!-- end of results/<path>.md -->
"""

import glob
import json
import os
import re

import pytest

from benchmarks import report_files
from benchmarks.inner_step_lib import report as inner_step_report
from benchmarks.meta_train_throughput_lib import report as throughput_report
from conftest import REPO_ROOT
from learned_rule.reporting import headline
from learned_rule.reporting import recipe_comparison
from learned_rule.reporting import rule_comparison
from reliability import report as reliability_report

QUOTE = re.compile(r'<!-- quoted from (\S+?\.md) -->\n(.*?)'
                   r'<!-- end of \1 -->', re.S)
# Each results table, and how its report writes it from its JSON.
REPORTS = {
    'results/reliability/chaos.md': (
        'results/reliability/chaos.json', reliability_report.markdown),
    'results/recipes/results.md': (
        'results/recipes/results.json',
        lambda found: recipe_comparison.markdown(found['rows'],
                                                 found['datasets'])),
    'results/benchmarks/inner_step.md': (
        'results/benchmarks/inner_step.json',
        lambda found: report_files.fenced(
            inner_step_report.format_report(found))),
    'results/benchmarks/profile_step.md': (
        'results/benchmarks/profile_step.json',
        lambda found: report_files.fenced(
            inner_step_report.format_profile(found))),
    'results/benchmarks/meta_train_throughput.md': (
        'results/benchmarks/meta_train_throughput.json',
        lambda found: report_files.fenced(
            throughput_report.format_report(found))),
}


def _rule_targets(rule_dir):
  """What ``make publish-results`` writes as a rule's targets.md: the
  comparisons of learned-rule-compare-rules on its transfer and text runs."""

  def make(found):
    with open(os.path.join(REPO_ROOT, rule_dir, 'modality', 'results.json'),
              encoding='utf-8') as stream:
      text = json.load(stream)
    return rule_comparison.markdown(
        rule_comparison.targets(found['summary'], text['summary']))
  return make


# The evaluations of every rule published under results/rules/.
for _table in glob.glob(os.path.join(REPO_ROOT, 'results', 'rules', '*', '*',
                                     'headline.md')):
  _table = os.path.relpath(_table, REPO_ROOT)
  REPORTS[_table] = (os.path.join(os.path.dirname(_table), 'results.json'),
                     headline.markdown)
# A shipped rule's paired evaluation on held-out data.
for _table in glob.glob(os.path.join(REPO_ROOT, 'learned_rule', 'rules', '*',
                                     'paired_eval.md')):
  _table = os.path.relpath(_table, REPO_ROOT)
  REPORTS[_table] = (_table[:-len('.md')] + '.json', headline.paired_markdown)
for _table in glob.glob(os.path.join(REPO_ROOT, 'results', 'rules', '*',
                                     'targets.md')):
  _table = os.path.relpath(_table, REPO_ROOT)
  REPORTS[_table] = (
      os.path.join(os.path.dirname(_table), 'transfer', 'results.json'),
      _rule_targets(os.path.dirname(_table)))


def _read(path):
  with open(os.path.join(REPO_ROOT, path), encoding='utf-8') as stream:
    return stream.read()


def documents():
  """The Markdown a reader meets: README, docs/ and the rule cards."""
  found = ['README.md']
  for pattern in ('docs/**/*.md', 'learned_rule/rules/*/CARD.md'):
    found += sorted(os.path.relpath(path, REPO_ROOT) for path in glob.glob(
        os.path.join(REPO_ROOT, pattern), recursive=True))
  return found


def quotes():
  """``(document, quoted file, quoted text)`` of every quote."""
  return [(document, match.group(1), match.group(2))
          for document in documents()
          for match in QUOTE.finditer(_read(document))]


def test_the_quote_marker_is_found():
  text = ('x\n<!-- quoted from results/a.md -->\n| t |\n'
          '<!-- end of results/a.md -->\n')
  assert [m.groups() for m in QUOTE.finditer(text)] == [
      ('results/a.md', '| t |\n')]


def test_the_results_tables_are_quoted():
  quoted = {path for _, path, _ in quotes()}
  assert set(REPORTS) <= quoted, set(REPORTS) - quoted


@pytest.mark.parametrize('document, path, text', quotes())
def test_every_quoted_table_is_its_file(document, path, text):
  assert path in REPORTS, (f'{document} quotes {path}, which no report '
                           f'writes: add it to REPORTS')
  assert text == _read(path), f'{document} misquotes {path}'


@pytest.mark.parametrize('table', sorted(REPORTS))
def test_every_table_is_what_its_report_makes_of_its_json(table):
  source, make = REPORTS[table]
  found = json.loads(_read(source))
  assert make(found) == _read(table)
  # Where and when it was made.
  # An evaluation stamps its metadata, a benchmark its machine.
  stamped = next((found[key] for key in ('metadata', 'machine')
                  if isinstance(found.get(key), dict)), found)
  assert stamped.get('git_revision') and stamped.get('date'), source
