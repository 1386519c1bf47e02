"""Per-step recomputation whose forward and gradient are both XLA programs.

``tf.recompute_grad(step)`` keeps the memory of a meta-gradient flat in the
number of unrolled steps: the tape stores only each step's inputs, and the
backward pass runs the step again to backpropagate through it. Wrapping an
XLA-compiled ``step`` that way compiles its forward only: the recomputation
and its backward run as graph-mode ops, which is where a meta-gradient
spends most of its time (README, "Where the time of a rule step goes").

:func:`compiled_recompute` does the same recomputation with the whole
vector-Jacobian product of a step — recompute, then backpropagate — as one
XLA program, next to the XLA program of its forward.
"""

import tensorflow as tf


def compiled_recompute(step, num_differentiable):
  """``step`` with an XLA forward and an XLA recompute-and-backprop gradient.

  Args:
    step: A function of positional arguments, each a nest of float tensors,
      that returns a nest of float tensors. It is traced, not run eagerly.
    num_differentiable: Gradients flow to the first ``num_differentiable``
      arguments (θ and the base model's layers); the others (the batch, the
      few-shot inputs) get none.

  Returns:
    A function with the signature and outputs of ``step``. Under a
    ``tf.GradientTape`` it stores only its inputs; its gradient recomputes
    ``step`` inside one compiled program.
  """

  def wrapped(*args):
    flat = tf.nest.flatten(args)
    count = len(tf.nest.flatten(args[:num_differentiable]))
    output_structure = []

    def flat_step(*flat_args):
      outputs = step(*tf.nest.pack_sequence_as(args, list(flat_args)))
      if not output_structure:
        output_structure.append(outputs)
      return tf.nest.flatten(outputs)

    forward = tf.function(flat_step, autograph=False, jit_compile=True)

    def vector_jacobian_product(flat_args, upstream):
      differentiable = flat_args[:count]
      with tf.GradientTape() as tape:
        tape.watch(differentiable)
        outputs = flat_step(*flat_args)
      return tape.gradient(outputs, differentiable, output_gradients=upstream,
                           unconnected_gradients=tf.UnconnectedGradients.ZERO)

    backward = tf.function(vector_jacobian_product, autograph=False,
                           jit_compile=True)

    @tf.custom_gradient
    def call(*flat_args):
      outputs = forward(*flat_args)

      def gradient(*upstream):
        upstream = [tf.zeros_like(output) if grad is None else grad
                    for grad, output in zip(upstream, outputs)]
        grads = backward(list(flat_args), upstream)
        return list(grads) + [None] * (len(flat_args) - count)

      return outputs, gradient

    outputs = call(*flat)  # Traces ``forward``, which sets the structure.
    return tf.nest.pack_sequence_as(output_structure[0], outputs)

  return wrapped
