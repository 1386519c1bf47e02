"""A benchmark's tables as a Markdown file beside its JSON.

Each benchmark writes its numbers to a JSON file and prints readable tables
made from them; the same tables, in a fenced block, go to the ``.md`` file of
the same name, which ``docs/`` quotes (``tests/test_quoted_tables.py``
checks that the quote, the file and the JSON agree).
"""

import json
import os

from learned_rule.storage import atomic_files


def fenced(text):
  """``text`` as a fenced block of Markdown."""
  return '```text\n' + text.rstrip('\n') + '\n```\n'


def markdown_path(json_path):
  """``results/x.json`` → ``results/x.md``."""
  return os.path.splitext(json_path)[0] + '.md'


def write_markdown(json_path, format_report):
  """Writes ``format_report`` of the JSON at ``json_path``, fenced, beside
  it, made from the file as written, and returns its path."""
  with open(json_path, encoding='utf-8') as stream:
    found = json.load(stream)
  path = markdown_path(json_path)
  atomic_files.write_text(path, fenced(format_report(found)))
  return path
