#!/usr/bin/env bash
# setup.sh: installs, with apt-get, the Debian packages lowbit builds and tests with, if missing.
# Idempotent: does nothing when everything is present.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev
  libopenblas-dev libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev libstb-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist libonnx-testdata
  python3-onnx python3-numpy
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
