"""The campaign's table, as the README shows it, from its JSON results."""


def _fraction(part, whole):
  return f'{part} / {whole}'


def _kill_rows(kills):
  landed = kills['kills_by_landing']
  rows = [
      ('SIGKILLs of meta-training survived (every checkpoint and export '
       'reads back after it)', _fraction(kills['kills_survived'],
                                         kills['kills'])),
      ('… of which landed in a checkpoint write / an export write',
       f'{landed.get("checkpoint write", 0)} / '
       f'{landed.get("export write", 0)}'),
      ('Corrupt checkpoints or exports found', str(kills['corrupt'])),
      ('Restarts that resumed from the newest checkpoint',
       _fraction(kills['resumes_matched'], kills['resumes_checked'])),
      ('Killed runs that then finished', _fraction(kills['runs_finished'],
                                                   kills['runs'])),
      ('Starts that failed on their own (not killed)',
       str(kills['lives_failed'])),
  ]
  if 'theta_bit_equal' in kills:
    rows.append((f'Deterministic tiny.gin run killed '
                 f'{_times(kills["tiny_kills"])}: final θ bit-equal to an '
                 'uninterrupted run\'s',
                 'yes' if kills['theta_bit_equal'] else 'no'))
  return rows


def _times(count):
  return 'once' if count == 1 else f'{count} times'


def _evaluation_rows(evaluations):
  rows = []
  for found in evaluations:
    rows.append((
        f'{found["evaluation"].capitalize()} evaluation killed '
        f'{_times(found["kills"])}: restarts that said they resumed; '
        'finished cells left untouched; cells equal to an uninterrupted '
        'run\'s',
        f'{_fraction(found["resumes_said"], found["resumes"])}; '
        f'{_fraction(found["cells_untouched"], found["cells_kept"])}; '
        f'{_fraction(found["cells_equal_to_uninterrupted"], found["cells"])}'))
  return rows


def _disk_rows(disks):
  if not disks:
    return []
  how = ', '.join(sorted({found['how'] for found in disks}))
  good = [found for found in disks
          if found['stopped_with_74'] and found['message_says_why'] and
          not found['traceback'] and found['previous_survived'] and
          found['resumed']]
  return [(f'Full disk during a checkpoint, an export, a results write '
           f'({how}): stopped with status 74 and a message, the previous '
           'one intact, resumed once freed',
           _fraction(len(good), len(disks)))]


def markdown(results):
  """The table of one campaign's ``results`` (what chaos.py writes)."""
  rows = []
  if 'kills' in results:
    rows += _kill_rows(results['kills'])
  rows += _evaluation_rows(results.get('evaluations', []))
  concurrent = results.get('concurrent', [])
  if concurrent:
    good = sum(found['first_was_live'] and found['second_refused'] and
               found['first_finished'] and not found['corrupt']
               for found in concurrent)
    rows.append(('Second run started on a live run\'s directory '
                 '(meta-training, transfer): refused at start, the first '
                 'finished unharmed', _fraction(good, len(concurrent))))
  rows += _disk_rows(results.get('full_disk', []))
  if 'bad_inputs' in results:
    bad = results['bad_inputs']
    rows.append(('Bad inputs rejected cleanly (non-zero status, a message '
                 'naming the fix, no traceback)',
                 _fraction(bad['rejected_cleanly'], bad['tried'])))
  rows.append(('Wall time', f'{results["wall_minutes"]:.0f} min'))
  lines = ['| measure | result |', '|---|---|']
  lines += [f'| {name} | {value} |' for name, value in rows]
  lines.append('')
  lines.append(f'One `make chaos` run at revision {results["git_revision"]}, '
               f'{results["machine"]}, {results["date"]}.')
  return '\n'.join(lines) + '\n'
