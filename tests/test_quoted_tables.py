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

from conftest import REPO_ROOT
from learned_rule.reporting import recipe_comparison
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
}


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
  assert found.get('git_revision') and found.get('date'), source
