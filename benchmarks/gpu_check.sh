#!/usr/bin/env bash
# Meta-training on an accelerator: the throughput benchmark, then 5 minutes
# of paper-sized meta-training (rule/paper.gin, the §6.2 architectures) with
# the meta-gradient compiled by XLA; records θ-updates per hour and the peak
# device memory.
#
#   bash benchmarks/gpu_check.sh [OUTPUT_DIR]      (default: a fresh temp dir)
#
# Datasets: paper.gin meta-trains on CIFAR-10 subsets and the Alphabet; where
# CIFAR-10 is not prepared (no internet), Fashion-MNIST and the Alphabet
# stand in, and the results say which ran. Writes OUTPUT_DIR/gpu_check.json.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
OUT="${1:-$(mktemp -d)}"
mkdir -p "$OUT"
export TF_CPP_MIN_LOG_LEVEL=2

nvidia-smi --query-gpu=name,memory.total --format=csv,noheader \
    | tee "$OUT/device.txt"

"$PYTHON" -m benchmarks.meta_train_throughput \
    --executions=sequential,batched,coordinator --num_steps=30 \
    --output_json="$OUT/meta_train_throughput.json"

datasets="(('mini_cifar10', 1.0), ('alphabet', 1.0))"
if ! "$PYTHON" -c "from learned_rule.data import registry; \
registry.load('mini_cifar10')" >/dev/null 2>&1; then
  datasets="(('tiny_fashion_mnist', 1.0), ('alphabet', 1.0))"
fi
"$PYTHON" bin/meta_train.py --root_dir="$OUT/paper_run" \
    --gin_file=meta_train/paper.gin \
    --gin_bindings="TaskDistribution.datasets = $datasets" \
    --xla_gradient --max_minutes=5 --filters_every_steps=0 \
    --checkpoint_every_minutes=5 --export_every_steps=100000

"$PYTHON" -m benchmarks.meta_train_throughput --executions= \
    --report_run="$OUT/paper_run" --report_datasets="$datasets" \
    --output_json="$OUT/gpu_check.json"
echo "Results in $OUT"
