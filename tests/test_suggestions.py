"""Suggestions ("Did you mean ...?") for misspelled names in errors."""

from learned_rule import suggestions


def test_the_closest_names_come_best_first():
  assert suggestions.close_matches('mnits', ('mnist', 'cifar10')) == [
      'mnist']
  assert suggestions.did_you_mean('mnits', ('mnist', 'cifar10')) == (
      " Did you mean 'mnist'?")


def test_several_names_are_listed_and_far_ones_left_out():
  message = suggestions.did_you_mean(
      'cpu_6min', ('cpu_60min', 'cpu_160min', 'gpu_9h'))
  assert message == " Did you mean 'cpu_60min' or 'cpu_160min'?"
  assert suggestions.did_you_mean('alphabet', ('cpu_60min',)) == ''
