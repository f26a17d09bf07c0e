#!/usr/bin/env bash
# Installs the Debian packages the appliance and its tests need (idempotent).
set -euo pipefail
# Build tools; poppler (PDF text and page images); Tesseract with Chinese and English
# (scanned pages); Chromium, its WebDriver and CJK fonts (browser tests and screenshots);
# strace and iproute2 (the air-gap test); PostgreSQL (the store suite runs against a throwaway
# cluster too).
packages=(build-essential pkg-config poppler-utils ca-certificates python3 python3-pip util-linux
  tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra tesseract-ocr-eng
  chromium chromium-driver fonts-noto-cjk strace iproute2 postgresql)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd=sudo
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
