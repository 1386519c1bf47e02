"""The readable lines of a throughput results dict
(``benchmarks/meta_train_throughput.py``)."""

# The executions compared, (name, baseline): the ratio of their rates.
RATIOS = (('batched', 'sequential'), ('cluster', 'batched'),
          ('cluster', 'sequential'))


def format_report(results):
  """The readable lines of a results dict: the rates, then their ratios."""
  lines = [f"revision {results.get('git_revision')}, {results.get('date')}, "
           f"{results.get('cpu_count')} CPUs, {results.get('gin_file')}",
           f"command: {results.get('command')}"]
  if 'num_steps' in results:
    lines.append(f"{results['num_steps']} θ updates per execution, the first "
                 f"{results['warmup_steps']} left out")
  for execution in ('sequential', 'batched', 'cluster'):
    rate = results.get(f'{execution}_updates_per_hour')
    if rate is not None:
      lines.append(f'{execution}: {rate:,.0f} θ-updates/hour')
  for name, baseline in RATIOS:
    ratio = results.get(f'{name}_vs_{baseline}')
    if ratio is not None:
      lines.append(f'{name} / {baseline}: {ratio:.2f}×')
  if 'coordinator_updates_per_second' in results:
    lines.append(
        f"coordinator ceiling: {results['coordinator_updates_per_second']:.1f}"
        f" θ-updates/s, {results['coordinator_vs_paper_pace']:.0f}× the "
        "paper's pace")
  for name, ratio in results.get('in_process', {}).get('ratio', {}).items():
    lines.append(f'in process: {name} / sequential: {ratio:.2f}×')
  return '\n'.join(lines)
