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
