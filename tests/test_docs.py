"""The README and the manual in docs/: what they name exists and runs.

Checks the README's shape (at most 300 lines, the title first, `make demo`
and `make test` near the top); that every relative link, console script,
``bin/*.py`` launcher, ``--gin_file`` and Python file path of the README
and docs/ exists;
that every flag given to a named binary is one of its flags; and runs the
cheap commands: the README's library example and each named binary's
``--help``. Each check returns a list of problems; the self-tests at the
end make sure each can fail.
"""

import functools
import glob
import os
import re
import subprocess
import sys

import pytest

# pylint: disable=g-import-not-at-top,wrong-import-position
from conftest import REPO_ROOT
from conftest import run_repo_binary
from learned_rule import console_scripts
# pylint: enable=g-import-not-at-top,wrong-import-position

README = os.path.join(REPO_ROOT, 'README.md')
DOCS = os.path.join(REPO_ROOT, 'docs')
GIN_CONFIGS = os.path.join(REPO_ROOT, 'gin_configs')
TITLE = '# learned_rule'
MAX_README_LINES = 300
# `make demo` and `make test` must be seen without scrolling.
COMMANDS_WITHIN_LINES = 40
# The README's example applies a rule for 100 steps; a few minutes at most
# on 2 busy cores.
EXAMPLE_TIMEOUT_S = 300
HELP_TIMEOUT_S = 60

SCRIPTS = {console_scripts.PREFIX + name: module
           for name, module in console_scripts.SCRIPTS}

_FENCE = re.compile(r'^```.*?^```', re.M | re.S)
_LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
_SCRIPT = re.compile(r'(?<![\w-])learned-rule-[a-z]+(?:-[a-z]+)*')
_BIN = re.compile(r'(?<![\w./-])bin/([A-Za-z0-9_]+)\.py')
_GIN_FILE = re.compile(r'--gin_file=([^\s`\'"\\,;)]+)')
# Python files of the repository named by their path.
_SOURCE_PATH = re.compile(
    r'(?<![\w./-])((?:learned_rule|tests|benchmarks|reliability)/[\w/]+\.py)')
_BINARY = re.compile(r'(?<![\w-])(?:learned-rule-([a-z]+(?:-[a-z]+)*)|'
                     r'(?<![\w./-])bin/([A-Za-z0-9_]+)\.py)')
_HELP_FLAG = re.compile(r'^\s+--(?:\[no\])?([A-Za-z0-9_]+)', re.M)
_STOP_TOKENS = ('--', '|', '&&', ';', '#', '&')


def doc_paths():
  """README.md and every Markdown file under docs/."""
  return [README] + sorted(
      glob.glob(os.path.join(DOCS, '**', '*.md'), recursive=True))


def _read(path):
  with open(path, encoding='utf-8') as stream:
    return stream.read()


def _relative(path):
  return os.path.relpath(path, REPO_ROOT)


# -- Checks: each returns a list of problems. ---------------------------------


def readme_problems(text):
  """The README's length, title and first commands."""
  lines = text.splitlines()
  problems = []
  if len(lines) > MAX_README_LINES:
    problems.append(f'README.md has {len(lines)} lines; at most '
                    f'{MAX_README_LINES}.')
  if not lines or lines[0] != TITLE:
    problems.append(f'README.md must start with {TITLE!r}, not '
                    f'{lines[0] if lines else ""!r}.')
  head = lines[:COMMANDS_WITHIN_LINES]
  for command in ('make demo', 'make test'):
    if not any(re.match(rf'\s*{command}\b', line) for line in head):
      problems.append(f'README.md: no line starting with `{command}` in its '
                      f'first {COMMANDS_WITHIN_LINES} lines.')
  return problems


def link_problems(path, text):
  """Relative links (outside code blocks) that point to no file."""
  problems = []
  for target in _LINK.findall(_FENCE.sub('', text)):
    if re.match(r'[a-z][a-z0-9+.-]*:', target) or target.startswith('#'):
      continue  # A URL or an anchor in the same page.
    file_part = target.split('#', 1)[0]
    resolved = os.path.normpath(os.path.join(os.path.dirname(path),
                                             file_part))
    if not os.path.exists(resolved):
      problems.append(f'{_relative(path)}: link to {target} finds no file.')
  return problems


def name_problems(path, text, scripts=SCRIPTS, root=REPO_ROOT):
  """Console scripts, bin/ launchers, gin files and Python files of the
  repository that do not exist."""
  problems = []
  for script in sorted(set(_SCRIPT.findall(text))):
    if script not in scripts:
      problems.append(f'{_relative(path)}: {script} is no console script '
                      '(learned_rule/console_scripts.py).')
  for module in sorted(set(_BIN.findall(text))):
    if not os.path.isfile(os.path.join(root, 'bin', f'{module}.py')):
      problems.append(f'{_relative(path)}: bin/{module}.py does not exist.')
  for gin_file in sorted(set(_GIN_FILE.findall(text))):
    if not os.path.isfile(os.path.join(root, 'gin_configs', gin_file)):
      problems.append(f'{_relative(path)}: --gin_file={gin_file} is not in '
                      'gin_configs/.')
  for source in sorted(set(_SOURCE_PATH.findall(text))):
    if not os.path.isfile(os.path.join(root, source)):
      problems.append(f'{_relative(path)}: {source} does not exist.')
  return problems


def _joined_lines(text):
  """Lines with shell continuations (a trailing backslash) joined."""
  return text.replace('\\\n', ' ').splitlines()


def binary_invocations(text, scripts=SCRIPTS):
  """``(module, [flag names])`` for every binary named in ``text``, with
  the ``--flags`` that follow it on its command line."""
  invocations = []
  for line in _joined_lines(text):
    for match in _BINARY.finditer(line):
      script, launcher = match.groups()
      module = (scripts.get(console_scripts.PREFIX + script) if script
                else launcher)
      if module is None:
        continue  # Reported by name_problems.
      flags = []
      rest = line[match.end():]
      if not rest.startswith('`'):
        for token in rest.split():
          ends = '`' in token
          token = token.split('`', 1)[0]
          if token in _STOP_TOKENS:
            break
          if token.startswith('--') and len(token) > 2:
            flags.append(re.split(r'[=\'"]', token[2:], maxsplit=1)[0])
          if ends:
            break
      invocations.append((module, flags))
  return invocations


def flag_problems(path, invocations, known_flags):
  """Flags given to a binary that it does not define.

  Args:
    known_flags: module -> the flag names its ``--helpfull`` lists; boolean
      ``--noX`` is accepted for a flag ``X``.
  """
  problems = []
  for module, flags in invocations:
    known = known_flags(module)
    for flag in flags:
      if flag in known or (flag.startswith('no') and flag[2:] in known):
        continue
      problems.append(f'{_relative(path)}: bin/{module}.py has no flag '
                      f'--{flag}.')
  return problems


def python_example(text, heading):
  """The first ```python block after the line ``heading``."""
  start = text.index(heading + '\n')
  found = re.search(r'^```python\n(.*?)^```', text[start:], re.M | re.S)
  if not found:
    raise ValueError(f'No python example after {heading!r}.')
  return found.group(1)


@functools.lru_cache(maxsize=None)
def _help(module, option):
  return run_repo_binary(module, option, timeout=HELP_TIMEOUT_S)


def _help_flags(module):
  return set(_HELP_FLAG.findall(_help(module, '--helpfull').stdout))


def _named_modules():
  modules = set()
  for path in doc_paths():
    modules.update(module for module, _ in binary_invocations(_read(path)))
  return sorted(modules)


# -- The repository's README and docs. -----------------------------------------


def test_readme_shape():
  assert readme_problems(_read(README)) == []


def test_there_is_a_manual():
  assert len(doc_paths()) > 1, 'docs/ holds no Markdown file.'


@pytest.mark.parametrize('path', doc_paths(), ids=_relative)
def test_links_point_to_files(path):
  assert link_problems(path, _read(path)) == []


@pytest.mark.parametrize('path', doc_paths(), ids=_relative)
def test_named_binaries_and_configs_exist(path):
  assert name_problems(path, _read(path)) == []


@pytest.mark.parametrize('path', doc_paths(), ids=_relative)
def test_flags_given_to_binaries_exist(path):
  text = _read(path)
  assert flag_problems(path, binary_invocations(text), _help_flags) == []


@pytest.mark.parametrize('module', _named_modules())
def test_help_of_every_named_binary(module):
  result = _help(module, '--help')
  # absl prints the usage on stdout and exits with 1 after --help.
  assert result.returncode == 1, result.stderr[-2000:]
  assert 'Traceback' not in result.stderr, result.stderr[-2000:]
  assert 'Try --helpfull' in result.stdout, result.stdout[-2000:]


def test_readme_library_example_runs(tmp_path):
  example = python_example(_read(README), '## The library')
  script = tmp_path / 'example.py'
  script.write_text(example, encoding='utf-8')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='',
             PYTHONPATH=os.pathsep.join(
                 filter(None, [REPO_ROOT, os.environ.get('PYTHONPATH')])))
  result = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                          env=env, capture_output=True, text=True,
                          timeout=EXAMPLE_TIMEOUT_S, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'ridge_accuracy' in result.stdout, result.stdout[-2000:]


# -- Self-tests: every check flags a broken document. --------------------------


def test_readme_problems_flags_a_bad_readme():
  good = '\n'.join([TITLE, '', '```', 'make demo', 'make test', '```'])
  assert readme_problems(good) == []
  problems = readme_problems('\n'.join(['```', TITLE] + ['x'] * 301))
  assert len(problems) == 4  # Length, title, make demo, make test.
  late = '\n'.join([TITLE] + ['x'] * 40 + ['make demo', 'make test'])
  assert len(readme_problems(late)) == 2


def test_link_problems_flags_a_missing_file(tmp_path):
  (tmp_path / 'there.md').write_text('x')
  page = tmp_path / 'page.md'
  text = ('[ok](there.md) [anchor](there.md#a) [url](https://x.org/y) '
          '[self](#top) [gone](missing.md#b)\n```\n[code](nowhere.md)\n```\n')
  problems = link_problems(str(page), text)
  assert len(problems) == 1 and 'missing.md#b' in problems[0]


def test_name_problems_flags_unknown_names(tmp_path):
  (tmp_path / 'bin').mkdir()
  # Built apart: a literal path of bin/ reads as a run of that binary.
  (tmp_path / 'bin').joinpath('real' + '.py').write_text('')
  (tmp_path / 'gin_configs' / 'a').mkdir(parents=True)
  (tmp_path / 'gin_configs' / 'a' / 'b.gin').write_text('')
  scripts = {'learned-rule-real': 'real'}
  (tmp_path / 'tests').mkdir()
  (tmp_path / 'tests' / 'test_real.py').write_text('')
  good = ('`learned-rule-real --gin_file=a/b.gin` and `bin/real.py`; '
          '.venv/bin/python, learned_rule-0.1.whl, `tests/test_real.py`')
  assert name_problems('x.md', good, scripts, str(tmp_path)) == []
  bad = ('learned-rule-fake, python bin/fake.py '
         '--gin_file=a/missing.gin (`tests/test_gone.py`)')
  assert len(name_problems('x.md', bad, scripts, str(tmp_path))) == 4


def test_flag_problems_flags_an_unknown_flag():
  scripts = {'learned-rule-real': 'real'}
  text = ('```\nlearned-rule-real --root_dir=a \\\n    --nofast '
          '--bogus=1 -- --after\n```\n'
          'Prose: `learned-rule-real` runs `bin/real.py --fast` here.\n')
  invocations = binary_invocations(text, scripts)
  assert invocations == [('real', ['root_dir', 'nofast', 'bogus']),
                         ('real', []), ('real', ['fast'])]
  problems = flag_problems('x.md', invocations,
                           lambda module: {'root_dir', 'fast'})
  assert len(problems) == 1 and '--bogus' in problems[0]


def test_python_example_is_found():
  text = '# t\n## The library\n\ntext\n```python\nprint(1)\n```\n'
  assert python_example(text, '## The library') == 'print(1)\n'
  with pytest.raises(ValueError):
    python_example('## The library\nno code\n', '## The library')
