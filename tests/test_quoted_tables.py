"""Every table that the README, docs/ or a rule card quotes from a results
file is that file, word for word, and the file is what its report makes of
the committed JSON beside it, which records where and when it was made.

A quote is marked as ``tools/quotes.py`` says; ``make quotes`` rewrites
every quote from its file.
"""

import glob
import json
import os

import pytest

from benchmarks import report_files
from benchmarks.inner_step_lib import report as inner_step_report
from benchmarks.meta_train_throughput_lib import report as throughput_report
from conftest import REPO_ROOT
from learned_rule.reporting import headline
from learned_rule.reporting import recipe_comparison
from learned_rule.reporting import rule_comparison
from learned_rule.reporting import training_curves
from learned_rule.rules import manifest
from reliability import report as reliability_report
from tools import quotes as quotes_lib

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
    'long_run/curve.md': ('long_run/curve.json',
                          training_curves.held_out_markdown),
    'results/benchmarks/meta_train_throughput.md': (
        'results/benchmarks/meta_train_throughput.json',
        lambda found: report_files.fenced(
            throughput_report.format_report(found))),
}


def _rule_targets(rule_dir):
  """What ``make publish-results`` writes as a rule's targets.md: the
  comparisons of learned-rule-compare-rules on its transfer, text, width
  and depth runs."""

  def summary(run, directory=rule_dir):
    with open(os.path.join(REPO_ROOT, directory, run, 'results.json'),
              encoding='utf-8') as stream:
      return json.load(stream)['summary']

  def make(found):
    # A reference rule (REFERENCE_RULE) is the one compared as 'no worse':
    # a rule published beside this one under results/rules/.
    table = _read(os.path.join(REPO_ROOT, rule_dir, 'targets.md'))
    references = {line.split(' | ')[3] for line in table.splitlines()
                  if ' | no worse | ' in line}
    reference = {}
    if references:
      (name,) = references
      directory = os.path.join(os.path.dirname(rule_dir), name)
      reference = dict(reference_transfer=summary('transfer', directory),
                       reference_text=summary('modality', directory),
                       reference_name=name)
    return rule_comparison.markdown(rule_comparison.targets(
        found['summary'], summary('modality'),
        architectures=(summary('width'), summary('depth')), **reference))
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
  return quotes_lib.read(path)


def quotes():
  """``(document, quoted file, quoted text)`` of every quote."""
  return [(document, path, text) for document in quotes_lib.documents()
          for path, text in quotes_lib.quotes(_read(document))]


def test_the_quote_marker_is_found_and_refreshed(tmp_path):
  text = ('x\n<!-- quoted from results/a.md -->\n| t |\n'
          '<!-- end of results/a.md -->\n')
  assert quotes_lib.quotes(text) == [('results/a.md', '| t |\n')]
  (tmp_path / 'results').mkdir()
  (tmp_path / 'results' / 'a.md').write_text('| new |\n| row |\n')
  assert quotes_lib.refreshed(text, str(tmp_path)) == (
      'x\n<!-- quoted from results/a.md -->\n| new |\n| row |\n'
      '<!-- end of results/a.md -->\n')
  # A quote of a file not made yet stays, and is named.
  missing = []
  other = text.replace('a.md', 'b.md')
  assert quotes_lib.refreshed(other, str(tmp_path), missing) == other
  assert missing == ['results/b.md']


def test_a_rule_card_refreshed_keeps_its_rule_loadable(tmp_path):
  rule = tmp_path / 'learned_rule' / 'rules' / 'some_rule'
  (rule / 'export').mkdir(parents=True)
  (rule / 'export' / 'saved_model.pb').write_bytes(b'theta')
  (rule / 'CARD.md').write_text('<!-- quoted from results/a.md -->\nold\n'
                                '<!-- end of results/a.md -->\n')
  (tmp_path / 'results').mkdir()
  (tmp_path / 'results' / 'a.md').write_text('new\n')
  manifest.write(str(rule))
  quotes_lib.main(['quotes', str(tmp_path)])
  assert 'new' in (rule / 'CARD.md').read_text()
  manifest.verify(str(rule))
  # Only the card was recorded: a changed θ is still refused.
  (rule / 'export' / 'saved_model.pb').write_bytes(b'other')
  with pytest.raises(manifest.ManifestError, match='saved_model.pb'):
    manifest.verify(str(rule))


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
