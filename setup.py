"""Installs the learned_rule package.

Development install with the test tools: ``pip install -e '.[test]'`` (what
``make setup`` runs).
"""

import pathlib

import setuptools

_ROOT = pathlib.Path(__file__).parent


# (script name after "learned-rule-", module of learned_rule.cli).
_CONSOLE_SCRIPTS = (
    ('meta_train', 'meta_train'),
    ('transfer_eval', 'transfer_eval'),
    ('permuted_ablation', 'permuted_ablation'),
    ('paired_eval', 'paired_eval'),
    ('apply', 'apply_rule'),
    ('prepare_data', 'prepare_data'),
    ('launch_local_cluster', 'launch_local_cluster'),
    ('import_paper_rule', 'import_paper_rule'),
    ('plot_training', 'plot_training'),
    ('compare_rules', 'compare_rules'),
    ('upgrade_rule', 'upgrade_rule'),
    ('write_rule_manifest', 'write_rule_manifest'),
)


def _version():
  """Reads ``__version__`` without importing the package (and TensorFlow)."""
  namespace = {}
  exec((_ROOT / 'learned_rule' / 'version.py').read_text(), namespace)  # pylint: disable=exec-used
  return namespace['__version__']


setuptools.setup(
    name='learned_rule',
    version=_version(),
    description=('Meta-learned unsupervised update rules for representation '
                 'learning (ICLR 2019), in TensorFlow 2 and Keras 3.'),
    packages=setuptools.find_packages(
        include=['learned_rule', 'learned_rule.*']),
    # Gin configs that ship inside the package, at any depth, and the
    # shipped rules (learned_rule.rules), every file of them.
    package_data={'learned_rule': ['*.gin', '**/*.gin', 'rules/**/*']},
    license='Apache-2.0',
    python_requires='>=3.10',
    install_requires=[
        'tensorflow>=2.21,<2.22',
        'keras>=3.10,<4',
        'tensorflow-datasets>=4.9',
        # tensorflow-datasets imports importlib_resources but does not
        # declare it as a dependency.
        'importlib_resources',
        'gin-config>=0.5',
        'absl-py',
        'numpy',
        'scikit-learn',
        'scipy',  # ndimage, for the augmentation of learned_rule.data.transforms.
        'Pillow',
        'matplotlib',
    ],
    extras_require={
        # TensorBoard's own event reader checks the summaries in the tests.
        'test': ['pytest', 'pytest-xdist', 'tensorboard>=2.21,<2.22'],
    },
    # One console script per binary; bin/*.py are thin launchers of the
    # same entry points for a checkout.
    entry_points={
        'console_scripts': [
            f'learned-rule-{name.replace("_", "-")}='
            f'learned_rule.cli.{module}:run'
            for name, module in _CONSOLE_SCRIPTS
        ],
    },
)
