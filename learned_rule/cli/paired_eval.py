r"""Paired, fixed-seed held-out evaluation of exported rules.

Every rule trains base models from the same seeds on the same batches and
is scored on the same few-shot draws; 'random_init' is those base models
before any rule is applied. Example, after bin/meta_train.py:

  python bin/paired_eval.py --rule_dir=trained=/tmp/run/export \
      --rule_dir=init=/tmp/run/export_init --dataset=digits --num_seeds=8 \
      --steps=200 --gin_bindings='apply_rule.widths = (64, 64, 64, 32)' \
      --gin_bindings='apply_rule.batch_size = 64'
"""

import json

from absl import app
from absl import flags

flags.DEFINE_multi_string('rule_dir', [], 'NAME=DIR of an exported rule.')
flags.DEFINE_string('dataset', 'digits', 'Held-out dataset.')
flags.DEFINE_integer('num_seeds', 8, 'Seeds 0..N-1.')
flags.DEFINE_integer('steps', 200, 'Rule applications per base model.')
flags.DEFINE_multi_string('gin_file', [], 'Gin files.')
flags.DEFINE_multi_string('gin_bindings', [], 'Gin bindings.')
flags.DEFINE_string('output_json', None, 'Write per-seed results here.')

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  from learned_rule import configuration  # pylint: disable=g-import-not-at-top
  from learned_rule import export  # pylint: disable=g-import-not-at-top
  from learned_rule.data import registry  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import paired  # pylint: disable=g-import-not-at-top

  try:
    configuration.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    if not FLAGS.rule_dir:
      raise ValueError('Give at least one --rule_dir=NAME=DIR.')
    rules = {}
    for entry in FLAGS.rule_dir:
      name, _, directory = entry.partition('=')
      if not directory:
        raise ValueError(f'--rule_dir={entry!r} is not NAME=DIR.')
      rules[name] = export.load_rule(directory)[0]
    data = registry.load_for(registry.HELD_OUT, FLAGS.dataset)
  except (ValueError, RuntimeError) as error:
    raise app.UsageError(str(error)) from error
  seeds = list(range(FLAGS.num_seeds))
  results = paired.paired_evaluation(rules, data, seeds, FLAGS.steps)
  print(f'{data.name} ({data.split}), {len(seeds)} seeds, {FLAGS.steps} '
        f'steps: ridge few-shot accuracy, mean ± standard error')
  for name, values in results.items():
    accuracy = values['ridge_accuracy']
    print(f'  {name:>12}: {accuracy.mean():.4f} '
          f'± {accuracy.std(ddof=1) / len(accuracy) ** 0.5:.4f}')
  names = list(rules)
  for name in names:
    for baseline in [n for n in names if n != name] + ['random_init']:
      difference, error = paired.paired_difference(results, name, baseline)
      print(f'  {name} − {baseline}: {difference:+.4f} ± {error:.4f} '
            f'(paired)')
  if FLAGS.output_json:
    with open(FLAGS.output_json, 'w') as stream:
      json.dump({name: {metric: values.tolist()
                        for metric, values in metrics.items()}
                 for name, metrics in results.items()}, stream, indent=2)


def run():
  """Console-script entry point."""
  app.run(main)


if __name__ == '__main__':
  run()
