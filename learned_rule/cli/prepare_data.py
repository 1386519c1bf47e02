r"""Prepares a TFDS dataset offline from upstream archives (DESIGN.md §5).

Checks the archives against the sha256 sums TFDS registers, then lets TFDS
build the dataset from them (its manual_dir route); nothing is downloaded.
Examples:

  # Upstream archives you hold (file names as TFDS expects them; an error
  # lists them), e.g. train-images-idx3-ubyte.gz ... for MNIST:
  learned-rule-prepare-data --dataset=mnist --archive_dir=~/archives/mnist

  # Fashion-MNIST from Debian (apt-get install dataset-fashion-mnist):
  learned-rule-prepare-data --dataset=fashion_mnist --from_debian

  # The rendered-fonts Alphabet (spec §6.2), cached after the first render:
  learned-rule-prepare-data --dataset=alphabet

  # Debian package descriptions, a text corpus for the transfer to text
  # (spec §7.2), from apt's package lists; skipped when already prepared:
  learned-rule-prepare-data --dataset=debian_descriptions

  # Fortune-cookie quotations by topic, the text no rule meta-trains on
  # (apt-get install fortunes):
  learned-rule-prepare-data --dataset=fortunes   # or --archive_dir=DIR

--from_debian is the same as --archive_dir=debian. --data_dir defaults to
TFDS's default data directory (TFDS_DATA_DIR if set); the loaders of
learned_rule.data.tfds_sources read from the same place.
"""

import os

from absl import app
from absl import flags

from learned_rule.cli import startup

flags.DEFINE_string('dataset', None,
                    'mnist, fashion_mnist, cifar10, imdb_reviews, alphabet '
                    '(renders the font cache), debian_descriptions '
                    "(writes the text corpus from apt's package lists) or "
                    "fortunes (from Debian's fortunes package).")
flags.DEFINE_string('archive_dir', None,
                    'Directory holding the upstream archives (or a '
                    'sub-directory named after the dataset that does); '
                    '"debian" means --from_debian. For fortunes: the topic '
                    'files (default: where Debian installs them).')
flags.DEFINE_bool('from_debian', False,
                  "Fashion-MNIST from Debian's dataset-fashion-mnist package "
                  '(/usr/share/datasets/fashion-mnist), headers restored.')
flags.DEFINE_string('data_dir', None,
                    "TFDS data directory to build into; default: TFDS's.")
flags.DEFINE_string('staging_dir', None,
                    'With --from_debian: keep the restored archives here '
                    '(default: a temporary directory).')

FLAGS = flags.FLAGS

# The text corpora written from Debian's files (learned_rule/data/).
TEXT_CORPORA = ('debian_descriptions', 'fortunes')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if FLAGS.dataset in TEXT_CORPORA:
    _write_text_corpus(FLAGS.dataset)
    return
  # Imported here so that --help answers without loading TFDS.
  from learned_rule.data import archives  # pylint: disable=g-import-not-at-top

  if FLAGS.dataset is None:
    raise app.UsageError(
        f'--dataset is required: one of {", ".join(archives.SUPPORTED)}, '
        f'alphabet, debian_descriptions or fortunes.')
  if FLAGS.dataset == 'alphabet':
    _render_alphabet()
    return
  archive_dir = FLAGS.archive_dir
  if FLAGS.from_debian:
    if archive_dir not in (None, archives.DEBIAN):
      raise app.UsageError('Give --from_debian or --archive_dir, not both.')
    archive_dir = archives.DEBIAN
  if archive_dir is None:
    raise app.UsageError('Give --archive_dir=DIR (or --from_debian for '
                         'fashion_mnist).')
  if archive_dir != archives.DEBIAN:
    archive_dir = os.path.expanduser(archive_dir)
  data_dir = FLAGS.data_dir and os.path.expanduser(FLAGS.data_dir)
  try:
    prepared = archives.prepare(FLAGS.dataset, archive_dir, data_dir,
                                staging_dir=FLAGS.staging_dir)
  except archives.ArchiveError as error:
    raise app.UsageError(str(error)) from error
  for action in prepared.actions:
    print(action)
  print(f'{prepared.tfds_name} in {prepared.dataset_dir}:')
  for split, count in prepared.split_sizes.items():
    print(f'  {split}: {count} examples')
  print(f'Load it with data_dir={prepared.data_dir} (or TFDS_DATA_DIR='
        f'{prepared.data_dir}).')


def _render_alphabet():
  """Renders (or finds cached) the Alphabet and says what it holds."""
  # pylint: disable=g-import-not-at-top
  from learned_rule.data import alphabet
  from learned_rule.data import font_faces
  # pylint: enable=g-import-not-at-top
  try:
    rendered = alphabet.load_alphabet()
  except font_faces.NotEnoughFontsError as error:
    raise app.UsageError(str(error)) from error
  for split in ('train', 'test'):
    faces = rendered.split_indices(split)
    print(f'  {split}: {len(faces)} font faces, '
          f'{len(faces) * len(font_faces.CHARACTERS)} images')
  print(f'Alphabet {rendered.size}x{rendered.size} cached at '
        f'{rendered.cache_path}')


def _write_text_corpus(name):
  """Writes the text corpus ``name`` unless it is already there."""
  # pylint: disable=g-import-not-at-top
  from learned_rule.data import debian_descriptions
  from learned_rule.data import fortunes
  # pylint: enable=g-import-not-at-top
  module, error, unit, write = {
      'debian_descriptions': (debian_descriptions,
                              debian_descriptions.DumpError,
                              'package descriptions',
                              debian_descriptions.write_corpus),
      'fortunes': (fortunes, fortunes.SourceError, 'fortunes',
                   lambda target: fortunes.write_corpus(
                       target, source_dir=FLAGS.archive_dir and
                       os.path.expanduser(FLAGS.archive_dir))),
  }[name]
  directory = module.CORPUS.directory()
  counts = module.CORPUS.counts(directory)
  if counts is not None:
    print(f'{name} is prepared at {directory} (delete it to write it '
          f'again):')
  else:
    try:
      counts = write(directory)
    except error as failure:
      raise app.UsageError(str(failure)) from failure
    print(f'{name} written to {directory}:')
  for section, count in counts.items():
    print(f'  {section}: {count} {unit}')


def run():
  """Console-script entry point."""
  startup.run(main)


if __name__ == '__main__':
  run()
