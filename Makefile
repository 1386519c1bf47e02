# Development tasks. `make test` creates the virtualenv on first use.

VENV ?= .venv
PYTHON ?= python3

# Quiet TensorFlow's C++ logging in every command below.
export TF_CPP_MIN_LOG_LEVEL := 2

# Touched after a successful install; reinstalls only when setup.py changes.
STAMP := $(VENV)/.installed

.PHONY: setup test demo benchmark clean distclean

setup: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The venv is an order-only prerequisite: its own timestamp changes whenever
# pip writes into it, which must not trigger another install.
$(STAMP): setup.py | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -e '.[test]'
	touch $@

# Two pytest-xdist workers: one per core of the reference machine.
test: setup
	$(VENV)/bin/python -m pytest -q -n 2 tests

demo: setup
	$(VENV)/bin/python bin/apply_rule.py --gin_file=apply/digits_demo.gin --dataset=digits --steps=300 --eval_every=25

benchmark: setup
	$(VENV)/bin/python benchmarks/inner_step.py

clean:
	rm -rf build dist .eggs *.egg-info .pytest_cache bazel-*
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune \
	    -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
