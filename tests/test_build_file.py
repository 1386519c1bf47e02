"""Checks the Bazel BUILD file at the repository root without Bazel.

BUILD files are Starlark, whose syntax is a subset of Python's, so the file is
executed as Python with stub rules that record every target. The checks:

* every ``learned_rule/**/*.py`` file, ``__init__.py`` included, is in the
  srcs of exactly one ``py_library`` (each package's ``__init__.py`` is its
  own library, named after the package; module libraries depend on it);
* every ``bin/*.py`` and ``benchmarks/*.py`` is the main of a ``py_binary``;
* every ``tests/test_*.py`` is run by a ``py_test`` whose main is the pytest
  runner ``tests/pytest_main.py`` and whose only arg is the test file (the
  test files have no ``__main__``), and every other ``tests/*.py`` is in a
  ``testonly`` ``py_library``;
* every file a target names exists, every ``:target`` dep is defined, and
  nothing that is not testonly depends on a testonly target;
* a test that runs ``bin/<name>.py`` (by that path, through
  ``run_repo_binary('<name>', ...)`` or through a conftest fixture that does)
  has ``:<name>`` in its data, so that Bazel gives it the binary's runfiles;
* every import of a project module is satisfied by the target itself or by a
  direct dep, and every import of a third-party distribution has its
  ``@pypi//name`` dep.

Each check returns a list of problems; the tests assert that list is empty,
and self-tests on small fake trees make sure each check can fail.
"""

import ast
import collections
import glob as glob_lib
import os
import pathlib
import re
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).absolute().parent.parent

RULES_PYTHON = '@rules_python//python:defs.bzl'
PYTEST_MAIN = 'tests/pytest_main.py'
PYTHON_RULES = ('py_binary', 'py_library', 'py_test')

# Top-level import name -> Bazel label of the PyPI distribution that provides
# it (rules_python pip hub named "pypi", names normalised with underscores).
THIRD_PARTY = {
    'absl': '@pypi//absl_py',
    'gin': '@pypi//gin_config',
    'importlib_resources': '@pypi//importlib_resources',
    'keras': '@pypi//keras',
    'matplotlib': '@pypi//matplotlib',
    'numpy': '@pypi//numpy',
    'PIL': '@pypi//pillow',
    'pytest': '@pypi//pytest',
    'scipy': '@pypi//scipy',
    'sklearn': '@pypi//scikit_learn',
    'tensorboard': '@pypi//tensorboard',
    'tensorflow': '@pypi//tensorflow',
    'tensorflow_datasets': '@pypi//tensorflow_datasets',
    'tqdm': '@pypi//tqdm',
}

Target = collections.namedtuple(
    'Target',
    ['kind', 'name', 'srcs', 'deps', 'data', 'main', 'testonly', 'args'])


# -- Parsing. ------------------------------------------------------------------


def parse_build(root):
  """Executes ``root/BUILD`` with stub rules.

  Args:
    root: Directory holding the BUILD file; ``glob`` patterns resolve in it.

  Returns:
    ``(targets, loads)``: a dict of target name -> :class:`Target`, and a list
    of ``(bzl_label, loaded_symbols)``.
  """
  root = pathlib.Path(root)
  targets = {}
  loads = []

  def make_rule(kind):

    def rule(name, srcs=(), deps=(), data=(), main=None, testonly=False,
             args=(), **unused_kwargs):
      if name in targets:
        raise ValueError(f'BUILD defines target {name!r} twice.')
      targets[name] = Target(kind, name, list(srcs), list(deps), list(data),
                             main, bool(testonly), list(args))

    return rule

  def load(label, *symbols, **aliases):
    loads.append((label, set(symbols) | set(aliases)))

  def glob(include, exclude=(), **unused_kwargs):
    found = set()
    for pattern in include:
      found.update(glob_lib.glob(pattern, root_dir=root, recursive=True))
    for pattern in exclude:
      found.difference_update(
          glob_lib.glob(pattern, root_dir=root, recursive=True))
    return sorted(path for path in found if (root / path).is_file())

  namespace = {rule: make_rule(rule) for rule in PYTHON_RULES}
  namespace.update(
      load=load,
      glob=glob,
      filegroup=make_rule('filegroup'),
      package=lambda **kwargs: None,
      exports_files=lambda *args, **kwargs: None,
  )
  path = root / 'BUILD'
  exec(compile(path.read_text(), str(path), 'exec'), namespace)  # pylint: disable=exec-used
  return targets, loads


def _files(root, pattern):
  return sorted(path.relative_to(root).as_posix()
                for path in pathlib.Path(root).glob(pattern) if path.is_file())


def _owners(targets, kinds=('py_library',)):
  """File -> names of the targets of the given kinds that list it in srcs."""
  owners = collections.defaultdict(list)
  for target in targets.values():
    if target.kind in kinds:
      for src in target.srcs:
        owners[src].append(target.name)
  return owners


def _main(target):
  if target.main is not None:
    return target.main
  if len(target.srcs) == 1:
    return target.srcs[0]
  return None


# -- Import resolution. --------------------------------------------------------


def _module_file(root, dotted, base=None):
  """The repository file of module ``dotted``, searched from ``base``."""
  base = pathlib.Path(root) if base is None else base
  stem = base.joinpath(*dotted.split('.'))
  for candidate in (stem.with_suffix('.py'), stem / '__init__.py'):
    if candidate.is_file():
      return candidate.relative_to(root).as_posix()
  return None


def _import_candidates(path):
  """Yields ``(candidates, base)`` for every name a file imports.

  ``candidates`` lists the dotted modules that may provide the name, in the
  order Python tries them: ``from a import b`` gives ``['a.b', 'a']`` (b may
  be a submodule or an attribute of a), ``import a.b`` gives ``['a.b']``.
  ``base`` is the directory a relative import resolves from, else None.
  """
  path = pathlib.Path(path)
  tree = ast.parse(path.read_text(), filename=str(path))
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield [alias.name], None
    elif isinstance(node, ast.ImportFrom):
      module = node.module or ''
      base = None
      if node.level:
        base = path.parent
        for _ in range(node.level - 1):
          base = base.parent
      for alias in node.names:
        if module:
          yield [f'{module}.{alias.name}', module], base
        else:
          yield [alias.name], base


def project_imports(root, src):
  """Repository files that ``src`` imports.

  An absolute import resolves from the repository root or, since a script's
  own directory is on sys.path, from the directory of ``src``.
  """
  root = pathlib.Path(root)
  path = root / src
  found = set()
  for candidates, base in _import_candidates(path):
    bases = [base] if base is not None else [root, path.parent]
    hits = (_module_file(root, name, b) for name in candidates for b in bases)
    hit = next((h for h in hits if h is not None), None)
    if hit is not None:
      found.add(hit)
  found.discard(src)
  return found


def third_party_imports(root, src):
  """Top-level names of the known third-party modules ``src`` imports."""
  found = set()
  for candidates, base in _import_candidates(pathlib.Path(root) / src):
    top = candidates[-1].split('.')[0]
    if base is None and top in THIRD_PARTY:
      found.add(top)
  return found


# -- Checks: each returns a list of problems. ----------------------------------


def check_loads(targets, loads):
  used = {t.kind for t in targets.values() if t.kind in PYTHON_RULES}
  loaded = set()
  for label, symbols in loads:
    if label == RULES_PYTHON:
      loaded |= symbols
  return [f'{kind} is used but not loaded from {RULES_PYTHON}'
          for kind in sorted(used - loaded)]


def check_library_coverage(root, targets):
  owners = _owners(targets)
  problems = []
  for path in _files(root, 'learned_rule/**/*.py'):
    names = owners.get(path, [])
    if not names:
      problems.append(f'{path} is in no py_library')
    elif len(names) > 1:
      problems.append(f'{path} is in several py_library targets: {names}')
  return problems


def check_binaries(root, targets):
  mains = {_main(t) for t in targets.values() if t.kind == 'py_binary'}
  return [f'{path} has no py_binary'
          for path in _files(root, 'bin/*.py') + _files(root, 'benchmarks/*.py')
          if path not in mains]


def check_tests(root, targets):
  problems = []
  tested = set()
  for target in targets.values():
    if target.kind != 'py_test':
      continue
    if _main(target) != PYTEST_MAIN:
      problems.append(f'{target.name}: main is {_main(target)}, not '
                      f'{PYTEST_MAIN} (test files have no __main__)')
    elif len(target.args) != 1 or target.args[0] not in target.srcs:
      problems.append(f'{target.name}: args must be [its test file], which '
                      f'is in srcs; got {target.args}')
    else:
      tested.add(target.args[0])
  problems += [f'{path} has no py_test'
               for path in _files(root, 'tests/test_*.py')
               if path not in tested]
  support = {src for t in targets.values()
             if t.kind == 'py_library' and t.testonly for src in t.srcs}
  for path in _files(root, 'tests/*.py'):
    if (not pathlib.PurePath(path).name.startswith('test_') and
        path != PYTEST_MAIN and path not in support):
      problems.append(f'{path} is in no testonly py_library')
  return problems


def check_files_exist(root, targets):
  problems = []
  for target in targets.values():
    files = list(target.srcs) + list(target.data)
    if target.main is not None:
      files.append(target.main)
      if target.main not in target.srcs:
        problems.append(f'{target.name}: main {target.main} is not in srcs')
    for path in files:
      if path.startswith((':', '//', '@')):
        continue
      if not (pathlib.Path(root) / path).is_file():
        problems.append(f'{target.name}: {path} does not exist')
  return problems


def check_deps(targets):
  problems = []
  for target in targets.values():
    for dep in target.deps:
      if not dep.startswith(':'):
        continue
      name = dep[1:]
      if name not in targets:
        problems.append(f'{target.name}: dep {dep} is not defined')
      elif name == target.name:
        problems.append(f'{target.name} depends on itself')
      elif (targets[name].testonly and not target.testonly and
            target.kind != 'py_test'):
        problems.append(
            f'{target.name} is not testonly but depends on testonly {dep}')
  return problems


def check_cycles(targets):
  """A problem per dependency cycle among local targets (Bazel refuses
  to analyse a target on one)."""
  problems, state = [], {}  # state: 1 on the current path, 2 done.

  def visit(name, path):
    state[name] = 1
    for dep in targets[name].deps:
      dep = dep[1:] if dep.startswith(':') else None
      if dep not in targets or dep == name:
        continue
      if state.get(dep) == 1:
        cycle = path[path.index(dep):] + [dep]
        problems.append('dependency cycle: ' + ' -> '.join(cycle) +
                        ' (import the module lazily on one side and drop '
                        'that dep)')
      elif dep not in state:
        visit(dep, path + [dep])
    state[name] = 2

  for name in sorted(targets):
    if name not in state:
      visit(name, [name])
  return problems


# A literal run of a binary: run_repo_binary('<name>', ...), or its path
# written as 'bin', '<name>.py' (os.path.join) or 'bin' / '<name>.py'.
_RUNS_BINARY = re.compile(
    r"run_repo_binary\(\s*'(\w+)'|'bin'\s*[,/]\s*'(\w+)\.py'")


def binaries_run(text):
  """Names of the binaries that source ``text`` runs literally."""
  return {call or path for call, path in _RUNS_BINARY.findall(text)}


def _conftest_binaries(root):
  """Name of each function of tests/conftest.py -> the binaries it runs."""
  path = pathlib.Path(root) / 'tests' / 'conftest.py'
  if not path.is_file():
    return {}
  text = path.read_text()
  found = {}
  for node in ast.parse(text).body:
    if isinstance(node, ast.FunctionDef):
      names = binaries_run(ast.get_source_segment(text, node))
      if names:
        found[node.name] = names
  return found


def check_test_binaries(root, targets):
  """Every binary a test runs is in its data."""
  fixtures = _conftest_binaries(root)
  problems = []
  for target in targets.values():
    if target.kind != 'py_test' or len(target.args) != 1:
      continue
    path = pathlib.Path(root) / target.args[0]
    if not path.is_file():
      continue
    text = path.read_text()
    wanted = binaries_run(text)
    for fixture, names in fixtures.items():
      if re.search(rf'\b{fixture}\b', text):
        wanted |= names
    problems += [f'{target.name}: {target.args[0]} runs bin/{name}.py; add '
                 f':{name} to data'
                 for name in sorted(wanted) if f':{name}' not in target.data]
  return problems


def check_import_deps(root, targets):
  """Every import of a project file or of a known distribution has a dep."""
  owners = _owners(targets)
  problems = []
  for target in targets.values():
    if target.kind not in PYTHON_RULES:
      continue
    provided = set(target.srcs)
    for dep in target.deps:
      if dep.startswith(':') and dep[1:] in targets:
        provided.update(targets[dep[1:]].srcs)
    for src in target.srcs:
      if not src.endswith('.py') or not (pathlib.Path(root) / src).is_file():
        continue
      for imported in sorted(project_imports(root, src)):
        if imported in provided:
          continue
        wanted = ', '.join(f':{n}' for n in owners.get(imported, [])) or (
            'a py_library that does not exist yet')
        problems.append(f'{target.name}: {src} imports {imported}; add {wanted}'
                        f' to deps')
      for top in sorted(third_party_imports(root, src)):
        if THIRD_PARTY[top] not in target.deps:
          problems.append(f'{target.name}: {src} imports {top}; add '
                          f'{THIRD_PARTY[top]} to deps')
  return problems


# -- The repository's BUILD file. ----------------------------------------------


@pytest.fixture(scope='module')
def build():
  return parse_build(REPO_ROOT)


def _assert_no_problems(problems):
  assert not problems, 'BUILD problems:\n  ' + '\n  '.join(problems)


def test_build_loads_the_python_rules(build):
  targets, loads = build
  assert any(label == RULES_PYTHON for label, _ in loads)
  _assert_no_problems(check_loads(targets, loads))


def test_every_package_file_is_in_exactly_one_library(build):
  targets, _ = build
  assert _files(REPO_ROOT, 'learned_rule/**/*.py')
  _assert_no_problems(check_library_coverage(REPO_ROOT, targets))


def test_every_binary_and_benchmark_has_a_py_binary(build):
  _assert_no_problems(check_binaries(REPO_ROOT, build[0]))


def test_every_test_file_has_a_py_test(build):
  targets, _ = build
  assert _files(REPO_ROOT, 'tests/test_*.py')
  _assert_no_problems(check_tests(REPO_ROOT, targets))


def test_every_named_file_exists(build):
  _assert_no_problems(check_files_exist(REPO_ROOT, build[0]))


def test_every_local_dep_is_defined(build):
  _assert_no_problems(check_deps(build[0]))


def test_deps_cover_imports(build):
  _assert_no_problems(check_import_deps(REPO_ROOT, build[0]))


def test_no_dependency_cycles(build):
  _assert_no_problems(check_cycles(build[0]))


def test_a_cycle_is_found():
  def library(name, *deps):
    return Target('py_library', name, [], [f':{dep}' for dep in deps], [],
                  None, False, [])
  targets = {target.name: target for target in (
      library('rules', 'rule_source'), library('rule_source', 'rules'),
      library('cli', 'rules'), library('leaf'))}
  problems = check_cycles(targets)
  assert len(problems) == 1
  assert 'rule_source -> rules -> rule_source' in problems[0] or (
      'rules -> rule_source -> rules' in problems[0])
  del targets['rule_source']
  targets['rules'] = library('rules', 'leaf')
  assert not check_cycles(targets)


def test_tests_have_the_binaries_they_run(build):
  _assert_no_problems(check_test_binaries(REPO_ROOT, build[0]))


# -- Self-tests: every check flags a broken fake repository. -------------------


def _write(root, files):
  for path, text in files.items():
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)


_GOOD_BUILD = '''
load("@rules_python//python:defs.bzl", "py_binary", "py_library", "py_test")

py_library(name = "learned_rule", srcs = ["learned_rule/__init__.py"])

py_library(
    name = "core",
    srcs = ["learned_rule/core.py"],
    deps = [":learned_rule", "@pypi//numpy"],
)

py_library(
    name = "extra",
    srcs = ["learned_rule/extra.py"],
    deps = [":core"],
)

py_binary(
    name = "run",
    srcs = ["bin/run.py"],
    main = "bin/run.py",
    deps = [":extra"],
)

py_library(
    name = "test_support",
    testonly = True,
    srcs = ["tests/helper.py"],
)

py_test(
    name = "test_core",
    srcs = ["tests/pytest_main.py", "tests/test_core.py"],
    main = "tests/pytest_main.py",
    args = ["tests/test_core.py"],
    deps = [":core", ":test_support", "@pypi//pytest"],
)
'''

_GOOD_FILES = {
    'learned_rule/__init__.py': '',
    'learned_rule/core.py': 'import numpy as np\n',
    'learned_rule/extra.py': 'from learned_rule import core\n',
    'bin/run.py': 'from learned_rule import extra\n',
    'tests/helper.py': '',
    'tests/pytest_main.py': 'import pytest\n',
    'tests/test_core.py': ('from learned_rule import core\n'
                           'from tests import helper\n'),
}


def _all_problems(root):
  targets, loads = parse_build(root)
  return (check_loads(targets, loads) +
          check_library_coverage(root, targets) +
          check_binaries(root, targets) + check_tests(root, targets) +
          check_files_exist(root, targets) + check_deps(targets) +
          check_import_deps(root, targets) +
          check_test_binaries(root, targets))


def test_self_check_accepts_a_consistent_tree(tmp_path):
  _write(tmp_path, dict(_GOOD_FILES, BUILD=_GOOD_BUILD))
  assert _all_problems(tmp_path) == []


@pytest.mark.parametrize('extra_files,build_edit,expected', [
    ({'learned_rule/orphan.py': ''}, None, 'orphan.py is in no py_library'),
    ({'learned_rule/sub/__init__.py': ''}, None,
     'sub/__init__.py is in no py_library'),
    ({}, ('srcs = ["learned_rule/extra.py"]',
          'srcs = ["learned_rule/extra.py", "learned_rule/core.py"]'),
     'several py_library'),
    ({'bin/other.py': ''}, None, 'bin/other.py has no py_binary'),
    ({'benchmarks/speed.py': ''}, None, 'benchmarks/speed.py has no py_binary'),
    ({'tests/test_new.py': ''}, None, 'tests/test_new.py has no py_test'),
    ({'tests/fixtures.py': ''}, None, 'no testonly py_library'),
    ({}, ('srcs = ["bin/run.py"]', 'srcs = ["bin/gone.py"]'), 'does not exist'),
    ({}, ('deps = [":core"]', 'deps = [":kore"]'), ':kore is not defined'),
    ({}, ('deps = [":core"]', 'deps = [":core", ":test_support"]'),
     'depends on testonly'),
    ({}, ('deps = [":core"]', 'deps = []'),
     'imports learned_rule/core.py; add :core'),
    ({}, ('":core", ":test_support"', '":core"'),
     'imports tests/helper.py; add :test_support'),
    ({}, (', "@pypi//pytest"', ''), 'add @pypi//pytest'),
    ({}, ('main = "tests/pytest_main.py"', 'main = "tests/test_core.py"'),
     'test_core: main is tests/test_core.py, not tests/pytest_main.py'),
    ({}, ('args = ["tests/test_core.py"]', 'args = ["tests/helper.py"]'),
     'test_core: args must be [its test file]'),
    # Split literals: this file must not look as if it ran bin/run.py.
    ({'tests/test_core.py': (_GOOD_FILES['tests/test_core.py'] +
                             "run_repo_binary(" "'run')\n")}, None,
     'tests/test_core.py runs bin/run.py; add :run to data'),
    ({'tests/test_core.py': (_GOOD_FILES['tests/test_core.py'] +
                             "BINARY = os.path.join('bin', " "'run.py')\n")},
     None, 'tests/test_core.py runs bin/run.py; add :run to data'),
    ({'tests/conftest.py': ("def run_once():\n"
                            "  return run_repo_binary(\n      'run')\n"),
      'tests/test_core.py': (_GOOD_FILES['tests/test_core.py'] +
                             'def test_it(run_once):\n  pass\n')}, None,
     'tests/test_core.py runs bin/run.py; add :run to data'),
    ({}, (', "@pypi//numpy"', ''), 'add @pypi//numpy'),
    ({}, ('load("@rules_python//python:defs.bzl", "py_binary", ',
          'load("@rules_python//python:defs.bzl", '), 'py_binary is used'),
])
def test_self_check_flags_a_broken_tree(tmp_path, extra_files, build_edit,
                                        expected):
  build_text = _GOOD_BUILD
  if build_edit is not None:
    old, new = build_edit
    assert old in build_text
    build_text = build_text.replace(old, new, 1)
  _write(tmp_path, dict(_GOOD_FILES, BUILD=build_text, **extra_files))
  problems = _all_problems(tmp_path)
  assert any(expected in problem for problem in problems), problems


def test_self_check_rejects_duplicate_targets(tmp_path):
  _write(tmp_path, dict(_GOOD_FILES, BUILD=_GOOD_BUILD + (
      '\npy_library(name = "core", srcs = [])\n')))
  with pytest.raises(ValueError, match='twice'):
    parse_build(tmp_path)


if __name__ == '__main__':
  os.chdir(REPO_ROOT)
  sys.exit(pytest.main([__file__, '-q']))
