"""The console scripts an installed package provides, one per binary.

``setup.py`` reads this file without importing the package; error messages
name a binary by its script (:func:`command`), which works after any
``pip install``, editable or not (``bin/<module>.py`` runs the same entry
point from a checkout).
"""

PREFIX = 'learned-rule-'

# (script name after PREFIX, module of learned_rule.cli whose run() it calls).
SCRIPTS = (
    ('meta-train', 'meta_train'),
    ('transfer-eval', 'transfer_eval'),
    ('permuted-ablation', 'permuted_ablation'),
    ('paired-eval', 'paired_eval'),
    ('apply', 'apply_rule'),
    ('prepare-data', 'prepare_data'),
    ('launch-local-cluster', 'launch_local_cluster'),
    ('import-paper-rule', 'import_paper_rule'),
    ('plot-training', 'plot_training'),
    ('compare-rules', 'compare_rules'),
    ('upgrade-rule', 'upgrade_rule'),
    ('write-rule-manifest', 'write_rule_manifest'),
    ('run-recipes', 'run_recipes'),
)


def command(module):
  """The console script of ``learned_rule.cli.<module>``, e.g.
  'learned-rule-prepare-data' for 'prepare_data'."""
  for name, cli_module in SCRIPTS:
    if cli_module == module:
      return PREFIX + name
  raise KeyError(f'No console script runs learned_rule.cli.{module}.')


def entry_points():
  """``console_scripts`` entry points in setuptools' form."""
  return [f'{PREFIX}{name}=learned_rule.cli.{module}:run'
          for name, module in SCRIPTS]
