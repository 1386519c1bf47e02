"""Resident memory of this process, for the meta-gradient measurements.

The peak mark is VmHWM of /proc/self/status: what ``getrusage(RUSAGE_SELF)
.ru_maxrss`` reports for a process not forked from a larger one. A fork +
exec child's ``ru_maxrss`` starts at its parent's peak, so it is only
recorded; systems without /proc fall back to it.
"""

import resource
import sys


def proc_status_mb(field):
  """A memory field (e.g. 'VmRSS', 'VmHWM') of /proc/self/status, or None."""
  try:
    with open('/proc/self/status') as f:
      for line in f:
        if line.startswith(field + ':'):
          return int(line.split()[1]) / 2**10  # Reported in kB.
  except OSError:
    pass
  return None


def ru_maxrss_mb():
  """The peak resident set of ``getrusage(RUSAGE_SELF)``, in MB."""
  # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
  unit = 1 if sys.platform == 'darwin' else 2**10
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20


def reset_peak_rss():
  """Resets the kernel's peak-RSS mark to the current RSS (Linux >= 4.0)."""
  try:
    with open('/proc/self/clear_refs', 'w') as f:
      f.write('5')
    return True
  except OSError:
    return False


def peak_rss_mb():
  """Peak resident set of this process's address space, in MB.

  ``ru_maxrss`` is the same kernel mark, but a child created by fork + exec
  inherits the parent's peak in it, so a subprocess of a large parent reads
  the parent's value; VmHWM belongs to the address space created by exec.
  """
  peak = proc_status_mb('VmHWM')
  return ru_maxrss_mb() if peak is None else peak
