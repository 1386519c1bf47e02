"""How every binary starts: without TensorFlow's start-up noise.

TensorFlow's native libraries print, while they load and when they first
look for devices, lines that say nothing to a user of a CPU machine
(oneDNN's numerics note, "Could not find cuda drivers", a failed
``cuInit``, the CPU instruction sets of the build). They are written to the
process's standard error before ``TF_CPP_MIN_LOG_LEVEL`` takes effect, so
:func:`run` imports TensorFlow and lists its devices with file descriptor 2
redirected, then passes on every captured line but those. Python's
``tensorflow`` logger (SavedModel writing, fingerprints) is set to warnings.
Native info lines after start-up (XLA's) are hidden with
``TF_CPP_MIN_LOG_LEVEL=1`` unless the environment sets it. ``-v 1`` (absl's
``--verbosity``) shows all of it.

With ``--log_dir``, absl's log lines go to files there (and to the
terminal too with ``--alsologtostderr``).

An error ends a binary with one message and a status that says what kind
of failure it was (:mod:`exits`); ``--verbose`` adds the traceback.
SIGTERM stops a binary as Ctrl-C does, with status 75.
"""

import contextlib
import logging as python_logging
import os
import sys
import tempfile

from absl import app
from absl import flags
from absl import logging

from learned_rule.cli import exits

flags.DEFINE_bool('verbose', False,
                  'On an error, print the Python traceback as well as the '
                  'message.')

# Substrings of the native start-up lines that are dropped.
NOISE = (
    'All log messages before absl::InitializeLog() is called',
    'oneDNN custom operations are on',
    'Could not find cuda drivers',
    'failed call to cuInit',
    'cpu_feature_guard.cc',
    'To enable the following instructions:',
    'Unable to register cu',  # cuDNN/cuFFT/cuBLAS factories, CUDA builds.
    'TF-TRT Warning',
)


@contextlib.contextmanager
def native_stderr_filtered(noise=NOISE):
  """Captures file descriptor 2 and passes on the lines without ``noise``."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as capture:
    os.dup2(capture.fileno(), 2)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      capture.seek(0)
      text = capture.read().decode('utf-8', errors='replace')
      kept = [line for line in text.splitlines(keepends=True)
              if not any(part in line for part in noise)]
      sys.stderr.write(''.join(kept))
      sys.stderr.flush()


class _TensorFlowInfoFilter(python_logging.Filter):
  """Drops the info lines that TensorFlow's Python code logs through absl
  (checkpoint sharding, SavedModel assets and fingerprints)."""

  def filter(self, record):
    return (record.levelno > python_logging.INFO or
            f'{os.sep}tensorflow{os.sep}' not in record.pathname)


def quiet_tensorflow():
  """Imports TensorFlow and finds its devices, without the start-up noise;
  TensorFlow's own info lines are dropped from then on."""
  if logging.get_verbosity() >= logging.DEBUG:
    return
  # Native info lines after start-up too (XLA's service and compiles);
  # warnings and errors stay. A value set by the user wins.
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
  with native_stderr_filtered():
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    tf.config.list_physical_devices()
  python_logging.getLogger('tensorflow').setLevel(python_logging.WARNING)
  logging.get_absl_handler().addFilter(_TensorFlowInfoFilter())


def _help_of(module_name):
  """Makes ``--help`` describe ``module_name`` and its flags.

  absl's ``--help`` prints ``__main__``'s docstring and the flags defined by
  the file that was run; that file is a console script or a ``bin/``
  launcher, which defines none. The binary's docstring and the flags of
  every ``learned_rule.cli`` module it loaded are given to it instead.
  """
  sys.modules['__main__'].__doc__ = sys.modules[module_name].__doc__
  script = sys.argv[0]
  for module, module_flags in flags.FLAGS.flags_by_module_dict().items():
    if module.startswith('learned_rule.cli') and module != script:
      for flag in module_flags:
        flags.FLAGS.register_key_flag_for_module(script, flag)


def run(main, uses_tensorflow=True):
  """``app.run(main)``, TensorFlow quieted once the flags are parsed.

  ``--help`` describes the binary and its flags, and it and flag errors
  answer before TensorFlow is imported. A binary that never loads
  TensorFlow (``uses_tensorflow=False``) skips the import. Errors are
  reported by :func:`exits.reporting_errors`.
  """
  _help_of(main.__module__)
  binary = os.path.basename(sys.argv[0])

  def quiet_main(argv):
    with exits.reporting_errors(binary, flags.FLAGS.verbose):
      exits.stop_on_sigterm()
      if flags.FLAGS.log_dir:
        # absl writes log files only when asked; then --alsologtostderr
        # copies them to the terminal.
        logging.get_absl_handler().use_absl_log_file()
      if uses_tensorflow:
        quiet_tensorflow()
      return main(argv)

  app.run(quiet_main)
