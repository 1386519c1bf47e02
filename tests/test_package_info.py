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
