"""The names of feature methods, as results, tables and plots show them.

Every number the package reports (held-out evaluation during
meta-training, ``bin/paired_eval.py``, ``bin/apply_rule.py``, transfer
evaluation, ablation, sweeps) names its method with one of these.
"""

# A rule applied to a base model (spec §8.1).
LEARNED_RULE = 'learned_rule'
# The same rule configuration at its initial, never meta-trained θ.
THETA_INIT = 'theta_init'
# The base model as initialised, never updated (spec §8.2).
RANDOM_INIT = 'random_init'
RULE_METHODS = (LEARNED_RULE, THETA_INIT, RANDOM_INIT)

# Baselines (spec §8.2 and the cheap references of DESIGN §1).
SUPERVISED = 'supervised'
VAE = 'vae'
HEBBIAN = 'hebbian'
PCA = 'pca'
RAW_INPUTS = 'raw_inputs'
BASELINES = (SUPERVISED, VAE, HEBBIAN, PCA, RAW_INPUTS)

# The prototypical network of the permuted-input ablation (spec §7.3).
PROTOTYPICAL = 'prototypical'

# Separates a method from its variant, 'base/variant'; plots group the
# variants of one base method.
VARIANT_SEPARATOR = '/'
# Suffix of a method run on permuted inputs (spec §7.3, paper Fig. 2 right):
# 'learned_rule/permuted'.
PERMUTED = VARIANT_SEPARATOR + 'permuted'

# The order in which tables and plots list methods; others follow by name.
METHOD_ORDER = RULE_METHODS + BASELINES + (PROTOTYPICAL,)


def permuted(name):
  """``name`` run on permuted inputs."""
  return name + PERMUTED


def split_permuted(name):
  """``(base name, permuted?)`` of a method name."""
  if name.endswith(PERMUTED):
    return name[:-len(PERMUTED)], True
  return name, False
