"""The few-shot task the meta-objective scores features on (spec §5.2).

:func:`learned_rule.data.sampling.few_shot_batch` draws one from a dataset;
the meta-objective (``MetaObjective``) and the inner loop consume it.
"""

import collections


class FewShotBatch(collections.namedtuple(
    'FewShotBatch', ['support_x', 'support_y', 'query_x', 'query_y',
                     'support_extra', 'query_extra'],
    defaults=(None, None))):
  """A few-shot task: labelled support and query examples (spec §5.2).

  Fields:
    support_x: [K, ...] inputs. support_y: int [K] labels.
    query_x: [K', ...] inputs. query_y: int [K'] labels.
    support_extra, query_extra: optional extra regression targets [K, E]
      and [K', E] (e.g. augmentation amounts, spec §6.2).
  """
