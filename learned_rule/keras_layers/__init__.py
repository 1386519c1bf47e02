"""Keras layers built on learned rules.

:class:`RuleFeatures` puts an exported rule and the base model it trains
inside a Keras model: adapted without labels, it feeds its features to a
classifier trained with ``model.fit``.
"""

from learned_rule.keras_layers.rule_features import RuleFeatures
