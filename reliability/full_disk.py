"""A disk that fills during a checkpoint, an export and a results write.

Where the campaign may mount (root), each run directory is on a tmpfs of
its own, and once the run has written what must survive, a filler file
takes all the space but a little: less than the next checkpoint (or
export, or cell) needs. Elsewhere the write fails by injection
(:mod:`inject_enospc`). Either way the binary must stop with the disk-full
status (74) and a message that says so, the previous checkpoint, export
or cells must still read back, and once the space is freed the same
command must resume and finish.
"""

import errno
import os
import subprocess
import sys
import time

from reliability import evaluation_kills
from reliability import inject_enospc
from reliability import integrity
from reliability import processes
from learned_rule import export
from learned_rule.storage import run_dirs
from learned_rule.cli import exits

_TIMEOUT = 600
_TMPFS_BYTES = 32 << 20
_CHUNK = 1 << 16

# name → (what fills, extra meta_train flags, what to wait for before
# filling, bytes left free, the injection's (path part, writes let through)).
# A tiny.gin checkpoint is ~100 KiB, an export ~1 MiB, a cell a few KiB.
SCENARIOS = {
    'checkpoint': (('--checkpoint_every_steps=1', '--export_every_steps=1000'),
                   'checkpoint', 40 << 10, ('/ckpt/ckpt-', 2)),
    'export': (('--checkpoint_every_steps=2', '--export_every_steps=2'),
               'export', 400 << 10, (f'/{run_dirs.EXPORT}', 2)),
    'results': ((), 'cell', 0, (f'/{run_dirs.CELLS}/', 1)),
}


def can_mount():
  """Whether this process may mount a tmpfs (root, with the mount tool)."""
  return os.geteuid() == 0 and os.path.exists('/bin/mount')


def _mount(directory):
  os.makedirs(directory, exist_ok=True)
  subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={_TMPFS_BYTES}',
                  'tmpfs', directory], check=True, capture_output=True)


def _unmount(directory):
  subprocess.run(['umount', directory], check=False, capture_output=True)


def fill(directory, leave):
  """Writes ``directory/filler`` until ``leave`` bytes are free (or none)."""
  path = os.path.join(directory, 'filler')
  stat = os.statvfs(directory)
  remaining = max(stat.f_bavail * stat.f_frsize - leave, 0)
  with open(path, 'ab') as stream:
    while remaining > 0:
      try:
        stream.write(b'\0' * min(_CHUNK, remaining))
        stream.flush()
      except OSError as error:
        if error.errno != errno.ENOSPC:
          raise
        break
      remaining -= _CHUNK
  return path


def _ready(root_dir, what, cells_at_start):
  if what == 'checkpoint':
    return (integrity.latest_step(root_dir) or 0) >= 2
  if what == 'export':
    return (export.is_export(run_dirs.path(root_dir, run_dirs.EXPORT)) and
            (integrity.latest_step(root_dir) or 0) >= 2)
  return len(evaluation_kills.cells(root_dir)) > cells_at_start


def _argv(name, root_dir, rule):
  if name == 'results':
    return evaluation_kills.command('transfer', root_dir, rule)
  flags, _, _, _ = SCENARIOS[name]
  return processes.command(
      'meta_train', f'--root_dir={root_dir}', '--num_steps=8',
      '--gin_file=meta_train/tiny.gin', '--filters_every_steps=0',
      '--nobatch_tasks', *flags)


def _survivors(name, root_dir):
  """What must still read back: ``(count, corrupt messages)``."""
  if name == 'results':
    return len(evaluation_kills.cells(root_dir)), []
  found = integrity.check_run(root_dir)
  count = found['exports'] if name == 'export' else found['checkpoints']
  return count, found['corrupt_checkpoints'] + found['corrupt_exports']


def scenario(name, work_dir, rule, mount, log):
  """Fills the disk under one run; returns a dict for the report."""
  _, what, leave, (match, after) = SCENARIOS[name]
  root = os.path.join(work_dir, f'full-{name}')
  log_path = os.path.join(work_dir, 'logs', f'full-{name}.log')
  argv = _argv(name, root, rule)
  env = None
  if mount:
    _mount(root)
  else:
    os.makedirs(root, exist_ok=True)
    env = processes.environment(**{inject_enospc.MATCH: match,
                                   inject_enospc.AFTER: str(after)})
    argv = [sys.executable, inject_enospc.__file__, *argv[1:]]
  try:
    process = processes.start(argv, log_path, env)
    filler = None
    if mount:
      deadline = time.monotonic() + _TIMEOUT
      while (process.poll() is None and time.monotonic() < deadline and
             not _ready(root, what, 0)):
        time.sleep(0.05)
      filler = fill(root, leave)
    status = processes.finish(process, _TIMEOUT)
    output = processes.read(log_path)
    survived, corrupt = _survivors(name, root)
    if filler:
      os.remove(filler)
    resume_log = log_path.replace('.log', '-resume.log')
    expected = (len(evaluation_kills.cells(root)) if name == 'results'
                else integrity.latest_step(root))
    resumed_status, resumed_output = processes.run(
        _argv(name, root, rule), resume_log, _TIMEOUT)
  finally:
    if mount:
      _unmount(root)
  said = ('the disk is full' in output and
          'run the same command again' in output)
  resumed = (f'Resuming: {expected} of' in resumed_output
             if name == 'results' else
             f'Resumed from step {expected} ' in resumed_output)
  result = {
      'write': name, 'how': 'tmpfs' if mount else 'injected ENOSPC',
      'status': status, 'stopped_with_74': status == exits.EXIT_DISK_FULL,
      'message_says_why': said, 'traceback': 'Traceback' in output,
      'previous_survived': survived > 0 and not corrupt,
      'resumed': resumed and resumed_status == 0,
      'message': [line for line in output.splitlines()
                  if 'disk is full' in line][:1]}
  log(f'  full disk during {name} ({result["how"]}): status {status}, '
      f'survived {result["previous_survived"]}, resumed {result["resumed"]}')
  return result


def campaign(work_dir, rule, log):
  mount = can_mount()
  return [scenario(name, work_dir, rule, mount, log) for name in SCENARIOS]
