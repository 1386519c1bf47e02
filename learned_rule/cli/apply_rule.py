r"""Applies a learned rule to a fresh base model and reports few-shot quality.

Without --rule_dir it applies the θ-init rule (the RuleConfig that gin
selects). Example:

  python bin/apply_rule.py --dataset=digits --steps=300 --eval_every=25 \
      --gin_bindings='apply_rule.widths = (64, 64, 64, 32)'
"""

import json
import os

from absl import app
from absl import flags
from absl import logging

flags.DEFINE_string('rule_dir', None,
                    'Exported rule (SavedModel); default: the θ-init rule.')
flags.DEFINE_string('dataset', 'digits', 'Dataset to apply the rule to.')
flags.DEFINE_integer('steps', 300, 'Rule applications.')
flags.DEFINE_integer('eval_every', 25, 'Evaluate every this many steps.')
flags.DEFINE_integer('seed', 0, 'Seeds θ-init, base model and batches.')
flags.DEFINE_multi_string('gin_file', [], 'Gin files.')
flags.DEFINE_multi_string('gin_bindings', [], 'Gin bindings.')
flags.DEFINE_string('output_json', None, 'Write the evaluations here.')

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  # Imported here so that --help answers without loading TensorFlow.
  import keras  # pylint: disable=g-import-not-at-top
  from learned_rule import application  # pylint: disable=g-import-not-at-top
  from learned_rule import configuration  # pylint: disable=g-import-not-at-top
  from learned_rule import export  # pylint: disable=g-import-not-at-top
  from learned_rule.data import registry  # pylint: disable=g-import-not-at-top
  from learned_rule.rule import rule as rule_lib  # pylint: disable=g-import-not-at-top

  try:
    configuration.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    data = registry.load_for(registry.HELD_OUT, FLAGS.dataset)
    if FLAGS.rule_dir:
      rule, metadata = export.load_rule(FLAGS.rule_dir)
      origin = (f'{FLAGS.rule_dir} '
                f'({metadata.get("extra") or "no provenance"})')
    else:
      keras.utils.set_random_seed(FLAGS.seed)
      rule = rule_lib.UnsupervisedUpdate()
      origin = 'θ-init (untrained)'
  except (ValueError, RuntimeError) as error:
    raise app.UsageError(str(error)) from error
  logging.info('Rule: %s; config %s', origin, rule.config)
  print(f'Applying the {origin} rule to a fresh base model on '
        f'{data.name}, held-out split {data.split!r} ({len(data)} examples, '
        f'{data.num_classes} classes).')
  print(f'{"step":>6} {"meta-objective":>15} {"ridge acc":>10} '
        f'{"logistic acc":>13}')

  def report(evaluation):
    print(f'{evaluation.step:>6} {evaluation.meta_objective:>15.4f} '
          f'{evaluation.ridge_accuracy:>10.3f} '
          f'{evaluation.logistic_accuracy:>13.3f}', flush=True)

  try:
    evaluations = application.apply_rule(
        rule, data, FLAGS.steps, FLAGS.eval_every, seed=FLAGS.seed,
        report=report)
  except ValueError as error:  # Setup checks run before any compute.
    raise app.UsageError(str(error)) from error
  if FLAGS.output_json:
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output_json)),
                exist_ok=True)
    with open(FLAGS.output_json, 'w') as stream:
      json.dump([vars(e) for e in evaluations], stream, indent=2)
    print(f'Wrote {FLAGS.output_json}')


def run():
  """Console-script entry point."""
  app.run(main)


if __name__ == '__main__':
  run()
