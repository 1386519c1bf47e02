"""The readable tables of a results dict (see ``--report_from``)."""

from benchmarks.inner_step_lib import targets as targets_lib


def text_table(headers, rows):
  """Fixed-width text table; every column as wide as its widest cell."""
  cells = [headers] + [[str(c) for c in row] for row in rows]
  widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
  lines = ['  '.join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
  lines.insert(1, '  '.join('-' * w for w in widths))
  return '\n'.join(lines)


def machine_line(machine):
  """Where, when and how the numbers were measured."""
  revision = machine.get('git_revision') or machine.get('git_sha')
  line = (f"machine: {machine.get('cpu_model')}, {machine['cpu_count']} "
          f"CPUs, TF {machine['tensorflow']}, {machine['date']}, revision "
          f"{revision}")
  if machine.get('command'):
    line += f"\ncommand: {machine['command']}"
  return line


def format_report(results):
  """The readable tables of a results dict."""
  out = []
  machine = results['machine']
  out.append(machine_line(machine))
  rows, breakdown_rows = [], []
  for name, config in results['configs'].items():
    steps = config.get('steps')
    if not steps:
      continue
    for mode, entry in steps['by_mode'].items():
      rule, sgd = entry['rule'], entry['sgd']
      fastest = 1e3 * min(rule['call_times_s']) / steps['unroll_steps']
      rows.append([
          name, mode, f"{rule['step_ms']:.1f}", f'{fastest:.1f}',
          f"{sgd['step_ms']:.3f}",
          f"{entry['rule_over_sgd']:.0f}", f"{rule['compile_s']:.1f}",
          f"{steps['rule_macs_per_step'] / 1e9:.3f}", f"{rule['gflops']:.1f}",
          f"{config['matmul']['gflops']:.1f}",
          f"{100 * entry['rule_gflops_over_matmul']:.0f}%"])
    total = steps['rule_macs_per_step']
    top = sorted(steps['rule_mac_breakdown'].items(), key=lambda kv: -kv[1])
    breakdown_rows.append([name, f'{total / 1e9:.3f}'] + [
        f'{part} {100 * macs / total:.0f}%' for part, macs in top[:4]])
  if rows:
    out.append('\nInner step (median per step, and the fastest call; SGD = '
               'backprop + softmax CE head; GFLOP/s from the median)')
    out.append(text_table(['config', 'mode', 'rule ms', 'fastest', 'sgd ms',
                       'rule/sgd',
                       'compile s', 'GMAC', 'GFLOP/s', 'matmul', '% mm'],
                      rows))
    out.append('\nRule multiply-adds per step (largest parts)')
    out.append(text_table(['config', 'GMAC', '1st', '2nd', '3rd', '4th'],
                      breakdown_rows))
  rows = []
  for name, config in results['configs'].items():
    forward = config.get('steps', {}).get('by_mode', {})
    for key, entry in config.get('meta_gradient', {}).items():
      mode, steps, recompute = key.split('/')
      if entry.get('status') != 'ok':
        rows.append([name, mode, steps, recompute, entry.get('status')] +
                    [''] * 7)
        continue
      base = forward.get(targets_lib.FORWARD_MODE.get(mode, mode), {}).get(
          'rule', {}).get('step_ms')
      rows.append([
          name, mode, steps, recompute, 'ok', f"{entry['first_call_s']:.1f}",
          f"{entry['call_s']:.2f}", f"{entry['step_ms']:.1f}",
          f"{entry['step_ms'] / base:.1f}" if base else '',
          f"{entry['peak_mb']:.0f}", f"{entry['delta_mb']:.0f}",
          f"{entry['steady_delta_mb']:.0f}"])
  if rows:
    out.append('\nMeta-gradient (first call = trace + compile + run; '
               'x fwd = per-step time / rule forward step, same mode)')
    out.append(text_table(['config', 'mode', 'steps', 'recompute', 'status',
                       'first s', 'call s', 'ms/step', 'x fwd', 'peak MB',
                       'delta MB', 'steady dMB'], rows))
  if results.get('targets'):
    out.append('\nTargets (ratios within this run)')
    out.append(targets_lib.format_targets(results['targets']))
  return '\n'.join(out)


def format_profile(results):
  """The profile of ``benchmarks/profile_step.py``: one row per op class,
  one column of shares of thread time per program."""
  programs = results['programs']
  totals = {name: sum(entry['thread_ms_per_step'].values())
            for name, entry in programs.items()}
  shares = {name: {label: ms / totals[name] for label, ms in
                   entry['thread_ms_per_step'].items()}
            for name, entry in programs.items()}
  labels = sorted({label for share in shares.values() for label in share},
                  key=lambda label: -sum(share.get(label, 0.0)
                                         for share in shares.values()))
  rows = [[label] + [f'{100 * shares[name].get(label, 0.0):.1f}%'
                     for name in programs] for label in labels]
  rows.append(['thread ms / step'] + [f'{totals[name]:.0f}'
                                      for name in programs])
  rows.append(['wall ms / step'] + [
      f"{entry['wall_ms_per_step']:.0f}" for entry in programs.values()])
  return (machine_line(results['machine']) +
          f"\nconfig {results['config']}, {results['steps']} rule steps per "
          'call; shares of thread time\n\n' +
          text_table(['op class'] + list(programs), rows))
