"""Two runs on one run directory: the second is refused, the first goes on.

For meta-training and for a transfer evaluation, a second run is started
on the directory of a live one. It must end at once with a non-zero
status and the message that the directory is in use (no traceback), and
the first must finish as if nothing happened.
"""

import os
import time

from reliability import evaluation_kills
from reliability import integrity
from reliability import kills
from reliability import processes
from learned_rule import export
from learned_rule.storage import run_dirs

_TIMEOUT = 600
_IN_USE = 'is in use by a live'


def _live(kind, root_dir):
  """Whether the first run is far enough to hold its lock."""
  if kind == 'meta-training':
    return export.is_export(run_dirs.path(root_dir, run_dirs.EXPORT_INIT))
  return bool(evaluation_kills.cells(root_dir))


def _argv(kind, root_dir, rule):
  if kind == 'meta-training':
    return processes.command('meta_train', f'--root_dir={root_dir}',
                             '--num_steps=4', *kills.TINY_FLAGS)
  return evaluation_kills.command('transfer', root_dir, rule)


def pair(kind, work_dir, rule, log):
  """Starts a run of ``kind``, then a second on its directory."""
  root = os.path.join(work_dir, f'concurrent-{kind}')
  logs = os.path.join(work_dir, 'logs')
  first = processes.start(_argv(kind, root, rule),
                          os.path.join(logs, f'concurrent-{kind}-1.log'))
  deadline = time.monotonic() + _TIMEOUT
  while (first.poll() is None and time.monotonic() < deadline and
         not _live(kind, root)):
    time.sleep(0.05)
  second_live = first.poll() is None
  status, output = processes.run(
      _argv(kind, root, rule),
      os.path.join(logs, f'concurrent-{kind}-2.log'), _TIMEOUT)
  first_status = processes.finish(first, _TIMEOUT)
  found = integrity.check_run(root) if kind == 'meta-training' else {}
  result = {
      'run': kind, 'first_was_live': second_live,
      'second_refused': (status not in (0, None) and _IN_USE in output and
                         'Traceback' not in output),
      'first_finished': first_status == 0,
      'corrupt': len(found.get('corrupt_checkpoints', []) +
                     found.get('corrupt_exports', [])),
      'message': [line for line in output.splitlines() if _IN_USE in line][:1]}
  log(f'  two {kind} runs: second refused {result["second_refused"]}, '
      f'first finished {result["first_finished"]}')
  return result


def campaign(work_dir, rule, log):
  return [pair(kind, work_dir, rule, log)
          for kind in ('meta-training', 'transfer evaluation')]
