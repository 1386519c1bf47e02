"""The package's layers: each module imports only its own layer and those
below it, and training and evaluation stay unaware of each other
(DESIGN §7)."""

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'learned_rule')

# Module-name prefixes, lowest layer first.
LAYERS = (
    ('learned_rule.version', 'learned_rule.atomic_files',
     'learned_rule.file_io', 'learned_rule.progress', 'learned_rule.run_dirs',
     'learned_rule.activations', 'learned_rule.configuration',
     'learned_rule.cluster', 'learned_rule.compiled_recompute',
     'learned_rule.console_scripts', 'learned_rule.package_info',
     'learned_rule.hparams', 'learned_rule.run_lock',
     'learned_rule.suggestions'),
    ('learned_rule.data',),
    ('learned_rule.rule', 'learned_rule.base_model', 'learned_rule.local_dense',
     'learned_rule.meta_objective', 'learned_rule.resources'),
    ('learned_rule.inner_loop', 'learned_rule.batched_loop',
     'learned_rule.tasks', 'learned_rule.export',
     'learned_rule.paper_checkpoint',
     'learned_rule.task_checks', 'learned_rule.task_distribution'),
    ('learned_rule.training', 'learned_rule.evaluation', 'learned_rule.rules',
     'learned_rule.keras_layers'),
    ('learned_rule.cli',),
)
# Side by side in one layer, never importing each other.
SEPARATE = (('learned_rule.training', 'learned_rule.evaluation'),)


def _matches(name, prefix):
  return name == prefix or name.startswith(prefix + '.')


def layer_of(name):
  for index, prefixes in enumerate(LAYERS):
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
