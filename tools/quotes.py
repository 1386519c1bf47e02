r"""The tables that the README, docs/ and the rule cards quote from results.

A quote is marked in the Markdown as

  <!-- quoted from results/<path>.md -->
  ...the file's text, word for word...
  <!-- end of results/<path>.md -->

``python -m tools.quotes`` (``make quotes``) rewrites every quote from its
file after the results are made again; ``tests/test_quoted_tables.py``
checks that no quote differs from its file. A rule card it rewrites gets
its new sha256 in its rule's ``MANIFEST.json`` (and nothing else there
changes), so that the rule still loads.
"""

import glob
import os
import re
import sys

from learned_rule.rules import manifest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUOTE = re.compile(r'(<!-- quoted from (\S+?\.md) -->\n)(.*?)'
                   r'(<!-- end of \2 -->)', re.S)
# The card of a shipped rule, one of its files (learned_rule/rules/*/).
RULE_CARD = 'CARD.md'
# The Markdown a reader meets.
DOCUMENT_PATTERNS = ('README.md', 'docs/**/*.md',
                     f'learned_rule/rules/*/{RULE_CARD}')


def documents(root=REPO_ROOT):
  """Paths, relative to ``root``, of the documents that may quote."""
  found = []
  for pattern in DOCUMENT_PATTERNS:
    found += sorted(os.path.relpath(path, root) for path in glob.glob(
        os.path.join(root, pattern), recursive=True))
  return found


def read(path, root=REPO_ROOT):
  with open(os.path.join(root, path), encoding='utf-8') as stream:
    return stream.read()


def quotes(text):
  """``(quoted file, quoted text)`` of every quote in ``text``."""
  return [(match.group(2), match.group(3)) for match in QUOTE.finditer(text)]


def refreshed(text, root=REPO_ROOT, missing=None):
  """``text`` with every quote replaced by its file's current text.

  A quote whose file does not exist is left as it is, and its file added
  to the list ``missing`` where one is given.
  """

  def quote(match):
    path = match.group(2)
    if not os.path.isfile(os.path.join(root, path)):
      if missing is not None:
        missing.append(path)
      return match.group(0)
    return match.group(1) + read(path, root) + match.group(4)

  return QUOTE.sub(quote, text)


def _record_in_manifest(document, root):
  """Records a rewritten rule card's sha256 in its rule's manifest."""
  directory, name = os.path.split(os.path.join(root, document))
  if (name != RULE_CARD or not os.path.isfile(
      os.path.join(directory, manifest.FILENAME))):
    return
  print(f'recorded it in {manifest.update(directory, RULE_CARD)}')


def main(argv):
  root = argv[1] if len(argv) > 1 else REPO_ROOT
  missing = []
  for document in documents(root):
    text = read(document, root)
    new = refreshed(text, root, missing)
    if new != text:
      with open(os.path.join(root, document), 'w', encoding='utf-8') as out:
        out.write(new)
      print(f'refreshed the quotes of {document}')
      _record_in_manifest(document, root)
  if missing:
    sys.exit('Not refreshed, their files are missing (make them first): ' +
             ', '.join(sorted(set(missing))))


if __name__ == '__main__':
  main(sys.argv)
