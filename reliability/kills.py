"""SIGKILLs of meta-training at random moments, and the restarts after them.

A *life* is one start of ``bin/meta_train.py`` (or of a local cluster) on a
run directory, ended by a SIGKILL at a moment drawn from
:data:`MOMENTS`: any time, or while a checkpoint or an export is being
written (seen as its temporary, ``.tmp-*``, appearing; where the kill
landed is read back from the temporaries it left). After each kill every
checkpoint and export of the run must read back (:mod:`integrity`), and
the next life must resume from the newest checkpoint. A deterministic run
(``--deterministic``) killed again and again must end with θ bit-equal to
an uninterrupted run's.
"""

import dataclasses
import os
import signal
import time

from reliability import integrity
from reliability import processes
from learned_rule.storage import run_dirs
from learned_rule.training import checkpoints
from learned_rule.training import meta_trainer

MOMENTS = ('random', 'checkpoint write', 'export write')

# meta_train/tiny.gin, as often written as it can be: a checkpoint every θ
# update and an export every third, so that kills land in both writes.
TINY_FLAGS = ('--gin_file=meta_train/tiny.gin', '--checkpoint_every_steps=1',
              '--export_every_steps=3', '--filters_every_steps=0',
              '--keep_checkpoints=2', '--nobatch_tasks', '--deterministic')
# meta_train/cpu.gin, the config of the shipped rules, sequential (no XLA
# compile at each start).
CPU_FLAGS = ('--gin_file=meta_train/cpu.gin', '--checkpoint_every_steps=1',
             '--export_every_steps=2', '--filters_every_steps=0',
             '--keep_checkpoints=2', '--nobatch_tasks')
# The parameter-server cluster: a chief, 2 workers, 1 parameter server.
CLUSTER_FLAGS = ('--gin_file=meta_train/tiny.gin',
                 '--checkpoint_every_steps=1', '--export_every_steps=1000',
                 '--filters_every_steps=0', '--worker_intra_op_threads=1')
CLUSTER_LAUNCHER = ('--workers=2', '--ps=1', '--grace_seconds=5')

# Seconds: the longest a life may take to reach the moment it is killed at,
# and to finish once it is not killed.
_MOMENT_TIMEOUT = 120
_RUN_TIMEOUT = 900


@dataclasses.dataclass
class Life:
  """One start of a run and how it ended.

  Attributes:
    run: Which campaign run ('tiny', 'cpu', 'cluster').
    moment: Where the kill was aimed (one of MOMENTS, or a cluster role).
    landed: Where it landed: 'checkpoint write', 'export write' (a
      temporary of that write was left), 'between writes', or 'ended
      first' (the run ended before the kill).
    killed: Whether a SIGKILL ended the life.
    seconds: From start to the kill or the end.
    resume_expected: The newest complete checkpoint at the start.
    resumed: Whether the life resumed from it (None: killed before it
      reached that point, or nothing to resume).
    corrupt: Checkpoints or exports unreadable after the life.
    status: The exit status of a life that ended on its own.
  """
  run: str
  moment: str
  landed: str = ''
  killed: bool = False
  seconds: float = 0.0
  resume_expected: int = None
  resumed: bool = None
  corrupt: list = dataclasses.field(default_factory=list)
  status: int = None


def _resumed(output, expected):
  """Whether a life's log shows the resume from ``expected``; None where it
  did not get that far."""
  if expected is None:
    return None
  if f'Resumed from step {expected} ' in output:
    return True
  if 'Resumed from step' in output or 'Saved checkpoint' in output:
    return False
  return None


def _wait_for(process, root_dir, moment, rng, window):
  """Sleeps until ``moment`` of the life of ``process``; False if it ended.

  'random' is a uniform time in the first ``window`` seconds (tiny.gin
  starts in ~10 s, cpu.gin in ~45 s); a write is the 1st, 2nd or 3rd new temporary of that kind to
  appear (so that lives make progress), then a random fraction of the time
  such a write takes.
  """
  if moment == 'random':
    return processes.sleep_unless_ended(process, rng.uniform(1.0, window))
  kind = moment.split()[0]
  seen = set(integrity.writes_in_flight(root_dir)[kind])
  writes = rng.randint(1, 3)
  deadline = time.monotonic() + _MOMENT_TIMEOUT
  while process.poll() is None and time.monotonic() < deadline:
    new = integrity.writes_in_flight(root_dir)[kind] - seen
    seen |= new
    writes -= len(new)
    if writes <= 0:
      # A checkpoint is written in milliseconds, a SavedModel in seconds.
      time.sleep(rng.uniform(0.0, 0.002 if kind == 'checkpoint' else 1.5))
      break
    time.sleep(0.0005)
  return process.poll() is None


def _landed(before, after):
  for kind in ('checkpoint', 'export'):
    if after[kind] - before[kind]:
      return f'{kind} write'
  return 'between writes'


def _record_end(life, root_dir, log_path, started):
  life.seconds = round(time.monotonic() - started, 2)
  life.resumed = _resumed(processes.read(log_path), life.resume_expected)
  found = integrity.check_run(root_dir)
  life.corrupt = found['corrupt_checkpoints'] + found['corrupt_exports']


def kill_lives(root_dir, log_dir, flags, num_steps, moments, rng, run, log,
               window=25.0):
  """Starts ``bin/meta_train.py`` and kills it, once per moment.

  A life that ends before its kill (the run reached ``num_steps``) is
  recorded and its moment tried again, up to as many extra lives as there
  are moments.

  Returns:
    The list of :class:`Life`.
  """
  lives, pending, spare = [], list(moments), len(moments)
  while pending:
    moment = pending[0]
    index = len(lives)
    life = Life(run, moment, resume_expected=integrity.latest_step(root_dir))
    log_path = os.path.join(log_dir, f'{run}-life-{index:02d}.log')
    before = integrity.writes_in_flight(root_dir)
    started = time.monotonic()
    process = processes.start(processes.command(
        'meta_train', f'--root_dir={root_dir}', f'--num_steps={num_steps}',
        *flags), log_path)
    if _wait_for(process, root_dir, moment, rng, window):
      processes.kill_group(process)
      life.killed = True
      life.landed = _landed(before, integrity.writes_in_flight(root_dir))
      pending.pop(0)
    else:
      life.status = processes.finish(process, _RUN_TIMEOUT)
      life.landed = 'ended first'
      spare -= 1
      if spare < 0:
        pending.pop(0)
    _record_end(life, root_dir, log_path, started)
    log(f'  {run} life {index}: kill aimed at {moment}, landed '
        f'{life.landed} after {life.seconds:.1f} s; checkpoint '
        f'{integrity.latest_step(root_dir)}; resumed {life.resumed}; '
        f'corrupt {len(life.corrupt)}')
    lives.append(life)
  return lives


def finish_run(root_dir, log_path, argv, run):
  """The last life: runs to the end. Returns ``(Life, exit status)``."""
  life = Life(run, 'none', landed='ended first',
              resume_expected=integrity.latest_step(root_dir))
  started = time.monotonic()
  status = processes.finish(processes.start(argv, log_path), _RUN_TIMEOUT)
  life.status = status
  _record_end(life, root_dir, log_path, started)
  return life, status


def theta(root_dir):
  """θ in the newest checkpoint of a run, tensor by tensor."""
  _, arrays, _ = checkpoints.CheckpointManager(
      run_dirs.path(root_dir, run_dirs.CHECKPOINTS)).restore()
  return meta_trainer.saved_theta(arrays)


def bit_equal(first, second):
  """Whether two lists of arrays are equal, dtypes and bits."""
  return len(first) == len(second) and all(
      a.dtype == b.dtype and a.shape == b.shape and
      a.tobytes() == b.tobytes() for a, b in zip(first, second))


def deterministic_campaign(work_dir, kills, num_steps, rng, log):
  """``kills`` lives of a deterministic tiny.gin run, then its end, against
  an uninterrupted run. Returns a dict for the report."""
  log_dir = os.path.join(work_dir, 'logs')
  reference = os.path.join(work_dir, 'tiny-reference')
  argv = processes.command('meta_train', f'--root_dir={reference}',
                           f'--num_steps={num_steps}', *TINY_FLAGS)
  _, status = finish_run(reference, os.path.join(log_dir, 'tiny-ref.log'),
                         argv, 'tiny')
  if status != 0:
    raise RuntimeError(f'The uninterrupted tiny.gin run failed ({status}); '
                       f'see {log_dir}/tiny-ref.log')
  root = os.path.join(work_dir, 'tiny')
  moments = [MOMENTS[index % len(MOMENTS)] for index in range(kills)]
  rng.shuffle(moments)
  lives = kill_lives(root, log_dir, TINY_FLAGS, num_steps, moments, rng,
                     'tiny', log)
  last, status = finish_run(
      root, os.path.join(log_dir, 'tiny-last.log'),
      processes.command('meta_train', f'--root_dir={root}',
                        f'--num_steps={num_steps}', *TINY_FLAGS), 'tiny')
  lives.append(last)
  return {'lives': lives, 'finished': status == 0,
          'theta_bit_equal': status == 0 and bit_equal(theta(root),
                                                       theta(reference)),
          'reference': reference}


def plain_campaign(work_dir, run, flags, kills, num_steps, rng, log):
  """``kills`` lives of a run that is not compared bit for bit."""
  log_dir = os.path.join(work_dir, 'logs')
  root = os.path.join(work_dir, run)
  moments = [rng.choice(MOMENTS) for _ in range(kills)]
  lives = kill_lives(root, log_dir, flags, num_steps, moments, rng, run, log,
                     window=90.0)
  step = integrity.latest_step(root) or 0
  last, status = finish_run(
      root, os.path.join(log_dir, f'{run}-last.log'),
      processes.command('meta_train', f'--root_dir={root}',
                        f'--num_steps={step + 1}', *flags), run)
  return {'lives': lives + [last], 'finished': status == 0}


def _wait_for_progress(root_dir, launcher, since, timeout=_MOMENT_TIMEOUT * 3):
  """Waits for a checkpoint newer than ``since``; False if the launcher
  ended or the time ran out."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline and launcher.poll() is None:
    if (integrity.latest_step(root_dir) or -1) > (since or -1):
      return True
    time.sleep(0.2)
  return False


def cluster_campaign(work_dir, roles, rng, log):
  """Kills the chief or a worker of a local parameter-server cluster once
  per role, after it has made progress; the launcher is started again."""
  log_dir = os.path.join(work_dir, 'logs')
  root = os.path.join(work_dir, 'cluster')
  lives = []

  def launcher_argv(num_steps):
    return processes.command(
        'launch_local_cluster', *CLUSTER_LAUNCHER, '--',
        f'--root_dir={root}', f'--num_steps={num_steps}', *CLUSTER_FLAGS)

  for index, role in enumerate(roles):
    life = Life('cluster', role, resume_expected=integrity.latest_step(root))
    log_path = os.path.join(log_dir, f'cluster-life-{index:02d}.log')
    started = time.monotonic()
    launcher = processes.start(launcher_argv(1000), log_path)
    pid = None
    if (_wait_for_progress(root, launcher, life.resume_expected) and
        processes.sleep_unless_ended(launcher, rng.uniform(0.0, 3.0))):
      pid = processes.cluster_task_pid(root, role)
    if pid is not None:
      os.kill(pid, signal.SIGKILL)
      life.killed = True
      life.landed = 'between writes'
      processes.finish(launcher, _MOMENT_TIMEOUT)
    else:
      life.landed = 'ended first'
      processes.kill_group(launcher)
    _record_end(life, root, log_path, started)
    log(f'  cluster life {index}: {role} killed {life.killed} after '
        f'{life.seconds:.1f} s; checkpoint {integrity.latest_step(root)}; '
        f'resumed {life.resumed}; corrupt {len(life.corrupt)}')
    lives.append(life)
  step = integrity.latest_step(root) or 0
  last, status = finish_run(root, os.path.join(log_dir, 'cluster-last.log'),
                            launcher_argv(step + 2), 'cluster')
  return {'lives': lives + [last], 'finished': status == 0}


def summarize(campaigns):
  """The kill rows of the report, from the campaigns' dicts."""
  lives = [life for campaign in campaigns for life in campaign['lives']]
  killed = [life for life in lives if life.killed]
  checked = [life for life in lives if life.resumed is not None]
  return {
      'kills': len(killed),
      'kills_by_landing': {
          landing: sum(life.landed == landing for life in killed)
          for landing in sorted({life.landed for life in killed})},
      'kills_survived': sum(not life.corrupt for life in killed),
      'corrupt': sum(len(life.corrupt) for life in lives),
      'resumes_checked': len(checked),
      'resumes_matched': sum(bool(life.resumed) for life in checked),
      'runs_finished': sum(bool(c['finished']) for c in campaigns),
      'lives_failed': sum(life.status not in (None, 0) for life in lives),
      'runs': len(campaigns),
      'lives': [dataclasses.asdict(life) for life in lives],
  }
