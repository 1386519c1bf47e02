"""The package's layers: each module imports only its own layer and those
below it, and training and evaluation stay unaware of each other
(DESIGN §7)."""

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'learned_rule')

# The layers, lowest first: each is a set of folders (sub-packages) of
# learned_rule, plus the few modules that stay at its root. A module may
# import its own layer and those below it.
LAYERS = (
    {'folders': ('storage', 'cluster'),
     'root': ('version', 'console_scripts', 'package_info', 'suggestions',
              'configuration', 'progress')},
    {'folders': ('data', 'reporting'), 'root': ()},
    {'folders': ('model', 'update_rule'), 'root': ('meta_objective',)},
    {'folders': ('unroll', 'tasks'), 'root': ('export',)},
    {'folders': ('training', 'evaluation', 'rules', 'keras_layers'),
     'root': ()},
    {'folders': ('cli',), 'root': ()},
)
ROOT_MODULES = tuple(f'learned_rule.{name}' for layer in LAYERS
                     for name in layer['root'])
FOLDERS = tuple(f'learned_rule.{name}' for layer in LAYERS
                for name in layer['folders'])
# Side by side in one layer, never importing each other.
SEPARATE = (('learned_rule.training', 'learned_rule.evaluation'),)


def _matches(name, prefix):
  return name == prefix or name.startswith(prefix + '.')


def layer_of(name):
  for index, layer in enumerate(LAYERS):
    prefixes = [f'learned_rule.{entry}' for entry in
                layer['folders'] + layer['root']]
    if any(_matches(name, prefix) for prefix in prefixes):
      return index
  return None


def _modules():
  for directory, _, files in os.walk(PACKAGE):
    for file in files:
      if file.endswith('.py'):
        path = os.path.join(directory, file)
        relative = os.path.relpath(path, os.path.dirname(PACKAGE))
        name = relative[:-3].replace(os.sep, '.')
        yield name.removesuffix('.__init__'), path


def imports_of(path):
  """Every learned_rule module that ``path`` imports (at any depth)."""
  with open(path, encoding='utf-8') as stream:
    tree = ast.parse(stream.read())
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      found.update(f'{node.module}.{alias.name}' for alias in node.names)
  return {name for name in found if _matches(name, 'learned_rule')}


MODULES = sorted(_modules())


def test_every_module_has_a_layer():
  assert [name for name, _ in MODULES if name != 'learned_rule' and
          layer_of(name) is None] == []


def test_modules_live_in_folders_but_for_a_few_at_the_root():
  # A new module goes into the folder of its layer; the root keeps only
  # the modules named in LAYERS.
  loose = [name for name, _ in MODULES if name.count('.') == 1 and
           name not in ROOT_MODULES and name not in FOLDERS]
  assert loose == []
  assert len(ROOT_MODULES) <= 8


def test_every_folder_is_a_package_with_a_layer():
  folders = sorted(entry.name for entry in os.scandir(PACKAGE)
                   if entry.is_dir() and entry.name not in (
                       '__pycache__',) and
                   os.path.exists(os.path.join(entry.path, '__init__.py')))
  assert folders == sorted(name.split('.')[1] for name in FOLDERS)


def test_reporting_imports_neither_evaluation_nor_training():
  for name, path in MODULES:
    if _matches(name, 'learned_rule.reporting'):
      assert not [imported for imported in imports_of(path) if any(
          _matches(imported, f'learned_rule.{layer}')
          for layer in ('evaluation', 'training'))], name


@pytest.mark.parametrize('name, path', MODULES, ids=[n for n, _ in MODULES])
def test_imports_respect_the_layers(name, path):
  own = layer_of(name)
  if own is None:
    return
  upward = [imported for imported in imports_of(path)
            if (layer_of(imported) or 0) > own]
  assert upward == [], f'{name} imports a higher layer: {upward}'
  for group in SEPARATE:
    for mine in group:
      if _matches(name, mine):
        others = [imported for imported in imports_of(path)
                  for other in group if other != mine and
                  _matches(imported, other)]
        assert others == [], f'{name} imports {others}'


def test_the_checker_sees_a_violation(tmp_path):
  path = tmp_path / 'module.py'
  path.write_text('from learned_rule.evaluation import paired\n'
                  'import learned_rule.cli.meta_train\n')
  assert imports_of(str(path)) == {'learned_rule.evaluation.paired',
                                   'learned_rule.cli.meta_train'}
  assert layer_of('learned_rule.evaluation.paired') == layer_of(
      'learned_rule.training.loop')
  assert layer_of('learned_rule.data.sampling') < layer_of(
      'learned_rule.meta_objective')
  assert layer_of('learned_rule.loose_module') is None
