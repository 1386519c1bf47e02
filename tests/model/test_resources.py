"""The memory estimate of a rule step, and its check before a run."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from learned_rule.model import resources

REPO = REPO_ROOT
GIB = 2**30
# The paper's evaluation model (spec §8.1): 196 inputs, widths, batch, H.
PAPER_EVAL = dict(input_dim=196, widths=(128,) * 4 + (32,), batch_size=128,
                  hidden_size=64)


def test_estimate_grows_with_width_depth_and_batch():
  base = resources.inner_step_bytes(64, (32, 32, 4), 16, 8)
  assert base > 0
  assert resources.inner_step_bytes(64, (64, 32, 4), 16, 8) > base
  assert resources.inner_step_bytes(64, (32, 64, 4), 16, 8) > base
  assert resources.inner_step_bytes(128, (32, 32, 4), 16, 8) > base
  assert resources.inner_step_bytes(64, (32, 32, 32, 4), 16, 8) > base
  assert resources.inner_step_bytes(64, (32, 32, 4), 32, 8) > base
  assert resources.inner_step_bytes(64, (32, 32, 4), 16, 16) > base


@pytest.mark.parametrize('width', [2048, 4096])
def test_estimate_is_quadratic_in_the_width_of_wide_layers(width):
  # width ≫ batch × H = 4: the synapse-sized terms dominate.
  narrow = resources.inner_step_bytes(64, (width, width, 4), 2, 2)
  wide = resources.inner_step_bytes(64, (2 * width, 2 * width, 4), 2, 2)
  assert 3.5 < wide / narrow < 4.5


def test_estimate_is_linear_in_batch_for_narrow_layers():
  # Few synapses, many units × examples: the per-unit terms dominate.
  small = resources.inner_step_bytes(8, (8, 4), 1000, 64)
  large = resources.inner_step_bytes(8, (8, 4), 2000, 64)
  assert 1.9 < large / small <= 2.0


def test_check_fits_returns_the_estimate_when_it_fits():
  estimate = resources.check_fits(64, (32, 4), 16, 8, available=GIB)
  assert estimate == resources.inner_step_bytes(64, (32, 4), 16, 8)


def test_check_fits_uses_the_memory_of_this_machine_by_default():
  assert resources.available_bytes() > 0
  assert resources.check_fits(64, (8, 4), 4, 2) == (
      resources.inner_step_bytes(64, (8, 4), 4, 2))


def test_check_fits_refuses_what_does_not_fit():
  widths = (4096, 4096, 32)
  estimate = resources.inner_step_bytes(784, widths, 128, 64)
  with pytest.raises(ValueError) as error:
    resources.check_fits(784, widths, 128, 64, available=estimate)
  message = str(error.value)
  assert 'GiB' in message
  assert '(4096, 4096, 32)' in message
  assert '784 inputs' in message and 'batch 128' in message
  # Just enough: usable fraction of the available memory.
  enough = estimate / resources.USABLE_FRACTION + 1
  assert resources.check_fits(784, widths, 128, 64,
                              available=enough) == estimate


def test_the_paper_evaluation_model_fits_in_one_gib():
  estimate = resources.check_fits(**PAPER_EVAL, available=GIB)
  assert 0 < estimate < resources.USABLE_FRACTION * GIB


# ------------------------------------------------------------- calibration

# A moderately wide model: 512-wide hidden layers (synapse-sized terms) on
# 1024 inputs (the [n_in, n_in] readouts of the first layer).
CALIBRATION = dict(input_dim=1024, widths=(512, 512, 4), batch_size=32,
                   hidden_size=6)

# Run in a fresh process, so that the peak resident memory (VmHWM, a
# high-water mark) is this measurement's alone. A tiny model of the same
# depth is unrolled first, so that imports and first-call costs are paid
# before the measured unroll; tracing the new model (≈30 MiB, measured)
# stays in the measurement, which makes the check stricter. Two threads per
# pool, as on a small machine, so that the peak does not depend on the
# machine's core count.
_MEASURE = r'''
import json, sys
import numpy as np
import tensorflow as tf
from learned_rule.model import base_model
from learned_rule.unroll import inner_loop
from learned_rule.update_rule import config
from learned_rule.update_rule import rule
tf.config.threading.set_inter_op_parallelism_threads(2)
tf.config.threading.set_intra_op_parallelism_threads(2)
input_dim, widths, batch, hidden, steps = json.loads(sys.argv[1])
loop = inner_loop.InnerLoop(rule.UnsupervisedUpdate(config.RuleConfig(
    top_width=widths[-1], hidden_size=hidden, delta_dim=3,
    num_grad_channels=2, top_signal_channels=5)), jit_compile=False)

def unroll(input_dim, widths):
  model = base_model.BaseMLP(input_dim, widths)
  batches = np.random.default_rng(0).normal(
      size=(steps, batch, input_dim)).astype(np.float32)
  state = loop.unroll(model, model.initial_state(0), batches)
  return float(np.sum(state['layers'][0]['kernel'].numpy()))

def status_bytes(field):
  with open('/proc/self/status') as stream:
    for line in stream:
      if line.startswith(field + ':'):
        return 1024 * int(line.split()[1])

unroll(8, [8] * (len(widths) - 1) + [widths[-1]])
# Resets the peak (VmHWM) to the current resident size (Linux >= 4.0), so
# that the peak of the first unroll does not hide the second one's.
with open('/proc/self/clear_refs', 'w') as stream:
  stream.write('5')
before = status_bytes('VmRSS')
unroll(input_dim, widths)
print(json.dumps(status_bytes('VmHWM') - before))
'''


def _peak_increase(input_dim, widths, batch_size, hidden_size, steps=2):
  """Bytes by which one rule unroll raises a fresh process's peak memory."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='',
             PYTHONPATH=REPO)
  result = subprocess.run(
      [sys.executable, '-c', _MEASURE,
       json.dumps([input_dim, list(widths), batch_size, hidden_size, steps])],
      capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
      check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


def test_estimate_is_not_below_the_measured_peak_of_a_rule_unroll():
  """Calibration against a real graph-mode unroll (spec §10)."""
  measured = _peak_increase(**CALIBRATION)
  estimate = resources.inner_step_bytes(**CALIBRATION)
  report = (f'{CALIBRATION}: estimate {estimate / 2**20:.1f} MiB, measured '
            f'{measured / 2**20:.1f} MiB')
  # The measurement sees the wide model at all ...
  assert measured > 0.2 * estimate, report
  # ... and the estimate errs on the side of refusing, but not wildly.
  assert estimate >= measured, report
  assert estimate <= 5 * measured, report


def test_on_a_gpu_the_device_memory_counts_not_the_host(monkeypatch):
  monkeypatch.setattr(resources, '_visible_gpus', lambda: ['GPU:0'])
  queried = []

  def free_mib(index):
    queried.append(index)
    return 512.0

  monkeypatch.setattr(resources, '_nvidia_smi_free_mib', free_mib)
  monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '3,1')
  assert resources.available_bytes() == 512 * 2**20
  assert queried == ['3']  # The first visible GPU, as CUDA numbers it.
  with pytest.raises(ValueError, match='0.5 GiB available'):
    resources.check_fits(784, (4096, 4096, 32), 128, 64)


def test_on_a_cpu_the_host_memory_counts(monkeypatch):
  monkeypatch.setattr(resources, '_visible_gpus', lambda: [])
  monkeypatch.setattr(resources, 'host_available_bytes', lambda: 7 * 2**30)
  assert resources.available_bytes() == 7 * 2**30
  assert resources.peak_device_bytes() is None
