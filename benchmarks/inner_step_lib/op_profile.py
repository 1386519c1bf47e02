"""Where the time of a rule step goes, by op class, from the TF profiler.

:func:`profile_calls` runs a function under ``tf.profiler.experimental``
and reads back the XSpace it wrote. Every op event on the host's compute
threads is charged its *self* time (its duration minus that of the events
nested in it on the same thread), so wrappers such as a while loop's body
are not counted twice. Graph-mode events are named ``scope/op:Type``; XLA
events carry an HLO instruction, whose TF op name comes from the HLO
module the profiler stores with the trace.

:func:`op_class` sorts an op into the classes of the README's profile
table by its type first (layout ops: transposes, concatenations, copies,
pads) and then by the Keras scope that made it (spec §3.1–§3.7, §5).
"""

import collections
import glob
import os
import tempfile

import tensorflow as tf
from tensorflow.compiler.xla.service import hlo_pb2
from tensorflow.tsl.profiler.protobuf import xplane_pb2

# Op types (graph) and HLO opcodes or fusion-name parts (XLA) that only
# move data: the "transposes and copies" class.
LAYOUT_TYPES = ('Transpose', 'ConjugateTranspose', 'ConcatV2', 'Pad',
                'PadV2', 'Tile', 'BroadcastTo', 'Slice', 'StridedSlice',
                'Pack', 'Unpack', 'Split', 'SplitV', 'GatherV2', 'Copy',
                'Identity', 'Reshape', 'ExpandDims', 'Squeeze')
LAYOUT_HLO = ('transpose', 'copy', 'concatenate', 'pad', 'slice',
              'broadcast', 'reshape', 'bitcast', 'gather', 'tuple',
              'get-tuple-element', 'dynamic-slice', 'dynamic-update-slice')
# Op types and opcodes of dense arithmetic (convolutions, matmuls).
DENSE_TYPES = ('Conv', 'MatMul', 'Einsum')
DENSE_HLO = ('convolution', 'dot', 'custom-call')

# (class, scope fragments): the first class whose fragment is in the op's
# scope wins; order matters (a unit conv is inside the update network).
SCOPE_CLASSES = (
    ('batch norm (θ)', ('/bn_', 'input_bn', '_bn/')),
    ('update network: unit convs', ('unit_conv',)),
    ('update network: batch convs', ('update_network',)),
    ('top signal', ('top_signal',)),
    ('downward signal', ('downward_signal',)),
    ('readouts and terms', ('weight_terms',)),
    ('merge', ('weight_merge',)),
    ('bias rule', ('bias_rule',)),
    ('meta-objective (ridge solve)', ('meta_objective',)),
    ('base model forward', ('local_dense', 'base_mlp')),
)
LAYOUT_CLASS = 'transposes and copies'
OTHER_CLASS = 'other'
# Events of the runtime that wrap ops rather than compute.
RUNTIME_EVENTS = ('ExecutorState::Process', 'ParallelFor', 'ThunkExecutor',
                  'SlinkyThreadPool', 'ThreadpoolListener', '__inference_',
                  'EagerExecute', 'EagerKernelExecute', 'EagerLocalExecute')
# Op types that hold other ops (a function call, a loop): their time is
# that of the ops inside, which are counted where they run.
CONTAINER_TYPES = ('While', 'StatelessWhile', 'PartitionedCall',
                   'StatefulPartitionedCall', 'If', 'StatelessIf')


def _base_type(op_type):
  """``_MklNativeFusedConv2D`` → ``FusedConv2D``: the op without its kernel
  library's prefix."""
  for prefix in ('_MklNative', '_Mkl', '_'):
    if op_type.startswith(prefix):
      return op_type[len(prefix):]
  return op_type


def op_class(scope, op_type):
  """The profile class of an op from its scope and type (or HLO opcode)."""
  op_type = _base_type(op_type)
  lowered = op_type.lower()
  if op_type in LAYOUT_TYPES or any(
      lowered == kind or lowered.startswith(kind + '_') or
      lowered.startswith(kind + '-') for kind in LAYOUT_HLO):
    return LAYOUT_CLASS
  dense = (any(kind in op_type for kind in DENSE_TYPES) or
           lowered.startswith(DENSE_HLO))
  for name, fragments in SCOPE_CLASSES:
    if any(fragment in scope for fragment in fragments):
      if name.startswith('update network') and not dense:
        return 'update network: elementwise'
      return name
  return OTHER_CLASS


def self_times(spans):
  """Self time of each (offset, duration) span on one thread.

  A span nested in another (it starts within it) is subtracted from the
  innermost span that holds it.
  """
  order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1]))
  own = [duration for _, duration in spans]
  stack = []  # (index, end) of the spans that hold the current one.
  for index in order:
    offset, duration = spans[index]
    while stack and stack[-1][1] <= offset:
      stack.pop()
    if stack:
      own[stack[-1][0]] -= duration
    stack.append((index, offset + duration))
  return [max(value, 0) for value in own]


def _hlo_names(metadata_plane):
  """HLO instruction name → (TF op name, opcode), from stored HLO modules."""
  names = {}
  for event_metadata in metadata_plane.event_metadata.values():
    for stat in event_metadata.stats:
      if not stat.bytes_value:
        continue
      proto = hlo_pb2.HloProto()
      try:
        proto.ParseFromString(stat.bytes_value)
      except Exception:  # Not an HLO proto: another stat.  pylint: disable=broad-except
        continue
      for computation in proto.hlo_module.computations:
        for instruction in computation.instructions:
          names[instruction.name] = (instruction.metadata.op_name,
                                     instruction.opcode)
  return names


def classify_xspace(space):
  """Self time in seconds by profile class, and the op count, of an XSpace."""
  host = [plane for plane in space.planes if plane.name == '/host:CPU']
  metadata = [plane for plane in space.planes
              if plane.name == '/host:metadata']
  hlo = _hlo_names(metadata[0]) if metadata else {}
  seconds = collections.Counter()
  ops = collections.Counter()
  for plane in host:
    for line in plane.lines:
      if line.name == 'python':
        continue
      named = []
      for event in line.events:
        name = plane.event_metadata[event.metadata_id].name
        # C++ runtime functions ("Class::Method") are not ops either.
        if not (name.startswith(RUNTIME_EVENTS) or name.startswith('end: ') or
                '::' in name):
          named.append((name, event))
      # Runtime events (a kernel's ParallelFor) are left out before the
      # self times, so their time stays with the op that holds them.
      times = self_times([(e.offset_ps, e.duration_ps) for _, e in named])
      for (name, event), own_ps in zip(named, times):
        if ':' in name:  # Graph mode: "scope/op:Type".
          scope, op_type = name.rsplit(':', 1)
        elif name in hlo:  # XLA: an HLO instruction.
          scope, opcode = hlo[name]
          op_type = opcode if opcode != 'fusion' else name.rsplit('.', 1)[0]
        else:
          continue
        if op_type in CONTAINER_TYPES or op_type in ('while', 'call',
                                                     'conditional'):
          continue
        label = op_class(scope, op_type)
        seconds[label] += own_ps / 1e12
        ops[label] += 1
  return seconds, ops


def profile_calls(function, calls):
  """Profiles ``calls`` calls of ``function``; returns seconds by class."""
  with tempfile.TemporaryDirectory() as log_dir:
    tf.profiler.experimental.start(log_dir)
    try:
      for _ in range(calls):
        result = function()
        tf.nest.map_structure(lambda t: t.numpy(), result)
    finally:
      tf.profiler.experimental.stop()
    paths = glob.glob(os.path.join(log_dir, '**', '*.xplane.pb'),
                      recursive=True)
    if not paths:
      raise RuntimeError(f'The profiler wrote no trace under {log_dir}.')
    space = xplane_pb2.XSpace()
    with open(sorted(paths)[-1], 'rb') as f:
      space.ParseFromString(f.read())
  return classify_xspace(space)
