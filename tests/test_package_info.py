"""What results record about the code: the package version everywhere, the
git revision where there is a checkout."""

import os
import shutil
import subprocess
import sys

from learned_rule import package_info
from learned_rule import version


def test_stamp_holds_the_version_and_this_checkouts_revision():
  stamp = package_info.stamp()
  assert stamp['package_version'] == version.__version__
  head = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True,
                        text=True, check=True,
                        cwd=os.path.dirname(__file__)).stdout.strip()
  assert stamp['git_revision'].removesuffix('+dirty') == head
  assert package_info.describe() == (
      f'learned_rule {version.__version__}, revision {stamp["git_revision"]}')


def test_outside_a_checkout_the_revision_is_unknown(tmp_path):
  # A copy of the package, as an installed wheel has it: no .git above.
  package = os.path.dirname(os.path.abspath(package_info.__file__))
  shutil.copytree(package, tmp_path / 'learned_rule',
                  ignore=shutil.ignore_patterns('rules', '__pycache__'))
  result = subprocess.run(
      [sys.executable, '-c', 'from learned_rule import package_info; '
       'print(package_info.stamp())'],
      cwd=tmp_path, capture_output=True, text=True, check=False,
      env=dict(os.environ, PYTHONPATH=str(tmp_path)))
  assert result.returncode == 0, result.stderr
  assert "'git_revision': 'unknown'" in result.stdout
  assert f"'package_version': '{version.__version__}'" in result.stdout


def test_invocation_reads_as_the_command_one_would_type_again():
  assert package_info.invocation(
      ['bin/transfer_eval.py', '--rule=cpu_160min',
       '--gin_bindings=TransferConfig.seeds = (0, 1)']) == (
           "python bin/transfer_eval.py --rule=cpu_160min "
           "'--gin_bindings=TransferConfig.seeds = (0, 1)'")
  assert package_info.invocation(
      ['/venv/bin/learned-rule-meta-train', '--root_dir=runs/a']) == (
          'learned-rule-meta-train --root_dir=runs/a')


def test_provenance_says_where_when_and_how():
  found = package_info.provenance(['bin/paired_eval.py', '--rule=x'])
  assert found['command'] == 'python bin/paired_eval.py --rule=x'
  assert found['date'].endswith('+00:00') and found['date'][:4].isdigit()
  assert found['git_revision'] == package_info.stamp()['git_revision']


def _commit_all(directory):
  for args in (['add', '-A'], ['-c', 'user.name=t', '-c', 'user.email=t@t',
                               'commit', '-q', '-m', 'x']):
    subprocess.run(['git', *args], cwd=directory, check=True,
                   capture_output=True)


def test_only_code_changes_make_a_revision_dirty(tmp_path):
  subprocess.run(['git', 'init', '-q'], cwd=tmp_path, check=True)
  files = {'learned_rule/code.py': 'a = 1\n', 'gin/run.gin': 'x.y = 1\n',
           'results/r/results.json': '{}\n', 'long_run/run/config.gin': '\n',
           'docs/notes.md': 'text\n', 'README.md': 'text\n'}
  for name, text in files.items():
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text)
  _commit_all(tmp_path)
  inside = tmp_path / 'learned_rule'
  clean = package_info.revision_of(inside)
  assert len(clean) == 40 and not clean.endswith('+dirty')
  # Outputs and prose: results, the long run's checkpoint, any .md.
  for name in ('results/r/results.json', 'long_run/run/config.gin',
               'docs/notes.md', 'README.md'):
    (tmp_path / name).write_text('changed\n')
  (tmp_path / 'results/new.json').write_text('{}\n')
  assert package_info.revision_of(inside) == clean
  for name in ('learned_rule/code.py', 'gin/run.gin'):
    _commit_all(tmp_path)
    revision = package_info.revision_of(inside)
    (tmp_path / name).write_text('changed = 2\n')
    assert package_info.revision_of(inside) == revision + '+dirty'


def test_outside_git_the_revision_of_a_folder_is_unknown(tmp_path):
  assert package_info.revision_of(tmp_path) == package_info.UNKNOWN_REVISION
