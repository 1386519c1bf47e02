"""The processes of a local parameter-server cluster.

:class:`ProcessGroup` starts one subprocess per task of a cluster (parameter
servers, then workers, then the chief), all with the same command and each
with its own TF_CONFIG. Each one's output (stdout and stderr) goes to
``<log_dir>/<role>-<index>.log`` and to the launcher's stdout, every line
prefixed with ``[worker-0] `` and the like. The group ends when the chief
ends or any other process dies, or when the launcher gets SIGINT (Ctrl-C) or
SIGTERM, which it forwards to the children; then it stops the others:
SIGTERM, and SIGKILL after a grace period (a second Ctrl-C kills at once).

Children run in sessions of their own, so that a terminal's Ctrl-C reaches
them once, through the launcher; on Linux they also get SIGTERM if the
launcher dies. This module imports no TensorFlow.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

from learned_rule.cluster import tf_config

# Exit status of the launcher when a worker or parameter server died first.
OTHER_DIED = 1
_PR_SET_PDEATHSIG = 1  # From <linux/prctl.h>.


def _exit_status(returncode):
  """A process's exit status as a shell reports it (128 + signal)."""
  return 128 - returncode if returncode < 0 else returncode


def _parent_death_signal():
  """A preexec_fn that makes the child get SIGTERM when the launcher dies.

  Resolved here, in the parent: looking symbols up after fork() in a
  threaded process could deadlock.
  """
  if not sys.platform.startswith('linux'):
    return None
  try:
    prctl = ctypes.CDLL(None, use_errno=True).prctl
  except (OSError, AttributeError):
    return None

  def set_parent_death_signal():
    prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

  return set_parent_death_signal


class _Child:
  """One subprocess of the group, its log file and its output reader."""

  def __init__(self, name, process, log_path):
    self.name = name
    self.process = process
    self.log_path = log_path
    self.reader = None

  def running(self):
    return self.process.poll() is None

  def send(self, signum):
    """Signals the child's process group (its own session)."""
    if not self.running():
      return
    with contextlib.suppress(ProcessLookupError, PermissionError):
      os.killpg(self.process.pid, signum)


class ProcessGroup:
  """Runs the tasks of a cluster as subprocesses and stops them together.

  Args:
    cluster: Dict of task type -> addresses (e.g.
      :func:`tf_config.local_cluster_spec`).
    command: The command line every task runs (a list of strings).
    log_dir: Where ``<role>-<index>.log`` go (created).
    grace_seconds: How long a stopping child has to exit after SIGINT or
      SIGTERM before the next signal.
    echo: Text stream for the prefixed output and the group's own
      messages; default ``sys.stdout``.
    environ: Base environment of the children; default ``os.environ``.
    poll_seconds: Interval of the checks for ended processes.
  """

  def __init__(self, cluster, command, log_dir, grace_seconds=10.0,
               echo=None, environ=None, poll_seconds=0.1):
    tf_config.make_tf_config(cluster, tf_config.CHIEF, 0)  # Checks it.
    if not command or isinstance(command, str):
      raise ValueError(f'command must be a non-empty list of arguments; '
                       f'got {command!r}.')
    self.cluster = cluster
    self.command = [str(argument) for argument in command]
    self.log_dir = log_dir
    self.grace_seconds = grace_seconds
    self._echo = echo
    self._environ = os.environ if environ is None else environ
    self._poll_seconds = poll_seconds
    self._lock = threading.Lock()
    self._signals = []
    self._children = []

  def log_path(self, task_type, index):
    """The log file of one task."""
    return os.path.join(self.log_dir,
                        f'{tf_config.task_name(task_type, index)}.log')

  def say(self, message):
    """Writes one line of the group's own to the echo stream."""
    self._write(f'[launcher] {message}\n')

  def _write(self, text):
    stream = self._echo if self._echo is not None else sys.stdout
    with self._lock:
      stream.write(text)
      stream.flush()

  def run(self):
    """Starts every task, waits for the end, stops the rest.

    Call it from the main thread, so that it can handle SIGINT and SIGTERM
    (elsewhere it does not install handlers).

    Returns:
      The chief's exit status when the chief ended first (128 + signal when
      a signal ended it); ``OTHER_DIED`` (1) when another task ended first;
      128 + signal when the launcher got SIGINT or SIGTERM.
    """
    with self._signal_handlers():
      try:
        self._start()
        status = self._watch()
      finally:
        self._stop()
        self._finish()
    return status

  @contextlib.contextmanager
  def _signal_handlers(self):
    if threading.current_thread() is not threading.main_thread():
      yield
      return
    previous = {signum: signal.signal(signum, self._on_signal)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
      yield
    finally:
      for signum, handler in previous.items():
        signal.signal(signum, handler)

  def _on_signal(self, signum, unused_frame):
    self._signals.append(signum)

  def _start(self):
    os.makedirs(self.log_dir, exist_ok=True)
    preexec_fn = _parent_death_signal()
    for task_type, index in tf_config.tasks(self.cluster):
      if self._signals:
        return
      environment = dict(
          self._environ, PYTHONUNBUFFERED='1',
          **{tf_config.ENVIRONMENT_VARIABLE: tf_config.make_tf_config(
              self.cluster, task_type, index)})
      process = subprocess.Popen(  # pylint: disable=consider-using-with
          self.command, env=environment, stdin=subprocess.DEVNULL,
          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
          start_new_session=True, preexec_fn=preexec_fn)
      self._children.append(_Child(tf_config.task_name(task_type, index),
                                   process, self.log_path(task_type, index)))
    # Readers start once every child is forked (no fork beside threads).
    for child in self._children:
      child.reader = threading.Thread(target=self._copy_output, args=(child,),
                                      name=f'output of {child.name}',
                                      daemon=True)
      child.reader.start()

  def _copy_output(self, child):
    """Copies a child's output to its log file and, prefixed, to echo."""
    prefix = f'[{child.name}] '
    with open(child.log_path, 'wb') as log:
      for line in iter(child.process.stdout.readline, b''):
        log.write(line)
        log.flush()
        text = line.decode('utf-8', errors='replace')
        self._write(prefix + text + ('' if text.endswith('\n') else '\n'))

  def _watch(self):
    """Waits until the chief ends, another task dies or a signal comes."""
    chief = tf_config.task_name(tf_config.CHIEF, 0)
    while True:
      if self._signals:
        signum = self._signals[0]
        self.say(f'Got {signal.Signals(signum).name}; forwarding it and '
                 f'stopping the cluster.')
        for child in self._children:
          child.send(signum)
        self._wait(self.grace_seconds)
        return 128 + signum
      ended = [child for child in self._children if not child.running()]
      for child in ended:
        if child.name == chief:
          code = child.process.returncode
          self.say(f'{chief} exited with code {code}; stopping the cluster.')
          return _exit_status(code)
      if ended:
        child = ended[0]
        self.say(f'{child.name} exited with code {child.process.returncode} '
                 f'before the chief ended; stopping the cluster.')
        return OTHER_DIED
      time.sleep(self._poll_seconds)

  def _wait(self, seconds):
    """Waits until every child has exited, or ``seconds``, or a new signal.

    Returns:
      True when every child has exited.
    """
    deadline = time.monotonic() + seconds
    signals = len(self._signals)
    while any(child.running() for child in self._children):
      if time.monotonic() >= deadline or len(self._signals) > signals:
        return False
      time.sleep(self._poll_seconds)
    return True

  def _stop(self):
    """SIGTERM to every running child, then SIGKILL after the grace period.

    A second SIGINT or SIGTERM to the launcher skips to SIGKILL.
    """
    running = [child for child in self._children if child.running()]
    if not running:
      return
    if len(self._signals) < 2:
      for child in running:
        child.send(signal.SIGTERM)
      if self._wait(self.grace_seconds):
        return
    for child in self._children:
      if child.running():
        self.say(f'{child.name} did not stop; killing it.')
        child.send(signal.SIGKILL)
    for child in self._children:
      child.process.wait()

  def _finish(self):
    for child in self._children:
      if child.reader is not None:
        # A grandchild may hold the pipe open; do not wait on it forever.
        child.reader.join(timeout=5.0)
        if child.reader.is_alive():
          continue
      with contextlib.suppress(OSError):
        child.process.stdout.close()


def run_local_cluster(cluster, command, log_dir, **kwargs):
  """Runs ``command`` as every task of ``cluster``; see :class:`ProcessGroup`.

  Returns:
    The exit status of :meth:`ProcessGroup.run`.
  """
  return ProcessGroup(cluster, command, log_dir, **kwargs).run()
