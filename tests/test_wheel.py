"""The wheel: built from a copy of the source tree, it holds the package,
its gin configs, every file of the shipped rules, the licence and one
console script per binary (`.ci/wheel_check.sh` installs and runs it)."""

import configparser
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from learned_rule import console_scripts
from learned_rule import rules
from learned_rule.rules import manifest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NOT_SOURCES = shutil.ignore_patterns('.venv', '.git', 'runs', 'build', 'dist',
                                      '*.egg-info', '__pycache__', 'bazel-*')


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
  """The names in a wheel built offline from a copy of this checkout."""
  source = tmp_path_factory.mktemp('source') / 'learned_rule'
  shutil.copytree(REPO, source, ignore=_NOT_SOURCES)
  output = tmp_path_factory.mktemp('wheel')
  result = subprocess.run(
      [sys.executable, '-m', 'pip', 'wheel', str(source), '--no-deps',
       '--no-build-isolation', '--no-index', '-w', str(output), '-q'],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  [path] = output.glob('learned_rule-*.whl')
  with zipfile.ZipFile(path) as archive:
    names = set(archive.namelist())
    [entry_points] = [n for n in names if n.endswith('/entry_points.txt')]
    scripts = configparser.ConfigParser()
    scripts.read_string(archive.read(entry_points).decode('utf-8'))
  return names, dict(scripts['console_scripts'])


def test_the_wheel_holds_every_gin_config_under_its_name(wheel):
  # The top-level gin_configs/ ships as learned_rule/gin_configs/.
  names, _ = wheel
  root = os.path.join(REPO, 'gin_configs')
  configs = {
      'learned_rule/gin_configs/' + os.path.relpath(
          os.path.join(parent, name), root).replace(os.sep, '/')
      for parent, _, files in os.walk(root) for name in files
      if name.endswith('.gin')}
  assert len(configs) > 20
  assert configs - names == set()


def test_the_wheel_holds_every_file_of_every_shipped_rule(wheel):
  names, _ = wheel
  for name in rules.available():
    directory = f'learned_rule/rules/{name}'
    listed = manifest.read(os.path.join(REPO, *directory.split('/')))
    expected = {f'{directory}/{relative}' for relative in listed}
    expected.add(f'{directory}/{manifest.FILENAME}')
    assert expected - names == set(), name


def test_the_wheel_has_the_licence_scripts_and_no_tests(wheel):
  names, scripts = wheel
  assert any(n.endswith('.dist-info/LICENSE') for n in names)
  assert scripts == dict(entry.split('=') for entry in
                         console_scripts.entry_points())
  assert not any(n.startswith(('tests/', 'bin/', 'benchmarks/'))
                 for n in names)
