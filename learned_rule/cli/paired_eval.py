r"""Paired, fixed-seed held-out evaluation of a learned rule.

The rule (``learned_rule``), its θ-init (``theta_init``) and the untrained
base model (``random_init``) are measured on the same seeds, unlabeled
batches and few-shot draws; the differences are paired over seeds. Science
goes in gin (``HeldOutEvaluation.*``). Example, the shipped rule:

  learned-rule-paired-eval --rule=cpu_60min \
      --gin_file=held_out/cpu.gin --output_json=/tmp/paired.json
"""

import dataclasses
import json
import os

from absl import flags

from learned_rule.cli import rule_flags
from learned_rule.cli import startup

flags.DEFINE_string('output_json', None, 'Write the records, summary and '
                    'paired differences here, and their table beside it '
                    '(the same name ending in .md).')
flags.mark_flag_as_required('rule')

FLAGS = flags.FLAGS


def _percent(value):
  return '—' if value is None else f'{100 * value:.1f}'


def print_report(evaluation, data, records, differences):
  """The table of means and the paired differences, in points."""
  from learned_rule.reporting import results  # pylint: disable=g-import-not-at-top
  print(f'{data.name} ({data.split} split), {len(evaluation.seeds)} seeds, '
        f'{evaluation.steps} steps, '
        f'{"-".join(map(str, evaluation.widths))} {evaluation.activation}, '
        f'batch {evaluation.batch_size}: ridge few-shot accuracy (%), mean '
        f'± standard error')
  for row in results.summarize(records, metrics=('ridge_accuracy',)):
    if row['step'] != evaluation.steps:
      continue
    accuracy = row['ridge_accuracy']
    print(f'  {row["method"]:>12}: {_percent(accuracy["mean"])} ± '
          f'{_percent(accuracy["std_error"])}')
  print('Paired differences (points), mean ± standard error [95% CI]:')
  for baseline, row in differences.items():
    low, high = row['ci95']
    print(f'  {row["method"]} − {baseline}: '
          f'{100 * row["mean"]:+.1f} ± {_percent(row["std_error"])} '
          f'[{_percent(low)}, {_percent(high)}]')


def main(argv):
  rule_flags.check_no_arguments(argv)
  # Imported here so that --help answers without loading TensorFlow.
  from learned_rule.storage import atomic_files  # pylint: disable=g-import-not-at-top
  from learned_rule.storage import file_io  # pylint: disable=g-import-not-at-top
  from learned_rule import package_info  # pylint: disable=g-import-not-at-top
  from learned_rule import progress  # pylint: disable=g-import-not-at-top
  from learned_rule.storage import run_dirs  # pylint: disable=g-import-not-at-top
  from learned_rule.evaluation import held_out  # pylint: disable=g-import-not-at-top
  from learned_rule.reporting import headline  # pylint: disable=g-import-not-at-top

  with rule_flags.usage_errors():
    run_dirs.check_output_file(FLAGS.output_json, '--output_json')
    rule_flags.parse_gin()
    source = rule_flags.load_source()
    evaluation = held_out.HeldOutEvaluation()
    data = evaluation.check_fits(source.rule)
  methods = evaluation.methods(source.rule, source.init_rule)
  bar = progress.Progress(len(evaluation.seeds) * len(methods),
                          'paired evaluation', unit='run')

  def report(record):
    if record['step'] == evaluation.steps:
      bar.update(1, {'seed': record['seed'], 'method': record['method']})

  records = evaluation.run(methods, data, report=report)
  differences = held_out.final_differences(records)
  print_report(evaluation, data, records, differences)
  if FLAGS.output_json:
    found = {
        **package_info.provenance(),
        'rule': file_io.shown(source.path),
        'theta_init': source.init_description,
        'rule_step': source.training.get('step'),
        'rule_cpu_seconds': source.training.get('cpu_seconds'),
        'compute_note': source.compute_note(),
        'evaluation': dataclasses.asdict(evaluation),
        'differences': differences, 'records': records}
    atomic_files.write_json(FLAGS.output_json, found, indent=1)
    # Its table, made from what the file holds.
    table = os.path.splitext(FLAGS.output_json)[0] + '.md'
    atomic_files.write_text(table, headline.paired_markdown(
        json.loads(file_io.read_text(FLAGS.output_json))))
    print(f'Wrote {FLAGS.output_json} and {table}')


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
