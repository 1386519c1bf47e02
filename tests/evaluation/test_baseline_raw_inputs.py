"""Raw-input baseline: the features are the inputs, and they probe well."""

import numpy as np

from learned_rule.data import digits
from learned_rule.evaluation import probe
from learned_rule.evaluation import protocol
from learned_rule.evaluation.baselines import raw_inputs


def _setting():
  return protocol.Setting(digits.load_split('test'), widths=(32, 16),
                          activation='relu', batch_size=32, seed=0,
                          steps=(0, 5), num_draws=3)


def test_features_are_the_draw_inputs_at_every_step():
  setting = _setting()
  method = raw_inputs.RawInputs()
  results = list(method.trajectory(setting))
  assert [step for step, _ in results] == [0, 5]
  for _, pairs in results:
    for (support, query), draw in zip(pairs, setting.draws(), strict=True):
      assert support.shape == (10 * setting.shots, 64)  # D, not 16.
      np.testing.assert_array_equal(support, draw.support_x)
      np.testing.assert_array_equal(query, draw.query_x)
  assert method.filter_history() == []


def test_raw_digits_probe_well_above_chance():
  setting = _setting()
  draws = setting.draws()
  _, pairs = next(raw_inputs.RawInputs().trajectory(setting))
  scores = probe.score_draws(pairs, draws, num_classes=10)
  assert scores['ridge_accuracy'] > 0.6, scores
  assert scores['logistic_accuracy'] > 0.6, scores
