"""The performance targets of the rule step, read from one results dict.

Every target is a ratio of two numbers measured in the same run, so the
load of a shared machine cancels (the README's "Tests and benchmarks"):

* ``rule_over_matmul``: the rule step's GFLOP/s over the dense matmul's,
  per configuration, at the faster of graph mode and XLA (the forward
  unroll uses XLA by default, ``InnerLoop(jit_compile=True)``);
* ``meta_gradient_over_forward``: a meta-gradient's time per unrolled step
  over the forward step's, same mode, recomputation on (the meta-trainer's
  setting), per number of unrolled steps k;
* ``memory_over_k16``: the extra memory of a meta-gradient through k steps
  over that through 16 (``delta_mb``: peak minus the resident set before
  the first call), recomputation on.

Each entry keeps its goal and whether it was met.
"""

# Goals of the rule step's performance (ours; see the README).
RULE_OVER_MATMUL_GOALS = {'paper': 0.85, 'cpu': 0.60}
META_GRADIENT_OVER_FORWARD_GOAL = 2.5
MEMORY_OVER_K16_GOAL = 1.5
# The k of the memory baseline.
MEMORY_BASE_STEPS = 16
# The forward mode a meta-gradient mode is compared with: an XLA step's
# with the XLA forward unroll.
FORWARD_MODE = {'xla_step': 'xla'}


def _spread(times):
  """(min, max) over the median of a list of call times."""
  ordered = sorted(times)
  median = ordered[len(ordered) // 2]
  return [ordered[0] / median, ordered[-1] / median]


def _entry(value, goal, at_most=True, **details):
  """A target's record: ``value`` against ``goal`` (an upper bound unless
  ``at_most`` is False), and what it was computed from."""
  met = value <= goal if at_most else value >= goal
  return dict(value=value, goal=goal, met=met, **details)


def compute_targets(results):
  """The targets that ``results`` has the measurements for."""
  out = {'rule_over_matmul': {}, 'meta_gradient_over_forward': {},
         'memory_over_k16': {}}
  for name, config in results['configs'].items():
    by_mode = config.get('steps', {}).get('by_mode', {})
    if by_mode and name in RULE_OVER_MATMUL_GOALS:
      ratios = {mode: entry['rule_gflops_over_matmul']
                for mode, entry in by_mode.items()}
      best = max(ratios, key=ratios.get)
      out['rule_over_matmul'][name] = _entry(
          ratios[best], RULE_OVER_MATMUL_GOALS[name], at_most=False,
          mode=best, by_mode=ratios,
          call_time_spread=_spread(by_mode[best]['rule']['call_times_s']))
    gradients = config.get('meta_gradient', {})
    for key, entry in gradients.items():
      mode, steps, recompute = key.split('/')
      if entry.get('status') != 'ok' or recompute != 'on':
        continue
      base = gradients.get(f'{mode}/{MEMORY_BASE_STEPS}/on', {})
      forward = by_mode.get(FORWARD_MODE.get(mode, mode), {}).get(
          'rule', {}).get('step_ms')
      if forward:
        out['meta_gradient_over_forward'][f'{name}/{key}'] = _entry(
            entry['step_ms'] / forward, META_GRADIENT_OVER_FORWARD_GOAL,
            meta_gradient_step_ms=entry['step_ms'], forward_step_ms=forward,
            call_time_spread=_spread(entry['call_times_s']))
      if base.get('status') == 'ok' and int(steps) != MEMORY_BASE_STEPS:
        out['memory_over_k16'][f'{name}/{key}'] = _entry(
            entry['delta_mb'] / base['delta_mb'], MEMORY_OVER_K16_GOAL,
            delta_mb=entry['delta_mb'], k16_delta_mb=base['delta_mb'])
  return out


def format_targets(targets):
  """One line per target: value, goal, met."""
  lines = []
  for group, entries in targets.items():
    for key, entry in entries.items():
      verdict = 'met' if entry['met'] else 'NOT met'
      lines.append(f"{group} {key}: {entry['value']:.2f} (goal "
                   f"{'>=' if group == 'rule_over_matmul' else '<='} "
                   f"{entry['goal']}) {verdict}")
  return '\n'.join(lines)
