"""PCA features: the classic linear unsupervised baseline.

The features of an input x are its projection ``(x − μ) U`` onto the top
F = ``setting.feature_size`` principal components U ``[D, F]`` of the
unlabeled data, μ their mean. The projection is plain, not whitened:
whitening would blow up low-variance directions, which are mostly noise.
The baseline is ours; the paper's are a VAE, supervised learning, random
initialisation and prototypical networks (spec §8.2).

What the fit sees:

* At step 0 the stream has delivered nothing. The fit then uses a fixed
  sample of ``setting.batch_size`` distinct examples of ``setting.data``,
  drawn with ``np.random.default_rng([setting.seed, 3])``: one batch's
  worth of data, like the one batch a rule would see at step 1.
* After step 0, the fit uses every example the unlabeled stream has
  delivered so far, counted as often as it was delivered; the step-0
  sample is not part of it. The running mean and scatter matrix are merged
  chunk by chunk, so the fit is exact at every step without storing the
  examples.

Where fewer than F components are available (F > D, or the data have
rank below F, e.g. fewer examples than F or constant pixels), the missing
components are zero columns of U, so those features are 0.
"""

import dataclasses

import gin
import numpy as np

from learned_rule.reporting import method_names
from learned_rule.evaluation import protocol

# Our choice: eigenvalues of the scatter matrix below this fraction of the
# largest count as zero (variance lost to rounding, not a direction of the
# data); their components become zero columns.
RELATIVE_EIGENVALUE_FLOOR = 1e-10

# Seed stream of the step-0 sample, apart from the stream and draw keys of
# protocol.py (1, 2).
SAMPLE_KEY = 3


@dataclasses.dataclass(frozen=True)
class PCAState:
  """The statistics of the delivered examples and the current fit.

  Attributes:
    count: Examples delivered by the stream so far.
    mean: float64 ``[D]`` mean of those examples (0 while count is 0).
    scatter: float64 ``[D, D]``, Σ (x − mean)(x − mean)ᵀ over them.
    fit_mean: ``[D]`` μ subtracted before projecting.
    components: float64 ``[D, F]`` U, orthonormal columns by decreasing
      variance, zero columns where no component is available.
  """

  count: int
  mean: np.ndarray
  scatter: np.ndarray
  fit_mean: np.ndarray
  components: np.ndarray


def top_components(scatter, count):
  """The top ``count`` eigenvectors of a scatter matrix, zero-padded.

  Eigenvalues at or below :data:`RELATIVE_EIGENVALUE_FLOOR` times the
  largest give zero columns, as do the columns beyond D.
  Each column's sign makes its largest-magnitude entry positive, so the
  result does not depend on the eigensolver.

  Args:
    scatter: Symmetric positive semi-definite ``[D, D]``.
    count: Number of components F >= 1.

  Returns:
    float64 ``[D, F]``.
  """
  dim = len(scatter)
  eigenvalues, eigenvectors = np.linalg.eigh(scatter)
  order = np.argsort(eigenvalues)[::-1][:count]
  eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
  floor = max(eigenvalues[0], 0.0) * RELATIVE_EIGENVALUE_FLOOR
  eigenvectors = eigenvectors * (eigenvalues > floor)
  peaks = np.abs(eigenvectors).argmax(axis=0)
  signs = np.sign(eigenvectors[peaks, np.arange(len(order))])
  eigenvectors = eigenvectors * np.where(signs == 0, 1.0, signs)
  components = np.zeros((dim, count))
  components[:, :len(order)] = eigenvectors
  return components


def _centred_statistics(examples):
  """``(count, mean, scatter)`` of float64 ``[N, D]`` examples."""
  mean = examples.mean(axis=0)
  centred = examples - mean
  return len(examples), mean, centred.T @ centred


@gin.configurable
class PCAFeatures(protocol.UnsupervisedMethod):
  """Projection onto the top principal components of the unlabeled data."""

  name = method_names.PCA

  def start(self, setting):
    rng = np.random.default_rng([setting.seed, SAMPLE_KEY])
    chosen = rng.choice(len(setting.data), setting.batch_size, replace=False)
    sample = np.asarray(setting.data.features[chosen], np.float64)
    _, sample_mean, sample_scatter = _centred_statistics(sample)
    dim = setting.data.input_dim
    return PCAState(
        count=0, mean=np.zeros(dim), scatter=np.zeros((dim, dim)),
        fit_mean=sample_mean,
        components=top_components(sample_scatter, setting.feature_size))

  def train(self, state, batches):
    batches = np.asarray(batches, np.float64)
    if not len(batches):
      return state
    examples = batches.reshape(-1, batches.shape[-1])
    count, mean, scatter = _centred_statistics(examples)
    # Merges the two sets' statistics exactly (Chan et al., 1979).
    total = state.count + count
    shift = mean - state.mean
    merged_mean = state.mean + shift * (count / total)
    merged_scatter = state.scatter + scatter + np.outer(shift, shift) * (
        state.count * count / total)
    return PCAState(
        count=total, mean=merged_mean, scatter=merged_scatter,
        fit_mean=merged_mean,
        components=top_components(merged_scatter,
                                  state.components.shape[1]))

  def features(self, state, inputs):
    return (np.asarray(inputs, np.float64) - state.fit_mean) @ (
        state.components)

  def first_layer(self, state):
    """The components U ``[D, F]``: PCA's filters, shown like Fig. 6's."""
    return state.components
