r"""Bad inputs, each through a real binary or the public API (issue 15).

:data:`CASES` (:mod:`reliability.bad_input_cases`) is a table of bad
inputs: misspelled or mistyped gin, unknown
and unprepared datasets, every kind of bad data of one's own
(``imagedir:``, ``npz:``, ``textdir:``), damaged and foreign SavedModels,
widths that do not fit the rule, unusable run directories, bad flags, a
checkpoint of another configuration and Debian's Fashion-MNIST given as
archives. :func:`run_cases` runs each in a fresh process with a timeout;
an input is rejected cleanly when the process exits non-zero in time,
prints no Python traceback and says the fix (the case's ``expect``).

A public-API case runs a snippet under ``python -c`` that prints the
ValueError it expects (every package error is one: ``RuleLoadError``,
``OwnDataError``, ``ConfigError`` ...) and exits 1; any other exception
escapes with its traceback, which counts as unclean. Run alone:

  .venv/bin/python -m reliability.bad_inputs --work_dir=/tmp/bad \
      --only=gin_misspelled_parameter,npz_missing_keys
"""

import concurrent.futures
import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

from reliability import bad_input_cases
from reliability import bad_input_files

Case = bad_input_cases.Case
CASES = bad_input_cases.CASES
KINDS = bad_input_cases.KINDS
REPO_ROOT = bad_input_files.REPO_ROOT
TRACEBACK = 'Traceback (most recent call last)'
DEFAULT_TIMEOUT = 60
# Lines of standard error a result keeps as its message.
MESSAGE_LINES = 6


def _environment(work_dir):
  """The environment of every case: no GPU, TensorFlow's log level as a
  user has it, and an empty TFDS data directory (nothing is prepared)."""
  env = dict(os.environ, CUDA_VISIBLE_DEVICES='')
  env.pop('TF_CPP_MIN_LOG_LEVEL', None)
  tfds_dir = pathlib.Path(work_dir) / 'empty_tfds'
  tfds_dir.mkdir(parents=True, exist_ok=True)
  env['TFDS_DATA_DIR'] = str(tfds_dir)
  return env


# Stand for a case's scratch directory and the checkout in what the
# results record, so that they hold no machine's paths.
WORK_PLACEHOLDER = '$WORK'
REPO_PLACEHOLDER = '$REPO'


def shown_text(text, work):
  """``text`` with ``work`` and the checkout's path as placeholders."""
  return text.replace(str(work), WORK_PLACEHOLDER).replace(
      str(REPO_ROOT), REPO_PLACEHOLDER)


def shown_command(argv, work):
  """The command of a case as the results record it: run from the
  repository root with ``python``, paths as in :func:`shown_text`."""
  return shlex.join(['python'] + [shown_text(arg, work) for arg in argv])


def run_case(case, work_dir, timeout=DEFAULT_TIMEOUT):
  """Sets up and runs ``case`` in ``work_dir/<name>``; returns its result
  dict (see :func:`run_cases`)."""
  work = pathlib.Path(work_dir).absolute() / case.name
  work.mkdir(parents=True, exist_ok=True)
  result = {'name': case.name, 'kind': case.kind,
            'family': case.family or case.kind, 'command': None,
            'returncode': None, 'seconds': 0.0, 'clean': False,
            'reason': '', 'message': ''}
  try:
    argv = [str(arg) for arg in case.setup(work)]
  except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as e:
    result['reason'] = f'setup failed: {type(e).__name__}: {e}'
    return result
  command = [sys.executable, *argv]
  result['command'] = shown_command(argv, work)
  start = time.monotonic()
  try:
    done = subprocess.run(command, cwd=REPO_ROOT, env=_environment(work_dir),
                          capture_output=True, text=True, timeout=timeout,
                          check=False)
  except subprocess.TimeoutExpired as expired:
    result['seconds'] = round(time.monotonic() - start, 1)
    result['reason'] = f'timed out after {timeout} s'
    result['message'] = shown_text(_tail(expired.stderr), work)
    return result
  result['seconds'] = round(time.monotonic() - start, 1)
  result['returncode'] = done.returncode
  output = done.stdout + done.stderr
  result['message'] = shown_text(_tail(done.stderr or done.stdout), work)
  reasons = []
  if done.returncode == 0:
    reasons.append('accepted (exit code 0)')
  if TRACEBACK in output:
    reasons.append('printed a traceback')
  if not case.found(output):
    reasons.append(f'no {getattr(case.expect, "pattern", case.expect)!r} in '
                   f'the output')
  result['clean'] = not reasons
  result['reason'] = '; '.join(reasons)
  return result


def _tail(text, lines=MESSAGE_LINES):
  if isinstance(text, bytes):
    text = text.decode('utf-8', errors='replace')
  return '\n'.join((text or '').strip().splitlines()[-lines:])


def run_cases(work_dir, timeout=DEFAULT_TIMEOUT, log=print, only=None,
              jobs=2):
  """Runs the cases of :data:`CASES` (those named in ``only``, if given).

  Args:
    work_dir: Where each case writes its files (``work_dir/<name>/``).
    timeout: Seconds each case may run.
    log: Called with one line per finished case.
    only: Optional names of the cases to run.
    jobs: Cases run at once.

  Returns:
    One dict per case, in table order: ``name``, ``kind``, ``family``,
    ``command``, ``returncode`` (None on a timeout), ``seconds``, ``clean``
    (non-zero exit in time, no traceback, the expected message),
    ``reason`` (why not clean) and ``message`` (the last lines of standard
    error).
  """
  chosen = [case for case in CASES if only is None or case.name in only]
  unknown = sorted(set(only or ()) - {case.name for case in CASES})
  if unknown:
    raise ValueError(f'Unknown cases {unknown}.')
  with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
    futures = [pool.submit(run_case, case, work_dir, timeout)
               for case in chosen]
    results = []
    for future in futures:
      result = future.result()
      reason = f': {result["reason"]}' if result['reason'] else ''
      log(f'{"ok  " if result["clean"] else "FAIL"} {result["name"]} '
          f'({result["seconds"]} s){reason}')
      results.append(result)
  return results


def summary(results):
  """``{'tried', 'rejected_cleanly', 'failures': [{name, reason,
  message}]}`` of :func:`run_cases`' results."""
  return {'tried': len(results),
          'rejected_cleanly': sum(result['clean'] for result in results),
          'failures': [{key: result[key]
                        for key in ('name', 'reason', 'message')}
                       for result in results if not result['clean']]}


def main(argv):
  """Runs the table (or ``--only`` cases) and prints the results."""
  import argparse  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--work_dir', required=True)
  parser.add_argument('--only', default='',
                      help='Comma-separated case names (default: all).')
  parser.add_argument('--timeout', type=float, default=DEFAULT_TIMEOUT)
  parser.add_argument('--jobs', type=int, default=2)
  parser.add_argument('--output_json', default=None)
  args = parser.parse_args(argv)
  only = [name for name in args.only.split(',') if name] or None
  start = time.monotonic()
  results = run_cases(args.work_dir, args.timeout, only=only, jobs=args.jobs)
  total = summary(results)
  print(f'\n{"case":<36} {"kind":<10} {"exit":>4} {"s":>5}  clean')
  for result in results:
    print(f'{result["name"]:<36} {result["kind"]:<10} '
          f'{str(result["returncode"]):>4} {result["seconds"]:>5}  '
          f'{"yes" if result["clean"] else "NO: " + result["reason"]}')
  for failure in total['failures']:
    print(f'\n{failure["name"]}: {failure["reason"]}\n{failure["message"]}')
  print(f'\n{total["rejected_cleanly"]} of {total["tried"]} bad inputs '
        f'rejected cleanly in {time.monotonic() - start:.0f} s.')
  if args.output_json:
    pathlib.Path(args.output_json).write_text(json.dumps(
        {**total, 'results': results}, indent=1))
  return 0 if total['rejected_cleanly'] == total['tried'] else 1


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
