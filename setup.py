"""Installs the learned_rule package.

Development install with the test tools: ``pip install -e '.[test]'`` (what
``make setup`` runs).
"""

import pathlib

import setuptools

_ROOT = pathlib.Path(__file__).parent


def _module_namespace(name):
  """Runs ``learned_rule/<name>.py`` alone, without importing the package
  (and TensorFlow): both files below import nothing."""
  namespace = {}
  exec((_ROOT / 'learned_rule' / f'{name}.py').read_text(), namespace)  # pylint: disable=exec-used
  return namespace


setuptools.setup(
    name='learned_rule',
    version=_module_namespace('version')['__version__'],
    description=('Meta-learned unsupervised update rules for representation '
                 'learning (ICLR 2019), in TensorFlow 2 and Keras 3.'),
    packages=setuptools.find_packages(
        include=['learned_rule', 'learned_rule.*']) + [
            'learned_rule.gin_configs'],
    # The top-level gin_configs/ ships inside the package under the same
    # names (learned_rule/configuration.py finds it in both places).
    package_dir={'learned_rule.gin_configs': 'gin_configs'},
    # The gin configs at any depth, and the shipped rules
    # (learned_rule.rules), every file of them.
    package_data={'learned_rule': ['rules/**/*'],
                  'learned_rule.gin_configs': ['*.gin', '**/*.gin']},
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
        'tqdm',  # Progress bars (learned_rule/progress.py).
        # The HParams dashboard's summaries (learned_rule/reporting/hparams.py); its
        # event reader also checks the summaries in the tests.
        'tensorboard>=2.21,<2.22',
    ],
    extras_require={
        'test': ['pytest', 'pytest-xdist'],
    },
    # One console script per binary (learned_rule/console_scripts.py);
    # bin/*.py are thin launchers of the same entry points for a checkout.
    entry_points={
        'console_scripts':
            _module_namespace('console_scripts')['entry_points'](),
    },
)
