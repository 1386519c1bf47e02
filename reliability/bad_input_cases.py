"""The table of bad inputs of the campaign (:mod:`reliability.bad_inputs`).

Each :class:`Case` builds its bad files under a work directory and returns
the command line: a binary of ``bin/`` with its flags, or ``['-c',
snippet]`` for a case of the public API. Binaries run configurations that
would be quick if a bad input were accepted by mistake (one seed, a few
steps, no XLA), so that an accepted input shows as a non-zero count, not
as a long run.
"""

import dataclasses
import json
import pathlib
import re
from typing import Callable, Sequence, Union

import numpy as np

from reliability import bad_input_files as files
from learned_rule.data import archives

# The families of bad input; 'api' cases name theirs in `family`.
KINDS = ('gin', 'dataset', 'own data', 'savedmodel', 'data', 'run dir',
         'flags', 'checkpoint', 'archive', 'api')


@dataclasses.dataclass(frozen=True)
class Case:
  """One bad input.

  Attributes:
    name: Unique, used by ``--only``.
    kind: One of :data:`KINDS` (the issue's families; 'api' for the public
      API cases, whose family is in ``family``).
    setup: ``work_dir → argv`` after the interpreter: a binary
      (``bin/<name>.py`` and its flags) or ``['-c', snippet]``; it creates
      the files the case needs under ``work_dir``.
    expect: The substring (or compiled regex) that names the fix.
    family: The issue's family of an 'api' case; '' for the others, whose
      kind is their family. (Own data cases are named after their form:
      imagedir_..., npz_..., textdir_....)
  """

  name: str
  kind: str
  setup: Callable[[pathlib.Path], Sequence[str]]
  expect: Union[str, re.Pattern]
  family: str = ''

  def found(self, text):
    """Whether ``text`` (a run's output) holds :attr:`expect`."""
    if isinstance(self.expect, str):
      return self.expect in text
    return self.expect.search(text) is not None


def _binding(name, value):
  return f'--gin_bindings={name} = {value}'


# Quick if accepted by mistake: one seed, two steps, no XLA.
_HELD_OUT = ('--gin_file=held_out/cpu.gin',
             _binding('HeldOutEvaluation.steps', 2),
             _binding('HeldOutEvaluation.seeds', '(0,)'),
             _binding('HeldOutEvaluation.jit_compile', False))


def _paired(*args, rule='cpu_60min'):
  return ['bin/paired_eval.py', f'--rule={rule}', *_HELD_OUT, *args]


def _held_out_data(unused_work, name):
  """paired_eval on the held-out dataset ``name``."""
  return _paired(_binding('HeldOutEvaluation.dataset', json.dumps(str(name))))


def _transfer(work, *args):
  return ['bin/transfer_eval.py', '--rule=cpu_60min',
          f'--root_dir={work / "transfer"}', '--gin_file=transfer/tiny.gin',
          _binding('TOP_WIDTH', 32), *args]


def _transfer_data(work, name):
  return _transfer(work, _binding('TransferConfig.datasets',
                                  f'({json.dumps(str(name))},)'))


def _meta(work, *args, root=None):
  return ['bin/meta_train.py', f'--root_dir={root or work / "run"}',
          '--gin_file=meta_train/tiny.gin', '--nobatch_tasks', *args]


def _meta_data(work, name):
  return _meta(work, _binding('TaskDistribution.datasets',
                              f'(({json.dumps(str(name))}, 1.0),)'))


_API = """import sys
try:
{body}
except ValueError as error:
  print(f'{{type(error).__module__}}.{{type(error).__name__}}: {{error}}',
        file=sys.stderr)
  sys.exit(1)
print('accepted: no error', file=sys.stderr)
"""


def _api(*lines):
  """``['-c', snippet]``: runs ``lines``, printing the ValueError."""
  return ['-c', _API.format(body='\n'.join('  ' + line for line in lines))]


def _file(work, name='file', text='not a directory'):
  path = work / name
  path.write_text(text)
  return path


def _own(case_name, build, expect, runner=_held_out_data):
  """A case of own data (named after its form: imagedir_..., npz_...,
  textdir_...); ``build(work)`` returns its dataset name."""
  return Case(case_name, 'own data', lambda work: runner(work, build(work)),
              expect)


# What the messages must say. A damaged export: make it again; an export of
# a newer format: a newer package (or, for an older one, the upgrade tool).
_EXPORT_AGAIN = re.compile(r'(?i)(export|copy) (it|the rule) again|re-?export')
_NEWER_PACKAGE = re.compile(r'pip install|learned-rule-upgrade-rule')
_GIVE_A_DIRECTORY = re.compile(r'--root_dir=.*give a directory')
_PNG = 'imagedir:{}'.format
_NPZ = 'npz:{}'.format
_TEXT = 'textdir:{}'.format
_TWO = {'a': 60, 'b': 60}


def _mixed_shapes(work):
  images = np.empty(2, object)
  images[0], images[1] = np.zeros((8, 8)), np.zeros((6, 6))
  return _NPZ(files.npz_file(work / 'mixed.npz', images=images,
                             labels=np.array([0, 1])))


def _arrays(work, counts=(60, 60), labels=None, values=None):
  """An npz of ``counts`` images per class; ``labels`` replace theirs and
  ``values`` goes into one pixel."""
  images, default_labels = files.image_arrays(counts)
  if values is not None:
    images = images.astype(np.float32)
    images[0, 0, 0] = values
  return _NPZ(files.npz_file(
      work / 'data.npz', images=images,
      labels=default_labels if labels is None else labels))


def _truncated_images(work):
  """Every image of one class truncated, so that either split has one."""
  directory = files.image_directory(work / 'images', _TWO)
  for path in (directory / 'a').iterdir():
    files.truncate(path)
  return _PNG(directory)


def _not_an_image(work):
  directory = files.image_directory(work / 'images', _TWO)
  (directory / 'b' / '7.png').write_text('<html>not an image</html>')
  return _PNG(directory)


def _rule_case(name, damage, expect):
  return Case(name, 'savedmodel', lambda work: _paired(
      rule=files.damaged_rule(work, damage)), expect)


CASES = (
    # -- gin -------------------------------------------------------------------
    Case('gin_misspelled_parameter', 'gin', lambda work: _paired(
        _binding('HeldOutEvaluation.step', 3)), "Did you mean 'steps'"),
    Case('gin_misspelled_configurable', 'gin', lambda work: _paired(
        _binding('HeldOutEvaluaton.steps', 3)),
         "Did you mean 'HeldOutEvaluation'"),
    Case('gin_misspelled_in_meta_train', 'gin', lambda work: _meta(
        work, _binding('TaskDistribution.hiden_widths', '(8,)')),
         "Did you mean 'hidden_widths'"),
    Case('gin_wrong_type_steps', 'gin', lambda work: _paired(
        _binding('HeldOutEvaluation.steps', '"many"')),
         'HeldOutEvaluation.steps must be an int'),
    Case('gin_wrong_type_widths', 'gin', lambda work: _paired(
        _binding('HeldOutEvaluation.widths', '"wide"')),
         'HeldOutEvaluation.widths must be a tuple'),
    Case('gin_unknown_file', 'gin', lambda work: _paired(
        '--gin_file=held_out/cpus.gin'), "Did you mean 'held_out/cpu.gin'"),
    Case('gin_unbalanced_binding', 'gin', lambda work: _paired(
        _binding('HeldOutEvaluation.widths', '(64, 32')), 'is never closed'),
    Case('gin_unknown_activation', 'gin', lambda work: _paired(
        _binding('HeldOutEvaluation.activation', '"rleu"')),
         'allowed values: '),
    # -- datasets --------------------------------------------------------------
    Case('dataset_unknown_name', 'dataset',
         lambda work: _held_out_data(work, 'mnits'), "Did you mean 'mnist'"),
    Case('dataset_unprepared', 'dataset',
         lambda work: _held_out_data(work, 'mnist'),
         'learned-rule-prepare-data --dataset=mnist'),
    Case('dataset_unprepared_fashion_mnist', 'dataset',
         lambda work: _held_out_data(work, 'tiny_fashion_mnist'),
         '--from_debian'),
    Case('dataset_unprepared_in_meta_train', 'dataset',
         lambda work: _meta_data(work, 'cifar10'),
         'learned-rule-prepare-data --dataset=cifar10'),
    Case('dataset_unknown_prefix', 'dataset',
         lambda work: _held_out_data(work, 'csv:/data/file.csv'),
         'imagedir:DIR'),
    # -- own data --------------------------------------------------------------
    _own('imagedir_missing', lambda work: _PNG(work / 'nowhere'),
         'name an existing directory'),
    _own('imagedir_empty',
         lambda work: _PNG(files.image_directory(work / 'images', {})),
         'put the images of each class in a sub-directory'),
    _own('imagedir_one_class', lambda work: _PNG(
        files.image_directory(work / 'images', {'a': 60})),
         'add another class'),
    _own('imagedir_truncated_image', _truncated_images,
         'Replace it with a valid image or delete it'),
    _own('imagedir_not_an_image', _not_an_image,
         'Replace it with a valid image or delete it'),
    _own('imagedir_too_few_per_class', lambda work: _PNG(
        files.image_directory(work / 'images', {'a': 60, 'b': 12})),
         'give every class at least 59 examples'),
    _own('npz_missing_file', lambda work: _NPZ(work / 'none.npz'),
         'name an existing file'),
    _own('npz_empty_file',
         lambda work: _NPZ(_file(work, 'empty.npz', '')),
         'numpy.savez(FILE, images=images, labels=labels)'),
    _own('npz_missing_keys', lambda work: _NPZ(files.npz_file(
        work / 'data.npz', x=np.zeros((4, 8, 8)), y=np.zeros(4))),
         'numpy.savez(FILE, images=images, labels=labels)'),
    _own('npz_mixed_shapes', _mixed_shapes,
         'resize every image to one shape'),
    _own('npz_label_count_mismatch', lambda work: _arrays(
        work, labels=np.zeros(7, np.int64)), 'give exactly one label per'),
    _own('npz_one_class', lambda work: _arrays(
        work, labels=np.zeros(120, np.int64)), 'add another class'),
    _own('npz_too_few_per_class', lambda work: _arrays(
        work, counts=(60, 20)), 'give every class at least 59 examples',
         runner=_meta_data),
    _own('npz_nan', lambda work: _arrays(work, values=np.nan),
         'NaN or infinite values; replace them'),
    _own('npz_inf', lambda work: _arrays(work, values=np.inf),
         'NaN or infinite values; replace them', runner=_transfer_data),
    _own('textdir_one_class', lambda work: _TEXT(
        files.text_directory(work / 'texts', {'a': 80})),
         'at least two class sub-directories', runner=_transfer_data),
    _own('textdir_empty_files', lambda work: _TEXT(
        files.text_directory(work / 'texts', {'a': 80, 'b': 80},
                             empty={('b', 3)})),
         'delete them or give them text', runner=_transfer_data),
    _own('textdir_too_few_per_class', lambda work: _TEXT(
        files.text_directory(work / 'texts', {'a': 80, 'b': 30})),
         'give every class at least', runner=_transfer_data),
    # -- SavedModels -----------------------------------------------------------
    Case('rule_missing', 'savedmodel', lambda work: _paired(
        rule=work / 'no_rule'), "a shipped rule's name"),
    Case('rule_misspelled_name', 'savedmodel', lambda work: _paired(
        rule='cpu_6min'), "Did you mean 'cpu_60min'"),
    _rule_case('rule_truncated_saved_model_pb', 'truncated_pb', _EXPORT_AGAIN),
    _rule_case('rule_empty_saved_model_pb', 'empty_pb', _EXPORT_AGAIN),
    _rule_case('rule_truncated_variables', 'truncated_variables',
               _EXPORT_AGAIN),
    _rule_case('rule_no_variables', 'no_variables', _EXPORT_AGAIN),
    _rule_case('rule_newer_format_version', 'format_version_2',
               _NEWER_PACKAGE),
    Case('rule_foreign_saved_model', 'savedmodel', lambda work: [
        'bin/apply_rule.py', f'--rule={files.foreign_saved_model(work)}',
        *_HELD_OUT], 'not an exported learned rule'),
    # -- data ------------------------------------------------------------------
    Case('data_top_width_not_the_rule', 'data', lambda work: _paired(
        _binding('HeldOutEvaluation.widths', '(64, 16)')),
         'make the last width 32'),
    Case('data_zero_width', 'data', lambda work: _transfer(
        work, _binding('TransferConfig.widths', '((0, 32),)')),
         'TransferConfig.widths'),
    Case('data_widths_not_nested', 'data', lambda work: _transfer(
        work, _binding('TransferConfig.widths', '(64, 32)')),
         'write ((64, 32),)'),
    Case('data_batch_larger_than_split', 'data', lambda work: _paired(
        _binding('HeldOutEvaluation.batch_size', 100000)),
         'HeldOutEvaluation.batch_size'),
    Case('data_memory_over_the_machine', 'data', lambda work: _paired(
        _binding('HeldOutEvaluation.widths', '(300000, 300000, 32)')),
         'use narrower or fewer layers'),
    # -- run directories -------------------------------------------------------
    Case('run_dir_under_a_file', 'run dir', lambda work: _meta(
        work, root=_file(work) / 'run'), _GIVE_A_DIRECTORY),
    Case('run_dir_is_a_file', 'run dir', lambda work: _transfer(
        work, f'--root_dir={_file(work)}'), _GIVE_A_DIRECTORY),
    Case('run_dir_in_proc', 'run dir', lambda work: _meta(
        work, root='/proc/learned_rule_run'), _GIVE_A_DIRECTORY),
    Case('output_json_under_a_file', 'run dir', lambda work: _paired(
        f'--output_json={_file(work)}/paired.json'),
         re.compile(r'--output_json=.*give a directory')),
    # -- flags -----------------------------------------------------------------
    Case('flags_negative_num_steps', 'flags',
         lambda work: _meta(work, '--num_steps=-3'), '--num_steps'),
    Case('flags_negative_max_minutes', 'flags',
         lambda work: _meta(work, '--max_minutes=-1'), '--max_minutes'),
    Case('flags_eval_every_zero', 'flags', lambda work: [
        'bin/apply_rule.py', '--rule=cpu_60min', *_HELD_OUT,
        '--eval_every=0'], '--eval_every'),
    Case('flags_steps_not_increasing', 'flags', lambda work: _transfer(
        work, _binding('TransferConfig.steps', '(4, 2, 0)')),
         'TransferConfig.steps must be strictly increasing'),
    Case('flags_misspelled_flag', 'flags', lambda work: _meta(
        work, '--num_step=3'), 'Did you mean'),
    Case('flags_missing_root_dir', 'flags', lambda work: [
        'bin/transfer_eval.py', '--rule=cpu_60min'], '--root_dir'),
    # -- checkpoints -----------------------------------------------------------
    Case('checkpoint_of_another_config', 'checkpoint', lambda work: _meta(
        work, _binding('RuleConfig.hidden_size', 7),
        root=files.checkpointed_run(work)),
         re.compile(r'(?s)(config\.gin|new --root_dir).*hidden_size')),
    # -- archives --------------------------------------------------------------
    Case('archive_debian_fashion_mnist', 'archive', lambda work: [
        'bin/prepare_data.py', '--dataset=fashion_mnist',
        f'--archive_dir={archives.DEBIAN_FASHION_MNIST_DIR}',
        f'--data_dir={work / "tfds"}'],
         '--from_debian'),
    Case('archive_missing_files', 'archive', lambda work: [
        'bin/prepare_data.py', '--dataset=mnist',
        f'--archive_dir={work}', f'--data_dir={work / "tfds"}'],
         'train-images-idx3-ubyte.gz'),
    Case('archive_unknown_dataset', 'archive', lambda work: [
        'bin/prepare_data.py', '--dataset=mnits', f'--archive_dir={work}'],
         "Did you mean 'mnist'"),
    # -- the public API --------------------------------------------------------
    Case('api_load_rule_truncated', 'api', lambda work: _api(
        'from learned_rule import export',
        f'export.load_rule({str(files.damaged_rule(work, "truncated_pb"))!r}'
        ' + "/export")'), _EXPORT_AGAIN, 'savedmodel'),
    Case('api_rule_features_top_width', 'api', lambda work: _api(
        'from learned_rule.keras_layers import RuleFeatures',
        "RuleFeatures('cpu_60min', widths=(64, 16))"),
         'Make the last width 32', 'data'),
    Case('api_rule_features_input_width', 'api', lambda work: _api(
        'import numpy as np',
        'from learned_rule.keras_layers import RuleFeatures',
        "layer = RuleFeatures('cpu_60min', widths=(16, 32))",
        'layer.build((None, 64))',
        'layer(np.zeros((4, 49), np.float32))'),
         'make a new RuleFeatures layer', 'data'),
    Case('api_rule_features_nan', 'api', lambda work: _api(
        'import numpy as np',
        'from learned_rule.keras_layers import RuleFeatures',
        "layer = RuleFeatures('cpu_60min', widths=(16, 32))",
        'data = np.full((8, 64), np.nan, np.float32)',
        'layer.adapt(data, steps=1, batch_size=4)'),
         'replace or drop them', 'data'),
    Case('api_registry_unknown_name', 'api', lambda work: _api(
        'from learned_rule.data import registry',
        "registry.load('fashion_minst')"), "Did you mean 'fashion_mnist'",
         'dataset'),
    Case('api_parse_gin_misspelled', 'api', lambda work: _api(
        'from learned_rule import configuration',
        'from learned_rule.evaluation import held_out',
        "configuration.parse_gin([], ['HeldOutEvaluation.num_draw = 2'])"),
         "Did you mean 'num_draws'", 'gin'),
    Case('api_shipped_rule_unknown', 'api', lambda work: _api(
        'from learned_rule import rules', "rules.load('cpu_61min')"),
         "Did you mean 'cpu_60min'", 'savedmodel'),
)


