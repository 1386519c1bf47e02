"""Paired, fixed-seed evaluation of rules on held-out data.

Every rule trains base models from the same seeds, on the same unlabeled
batches, and is scored on the same few-shot draws, so the differences
between rules are paired and the noise of task sampling cancels. The
evaluation at step 0 is the random-init baseline: the same base models
before any rule is applied.
"""

import numpy as np

from learned_rule import application


def paired_evaluation(rules, data, seeds, steps, **apply_options):
  """Few-shot quality after ``steps`` rule applications, per rule and seed.

  Args:
    rules: Dict name → :class:`UnsupervisedUpdate`.
    data: The held-out :class:`Dataset`.
    seeds: Seeds of the base models, batches and few-shot draws.
    steps: Rule applications per base model.
    **apply_options: Passed to :func:`application.apply_rule` (widths,
      batch_size, shots, eval_draws, activation).

  Returns:
    Dict name → dict metric → float array over ``seeds``, for every rule
    and for 'random_init'; metrics are 'ridge_accuracy',
    'logistic_accuracy' and 'meta_objective'.
  """
  results = {}
  apply_options = dict(apply_options, show_progress=False,
                       report=lambda evaluation: None)
  for name, rule in rules.items():
    per_seed = [application.apply_rule(rule, data, steps, steps, seed=seed,
                                       **apply_options) for seed in seeds]
    results[name] = _metrics([runs[-1] for runs in per_seed])
    if 'random_init' not in results:
      results['random_init'] = _metrics([runs[0] for runs in per_seed])
  return results


def _metrics(evaluations):
  return {
      'ridge_accuracy': np.array([e.ridge_accuracy for e in evaluations]),
      'logistic_accuracy': np.array(
          [e.logistic_accuracy for e in evaluations]),
      'meta_objective': np.array([e.meta_objective for e in evaluations]),
  }


def paired_difference(results, name, baseline, metric='ridge_accuracy'):
  """Mean and standard error of ``name`` − ``baseline`` over the seeds."""
  difference = results[name][metric] - results[baseline][metric]
  error = difference.std(ddof=1) / np.sqrt(len(difference)) if len(
      difference) > 1 else float('nan')
  return float(difference.mean()), float(error)
