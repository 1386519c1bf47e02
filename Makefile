# Development tasks. `make test` creates the virtualenv on first use.

VENV ?= .venv
PYTHON ?= python3

# Quiet TensorFlow's C++ logging in every command below.
export TF_CPP_MIN_LOG_LEVEL := 2

# Touched after a successful install; reinstalls only when setup.py changes.
STAMP := $(VENV)/.installed

.PHONY: setup offline-data fonts prepare-data test wheel-check demo demo-apply \
    transfer-offline ablation-offline sweeps-offline results-offline \
    publish-results benchmark benchmark-xla-gradient chaos quotes build-files \
    long-run long-run-save ship-rule clean distclean

setup: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The venv is an order-only prerequisite: its own timestamp changes whenever
# pip writes into it, which must not trigger another install.
$(STAMP): setup.py | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -e '.[test]'
	touch $@

# Offline data (DESIGN.md §5): Debian's Fashion-MNIST archives, from which
# tests/data/test_prepare_data.py builds the TFDS dataset (into temporary
# directories; nothing is prepared here), and Debian's fortunes. Installs with apt-get where we are
# root; `apt-get update` runs first only if apt does not know the package.
FASHION_MNIST_DEB := dataset-fashion-mnist
FASHION_MNIST_FILE := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
# The text that no rule meta-trains on (learned_rule/data/fortunes.py).
FORTUNES_DEB := fortunes
FORTUNES_DIR := /usr/share/games/fortunes

offline-data:
	@if [ -f $(FASHION_MNIST_FILE) ]; then \
	  echo "offline-data: $(FASHION_MNIST_DEB) is installed."; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-cache show $(FASHION_MNIST_DEB) >/dev/null 2>&1 || apt-get update; \
	  apt-get install -y $(FASHION_MNIST_DEB) || \
	    echo "offline-data: could not install $(FASHION_MNIST_DEB)."; \
	fi
	@if [ ! -f $(FASHION_MNIST_FILE) ]; then \
	  echo "offline-data: $(FASHION_MNIST_DEB) is missing (needs apt-get" \
	    "and root: apt-get install $(FASHION_MNIST_DEB))."; \
	  echo "  Still runs: every test but the Fashion-MNIST preparation" \
	    "tests, which skip (and fail where CI is set); the digits demo."; \
	fi
	@if [ -d $(FORTUNES_DIR) ]; then \
	  echo "offline-data: $(FORTUNES_DEB) is installed."; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-cache show $(FORTUNES_DEB) >/dev/null 2>&1 || apt-get update; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y $(FORTUNES_DEB) || \
	    echo "offline-data: could not install $(FORTUNES_DEB)."; \
	fi
	@if [ ! -d $(FORTUNES_DIR) ]; then \
	  echo "offline-data: $(FORTUNES_DEB) is missing (needs apt-get and" \
	    "root: apt-get install $(FORTUNES_DEB)); the fortunes corpus" \
	    "test skips (and fails where CI is set)."; \
	fi

# Fonts for the rendered "Alphabet" (spec §6.2, learned_rule/data/alphabet.py):
# these Debian packages give ~90 usable faces. Installs the missing ones with
# apt-get where we are root; `apt-get update` runs first only if apt does not
# know one of them.
FONT_DEBS := fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 \
    fonts-freefont-ttf fonts-urw-base35 fonts-croscore
FONTS_STILL_RUNS := "  Still runs: every test but the Alphabet tests, which" \
    "skip with fewer than 40 font faces (and fail where CI is set); the" \
    "digits demo."

fonts:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
	  echo "fonts: no dpkg here; the Alphabet needs 40 font faces under" \
	    "/usr/share/fonts (Debian: $(FONT_DEBS))."; \
	  echo $(FONTS_STILL_RUNS); exit 0; \
	fi; \
	missing=""; \
	for deb in $(FONT_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$deb 2>/dev/null | \
	    grep -q 'ok installed' || missing="$$missing $$deb"; \
	done; \
	if [ -z "$$missing" ]; then \
	  echo "fonts: $(FONT_DEBS) are installed."; exit 0; \
	fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  for deb in $$missing; do \
	    apt-cache show $$deb >/dev/null 2>&1 || { apt-get update; break; }; \
	  done; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing && exit 0; \
	  echo "fonts: could not install$$missing."; \
	fi; \
	echo "fonts: missing$$missing (needs apt-get and root:" \
	  "apt-get install -y$$missing)."; \
	echo $(FONTS_STILL_RUNS)

# Builds the offline data into TFDS's data directory, the Alphabet cache, the
# fortunes corpus and the Debian descriptions corpus
# (learned_rule/data/debian_descriptions.py),
# where their sources are installed; quick when already done. The corpus is
# read from apt's package lists: if that fails, `apt-get update` runs (where
# we are root) and the corpus is tried once more.
PREPARE_DEBIAN_DESCRIPTIONS := $(VENV)/bin/python bin/prepare_data.py \
    --dataset=debian_descriptions

prepare-data: setup offline-data fonts
	@if [ -f $(FASHION_MNIST_FILE) ]; then \
	  $(VENV)/bin/python bin/prepare_data.py --dataset=fashion_mnist \
	    --from_debian; \
	else echo "prepare-data: skipping fashion_mnist (not installed)."; fi
	@$(VENV)/bin/python bin/prepare_data.py --dataset=alphabet || \
	  echo "prepare-data: the Alphabet could not be rendered (see above)."
	@if [ -d $(FORTUNES_DIR) ]; then \
	  $(VENV)/bin/python bin/prepare_data.py --dataset=fortunes; \
	else echo "prepare-data: skipping fortunes (not installed)."; fi
	@$(PREPARE_DEBIAN_DESCRIPTIONS) || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    apt-get update && $(PREPARE_DEBIAN_DESCRIPTIONS); } || \
	  echo "prepare-data: the Debian descriptions could not be written" \
	    "(see above)."

# Two pytest-xdist workers: one per core of the reference machine. -rs lists
# the reason of any skipped test.
test: prepare-data
	$(VENV)/bin/python -m pytest -q -rs -n 2 tests

# The wheel installed (not editable) into a throwaway environment and run
# from an empty directory (.ci/wheel_check.sh); CI runs it after the tests.
wheel-check: setup
	VENV=$(VENV) bash .ci/wheel_check.sh

# What the package is for, then a smoke run. First the shipped rule
# $(DEMO_RULE) against θ-init, random init and the baselines on held-out
# digits (transfer/demo.gin: a few minutes on 2 cores), as a table, with
# the paths of the plots; then a few meta-training steps, which check that meta-training
# runs here and are too few to learn anything. Both resume: a second
# `make demo` reuses the finished cells and the finished run. Each rule's
# demo has a directory of its own (DEMO_DIR/DEMO_RULE).
DEMO_DIR := runs/demo
DEMO_RULE := architectures_2906
demo: prepare-data
	@echo "== 1/2: the shipped rule $(DEMO_RULE) against θ-init, random" \
	  "init and the baselines, on held-out digits"
	$(VENV)/bin/python bin/transfer_eval.py --rule=$(DEMO_RULE) \
	    --root_dir=$(DEMO_DIR)/$(DEMO_RULE) --gin_file=transfer/demo.gin
	@echo "== 2/2: a smoke run of meta-training (10 θ updates; the" \
	  "shipped rule had 2906)"
	$(VENV)/bin/python bin/meta_train.py --root_dir=$(DEMO_DIR)/smoke \
	    --gin_file=meta_train/cpu.gin --num_steps=10 \
	    --checkpoint_every_steps=5 --export_every_steps=10
	@echo "Smoke run done: $(DEMO_DIR)/smoke (tensorboard --logdir=runs)."

# The θ-init rule applied to the paper's evaluation model on digits.
demo-apply: prepare-data
	$(VENV)/bin/python bin/apply_rule.py --gin_file=apply/digits_demo.gin \
	    --eval_every=25

# Transfer evaluation, permuted-input ablation and generalisation sweeps of a
# rule on the offline data; RULE is a shipped rule's name, an exported rule or
# a meta-training run directory (default: the one-hour rule). Each run resumes.
# `make results-offline RULE=<shipped rule>` runs them all, then publishes
# them: results.json, results.md and headline.md of each run, and the rule's
# targets (learned-rule-compare-rules), under results/rules/RULE/, and
# rewrites the quotes of them in the README, docs/ and the rule's card.
# REFERENCE_RULE, a rule published under results/rules/ before, adds a
# column of the rule against it to the targets.
RULE ?= cpu_60min
RESULTS_DIR ?= runs/results/$(RULE)
PUBLISHED_DIR ?= results/rules/$(RULE)
REFERENCE_RULE ?=
REFERENCE_FLAGS := $(if $(REFERENCE_RULE), \
    --reference_transfer=results/rules/$(REFERENCE_RULE)/transfer \
    --reference_modality=results/rules/$(REFERENCE_RULE)/modality \
    --reference_name=$(REFERENCE_RULE))
transfer-offline: prepare-data
	$(VENV)/bin/python bin/transfer_eval.py --rule=$(RULE) \
	    --root_dir=$(RESULTS_DIR)/transfer --gin_file=transfer/offline.gin
ablation-offline: prepare-data
	$(VENV)/bin/python bin/permuted_ablation.py --rule=$(RULE) \
	    --root_dir=$(RESULTS_DIR)/ablation --gin_file=ablation/offline.gin
SWEEPS := width depth activation modality
sweeps-offline: prepare-data
	for sweep in $(SWEEPS); do \
	  $(VENV)/bin/python bin/transfer_eval.py --rule=$(RULE) \
	      --root_dir=$(RESULTS_DIR)/$$sweep \
	      --gin_file=sweeps/$${sweep}_offline.gin || exit 1; \
	done
results-offline: transfer-offline ablation-offline sweeps-offline
	$(MAKE) publish-results RULE=$(RULE) RESULTS_DIR=$(RESULTS_DIR)
	$(MAKE) quotes
publish-results:
	for run in transfer ablation $(SWEEPS); do \
	  mkdir -p $(PUBLISHED_DIR)/$$run && \
	  cp $(RESULTS_DIR)/$$run/results.json $(RESULTS_DIR)/$$run/results.md \
	    $(RESULTS_DIR)/$$run/headline.md $(PUBLISHED_DIR)/$$run/ || exit 1; \
	done
	$(VENV)/bin/python bin/compare_rules.py \
	    --transfer=$(PUBLISHED_DIR)/transfer \
	    --modality=$(PUBLISHED_DIR)/modality $(REFERENCE_FLAGS) \
	    --architectures=$(PUBLISHED_DIR)/width,$(PUBLISHED_DIR)/depth \
	    --output_md=$(PUBLISHED_DIR)/targets.md

# The long meta-training run of the recipe that won the comparison of
# docs/recipes.md, in resumable slices. Its newest checkpoint (θ, Adam's
# slots, the tasks in flight), θ-init, config and TensorBoard events are
# committed in long_run/, so that any machine goes on with it: `make
# long-run` copies them into LONG_RUN_DIR where that holds no checkpoint
# yet, then meta-trains for one slice of LONG_RUN_MINUTES with the held-out
# curve every 100 θ updates; `make long-run-save` puts the newest complete
# checkpoint back into long_run/, to be committed, with the curves drawn
# from its events (curves.png) and the held-out curve as a table
# (curve.json and curve.md, quoted in docs/recipes.md).
LONG_RUN_RECIPE := $(shell cat long_run/RECIPE 2>/dev/null)
LONG_RUN_DIR ?= runs/long_run
LONG_RUN_MINUTES ?= 60
long-run: prepare-data
	@if [ ! -d $(LONG_RUN_DIR)/ckpt ]; then \
	  mkdir -p $(LONG_RUN_DIR) && cp -r long_run/run/. $(LONG_RUN_DIR)/; fi
	$(VENV)/bin/python bin/meta_train.py --root_dir=$(LONG_RUN_DIR) \
	    --gin_file=meta_train/recipes/$(LONG_RUN_RECIPE).gin \
	    --max_minutes=$(LONG_RUN_MINUTES) --evaluate_every_steps=100 \
	    --checkpoint_every_steps=25 --export_every_steps=100 \
	    --filters_every_steps=0
long-run-save:
	@latest=$$(ls -d $(LONG_RUN_DIR)/ckpt/ckpt-*/ 2>/dev/null | \
	  while read d; do [ -f $$d/COMPLETE ] && echo $$d; done | sort | tail -1); \
	if [ -z "$$latest" ]; then echo "long-run-save: no complete checkpoint" \
	  "in $(LONG_RUN_DIR)"; exit 1; fi; \
	rm -rf long_run/run && mkdir -p long_run/run/ckpt && \
	cp -r $$latest long_run/run/ckpt/ && \
	cp -r $(LONG_RUN_DIR)/export_init $(LONG_RUN_DIR)/config.gin \
	  $(LONG_RUN_DIR)/summaries long_run/run/ && \
	echo "long-run-save: $$latest -> long_run/run/ckpt/"
	$(VENV)/bin/python bin/plot_training.py --root_dir=long_run/run \
	    --output=long_run/curves.png --output_json=long_run/curve.json \
	    --title="long run: meta_train/recipes/$(LONG_RUN_RECIPE).gin"
	$(MAKE) quotes

# A new shipped rule from the long run's newest export: `make ship-rule
# SHIP_NAME=<name>` copies its θ, θ-init and config into
# learned_rule/rules/<name>/, draws the run's curves (curves.png), measures
# it with the paired held-out evaluation (paired_eval.json and .md) and
# writes its manifest. Its CARD.md is prose written after these (then
# `python bin/write_rule_manifest.py learned_rule/rules/<name>` again), and
# `make results-offline RULE=<name> REFERENCE_RULE=cpu_160min` measures the
# paper's claims and the targets with it.
# SHIP_FROM ships another run; SHIP_TITLE then names its recipe instead.
# A run directory holding only a checkpoint (long_run/run, copied) gets its
# export from `bin/meta_train.py --num_steps=<its step>`, with no training.
SHIP_FROM ?= $(LONG_RUN_DIR)
SHIP_TITLE ?= $(SHIP_NAME): meta_train/recipes/$(LONG_RUN_RECIPE).gin
SHIP_DIR = learned_rule/rules/$(SHIP_NAME)
ship-rule: prepare-data
	@if [ -z "$(SHIP_NAME)" ]; then \
	  echo "ship-rule: name the new rule, e.g. SHIP_NAME=cpu_long_run"; \
	  exit 2; fi
	@if [ -e $(SHIP_DIR) ]; then \
	  echo "ship-rule: $(SHIP_DIR) exists; choose another SHIP_NAME"; \
	  exit 1; fi
	@if [ ! -f $(SHIP_FROM)/export/saved_model.pb ]; then \
	  echo "ship-rule: $(SHIP_FROM) holds no export yet; a run with a" \
	    "checkpoint exports one with bin/meta_train.py" \
	    "--root_dir=$(SHIP_FROM) --num_steps=<its step>"; exit 1; fi
	mkdir -p $(SHIP_DIR)
	cp -r $(SHIP_FROM)/export $(SHIP_FROM)/export_init \
	    $(SHIP_FROM)/config.gin $(SHIP_DIR)/
	$(VENV)/bin/python bin/plot_training.py --root_dir=$(SHIP_FROM) \
	    --output=$(SHIP_DIR)/curves.png \
	    --title="$(SHIP_TITLE)"
	$(VENV)/bin/python bin/write_rule_manifest.py $(SHIP_DIR)
	$(VENV)/bin/python bin/paired_eval.py --rule=$(SHIP_NAME) \
	    --gin_file=held_out/cpu.gin \
	    --output_json=runs/paired_final/$(SHIP_NAME)/paired_eval.json
	cp runs/paired_final/$(SHIP_NAME)/paired_eval.json \
	    runs/paired_final/$(SHIP_NAME)/paired_eval.md $(SHIP_DIR)/
	$(VENV)/bin/python bin/write_rule_manifest.py $(SHIP_DIR)

# The rule step against a dense matmul and SGD, meta-gradients at k = 8, 16
# and 128 (recompute on: the meta-trainer's setting), the targets as ratios
# of one run (results/benchmarks/inner_step.json), and the profile by op
# class (profile_step.json). The XLA meta-gradient compiles for minutes:
# `make benchmark-xla-gradient` measures it apart.
benchmark: setup
	$(VENV)/bin/python -m benchmarks.inner_step --configs=paper,cpu \
	    --gradient_configs=cpu --gradient_steps=8,16,128 \
	    --gradient_recompute=on --gradient_repeats=5 --skip_xla_gradient
	$(VENV)/bin/python -m benchmarks.profile_step
benchmark-xla-gradient: setup
	$(VENV)/bin/python -m benchmarks.inner_step --configs=cpu \
	    --gradient_configs=cpu --gradient_steps=16 \
	    --output_json=results/benchmarks/inner_step_xla_gradient.json

# The reliability campaign (reliability/campaign.py): SIGKILLs of meta-training
# and of the evaluations, full disks, bad input; about 20 minutes on 2
# cores, and not part of `make test`. Its table, results/reliability/chaos.md,
# is the README's.
chaos: prepare-data
	$(VENV)/bin/python -m reliability.campaign \
	    --output_json=results/reliability/chaos.json \
	    --output_markdown=results/reliability/chaos.md

# Every table quoted in the README, docs/ and the rule cards, rewritten from
# its results file (tools/quotes.py); run it after making results again.
quotes:
	$(VENV)/bin/python -m tools.quotes

# The BUILD file of every package, written from the imports of its files
# (tools/build_files.py); run it after adding or moving a file.
build-files: setup
	$(VENV)/bin/python -m tools.build_files

# `make bazel-test`: BUILD built and its core tests run by Bazel, offline.
include bazel.mk

clean:
	rm -rf build dist .eggs *.egg-info .pytest_cache bazel-*
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune \
	    -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
