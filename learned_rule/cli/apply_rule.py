r"""Applies a rule to one fresh base model and reports few-shot quality.

The base model, the unlabeled stream and the few-shot draws are those of
the held-out evaluation (``HeldOutEvaluation.*`` in gin) for the base-model
seed ``--seed``; the features are probed every ``--eval_every`` steps.
Without ``--rule`` it applies θ-init (the ``RuleConfig`` that gin selects,
drawn from ``--seed``). Example:

  learned-rule-apply --gin_file=apply/digits_demo.gin --eval_every=25
"""

from absl import flags
from absl import logging

from learned_rule.cli import rule_flags
from learned_rule.cli import startup

flags.DEFINE_integer('eval_every', 25, 'Probe every this many steps.')
flags.DEFINE_integer('seed', 0, 'Seeds the base model, its batches and '
                     'draws, and θ-init without --rule.')
flags.DEFINE_string('output_json', None, 'Write the records here.')

FLAGS = flags.FLAGS


def probe_steps(steps, eval_every):
  """0, eval_every, 2·eval_every, ... and ``steps``."""
  if eval_every <= 0:
    raise ValueError(f'--eval_every must be > 0, got {eval_every}.')
  return sorted(set(range(0, steps, eval_every)) | {steps})


def main(argv):
  rule_flags.check_no_arguments(argv)
  # Imported here so that --help answers without loading TensorFlow.
  import keras  # pylint: disable=g-import-not-at-top
  from learned_rule.storage import atomic_files  # pylint: disable=g-import-not-at-top
  from learned_rule import package_info  # pylint: disable=g-import-not-at-top
  from learned_rule import progress  # pylint: disable=g-import-not-at-top
  from learned_rule.storage import run_dirs  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import held_out  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import measurement  # pylint: disable=g-import-not-at-top
  from learned_rule.reporting import method_names  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import rule_methods  # pylint: disable=g-import-not-at-top
  from learned_rule.update_rule import rule as rule_lib  # pylint: disable=g-import-not-at-top

  with rule_flags.usage_errors():
    run_dirs.check_output_file(FLAGS.output_json, '--output_json')
    rule_flags.parse_gin()
    evaluation = held_out.HeldOutEvaluation()
    if FLAGS.rule:
      source = rule_flags.load_source()
      rule, name = source.rule, method_names.LEARNED_RULE
      origin = f'{source.path} (step {source.training.get("step")})'
    else:
      keras.utils.set_random_seed(FLAGS.seed)
      rule, name = rule_lib.UnsupervisedUpdate(), method_names.THETA_INIT
      origin = f'θ-init (untrained, seed {FLAGS.seed})'
    data = evaluation.check_fits(rule)
    setting = evaluation.setting(
        data, FLAGS.seed, probe_steps(evaluation.steps, FLAGS.eval_every))
  logging.info('Rule: %s; config %s', origin, rule.config)
  print(f'Applying the rule {origin} to a fresh base model on {data.name}, '
        f'held-out split {data.split!r} ({len(data)} examples, '
        f'{data.num_classes} classes).')
  print(f'{"step":>6} {"meta-objective":>15} {"ridge acc":>10} '
        f'{"logistic acc":>13}')
  bar = progress.Progress(evaluation.steps, 'applying rule')

  def report(record):
    bar.update(record['step'] - bar.done)
    print(f'{record["step"]:>6} {record["meta_objective"]:>15.4f} '
          f'{record["ridge_accuracy"]:>10.3f} '
          f'{record["logistic_accuracy"]:>13.3f}', flush=True)

  method = rule_methods.RuleMethod(rule, name,
                                   jit_compile=evaluation.jit_compile)
  records = measurement.measure(setting, method, report)
  if FLAGS.output_json:
    atomic_files.write_json(FLAGS.output_json, {
        **package_info.provenance(), 'rule': origin, 'records': records}, indent=1)
    print(f'Wrote {FLAGS.output_json}')


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
