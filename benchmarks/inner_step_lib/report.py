"""The readable tables of a results dict (see ``--report_from``)."""

from benchmarks.inner_step_lib import targets as targets_lib


def text_table(headers, rows):
  """Fixed-width text table; every column as wide as its widest cell."""
  cells = [headers] + [[str(c) for c in row] for row in rows]
  widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
  lines = ['  '.join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
  lines.insert(1, '  '.join('-' * w for w in widths))
  return '\n'.join(lines)


def format_report(results):
  """The readable tables of a results dict."""
  out = []
  machine = results['machine']
  out.append(f"machine: {machine.get('cpu_model')}, {machine['cpu_count']} "
             f"CPUs, TF {machine['tensorflow']}, {machine['date']}")
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
