"""Checks the Bazel BUILD files, one per package, without Bazel.

BUILD files are Starlark, whose syntax is a subset of Python's, so each is
executed as Python with stub rules that record every target under its label
``//<package>:<name>``. The checks:

* every BUILD file is what ``python -m tools.build_files`` writes, so it
  follows the imports of its files;
* every Python file of the packages (``learned_rule/``, ``reliability/``,
  ``benchmarks/``, ``tools/``) is in the srcs of exactly one ``py_library``
  or is the main of a ``py_binary`` (``bin/*.py``, ``benchmarks/*.py``,
  ``reliability/campaign.py``);
* every ``tests/**/test_*.py`` is run by a ``py_test`` whose main is the
  pytest runner ``tests/pytest_main.py`` and whose only arg is the test file
  (the test files have no ``__main__``), and every other ``tests/*.py`` is in
  a ``testonly`` ``py_library``;
* every file a target names exists, every local dep is defined, nothing
  that is not testonly depends on a testonly target, and no dependency
  forms a cycle;
* a test that runs ``bin/<name>.py`` (by that path, through
  ``run_repo_binary('<name>', ...)`` or through a conftest fixture that does)
  has ``//bin:<name>`` in its data, so that Bazel gives it the binary's
  runfiles;
* every import of a project module is satisfied by the target itself or by a
  direct dep, and every import of a third-party distribution has its
  ``@pypi//name`` dep.

Each check returns a list of problems; the tests assert that list is empty,
and self-tests on small fake trees make sure each check can fail.
"""

import collections
import glob as glob_lib
import pathlib

import pytest

from tools import build_files

REPO_ROOT = build_files.REPO_ROOT
RULES_PYTHON = build_files.RULES_PYTHON
PYTEST_MAIN = build_files.PYTEST_MAIN
PYTHON_RULES = ('py_binary', 'py_library', 'py_test')
# Folders whose BUILD files are not the project's (Bazel's stand-ins).
_NOT_PACKAGES = ('third_party', '.venv', 'build', 'dist', 'runs', 'results')

Target = collections.namedtuple(
    'Target',
    ['kind', 'label', 'srcs', 'deps', 'data', 'main', 'testonly', 'args'])


# -- Parsing. ------------------------------------------------------------------


def _absolute(package, label):
  """``label`` as written in ``package``'s BUILD, made absolute."""
  if label.startswith(':'):
    return f'//{package}{label}'
  return label


def build_paths(root):
  """Repository-relative paths of the project's BUILD files."""
  root = pathlib.Path(root)
  return sorted(path.relative_to(root).as_posix()
                for path in root.rglob('BUILD')
                if not path.relative_to(root).parts[0] in _NOT_PACKAGES)


def parse_build(root):
  """Executes every BUILD file under ``root`` with stub rules.

  Returns:
    ``(targets, loads)``: a dict of label -> :class:`Target` (srcs, main
    and data files repository-relative; deps and data labels absolute),
    and a dict of BUILD path -> list of ``(bzl_label, loaded_symbols)``.
  """
  root = pathlib.Path(root)
  targets, loads = {}, {}
  for build in build_paths(root):
    package = build.rsplit('/', 1)[0] if '/' in build else ''
    directory = root / package
    loads[build] = []

    def files(values, package=package):
      return [value if value.startswith((':', '//', '@')) else
              (f'{package}/{value}' if package else value)
              for value in values]

    def make_rule(kind, package=package):

      def rule(name, srcs=(), deps=(), data=(), main=None, testonly=False,
               args=(), **unused_kwargs):
        label = f'//{package}:{name}'
        if label in targets:
          raise ValueError(f'BUILD defines target {label!r} twice.')
        targets[label] = Target(
            kind, label, files(srcs),
            [_absolute(package, dep) for dep in deps],
            [_absolute(package, value) for value in files(data)],
            files([main])[0] if main else None, bool(testonly), list(args))

      return rule

    def load(label, *symbols, build=build, **aliases):
      loads[build].append((label, set(symbols) | set(aliases)))

    def glob(include, exclude=(), directory=directory, **unused_kwargs):
      found = set()
      for pattern in include:
        found.update(glob_lib.glob(pattern, root_dir=directory,
                                   recursive=True))
      for pattern in exclude:
        found.difference_update(
            glob_lib.glob(pattern, root_dir=directory, recursive=True))
      return sorted(path for path in found if (directory / path).is_file())

    namespace = {rule: make_rule(rule) for rule in PYTHON_RULES}
    namespace.update(
        load=load, glob=glob, filegroup=make_rule('filegroup'),
        package=lambda **kwargs: None,
        exports_files=lambda *args, **kwargs: None)
    path = root / build
    exec(compile(path.read_text(), str(path), 'exec'), namespace)  # pylint: disable=exec-used
  return targets, loads


def _files(root, pattern):
  return sorted(path.relative_to(root).as_posix()
                for path in pathlib.Path(root).glob(pattern) if path.is_file())


def _owners(targets, kinds=('py_library', 'py_binary')):
  """File -> labels of the targets of the given kinds that list it in srcs."""
  owners = collections.defaultdict(list)
  for target in targets.values():
    if target.kind in kinds:
      for src in target.srcs:
        owners[src].append(target.label)
  return owners


def _main(target):
  if target.main is not None:
    return target.main
  if len(target.srcs) == 1:
    return target.srcs[0]
  return None


def _binaries(root):
  """The files that must be the main of a py_binary."""
  return (_files(root, 'bin/*.py') + [
      path for pattern in build_files.BINARY_PATTERNS
      for path in _files(root, pattern) if not path.endswith('__init__.py')])


# -- Checks: each returns a list of problems. ----------------------------------


def check_loads(targets, loads):
  problems = []
  for build, loaded_symbols in loads.items():
    package = build.rsplit('/', 1)[0] if '/' in build else ''
    used = {t.kind for t in targets.values() if t.kind in PYTHON_RULES and
            t.label.startswith(f'//{package}:')}
    loaded = set()
    for label, symbols in loaded_symbols:
      if label == RULES_PYTHON:
        loaded |= symbols
    problems += [f'{build}: {kind} is used but not loaded from '
                 f'{RULES_PYTHON}' for kind in sorted(used - loaded)]
  return problems


def check_library_coverage(root, targets):
  owners = _owners(targets)
  binaries = set(_binaries(root))
  problems = []
  for top in build_files.PACKAGE_ROOTS:
    for path in _files(root, f'{top}/**/*.py'):
      names = owners.get(path, [])
      if not names:
        problems.append(f'{path} is in no py_library' + (
            ' or py_binary' if path in binaries else ''))
      elif len(names) > 1:
        problems.append(f'{path} is in several targets: {names}')
  return problems


def check_binaries(root, targets):
  mains = {_main(t) for t in targets.values() if t.kind == 'py_binary'}
  return [f'{path} has no py_binary' for path in _binaries(root)
          if path not in mains]


def check_tests(root, targets):
  problems = []
  tested = set()
  for target in targets.values():
    if target.kind != 'py_test':
      continue
    if _main(target) != PYTEST_MAIN:
      problems.append(f'{target.label}: main is {_main(target)}, not '
                      f'{PYTEST_MAIN} (test files have no __main__)')
    elif len(target.args) != 1 or target.args[0] not in target.srcs:
      problems.append(f'{target.label}: args must be [its test file], which '
                      f'is in srcs; got {target.args}')
    else:
      tested.add(target.args[0])
  problems += [f'{path} has no py_test'
               for path in _files(root, 'tests/**/test_*.py')
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
        problems.append(f'{target.label}: main {target.main} is not in srcs')
    for path in files:
      if path.startswith((':', '//', '@')):
        continue
      if not (pathlib.Path(root) / path).is_file():
        problems.append(f'{target.label}: {path} does not exist')
  return problems


def check_deps(targets):
  problems = []
  for target in targets.values():
    for dep in target.deps + [d for d in target.data if d.startswith('//')]:
      if not dep.startswith('//'):
        continue
      if dep not in targets:
        problems.append(f'{target.label}: dep {dep} is not defined')
      elif dep == target.label:
        problems.append(f'{target.label} depends on itself')
      elif (targets[dep].testonly and not target.testonly and
            target.kind != 'py_test'):
        problems.append(
            f'{target.label} is not testonly but depends on testonly {dep}')
  return problems


def check_cycles(targets):
  """A problem per dependency cycle among local targets (Bazel refuses
  to analyse a target on one)."""
  problems, state = [], {}  # state: 1 on the current path, 2 done.

  def visit(label, path):
    state[label] = 1
    for dep in targets[label].deps:
      if dep not in targets or dep == label:
        continue
      if state.get(dep) == 1:
        cycle = path[path.index(dep):] + [dep]
        problems.append('dependency cycle: ' + ' -> '.join(cycle) +
                        ' (import the module lazily on one side and drop '
                        'that dep)')
      elif dep not in state:
        visit(dep, path + [dep])
    state[label] = 2

  for label in sorted(targets):
    if label not in state:
      visit(label, [label])
  return problems


def check_test_binaries(root, targets):
  """Every binary a test runs is in its data."""
  problems = []
  for target in targets.values():
    if target.kind != 'py_test' or len(target.args) != 1:
      continue
    if not (pathlib.Path(root) / target.args[0]).is_file():
      continue
    wanted = build_files.binaries_of_test(root, target.args[0])
    problems += [f'{target.label}: {target.args[0]} runs bin/{name}.py; add '
                 f'//bin:{name} to data'
                 for name in sorted(wanted)
                 if f'//bin:{name}' not in target.data]
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
      if dep in targets:
        provided.update(targets[dep].srcs)
    for src in target.srcs:
      if not src.endswith('.py') or not (pathlib.Path(root) / src).is_file():
        continue
      for imported in sorted(build_files.project_imports(root, src)):
        if imported in provided:
          continue
        wanted = ', '.join(owners.get(imported, [])) or (
            'a py_library that does not exist yet')
        problems.append(f'{target.label}: {src} imports {imported}; add '
                        f'{wanted} to deps')
      for top in sorted(build_files.third_party_imports(root, src)):
        if build_files.THIRD_PARTY[top] not in target.deps:
          problems.append(f'{target.label}: {src} imports {top}; add '
                          f'{build_files.THIRD_PARTY[top]} to deps')
  return problems


# -- The repository's BUILD files. ---------------------------------------------


@pytest.fixture(scope='module')
def build():
  return parse_build(REPO_ROOT)


def _assert_no_problems(problems):
  assert not problems, 'BUILD problems:\n  ' + '\n  '.join(problems)


def test_every_build_file_is_current():
  _assert_no_problems([
      f'{path} is out of date: run `python -m tools.build_files`'
      for path in build_files.stale(REPO_ROOT)])


def test_one_build_file_per_package(build):
  del build
  packages = {path.rsplit('/', 1)[0] for path in build_paths(REPO_ROOT)
              if '/' in path}
  python = set(build_files.python_packages(REPO_ROOT))
  assert python and python <= packages
  assert packages - python == {'bin', 'tests'}


def test_build_files_load_the_python_rules(build):
  targets, loads = build
  assert all(any(label == RULES_PYTHON for label, _ in found)
             for found in loads.values() if found)
  _assert_no_problems(check_loads(targets, loads))


def test_every_package_file_is_in_exactly_one_target(build):
  targets, _ = build
  assert _files(REPO_ROOT, 'learned_rule/**/*.py')
  _assert_no_problems(check_library_coverage(REPO_ROOT, targets))


def test_every_binary_and_benchmark_has_a_py_binary(build):
  _assert_no_problems(check_binaries(REPO_ROOT, build[0]))


def test_every_test_file_has_a_py_test(build):
  targets, _ = build
  assert _files(REPO_ROOT, 'tests/**/test_*.py')
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
    return Target('py_library', f'//p:{name}', [], [f'//p:{dep}' for dep in
                                                     deps], [], None, False,
                  [])
  targets = {target.label: target for target in (
      library('rules', 'rule_source'), library('rule_source', 'rules'),
      library('cli', 'rules'), library('leaf'))}
  problems = check_cycles(targets)
  assert len(problems) == 1
  assert ('//p:rule_source -> //p:rules -> //p:rule_source' in problems[0] or
          '//p:rules -> //p:rule_source -> //p:rules' in problems[0])
  del targets['//p:rule_source']
  targets['//p:rules'] = library('rules', 'leaf')
  assert not check_cycles(targets)


def test_tests_have_the_binaries_they_run(build):
  _assert_no_problems(check_test_binaries(REPO_ROOT, build[0]))


# -- Self-tests: every check flags a broken fake repository. -------------------


def _write(root, files):
  for path, text in files.items():
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)


_LOAD = ('load("@rules_python//python:defs.bzl", "py_binary", "py_library", '
         '"py_test")\n')

_GOOD_BUILDS = {
    'learned_rule/BUILD': _LOAD + '''
py_library(name = "learned_rule", srcs = ["__init__.py"])

py_library(
    name = "core",
    srcs = ["core.py"],
    deps = [":learned_rule", "@pypi//numpy"],
)

py_library(
    name = "extra",
    srcs = ["extra.py"],
    deps = [":core"],
)
''',
    'bin/BUILD': _LOAD + '''
py_binary(
    name = "run",
    srcs = ["run.py"],
    main = "run.py",
    deps = ["//learned_rule:extra"],
)
''',
    'tests/BUILD': _LOAD + '''
py_library(
    name = "test_support",
    testonly = True,
    srcs = ["helper.py"],
)

py_test(
    name = "test_core",
    srcs = ["pytest_main.py", "unit/test_core.py"],
    main = "pytest_main.py",
    args = ["tests/unit/test_core.py"],
    deps = ["//learned_rule:core", ":test_support", "@pypi//pytest"],
)
''',
}

_GOOD_FILES = {
    'learned_rule/__init__.py': '',
    'learned_rule/core.py': 'import numpy as np\n',
    'learned_rule/extra.py': 'from learned_rule import core\n',
    'bin/run.py': 'from learned_rule import extra\n',
    'tests/helper.py': '',
    'tests/pytest_main.py': 'import pytest\n',
    'tests/unit/test_core.py': ('from learned_rule import core\n'
                                'import helper\n'),
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
  _write(tmp_path, dict(_GOOD_FILES, **_GOOD_BUILDS))
  assert _all_problems(tmp_path) == []


@pytest.mark.parametrize('extra_files,build_edit,expected', [
    ({'learned_rule/orphan.py': ''}, None, 'orphan.py is in no py_library'),
    ({'learned_rule/sub/__init__.py': ''}, None,
     'sub/__init__.py is in no py_library'),
    ({}, ('learned_rule/BUILD', 'srcs = ["extra.py"]',
          'srcs = ["extra.py", "core.py"]'), 'several targets'),
    ({'bin/other.py': ''}, None, 'bin/other.py has no py_binary'),
    ({'benchmarks/speed.py': ''}, None, 'benchmarks/speed.py has no py_binary'),
    ({'tests/unit/test_new.py': ''}, None,
     'tests/unit/test_new.py has no py_test'),
    ({'tests/fixtures.py': ''}, None, 'no testonly py_library'),
    ({}, ('bin/BUILD', 'srcs = ["run.py"]', 'srcs = ["gone.py"]'),
     'does not exist'),
    ({}, ('learned_rule/BUILD', 'deps = [":core"]', 'deps = [":kore"]'),
     '//learned_rule:kore is not defined'),
    ({}, ('learned_rule/BUILD', 'deps = [":core"]',
          'deps = [":core", "//tests:test_support"]'), 'depends on testonly'),
    ({}, ('learned_rule/BUILD', 'deps = [":core"]', 'deps = []'),
     'imports learned_rule/core.py; add //learned_rule:core'),
    ({}, ('tests/BUILD', '":test_support", ', ''),
     'imports tests/helper.py; add //tests:test_support'),
    ({}, ('tests/BUILD', ', "@pypi//pytest"', ''), 'add @pypi//pytest'),
    ({}, ('tests/BUILD', 'main = "pytest_main.py"',
          'main = "unit/test_core.py"'),
     '//tests:test_core: main is tests/unit/test_core.py, not '
     'tests/pytest_main.py'),
    ({}, ('tests/BUILD', 'args = ["tests/unit/test_core.py"]',
          'args = ["tests/helper.py"]'), 'args must be [its test file]'),
    # Split literals: this file must not look as if it ran bin/run.py.
    ({'tests/unit/test_core.py': (_GOOD_FILES['tests/unit/test_core.py'] +
                                  "run_repo_binary(" "'run')\n")}, None,
     'tests/unit/test_core.py runs bin/run.py; add //bin:run to data'),
    ({'tests/unit/test_core.py': (_GOOD_FILES['tests/unit/test_core.py'] +
                                  "BINARY = os.path.join('bin', "
                                  "'run.py')\n")},
     None, 'tests/unit/test_core.py runs bin/run.py; add //bin:run to data'),
    ({'tests/conftest.py': ("def run_once():\n"
                            "  return run_repo_binary(\n      'run')\n"),
      'tests/unit/test_core.py': (_GOOD_FILES['tests/unit/test_core.py'] +
                                  'def test_it(run_once):\n  pass\n')},
     None, 'tests/unit/test_core.py runs bin/run.py; add //bin:run to data'),
    ({}, ('learned_rule/BUILD', ', "@pypi//numpy"', ''), 'add @pypi//numpy'),
    ({}, ('bin/BUILD', '"py_binary", ', ''), 'bin/BUILD: py_binary is used'),
])
def test_self_check_flags_a_broken_tree(tmp_path, extra_files, build_edit,
                                        expected):
  builds = dict(_GOOD_BUILDS)
  if build_edit is not None:
    path, old, new = build_edit
    assert old in builds[path]
    builds[path] = builds[path].replace(old, new, 1)
  files = dict(_GOOD_FILES, **builds)
  files.update(extra_files)
  _write(tmp_path, files)
  problems = _all_problems(tmp_path)
  assert any(expected in problem for problem in problems), problems


def test_self_check_rejects_duplicate_targets(tmp_path):
  builds = dict(_GOOD_BUILDS)
  builds['bin/BUILD'] += '\npy_library(name = "run", srcs = [])\n'
  _write(tmp_path, dict(_GOOD_FILES, **builds))
  with pytest.raises(ValueError, match='twice'):
    parse_build(tmp_path)


def test_a_stale_build_file_is_found(tmp_path, monkeypatch):
  # The generator's own check, on a copy of its output with one edit.
  written = build_files.build_files(REPO_ROOT)
  monkeypatch.setattr(build_files, 'build_files',
                      lambda root=None: written)
  for path, text in written.items():
    _write(tmp_path, {path: text})
  for top in build_files.PACKAGE_ROOTS + ('bin', 'tests'):
    (tmp_path / top).mkdir(exist_ok=True)
  assert build_files.stale(tmp_path) == []
  (tmp_path / 'learned_rule/model/BUILD').write_text('# edited\n')
  _write(tmp_path, {'tests/model/BUILD': '# no package of ours\n'})
  assert build_files.stale(tmp_path) == ['learned_rule/model/BUILD',
                                         'tests/model/BUILD']
