"""Nonlinearities of the base model, chosen by name.

The paper meta-trains on ReLU only and evaluates transfer to other
nonlinearities, the Heaviside step among them (spec §8.3, Fig. 5 right).
"""

import tensorflow as tf

# Negative slope of leaky ReLU; the paper does not state it. 0.2 is our
# choice, the default of tf.nn.leaky_relu.
LEAKY_RELU_SLOPE = 0.2


def _step(z):
  """Heaviside step: 1 where z > 0, else 0 (zero gradient everywhere)."""
  return tf.cast(z > 0, z.dtype)


ACTIVATIONS = {
    'relu': tf.nn.relu,
    'leaky_relu': lambda z: tf.nn.leaky_relu(z, alpha=LEAKY_RELU_SLOPE),
    'swish': tf.nn.silu,
    'tanh': tf.math.tanh,
    'sigmoid': tf.math.sigmoid,
    'step': _step,
    'identity': tf.identity,
}


def check_activation(name):
  """Returns ``name`` if it is a known activation, else raises ValueError."""
  if name not in ACTIVATIONS:
    raise ValueError(
        f'Unknown `activation` {name!r}; allowed values: '
        f'{", ".join(sorted(ACTIVATIONS))}.')
  return name


def get(name):
  """The activation function called ``name``."""
  return ACTIVATIONS[check_activation(name)]
