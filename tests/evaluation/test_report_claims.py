"""The evaluation report checks the paper's claims with what the rule's
export records of its meta-training (learned_rule/evaluation/report.py)."""

import types

from learned_rule.evaluation import report
from learned_rule.evaluation import rule_source
from learned_rule.reporting import method_names
from learned_rule.reporting import results

# What cpu_160min's export records (learned_rule/rules/cpu_160min).
META_TRAINING = {'datasets': ['tiny_fashion_mnist', 'alphabet',
                              'debian_descriptions'],
                 'depths': [4], 'hidden_widths': [64]}
TEXT = 'debian_descriptions'


def writer(extra):
  source = rule_source.RuleSource(None, None, {'extra': extra}, 'rule',
                                  'θ-init')
  return report.ReportWriter(None, source, None, 'test')


def text_summary():
  """The learned rule clearly above random init on the Debian texts."""
  records = []
  for method, accuracy in ((method_names.LEARNED_RULE, 0.62),
                           (method_names.RANDOM_INIT, 0.55)):
    for seed in range(4):
      records.append({
          'dataset': TEXT, 'architecture': '64-32 relu', 'widths': [64, 32],
          'activation': 'relu', 'method': method, 'step': 100, 'seed': seed,
          'ridge_accuracy': accuracy + 0.002 * seed,
          'logistic_accuracy': accuracy, 'meta_objective': 1 - accuracy})
  return results.summarize(records)


def text_verdict(extra):
  datasets = {TEXT: types.SimpleNamespace(name=TEXT, modality='text')}
  claims = {c.key: c for c in writer(extra).claims(datasets)}
  return claims['fig4_right_imdb'].verdict(text_summary())


def test_text_meta_trained_on_is_no_transfer_to_text():
  verdict = text_verdict({'meta_training': META_TRAINING})
  assert not verdict.measured and verdict.holds is None
  assert verdict.status == f'not measured (measured on {TEXT} instead)'
  assert f'the rule meta-trained on text ({TEXT})' in verdict.measurement
  assert writer({'meta_training': META_TRAINING}).meta_training_datasets(
      ) == META_TRAINING['datasets']


def test_an_export_without_the_record_says_so():
  assert writer({}).meta_training_datasets() is None
  verdict = text_verdict({})
  assert not verdict.measured  # Not IMDB, whatever the rule saw.
  assert 'records no meta-training datasets' in verdict.measurement
