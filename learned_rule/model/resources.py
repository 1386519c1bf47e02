"""Will a base model fit in memory under the rule? An estimate, before
anything is allocated.

The rule's inner step (spec §3) holds, per weight layer, the twelve
[n_in, n_out] weight-update terms, their stack for the learned mixture and
a few more matrices of that size (W, V, w̃, the merged change), plus the
[n, n] readouts and correlation of §3.5; per unit and example it holds the
update network's H-channel activations (§3.3). Spec §10: cost grows with
units × batch, and the synapse-sized terms dominate wide layers. The
estimate counts those dominant terms only, summed over the layers (the
graph executor may update several layers at once: measured, the peak grows
with the number of wide layers); XLA may fuse some away, so it errs on the
side of refusing. tests/model/test_resources.py checks it against the measured
peak of real unrolls.
"""

import os
import subprocess

# §3.5: 12 terms, stacked again for the mixture, plus W, V, w̃, the change
# and its normalisation: ~30 synapse-sized float tensors at once (ours).
SYNAPSE_TENSORS = 30
# §3.5: five [n, n] readouts (two over a layer's inputs, three over its
# outputs) and the correlation of its outputs, each with temporaries while
# symmetrised: ~8 tensors of each size at once (ours; 4 to 7 measured on
# CPU).
CORRELATION_TENSORS = 8
# §3.3: the update network's layers keep a few H-channel activations per
# unit and example (input, conv outputs, h); ours: 8.
UNIT_TENSORS = 8
# Fraction of the available memory a run may plan to use (ours).
USABLE_FRACTION = 0.8


def inner_step_bytes(input_dim, widths, batch_size, hidden_size,
                     bytes_per_float=4):
  """Estimated peak bytes of one rule application to a base model.

  Args:
    input_dim: Input size D.
    widths: Layer widths, the top one last.
    batch_size: Unlabeled batch size B.
    hidden_size: The rule's H (``RuleConfig.hidden_size``).
    bytes_per_float: 4 for float32.

  Returns:
    The estimate in bytes (an int).
  """
  sizes = [int(input_dim)] + [int(w) for w in widths]
  layers = sum(
      SYNAPSE_TENSORS * n_in * n_out +
      CORRELATION_TENSORS * (n_in * n_in + n_out * n_out)
      for n_in, n_out in zip(sizes, sizes[1:]))
  weights = sum(3 * n_in * n_out for n_in, n_out in zip(sizes, sizes[1:]))
  units = UNIT_TENSORS * batch_size * sum(sizes) * hidden_size
  return bytes_per_float * (layers + weights + units)


def _visible_gpus():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf.config.list_physical_devices('GPU')


def _nvidia_smi_free_mib(index):
  """Free memory of GPU ``index`` in MiB from nvidia-smi, or None."""
  try:
    result = subprocess.run(
        ['nvidia-smi', '--query-gpu=memory.free', '--format=csv,noheader,'
         'nounits', f'--id={index}'], capture_output=True, text=True,
        timeout=30, check=True)
    return float(result.stdout.strip().splitlines()[0])
  except (OSError, subprocess.SubprocessError, ValueError, IndexError):
    return None


def device_available_bytes():
  """Free memory of the accelerator a run computes on, or None on a CPU.

  The first visible GPU (as ``CUDA_VISIBLE_DEVICES`` numbers them) is where
  TensorFlow places a step; its free memory is what a base model must fit
  in, not the host's.
  """
  if not _visible_gpus():
    return None
  visible = os.environ.get('CUDA_VISIBLE_DEVICES', '').split(',')[0].strip()
  free = _nvidia_smi_free_mib(visible or '0')
  return None if free is None else int(free * 2**20)


def peak_device_bytes():
  """Peak memory TensorFlow allocated on the first GPU, or None on a CPU."""
  if not _visible_gpus():
    return None
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return int(tf.config.experimental.get_memory_info('GPU:0')['peak'])


def host_available_bytes():
  """Memory available to this process now (MemAvailable), in bytes."""
  try:
    with open('/proc/meminfo') as stream:
      for line in stream:
        if line.startswith('MemAvailable:'):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_AVPHYS_PAGES')


def available_bytes():
  """Memory a rule step may use: the GPU's where one computes, else the
  host's."""
  device = device_available_bytes()
  return host_available_bytes() if device is None else device


def check_fits(input_dim, widths, batch_size, hidden_size, available=None):
  """Raises ValueError, with the estimate, if the model would not fit.

  Args:
    input_dim: Input size.
    widths: Layer widths.
    batch_size: Unlabeled batch size.
    hidden_size: The rule's H.
    available: Bytes available (default: the GPU's free memory where a GPU
      computes, else the host's, :func:`available_bytes`).

  Returns:
    The estimate in bytes.
  """
  estimate = inner_step_bytes(input_dim, widths, batch_size, hidden_size)
  available = available_bytes() if available is None else available
  if estimate > USABLE_FRACTION * available:
    raise ValueError(
        f'A base model of widths {tuple(widths)} on {input_dim} inputs with '
        f'batch {batch_size} needs about {estimate / 2**30:.1f} GiB per rule '
        f'step (estimate), more than {USABLE_FRACTION:.0%} of the '
        f'{available / 2**30:.1f} GiB available; use narrower or fewer '
        f'layers, or a smaller batch.')
  return estimate
