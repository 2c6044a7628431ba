#!/bin/bash
# On the GPU machine: unpack node, the app, the pages and the scripts of part 1 into /tmp/rx (RX overrides).
set -u
R=${RX:-/tmp/rx}; D=$(cd "$(dirname "$0")/.." && pwd); mkdir -p $R/bin $R/app $R/pages $R/scripts
unx() { if command -v xz >/dev/null; then xz -dc -T0 "$1"; else python3 -c "import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)" "$1"; fi; }
unx $D/node.xz > $R/bin/node && chmod +x $R/bin/node
unx $D/app.tar.xz | tar -xf - -C $R/app
cp $D/pages/* $R/pages/ 2>/dev/null; cp $D/scripts/* $D/libonnxruntime_providers_shared.so $R/scripts/
$R/bin/node -v; nvidia-smi -L 2>&1 | head -2; nproc; ls $R/pages | wc -l
