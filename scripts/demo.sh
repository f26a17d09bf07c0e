#!/usr/bin/env bash
# Sets everything up and runs the appliance on the embedded defaults with demo documents:
# the knowledge base committed in demo/ (English and Chinese; see demo/LICENSES.md).
#   scripts/demo.sh            (listens on 127.0.0.1:8080; LISTEN=0.0.0.0:8080 to open it up)
#   DEMO_SHARED_DOCS=1 scripts/demo.sh   (also the larger documents in ../shared/eval/docs)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
data_dir=${APPLIANCE_DATA_DIR:-data}
appliance=(target/debug/appliance --data-dir "$data_dir" --models-dir "${APPLIANCE_MODELS_DIR:-models}")

documents=(demo/documents)
if [[ ${DEMO_SHARED_DOCS:-0} == 1 ]]; then
  shared=../shared/eval/docs
  [[ -d $shared ]] || { echo "DEMO_SHARED_DOCS=1 needs $shared" >&2; exit 1; }
  # Files identical to one in demo/ are reported as duplicates and indexed once.
  documents+=("$shared/html" "$shared/pdf/debian-reference.en.pdf" "$shared/pdf/debian-reference.zh-cn.pdf")
fi

credentials=""
if ! "${appliance[@]}" user list | grep -q '^admin'; then
  credentials=$("${appliance[@]}" user add admin --role admin | sed -n 's/^password: //p')
fi
listen=${LISTEN:-127.0.0.1:8080}
echo
echo "================================================================"
echo " Knowledge assistant: http://$listen/"
if [[ -n "$credentials" ]]; then
  echo " Log in as: admin / $credentials   (shown once; change it with"
  echo "   target/debug/appliance --data-dir $data_dir user passwd admin)"
else
  echo " Log in as: admin (password as printed at the first start)"
fi
echo " Documents are indexed in the background: ${documents[*]}"
echo "================================================================"
echo
exec "${appliance[@]}" serve --listen "$listen" --ingest "${documents[@]}"
