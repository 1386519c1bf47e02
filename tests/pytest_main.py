"""Runs one test file under pytest: the main of every py_test in BUILD.

The test files are pytest modules without a ``__main__`` block, so a py_test
runs this file with its test file as the first argument (``args`` in BUILD);
any further arguments go to pytest. It also works from a checkout:

    python tests/pytest_main.py tests/update_rule/test_rule_config.py -k merge

Under ``bazel test``, pytest writes its JUnit XML where Bazel asks
(``$XML_OUTPUT_FILE``), so Bazel reports each test case, and
``--test_filter=EXPRESSION`` selects tests as pytest's ``-k`` does.
"""

import os
import sys

import pytest

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv):
  if len(argv) < 2:
    sys.exit(f'usage: {argv[0]} tests/<package>/test_<name>.py [pytest arguments]')
  test_file = argv[1]
  if not os.path.isabs(test_file) and not os.path.exists(test_file):
    test_file = os.path.join(_REPO_ROOT, test_file)
  args = [test_file, '-q', '-rs', f'--rootdir={_REPO_ROOT}',
          # Bazel's runfiles are rebuilt on each change; a cache is no use.
          '-p', 'no:cacheprovider']
  xml_output = os.environ.get('XML_OUTPUT_FILE')
  if xml_output:
    args.append(f'--junitxml={xml_output}')
  test_filter = os.environ.get('TESTBRIDGE_TEST_ONLY')
  if test_filter:
    args += ['-k', test_filter]
  return pytest.main(args + argv[2:])


if __name__ == '__main__':
  sys.exit(main(sys.argv))
