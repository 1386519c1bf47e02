r"""Writes the manifest of shipped rule directories after a deliberate change.

Every file of a shipped rule is listed with its sha256 in its
``MANIFEST.json`` (``learned_rule/rules/manifest.py``), which every load
checks. Example:

  learned-rule-write-rule-manifest learned_rule/rules/cpu_160min
"""

from absl import app

from learned_rule.cli import startup


def main(argv):
  directories = argv[1:]
  if not directories:
    raise app.UsageError('Name at least one rule directory.')
  from learned_rule.rules import manifest  # pylint: disable=g-import-not-at-top
  for directory in directories:
    try:
      print(f'Wrote {manifest.write(directory)}')
    except OSError as error:
      raise app.UsageError(f'{directory}: {error}') from error


def run():
  """Console-script entry point."""
  startup.run(main, uses_tensorflow=False)


if __name__ == '__main__':
  run()
