"""SIGKILLs of the evaluation binaries (transfer, ablation) and their
resumes.

An evaluation writes each finished cell (one method × setting) under
``cells/`` the moment it is done. A killed run started again must keep
those files as they are (not recompute them: same bytes, same
modification time), say so (``Resuming: k of n``), and end with the cells
of an uninterrupted run.
"""

import hashlib
import os
import re
import time

from reliability import processes
from learned_rule.storage import atomic_files
from learned_rule.storage import run_dirs

# (binary, gin file) of each evaluation, at the sizes of the tests.
EVALUATIONS = {
    'transfer': ('transfer_eval', 'transfer/tiny.gin'),
    'ablation': ('permuted_ablation', 'ablation/tiny.gin'),
}
_TIMEOUT = 900
_RESUMING = re.compile(r'Resuming: (\d+) of (\d+)')


def cells(root_dir):
  """``{name: (modification time, sha256)}`` of the finished cells.

  Read while an evaluation may be writing: its temporary files
  (:data:`atomic_files.TEMPORARY_PREFIX`) are not cells, and a file that
  vanishes between the listing and the read was one of them.
  """
  directory = run_dirs.path(root_dir, run_dirs.CELLS)
  if not os.path.isdir(directory):
    return {}
  found = {}
  for name in sorted(os.listdir(directory)):
    if not name.endswith('.json') or name.startswith(
        atomic_files.TEMPORARY_PREFIX):
      continue
    path = os.path.join(directory, name)
    try:
      with open(path, 'rb') as stream:
        digest = hashlib.sha256(stream.read()).hexdigest()
        found[name] = (os.fstat(stream.fileno()).st_mtime_ns, digest)
    except FileNotFoundError:
      continue
  return found


def command(evaluation, root_dir, rule):
  """The command line of ``evaluation`` of ``rule`` into ``root_dir``."""
  binary, gin_file = EVALUATIONS[evaluation]
  return processes.command(binary, f'--rule={rule}', f'--root_dir={root_dir}',
                           f'--gin_file={gin_file}')


def kill_evaluation(work_dir, evaluation, rule, kills, rng, log):
  """Kills ``evaluation`` ``kills`` times, each after a new cell at a
  random moment, then lets it finish; compares with an uninterrupted run.

  Returns:
    A dict for the report: kills, cells kept untouched against those
    finished before the kills, whether every restart said it resumed them,
    cells equal to the uninterrupted run's.
  """
  log_dir = os.path.join(work_dir, 'logs')
  reference = os.path.join(work_dir, f'{evaluation}-reference')
  status, _ = processes.run(command(evaluation, reference, rule),
                            os.path.join(log_dir, f'{evaluation}-ref.log'),
                            _TIMEOUT)
  if status != 0:
    raise RuntimeError(f'The uninterrupted {evaluation} run failed '
                       f'({status}); see {log_dir}/{evaluation}-ref.log')
  root = os.path.join(work_dir, evaluation)
  kept, killed, resumes, resumes_said = {}, 0, 0, 0
  for index in range(kills + 1):
    before = cells(root)
    log_path = os.path.join(log_dir, f'{evaluation}-life-{index:02d}.log')
    process = processes.start(command(evaluation, root, rule), log_path)
    if index < kills:
      deadline = time.monotonic() + _TIMEOUT
      while (process.poll() is None and time.monotonic() < deadline and
             len(cells(root)) <= len(before)):
        time.sleep(0.05)
      if processes.sleep_unless_ended(process, rng.uniform(0.0, 3.0)):
        processes.kill_group(process)
        killed += 1
    else:
      status = processes.finish(process, _TIMEOUT)
    output = processes.read(log_path)
    if before:
      resumes += 1
      said = _RESUMING.search(output)
      resumes_said += bool(said and int(said.group(1)) >= len(before))
    kept.update(before)
    log(f'  {evaluation} life {index}: {len(cells(root))} cells done')
  now = cells(root)
  untouched = sum(now.get(name) == stamp for name, stamp in kept.items())
  expected = cells(reference)
  equal = sum(now.get(name, (0, ''))[1] == digest
              for name, (_, digest) in expected.items())
  return {'evaluation': evaluation, 'kills': killed, 'finished': status == 0,
          'cells': len(expected), 'cells_kept': len(kept),
          'cells_untouched': untouched, 'resumes': resumes,
          'resumes_said': resumes_said, 'cells_equal_to_uninterrupted': equal}
