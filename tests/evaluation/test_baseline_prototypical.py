"""Tests of the prototypical-network baseline (spec §7.3, paper Fig. 2 right).

Real data: the 8×8 digits, meta-training classes 0–5 and held-out classes
6–9, 4-way tasks of 5 support and 5 query examples per class.

On held-out digit classes a network trained with intact pixels is not
reliably better than one trained on permuted pixels, nor than an untrained
one (six meta-training classes do not teach features that transfer). On
unseen examples of the meta-training classes, which the tests score from
the disjoint 'test' split, intact training wins by a wide margin over every
seed we tried; the permutation tests use those tasks.
"""

import gin
import numpy as np
import pytest

from learned_rule.data import dataset
from learned_rule.data import digits
from learned_rule.evaluation.baselines import prototypical

HELD_OUT = (6, 7, 8, 9)
SIZES = dict(widths=(64, 32), ways=4, shots=10, queries=5)
EPISODES = 150
NUM_TASKS = 30


@pytest.fixture(scope='module')
def digit_classes():
  """``(meta_train, held_out, seen)``: seen = classes 0–5, 'test' split."""
  meta_train, held_out = prototypical.split_classes(
      digits.load_split('train'), HELD_OUT)
  seen, _ = prototypical.split_classes(digits.load_split('test'), HELD_OUT)
  return meta_train, held_out, seen


@pytest.fixture(scope='module')
def trained(digit_classes):
  """Accuracies before and after training, losses and the permutations.

  One intact and one permuted network, trained and scored on the same
  classes and examples; every permutation they draw is recorded.
  """
  meta_train, held_out, seen = digit_classes
  draw_permutation = prototypical.draw_permutation
  results = {}
  for permute in (False, True):
    drawn = []

    def recording(input_dim, rng, drawn=drawn):
      drawn.append(draw_permutation(input_dim, rng))
      return drawn[-1]

    with pytest.MonkeyPatch.context() as patch:
      patch.setattr(prototypical, 'draw_permutation', recording)
      network = prototypical.PrototypicalNetwork(
          episodes=EPISODES, permute=permute, seed=0, **SIZES)
      before = {'seen': network.evaluate(seen, NUM_TASKS, seed=1),
                'held_out': network.evaluate(held_out, NUM_TASKS, seed=1)}
      losses = network.fit(meta_train)
      after = {'seen': network.evaluate(seen, NUM_TASKS, seed=1),
               'held_out': network.evaluate(held_out, NUM_TASKS, seed=1)}
    results[permute] = dict(before=before, after=after, losses=losses,
                            permutations=drawn)
  return results


# -- Training and accuracy. ---------------------------------------------------


def test_intact_network_is_well_above_chance_on_held_out_classes(trained):
  evaluation = trained[False]['after']['held_out']
  assert len(evaluation.task_accuracies) == NUM_TASKS
  assert evaluation.accuracy == pytest.approx(
      np.mean(evaluation.task_accuracies))
  assert evaluation.accuracy > 0.6  # Chance: 0.25.


def test_training_lowers_the_episode_loss(trained):
  # With a fresh permutation per episode the loss stays near its start
  # within this budget; only its finiteness is checked.
  for permute in (False, True):
    losses = trained[permute]['losses']
    assert losses.shape == (EPISODES,)
    assert np.all(np.isfinite(losses))
  losses = trained[False]['losses']
  assert losses[-20:].mean() < 0.5 * losses[:20].mean()


def test_training_improves_on_unseen_examples_of_training_classes(trained):
  intact = trained[False]
  assert intact['after']['seen'].accuracy > 0.9
  assert (intact['after']['seen'].accuracy >
          intact['before']['seen'].accuracy + 0.05)


def test_permuted_inputs_reduce_the_accuracy(trained):
  # Same classes, examples and budget; only the permutation differs.
  intact = trained[False]['after']['seen'].accuracy
  permuted = trained[True]['after']['seen'].accuracy
  assert permuted < intact - 0.05


def test_evaluation_is_deterministic_given_the_seed(digit_classes):
  _, held_out, _ = digit_classes
  network = prototypical.PrototypicalNetwork(permute=True, seed=3, **SIZES)
  first = network.evaluate(held_out, 3, seed=7)
  assert network.evaluate(held_out, 3, seed=7) == first
  assert network.evaluate(held_out, 3, seed=8) != first


# -- Permutations. ------------------------------------------------------------


def test_draw_permutation_is_a_bijection_that_changes_between_tasks():
  rng = np.random.default_rng(0)
  permutations = [prototypical.draw_permutation(64, rng) for _ in range(5)]
  for permutation in permutations:
    np.testing.assert_array_equal(np.sort(permutation), np.arange(64))
  assert len({tuple(p) for p in permutations}) == 5


def test_every_training_episode_and_test_task_is_permuted_afresh(trained):
  # Drawn in order: two evaluations of NUM_TASKS tasks before training,
  # the training episodes, two evaluations after. All four evaluations use
  # seed 1, so they repeat the same permutations.
  drawn = [tuple(p) for p in trained[True]['permutations']]
  assert len(drawn) == EPISODES + 4 * NUM_TASKS
  training = drawn[2 * NUM_TASKS:2 * NUM_TASKS + EPISODES]
  evaluations = [drawn[i * NUM_TASKS:(i + 1) * NUM_TASKS] for i in (0, 1)] + [
      drawn[-(i + 1) * NUM_TASKS:len(drawn) - i * NUM_TASKS] for i in (1, 0)]
  assert len(set(training)) == EPISODES
  for evaluation in evaluations:
    assert evaluation == evaluations[0]
  assert len(set(evaluations[0])) == NUM_TASKS
  assert not set(training) & set(evaluations[0])


def test_intact_network_draws_no_permutation(trained):
  assert not trained[False]['permutations']


def test_permuted_task_is_the_intact_task_with_shuffled_features():
  data = _numbered(num_classes=3, per_class=12, dim=6)
  network = prototypical.PrototypicalNetwork(ways=3, shots=2, queries=3)
  members = network._members(data)  # pylint: disable=protected-access
  permutation = np.array([5, 0, 3, 1, 4, 2])
  intact = network._task(  # pylint: disable=protected-access
      data, [0, 1, 2], members, np.random.default_rng(4), None)
  permuted = network._task(  # pylint: disable=protected-access
      data, [0, 1, 2], members, np.random.default_rng(4), permutation)
  np.testing.assert_array_equal(permuted[0], intact[0][:, permutation])
  np.testing.assert_array_equal(permuted[2], intact[2][:, permutation])
  np.testing.assert_array_equal(permuted[1], intact[1])
  np.testing.assert_array_equal(permuted[3], intact[3])


# -- Building blocks. ---------------------------------------------------------


def _numbered(num_classes=4, per_class=30, dim=5, class_names=()):
  """Examples whose first feature is their unique index."""
  count = num_classes * per_class
  features = np.zeros((count, dim), np.float32)
  features[:, 0] = np.arange(count)
  labels = np.repeat(np.arange(num_classes), per_class)
  return dataset.Dataset('numbered', features, labels, (dim,), num_classes,
                         modality='toy', class_names=class_names)


def test_split_classes_relabels_both_parts_in_label_order():
  data = _numbered(class_names=('a', 'b', 'c', 'd'))
  train, test = prototypical.split_classes(data, [3, 1])
  assert (train.num_classes, test.num_classes) == (2, 2)
  assert (train.class_names, test.class_names) == (('a', 'c'), ('b', 'd'))
  for part, original in ((train, [0, 2]), (test, [1, 3])):
    indices = part.features[:, 0].astype(int)
    np.testing.assert_array_equal(
        np.asarray(original)[part.labels], data.labels[indices])
  assert not set(train.features[:, 0]) & set(test.features[:, 0])
  assert len(train) + len(test) == len(data)


@pytest.mark.parametrize('held_out, message', [
    ([], 'non-empty'),
    ([1, 1], 'repeats'),
    ([4], 'no classes'),
    ([0, 1, 2, 3], 'every class'),
])
def test_split_classes_rejects_bad_classes(held_out, message):
  with pytest.raises(ValueError, match=message):
    prototypical.split_classes(_numbered(), held_out)


def test_prototype_logits_are_negative_squared_distances_to_class_means():
  rng = np.random.default_rng(0)
  support = rng.normal(size=(6, 3)).astype(np.float32)
  labels = np.array([0, 1, 2, 0, 1, 2], np.int32)
  query = rng.normal(size=(4, 3)).astype(np.float32)
  prototypes = np.stack([support[labels == c].mean(0) for c in range(3)])
  expected = -np.array([[np.sum((q - p) ** 2) for p in prototypes]
                        for q in query])
  logits = prototypical.prototype_logits(support, labels, query, 3)
  np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_embedding_is_the_base_model_top_layer():
  network = prototypical.PrototypicalNetwork(widths=(7, 3), ways=2)
  network.evaluate(_numbered(num_classes=2, per_class=20), 1, seed=0)
  inputs = np.random.default_rng(1).normal(size=(10, 5)).astype(np.float32)
  embeddings = network.embed(inputs).numpy()
  assert embeddings.shape == (10, 3)
  x = inputs
  # pylint: disable-next=protected-access
  for kernel, offset in zip(network._kernels, network._offsets):
    linear = x @ kernel.numpy()
    normalised = (linear - linear.mean(0)) / np.sqrt(linear.var(0) + 1e-6)
    x = np.maximum(normalised + offset.numpy(), 0.0)
  np.testing.assert_allclose(embeddings, x, rtol=1e-4, atol=1e-4)


def test_fewer_test_classes_than_ways_uses_all_of_them(digit_classes,
                                                       monkeypatch):
  _, held_out, _ = digit_classes
  requested = []
  sample_classes = prototypical.sampling.sample_classes

  def recording(data, num_classes, rng):
    requested.append(num_classes)
    return sample_classes(data, num_classes, rng)

  monkeypatch.setattr(prototypical.sampling, 'sample_classes', recording)
  network = prototypical.PrototypicalNetwork(
      widths=(16,), ways=10, shots=2, queries=3)
  evaluation = network.evaluate(held_out, 2, seed=0)
  assert requested == [4, 4]
  # 4 classes × 3 queries: accuracies are multiples of 1/12.
  for accuracy in evaluation.task_accuracies:
    assert accuracy * 12 == pytest.approx(round(accuracy * 12))


def test_is_gin_configurable_for_what_runs_do_not_set():
  gin.parse_config(['PrototypicalNetwork.learning_rate = 0.01',
                    'PrototypicalNetwork.queries = 4'])
  network = prototypical.PrototypicalNetwork()
  assert (network.learning_rate, network.queries) == (0.01, 4)
  # Set by every run of the ablation, so gin may not bind them.
  with pytest.raises(ValueError, match='ways'):
    gin.parse_config(['PrototypicalNetwork.ways = 3'])


def test_training_in_pieces_sees_the_same_episodes_as_in_one_call():
  data = digits.load_split('train')
  losses = []
  for pieces in ((6,), (2, 4)):
    network = prototypical.PrototypicalNetwork(
        widths=(16, 4), episodes=0, ways=3, shots=3, queries=2, seed=5)
    for count in pieces:
      network.episodes = count
      losses.append(network.fit(data))
  np.testing.assert_allclose(losses[0], np.concatenate(losses[1:]),
                             rtol=1e-5)


# -- Bad input. ---------------------------------------------------------------


def test_unknown_activation_lists_the_valid_ones():
  with pytest.raises(ValueError, match='allowed values: .*relu.*tanh'):
    prototypical.PrototypicalNetwork(activation='gelu')


@pytest.mark.parametrize('ways', [1, 0, 2.5])
def test_ways_below_two_is_rejected(ways):
  with pytest.raises(ValueError, match='`ways` must be an int >= 2'):
    prototypical.PrototypicalNetwork(ways=ways)


@pytest.mark.parametrize('arguments, message', [
    (dict(widths=()), 'at least one layer'),
    (dict(widths=(8, 0)), r'widths\[1\]'),
    (dict(shots=0), '`shots`'),
    (dict(queries=0), '`queries`'),
    (dict(episodes=-1), '`episodes`'),
    (dict(learning_rate=0.0), '`learning_rate`'),
])
def test_bad_hyperparameters_are_rejected(arguments, message):
  with pytest.raises(ValueError, match=message):
    prototypical.PrototypicalNetwork(**arguments)


def test_training_needs_ways_classes_with_enough_examples():
  with pytest.raises(ValueError, match='at least `ways`=5'):
    prototypical.PrototypicalNetwork(ways=5).fit(_numbered())
  with pytest.raises(ValueError, match='are needed for 10 support'):
    prototypical.PrototypicalNetwork(ways=2, queries=25).fit(_numbered())


def test_evaluation_rejects_other_input_sizes_and_bad_task_counts():
  network = prototypical.PrototypicalNetwork(widths=(4,), ways=2, shots=2,
                                             queries=2)
  network.evaluate(_numbered(dim=5), 1, seed=0)
  with pytest.raises(ValueError, match='takes 5 input features'):
    network.evaluate(_numbered(dim=6), 1, seed=0)
  with pytest.raises(ValueError, match='`num_tasks`'):
    network.evaluate(_numbered(dim=5), 0, seed=0)
