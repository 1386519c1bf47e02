"""Tests of a rule against its targets (learned_rule/evaluation/
rule_comparison.py, bin/compare_rules.py)."""

import pytest

from learned_rule.storage import run_dirs
from learned_rule.reporting import results
from learned_rule.reporting import rule_comparison
from conftest import run_repo_binary


def _summary(values_by_method, dataset='digits', steps=(0, 10),
             widths=((16, 8),)):
  """Rows of records in which each method has its per-seed values at
  every step and base model."""
  records = [{'dataset': dataset,
              'architecture': '-'.join(map(str, sizes)) + ' relu',
              'widths': list(sizes), 'activation': 'relu', 'method': method,
              'step': step, 'seed': seed, 'ridge_accuracy': value}
             for sizes in widths
             for method, values in values_by_method.items()
             for seed, value in values.items() for step in steps]
  return results.summarize(records, metrics=('ridge_accuracy',))


RULE = {0: 0.70, 1: 0.72, 2: 0.69, 3: 0.74, 4: 0.71}
# Seed by seed 9-11 points lower.
RANDOM = {seed: value - 0.10 + 0.01 * (seed % 3 - 1)
          for seed, value in RULE.items()}
MEAN_GAIN = sum(RULE[s] - RANDOM[s] for s in RULE) / len(RULE)  # 0.102
# Higher than the rule on every seed.
VAE = {seed: value + 0.05 for seed, value in RULE.items()}


def test_a_rule_above_and_below_its_baselines_at_the_final_step():
  summary = _summary({'learned_rule': RULE, 'random_init': RANDOM,
                      'vae': VAE})
  found = rule_comparison.compare(summary, ('random_init', 'hebbian', 'vae'))
  assert [(c.baseline, c.step) for c in found] == [('random_init', 10),
                                                   ('vae', 10)]
  random_init, vae = found
  assert random_init.difference['paired'] and random_init.difference['n'] == 5
  assert random_init.difference['mean'] == pytest.approx(MEAN_GAIN)
  assert random_init.met
  assert vae.difference['mean'] == pytest.approx(-0.05)
  assert not vae.met


def test_the_reference_rule_is_compared_seed_by_seed_as_no_worse():
  summary = _summary({'learned_rule': RULE})
  better = _summary({'learned_rule': {s: v - 0.01 for s, v in RULE.items()}})
  worse = _summary({'learned_rule': {s: v + 0.03 for s, v in RULE.items()}})
  (against_better,) = rule_comparison.compare(summary, (), reference=better,
                                              reference_name='old')
  assert against_better.baseline == 'old' and against_better.goal == (
      'no worse')
  assert against_better.met
  (against_worse,) = rule_comparison.compare(summary, (), reference=worse)
  assert against_worse.difference['ci95'][1] < 0 and not against_worse.met


def test_markdown_marks_what_is_missed():
  summary = _summary({'learned_rule': RULE, 'vae': VAE})
  text = rule_comparison.markdown(rule_comparison.compare(summary, ('vae',)))
  assert '| digits | 16-8 relu | 10 | vae | -5.0 |' in text
  assert '**no**' in text


def test_the_binary_reads_run_directories(tmp_path):
  for name, values, widths in (('new', RULE, ((16, 8),)),
                               ('old', RANDOM, ((16, 8),)),
                               ('width', RULE, ((64, 8),))):
    summary = _summary({'learned_rule': values, 'random_init': RANDOM},
                       widths=widths)
    results.write_results(
        run_dirs.path(str(tmp_path / name), run_dirs.RESULTS_JSON), summary,
        metadata={})
  output = tmp_path / 'targets.md'
  result = run_repo_binary(
      'compare_rules', f'--transfer={tmp_path / "new"}',
      f'--reference_transfer={tmp_path / "old"}', '--reference_name=old',
      f'--architectures={tmp_path / "width"}', f'--output_md={output}')
  assert result.returncode == 0, result.stderr[-3000:]
  text = output.read_text()
  assert '| digits | 16-8 relu | 10 | random_init | +10.2 |' in text
  assert '| digits | 16-8 relu | 10 | old | +10.2 |' in text
  assert '| digits | 64-8 relu | 10 | random_init | +10.2 |' in text
  result = run_repo_binary('compare_rules', f'--transfer={tmp_path / "none"}')
  assert result.returncode != 0 and 'results.json' in result.stderr
  assert 'Traceback' not in result.stderr


def test_a_cards_targets_are_images_against_four_baselines_and_text():
  images = _summary({'learned_rule': RULE, 'random_init': RANDOM,
                     'hebbian': RANDOM, 'vae': VAE, 'raw_inputs': VAE})
  text = _summary({'learned_rule': RULE, 'random_init': RANDOM, 'vae': VAE},
                  dataset='debian_descriptions')
  found = rule_comparison.targets(images, text)
  assert [(c.dataset, c.baseline) for c in found] == [
      ('digits', 'random_init'), ('digits', 'hebbian'), ('digits', 'vae'),
      ('digits', 'raw_inputs'), ('debian_descriptions', 'random_init')]
  assert rule_comparison.targets(images) == found[:4]


def test_every_base_model_of_the_sweeps_is_a_target_once():
  images = _summary({'learned_rule': RULE, 'random_init': RANDOM})
  # The width sweep is above random init at 32 units and below it at 1024;
  # the depth sweep measures 32-32-8 again, which is not repeated.
  width = _summary({'learned_rule': RULE, 'random_init': RANDOM},
                   widths=((32, 32, 8), (1024, 1024, 8)), steps=(0, 30))
  width_rows = [row for row in width if not (
      row['architecture'] == '1024-1024-8 relu' and
      row['method'] == 'random_init')]
  width_rows += _summary({'random_init': VAE}, widths=((1024, 1024, 8),),
                         steps=(0, 30))
  depth = _summary({'learned_rule': RULE, 'random_init': RANDOM},
                   widths=((32, 8), (32, 32, 8)), steps=(0, 30))
  found = rule_comparison.targets(images, architectures=(width_rows, depth))
  assert [(c.architecture, c.step, c.baseline, c.met) for c in found] == [
      ('16-8 relu', 10, 'random_init', True),
      ('32-32-8 relu', 30, 'random_init', True),
      ('1024-1024-8 relu', 30, 'random_init', False),
      ('32-8 relu', 30, 'random_init', True)]
  assert found[2].difference['mean'] == pytest.approx(-0.05)

