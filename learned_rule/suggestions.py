"""Suggestions for a misspelled name in an error: "Did you mean ...?".

One helper that every module naming a choice in an error uses: a gin
configurable or parameter, a dataset, a gin file, a shipped rule.
"""

import difflib

# How many close names a message offers, and how close they must be
# (difflib's ratio, 0 to 1; 0.6 is its default).
MAX_SUGGESTIONS = 3
CUTOFF = 0.6


def close_matches(word, choices):
  """The names of ``choices`` closest to ``word``, best first."""
  return difflib.get_close_matches(str(word), [str(c) for c in choices],
                                   n=MAX_SUGGESTIONS, cutoff=CUTOFF)


def did_you_mean(word, choices):
  """`` Did you mean 'x'?`` (or ``'x', 'y' or 'z'``) for ``word``, or ''
  if nothing in ``choices`` is close."""
  quoted = [repr(match) for match in close_matches(word, choices)]
  if not quoted:
    return ''
  listed = ' or '.join([', '.join(quoted[:-1]), quoted[-1]] if len(quoted) > 1
                       else quoted)
  return f' Did you mean {listed}?'
