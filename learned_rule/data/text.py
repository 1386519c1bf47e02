"""Text as a bag of words (spec §7.2: IMDB "bag of words with 1K words").

The vocabulary is the most frequent words of the *training* documents only,
so evaluation text never shapes the features. Each document becomes a
vector over the vocabulary: word presence (binary, default) or counts. The
paper does not say which; binary is our choice, counts are an option.
"""

import collections
import re

import numpy as np

# §7.2: vocabulary size of the IMDB bag of words.
VOCABULARY_SIZE = 1000
_TOKEN = re.compile(r"[a-z0-9']+")
_MARKUP = re.compile(r'<[^>]+>')


def tokenize(document):
  """Lower-cased word tokens; HTML tags (IMDB has ``<br />``) dropped."""
  if isinstance(document, bytes):
    document = document.decode('utf-8', errors='replace')
  return _TOKEN.findall(_MARKUP.sub(' ', document.lower()))


def build_vocabulary(documents, size=VOCABULARY_SIZE):
  """The ``size`` most frequent tokens, ties broken alphabetically.

  Args:
    documents: Iterable of str or bytes.
    size: Vocabulary size.

  Returns:
    A list of words, most frequent first.
  """
  if size <= 0:
    raise ValueError(f'`size` must be positive, got {size}.')
  counts = collections.Counter()
  for document in documents:
    counts.update(tokenize(document))
  if not counts:
    raise ValueError('The documents hold no words to build a vocabulary.')
  ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
  return [word for word, _ in ranked[:size]]


def bag_of_words(documents, vocabulary, binary=True):
  """float32 [N, len(vocabulary)]: word presence or counts per document."""
  index = {word: i for i, word in enumerate(vocabulary)}
  documents = list(documents)
  features = np.zeros((len(documents), len(vocabulary)), np.float32)
  for row, document in enumerate(documents):
    for token in tokenize(document):
      column = index.get(token)
      if column is not None:
        features[row, column] += 1.0
  if binary:
    np.minimum(features, 1.0, out=features)
  return features
