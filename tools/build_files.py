r"""Writes the Bazel BUILD file of every package from the imports of its files.

One BUILD per package: each Python package of the repository
(``learned_rule/**``, ``reliability/``, ``benchmarks/**``, ``tools/``) has
one py_library per module, named after the module, and one for its
``__init__.py``, named after the package, on which the package's modules
depend. ``bin/`` has a py_binary per script; ``tests/`` (with its
subfolders, which mirror the packages) a py_test per ``test_*.py``, which
runs the runner ``tests/pytest_main.py`` with its test file as the only
argument, and testonly libraries for the helpers. Deps are the targets
that own the project files a file imports and the ``@pypi//<name>`` of the
third-party distributions it imports; a test that runs ``bin/<name>.py``
has that binary in its data. The top-level BUILD holds the gin configs.

Run ``python -m tools.build_files`` from the repository root after adding,
moving or changing the imports of a file (``make build-files``);
``--check`` lists the BUILD files that are out of date, and
``tests/test_build_file.py`` fails on them.
"""

import argparse
import ast
import fnmatch
import pathlib
import re
import sys

REPO_ROOT = pathlib.Path(__file__).absolute().parent.parent
RULES_PYTHON = '@rules_python//python:defs.bzl'
PYTEST_MAIN = 'tests/pytest_main.py'

# Top-level import name -> Bazel label of the PyPI distribution that provides
# it (rules_python's pip hub named "pypi", names normalised with
# underscores; WORKSPACE lists the same).
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

# Python packages with a BUILD of their own (every folder below them that
# holds an __init__.py is one too).
PACKAGE_ROOTS = ('learned_rule', 'reliability', 'benchmarks', 'tools')
# Files of those packages that are programs, not libraries.
BINARY_PATTERNS = ('benchmarks/*.py', 'reliability/campaign.py')

# What a file needs at run time besides its imports.
DATA = {
    # The shipped gin files, which every --gin_file=<name> finds.
    'learned_rule/configuration.py': ['//:gin_configs'],
    # The shipped rules, every file of them.
    'learned_rule/rules/__init__.py': 'glob(["*/**"])',
    # Every process it starts runs bin/meta_train.py.
    'bin/launch_local_cluster.py': [':meta_train'],
    # It runs the binaries of bin/ by name.
    'benchmarks/meta_train_throughput.py': ['//:gin_configs', '//bin:scripts'],
}

# The fast unit tests that `make bazel-test` runs (tag "core").
CORE_TESTS = frozenset((
    'test_atomic_files', 'test_base_model', 'test_build_file',
    'test_checkpoints', 'test_gin_configs', 'test_held_out', 'test_layering',
    'test_meta_objective', 'test_probe', 'test_protocol', 'test_published',
    'test_results', 'test_rule_config', 'test_rule_reference',
    'test_run_dirs', 'test_run_lock', 'test_sampling', 'test_schedule',
    'test_statistics', 'test_step_activation', 'test_stop_request',
    'test_suggestions', 'test_summaries', 'test_tasks', 'test_text_directory',
    'test_toy', 'test_transforms'))
# Tests that read the source tree itself: every package's sources.
SOURCE_TREE_TESTS = frozenset(('test_build_file', 'test_docs',
                               'test_layering', 'test_quoted_tables'))

# A literal run of a binary: run_repo_binary('<name>', ...), or its path
# written as 'bin', '<name>.py' (os.path.join) or 'bin' / '<name>.py'.
_RUNS_BINARY = re.compile(
    r"run_repo_binary\(\s*'(\w+)'|'bin'\s*[,/]\s*'(\w+)\.py'")

HEADER = '''# Bazel targets of {package}: written by `python -m tools.build_files`
# from the imports of its files (the top-level BUILD says how).
'''

ROOT_HEADER = '''# Bazel targets of learned_rule: the top level (the gin configs).
#
# Every package has its BUILD file, written by `python -m tools.build_files`
# (`make build-files`) from the imports of its files: one py_library per
# module, named after it, and one per __init__.py, named after the package;
# a py_binary per bin/*.py and benchmarks/*.py; a py_test per
# tests/**/test_*.py, running tests/pytest_main.py on its test file, with
# the binaries it runs in its data. Tests tagged "core" are the fast unit
# tests that `make bazel-test` runs. tests/test_build_file.py checks that
# every BUILD is current and consistent, without Bazel.
#
# Third-party packages are "@pypi//<name>" (the distribution's name,
# lowercase with underscores). WORKSPACE resolves them offline to empty
# targets, since every target runs on the venv's interpreter, which has them
# installed (third_party/bazel/venv.bzl); a new one is also listed there.
'''


# -- Imports. -----------------------------------------------------------------


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
  own directory is on sys.path, from the directory of ``src``; in tests,
  also from ``tests/``, where pytest finds conftest.py and its helpers.
  """
  root = pathlib.Path(root)
  path = root / src
  extra = [root / 'tests'] if src.startswith('tests/') else []
  found = set()
  for candidates, base in _import_candidates(path):
    bases = [base] if base is not None else [root, path.parent] + extra
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


def binaries_run(text):
  """Names of the binaries that source ``text`` runs literally."""
  return {call or path for call, path in _RUNS_BINARY.findall(text)}


def conftest_binaries(root):
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


def binaries_of_test(root, test_file):
  """The binaries a test file runs, itself or through conftest fixtures."""
  text = (pathlib.Path(root) / test_file).read_text()
  wanted = binaries_run(text)
  for fixture, names in conftest_binaries(root).items():
    if re.search(rf'\b{fixture}\b', text):
      wanted |= names
  return wanted


# -- Targets. -----------------------------------------------------------------


class Target:
  """One target of a BUILD file; ``srcs`` are paths inside its package."""

  def __init__(self, kind, name, srcs, main=None, data=None, args=None,
               testonly=False, tags=None):
    self.kind, self.name, self.srcs = kind, name, list(srcs)
    self.main, self.data, self.args = main, data, args
    self.testonly, self.tags = testonly, tags
    self.deps = set()


def python_packages(root):
  """Repository-relative folders of every Python package with a BUILD."""
  root = pathlib.Path(root)
  found = []
  for top in PACKAGE_ROOTS:
    for init in sorted((root / top).rglob('__init__.py')):
      found.append(init.parent.relative_to(root).as_posix())
  return sorted(found)


def _is_binary(path):
  """Whether ``path`` (repository-relative) matches a BINARY_PATTERNS
  entry in its own folder (fnmatch's ``*`` would cross folders)."""
  return any(fnmatch.fnmatch(path, pattern) and '/' not in path[len(
      pattern.rsplit('/', 1)[0]) + 1:] for pattern in BINARY_PATTERNS)


def package_targets(root, package):
  """The targets of Python package ``package`` (``{name: Target}``)."""
  root = pathlib.Path(root)
  directory = root / package
  own = package.rsplit('/', 1)[-1]
  targets = {own: Target('py_library', own, ['__init__.py'])}
  for path in sorted(directory.glob('*.py')):
    if path.name == '__init__.py':
      continue
    name = path.stem
    if name in targets:
      raise ValueError(f'{package}/{path.name}: its target name {name!r} '
                       f'is the package\'s own; rename the module.')
    relative = f'{package}/{path.name}'
    if _is_binary(relative):
      targets[name] = Target('py_binary', name, [path.name], main=path.name)
    else:
      targets[name] = Target('py_library', name, [path.name])
  return targets


def all_targets(root):
  """``{package: {name: Target}}`` of every BUILD file of the repository."""
  root = pathlib.Path(root)
  packages = {package: package_targets(root, package)
              for package in python_packages(root)}
  packages['bin'] = {
      path.stem: Target('py_binary', path.stem, [path.name], main=path.name)
      for path in sorted((root / 'bin').glob('*.py'))}
  tests = {}
  helpers = sorted(path.relative_to(root / 'tests').as_posix()
                   for path in (root / 'tests').glob('*.py')
                   if not path.name.startswith('test_') and
                   path.name != 'pytest_main.py')
  for helper in helpers:  # conftest.py and numpy_reference.py go together.
    name = ('test_support' if helper in ('conftest.py', 'numpy_reference.py')
            else 'test_' + helper[:-3])
    tests.setdefault(name, Target('py_library', name, [], testonly=True))
    tests[name].srcs.append(helper)
  for path in sorted((root / 'tests').rglob('test_*.py')):
    relative = path.relative_to(root / 'tests').as_posix()
    name = path.stem
    if name in tests:
      raise ValueError(f'tests/{relative}: another test file is named '
                       f'{path.name}; test files need distinct names.')
    tests[name] = Target(
        'py_test', name, ['pytest_main.py', relative], main='pytest_main.py',
        args=[f'tests/{relative}'],
        tags=['core'] if name in CORE_TESTS else None)
  packages['tests'] = tests
  _add_deps(root, packages)
  return packages


def _label(package, name):
  return f'//{package}:{name}'


def _add_deps(root, packages):
  """Fills every target's deps and data from the imports of its files."""
  owners = {}
  for package, targets in packages.items():
    for target in targets.values():
      for src in target.srcs:
        owners[f'{package}/{src}'] = (package, target)
  python = set(python_packages(root))
  for package, targets in packages.items():
    parent = package.rsplit('/', 1)[0] if '/' in package else None
    own = package.rsplit('/', 1)[-1]
    init_imports = (project_imports(root, f'{package}/__init__.py')
                    if package in python else set())
    for target in targets.values():
      # A package's modules need its __init__.py, which needs its parent's;
      # a module that the __init__.py imports itself is its dep instead
      # (Bazel forbids the cycle).
      if package in python and target.name != own:
        if f'{package}/{target.srcs[0]}' not in init_imports:
          target.deps.add(f':{own}')
      elif package in python and parent in python:
        target.deps.add(_label(parent, parent.rsplit('/', 1)[-1]))
      for src in target.srcs:
        path = f'{package}/{src}'
        for imported in project_imports(root, path):
          if imported not in owners:
            continue
          dep_package, dep = owners[imported]
          if dep is target:
            continue
          target.deps.add(f':{dep.name}' if dep_package == package else
                          _label(dep_package, dep.name))
        for top in third_party_imports(root, path):
          target.deps.add(THIRD_PARTY[top])
      if target.kind == 'py_test':
        # pytest loads tests/conftest.py (autouse fixtures) for every test.
        target.deps.add(':test_support')
        binaries = binaries_of_test(root, target.args[0])
        data = [f'//bin:{name}' for name in sorted(binaries)]
        if target.name in SOURCE_TREE_TESTS:
          data += ['//:sources'] + [f'//{p}:sources' for p in sorted(packages)
                                    if p != 'tests'] + [':sources']
        target.data = data or None
      elif f'{package}/{target.srcs[0]}' in DATA:
        target.data = DATA[f'{package}/{target.srcs[0]}']


# -- Rendering. ---------------------------------------------------------------


def _dep_key(dep):
  # Local targets first, then other packages, then third party.
  return (dep.startswith('@'), dep.startswith('//'), dep)


def _list(values, indent='    '):
  if not values:
    return '[]'
  if len(values) == 1:
    return f'["{values[0]}"]'
  inner = ''.join(f'{indent}    "{value}",\n' for value in values)
  return f'[\n{inner}{indent}]'


def render_target(target):
  lines = [f'{target.kind}(', f'    name = "{target.name}",',
           f'    srcs = {_list(target.srcs)},']
  if target.main:
    lines.append(f'    main = "{target.main}",')
  if target.args:
    lines.append(f'    args = {_list(target.args)},')
  if target.testonly:
    lines.append('    testonly = True,')
  if target.tags:
    lines.append(f'    tags = {_list(target.tags)},')
  if target.data:
    data = (target.data if isinstance(target.data, str) else
            _list(target.data))
    lines.append(f'    data = {data},')
  lines.append(f'    deps = {_list(sorted(target.deps, key=_dep_key))},')
  lines.append(')')
  return '\n'.join(lines) + '\n'


def _sources(pattern):
  return ('# This package\'s files, for the tests that read the source '
          'tree.\nfilegroup(\n    name = "sources",\n'
          f'    srcs = ["BUILD"] + glob({_list(pattern)}),\n)\n')


def render(package, targets):
  """The text of ``package``'s BUILD file."""
  kinds = sorted({target.kind for target in targets.values()})
  symbols = ', '.join(f'"{kind}"' for kind in kinds)
  parts = [HEADER.format(package=package + '/'),
           f'load("{RULES_PYTHON}", {symbols})\n',
           'package(default_visibility = ["//visibility:public"])\n']
  if package == 'bin':
    parts.append('# The scripts as files, for programs that run them by '
                 'path.\nfilegroup(\n    name = "scripts",\n'
                 '    srcs = glob(["*.py"]),\n)\n')
  parts.append(_sources(['**/*.py'] if package == 'tests' else ['*.py']))
  parts += [render_target(target) for _, target in sorted(targets.items())]
  return '\n'.join(parts)


def render_root():
  return '\n'.join([
      ROOT_HEADER,
      'package(default_visibility = ["//visibility:public"])\n',
      '# The shipped gin configs (learned_rule/configuration.py finds them).'
      '\nfilegroup(\n    name = "gin_configs",\n'
      '    srcs = glob(["gin_configs/**/*.gin"]),\n)\n',
      _sources(['*.py', '*.ini', '*.md', 'Makefile', '*.mk', 'docs/**/*.md',
                'results/**', 'long_run/**'])])


def build_files(root=REPO_ROOT):
  """``{repository-relative BUILD path: text}`` of every BUILD file."""
  files = {'BUILD': render_root()}
  for package, targets in all_targets(root).items():
    files[f'{package}/BUILD'] = render(package, targets)
  return files


def stale(root=REPO_ROOT):
  """BUILD paths whose committed text differs from what is written here,
  and BUILD files below the Python folders that no package owns."""
  root = pathlib.Path(root)
  wanted = build_files(root)
  found = [path for path, text in wanted.items()
           if not (root / path).is_file() or (root / path).read_text() != text]
  for top in PACKAGE_ROOTS + ('bin', 'tests'):
    for path in (root / top).rglob('BUILD'):
      relative = path.relative_to(root).as_posix()
      if relative not in wanted:
        found.append(relative)
  return sorted(found)


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--check', action='store_true',
                      help='List the BUILD files out of date; exit 1 if any.')
  args = parser.parse_args(argv)
  if args.check:
    paths = stale()
    for path in paths:
      print(f'{path} is out of date: run python -m tools.build_files')
    return 1 if paths else 0
  wanted = build_files()
  for path in stale():
    if path in wanted:
      (REPO_ROOT / path).write_text(wanted[path])
      print(f'wrote {path}')
    else:
      (REPO_ROOT / path).unlink()
      print(f'removed {path}')
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
