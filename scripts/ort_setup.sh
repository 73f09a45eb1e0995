#!/usr/bin/env bash
# ort_setup.sh BUILD_DIR: installs the pinned onnxruntime-node (tools/ort/package.json) into BUILD_DIR/ort, if not already working.
#
# Idempotent: when BUILD_DIR/ort/node_modules/onnxruntime-node is the pinned version and runs a
# tiny model, nothing is done. Otherwise node/npm are installed with apt-get if missing, and
# `npm install --ignore-scripts` runs in BUILD_DIR/ort with npm's cache in BUILD_DIR/ort/.npm-cache,
# so nothing is written to the source tree or $HOME. --ignore-scripts skips onnxruntime-node's
# install script, which only downloads CUDA/TensorRT providers; the CPU library ships in the package.
# The tools then find the package through LOWBIT_ORT_DIR=BUILD_DIR/ort. Errors: one line, exit 2.
set -euo pipefail

fail() { echo "ort_setup: $*" >&2; exit 2; }

if [ $# -ne 1 ] || [ -z "$1" ]; then fail "usage: scripts/ort_setup.sh BUILD_DIR"; fi
src=$(cd "$(dirname "$0")/.." && pwd)/tools/ort/package.json
[ -f "$src" ] || fail "missing $src"
mkdir -p "$1/ort" || fail "cannot create $1/ort"
dir=$(cd "$1/ort" && pwd)

# node and npm: Debian packages nodejs and npm, only the missing ones (as scripts/setup.sh does).
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ort_setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  { $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    fail "apt-get install ${missing[*]} failed"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then fail "node or npm still missing after apt-get"; fi
fi

# onnxruntime-node 1.22 ships N-API 6 binaries (Node >= 12.17; Debian 12's Node 18 has N-API 9).
napi=$(node -p 'process.versions.napi' 2>/dev/null) || fail "node does not run"
[ "${napi:-0}" -ge 6 ] 2>/dev/null || fail "node $(node --version) has N-API ${napi:-?}; onnxruntime-node needs N-API >= 6 (Node >= 18 recommended)"

pinned=$(node -p 'require(process.argv[1]).dependencies["onnxruntime-node"]' "$src" 2>/dev/null) ||
  fail "cannot read the onnxruntime-node version from $src"

# Loads the package from $dir, checks its version, and runs a 60-byte model (y = Neg(x), float32[2]).
check() {
  # shellcheck disable=SC2016 # JavaScript, not shell: nothing to expand
  node -e '
    const [dir, want] = process.argv.slice(1);
    const pkg = (p) => require(require.resolve(p, { paths: [dir] }));
    const have = pkg("onnxruntime-node/package.json").version;
    if (have !== want) { console.error(`version ${have}, want ${want}`); process.exit(1); }
    const ort = pkg("onnxruntime-node");
    const model = Buffer.from("CAc6MgoLCgF4EgF5IgNOZWcSAWdaDwoBeBIKCggIARIECgIIAmIPCgF5EgoKCAgBEgQKAggCQgQKABAN", "base64");
    ort.InferenceSession.create(model)
      .then((s) => s.run({ x: new ort.Tensor("float32", Float32Array.from([1.5, -2]), [2]) }))
      .then((r) => { const y = r.y.data; if (y[0] !== -1.5 || y[1] !== 2) { console.error(`bad result ${y}`); process.exit(1); } })
      .catch((e) => { console.error(String(e.message).split("\n")[0]); process.exit(1); });
  ' "$dir" "$pinned"
}

if check 2>/dev/null; then
  echo "ort_setup: onnxruntime-node $pinned already works in $dir (LOWBIT_ORT_DIR=$dir)"
  exit 0
fi

echo "ort_setup: installing onnxruntime-node $pinned into $dir"
cp "$src" "$dir/package.json" || fail "cannot copy package.json to $dir"
log="$dir/npm-install.log"
if ! (cd "$dir" &&
      npm_config_cache="$dir/.npm-cache" npm_config_update_notifier=false \
        npm install --ignore-scripts --no-audit --no-fund --cache "$dir/.npm-cache" >"$log" 2>&1); then
  fail "npm install of onnxruntime-node $pinned failed in $dir (see $log)"
fi
why=$(check 2>&1) || fail "onnxruntime-node $pinned installed in $dir but does not run: ${why//$'\n'/ }"
echo "ort_setup: onnxruntime-node $pinned ready (LOWBIT_ORT_DIR=$dir)"
