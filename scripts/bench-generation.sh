#!/usr/bin/env bash
# Generation speed, candle (ours) against llama.cpp on the same GGUF files, the same
# ~1,000-token RAG prompt and the same number of threads, in one run. llama.cpp comes from
# llama-cpp-python, built from source for this CPU in target/bench-venv; it is used only
# here, never by the product.
#
#   scripts/bench-generation.sh [RUNS] [NEW_TOKENS]      (defaults 3 and 128)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
new_tokens=${2:-128}
threads=$(nproc)
# The appliance binary sets this for itself (see llm::product_threads); without it candle
# re-reads /proc/cpuinfo before every f32 product.
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-$threads}
venv=target/bench-venv
corpus=../shared/eval/en_xquad/corpus.jsonl
[[ -f $corpus ]] || { echo "needs $corpus (the shared evaluation sets)" >&2; exit 1; }

if ! "$venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  python3 -m venv "$venv"
  echo "building llama-cpp-python for this CPU (several minutes)..." >&2
  CMAKE_ARGS="-DGGML_NATIVE=ON" "$venv/bin/pip" install --quiet numpy "llama-cpp-python==0.3.36" >&2
fi
cargo build -j2 --quiet --example generate_bench
bench=target/debug/examples/generate_bench

out=target/bench-generation
mkdir -p "$out"
for model in models/qwen2.5-coder-0.5b-instruct.gguf models/qwen2.5-coder-0.5b-instruct.q8.gguf \
  models/SmolLM2-135M-Instruct.Q4_1.gguf; do
  [[ -f $model ]] || continue
  name=$(basename "$model" .gguf)
  "$bench" "$model" "$corpus" "$out/$name.prompt.txt" "$runs" "$new_tokens" | tee "$out/$name.ours.json"
  "$bench" "$model" "$corpus" "$out/$name.prompt.txt" "$runs" "$new_tokens" candle | tee "$out/$name.candle.json"
  "$venv/bin/python" scripts/bench/llama_cpp_bench.py "$model" "$out/$name.prompt.txt" "$threads" "$runs" "$new_tokens" \
    | tee "$out/$name.llama.json"
done

python3 - "$out" <<'PY'
import glob, json, os, sys
rows = [json.load(open(path)) for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))]
print(f"\n{'model':<36} {'engine':<24} {'prompt':>6} {'prefill tok/s':>13} {'decode tok/s':>12} {'TTFT s':>7} {'TTFT, system turn reused':>25}")
for row in rows:
    reused = row.get("ttft_system_prefix_reused_s")
    print(f"{row['model']:<36} {row['engine']:<24} {row['prompt_tokens']:>6} {row['prefill_tokens_per_s']:>13.1f} "
          f"{row['decode_tokens_per_s']:>12.1f} {row['ttft_s']:>7.2f} {'' if reused is None else f'{reused:.2f}':>25}")
PY
