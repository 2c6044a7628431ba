#!/bin/bash
# On the GPU machine, from the repository root, after every part's bundle.* was copied to /tmp/rx (RX
# overrides): unpacks node, the app and the CUDA provider, and copies the sample pages from the repo.
set -eu
R=${RX:-/tmp/rx}; mkdir -p $R/bin $R/app $R/pages $R/scripts $R/stage
unxz() { if command -v xz >/dev/null; then xz -dc -T0; else python3 -c "import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)"; fi; }
cat $R/bundle.* | tar -xf - -C $R/stage
unxz < $R/stage/node.xz > $R/bin/node && chmod +x $R/bin/node
unxz < $R/stage/modules.tar.xz | tar -xf - -C $R/app
unxz < $R/stage/app.tar.xz | tar -xf - -C $R/app
X=$R/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
unxz < $R/stage/providers_cuda.so.xz > $X/libonnxruntime_providers_cuda.so
cp $R/stage/libonnxruntime_providers_shared.so $X/ && cp $R/stage/libonnxruntime_providers_shared.so $R/scripts/
cp bench/gpu/*.js bench/gpu/*.py $R/scripts/
find spec/fixtures/real-pages spec/fixtures/devset -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.png' -o -iname '*.tif' \) -exec cp {} $R/pages/ \;
$R/bin/node -v; nvidia-smi -L 2>&1 | head -2; nproc; echo "pages: $(ls $R/pages | wc -l)"
