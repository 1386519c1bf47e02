"""A paired evaluation over several seeds compiles once per architecture.

Every seed builds its own base model and state; the compiled feature
function and the compiled unroll take the state as an argument, so no seed
retraces them and TensorFlow logs no "triggered tf.function retracing"
warning (its detector warns after 5 traces of one function within its last
10 calls).
"""

import logging

import pytest

from learned_rule import configuration
from learned_rule.data import digits
from learned_rule.evaluation import held_out
from learned_rule.evaluation import rule_methods
from learned_rule.reporting import method_names
from learned_rule.unroll import inner_loop as inner_loop_lib
from learned_rule.update_rule import config as config_lib
from learned_rule.update_rule import rule as rule_lib

# The small rule of tests/evaluation/test_held_out.py (top width 4, as
# gin_configs/held_out/tiny.gin's base model).
SMALL = dict(top_width=4, hidden_size=6, delta_dim=3, num_grad_channels=2,
             top_signal_channels=5, step_size=0.05)
SEEDS = (0, 1, 2, 3)


class _Collect(logging.Handler):
  """Keeps every record it is given."""

  def __init__(self):
    super().__init__(logging.DEBUG)
    self.records = []

  def emit(self, record):
    self.records.append(record)


@pytest.fixture
def run():
  """The tiny paired evaluation over :data:`SEEDS`, with what TF logged."""
  configuration.parse_gin(['held_out/tiny.gin'],
                          [f'HeldOutEvaluation.seeds = {SEEDS}'])
  evaluation = held_out.HeldOutEvaluation()
  rules = (rule_lib.UnsupervisedUpdate(config_lib.RuleConfig(**SMALL)),
           rule_lib.UnsupervisedUpdate(config_lib.RuleConfig(**SMALL)))
  data = digits.load_split('test')
  handler = _Collect()
  logger = logging.getLogger('tensorflow')
  logger.addHandler(handler)
  try:
    records = evaluation.run(evaluation.methods(*rules), data)
  finally:
    logger.removeHandler(handler)
  return evaluation, rules, data, records, handler.records


def test_paired_evaluation_logs_no_retracing(run):
  evaluation, _, _, records, logged = run
  assert len(evaluation.seeds) >= 3
  assert len(records) == len(SEEDS) * len(method_names.RULE_METHODS) * 2
  retracing = [record.getMessage() for record in logged
               if 'retracing' in record.getMessage()]
  assert not retracing, retracing


def test_each_compiled_function_is_traced_once_for_every_seed(run):
  evaluation, rules, data, _, _ = run
  model = rule_methods.RuleMethod(rules[0]).build_model(
      evaluation.setting(data, SEEDS[0]))
  for rule in rules:
    features = rule_methods.feature_function(rule, model)
    assert features.experimental_get_tracing_count() == 1
    loop = inner_loop_lib.cached(rule, evaluation.jit_compile)
    assert loop.tracing_count(model, 'unroll') == 1
