"""Raw inputs: the pixel baseline, features that never learn.

The features of an input are the input itself, at every step: the probe
then reads the D flattened pixels (or bag-of-words counts) directly. So
this baseline's features have size D, not ``setting.feature_size``; it
measures what the few-shot probe gets with no representation at all. The
baseline is ours; the paper's are a VAE, supervised learning, random
initialisation and prototypical networks (spec §8.2).
"""

import gin
import numpy as np

from learned_rule.reporting import method_names
from learned_rule.evaluation import protocol


@gin.configurable
class RawInputs(protocol.UnsupervisedMethod):
  """Features = inputs, ``[N, D]``; the unlabeled stream is ignored."""

  name = method_names.RAW_INPUTS

  def start(self, setting):
    return None

  def train(self, state, batches):
    return state

  def features(self, state, inputs):
    return np.asarray(inputs)
