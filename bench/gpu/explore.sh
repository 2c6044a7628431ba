#!/bin/bash
# On the GPU machine after unpack.sh: what limits the CUDA pipeline. Pipeline runs (drive.js) on the
# ~180-page volume with one setting changed at a time, each with the GPU's mean SM busy % over the run
# (nvidia-smi dmon); SHAPES=1 first times shape switching on one session (shapes.js). Writes
# explore.jsonl to $OUT.   bash bench/gpu/explore.sh ['<config JSON>' …]   (default: the list below)
set -u
R=${RX:-/tmp/rx}; OUT=${OUT:-$R/out}; mkdir -p $OUT
A=$R/app; N=$R/bin/node; S=$R/scripts
export RX=$R RX_APP=$A
source "$(dirname "$0")/cuda-libs.sh"
cp bench/gpu/shapes.js $S/
V=$R/vol/vol; rm -rf $R/vol; mkdir -p $V; n=$(ls $R/pages | wc -l)
c=$(( (${PAGES_TARGET:-180} + n - 1) / n )); for f in $R/pages/*; do b=$(basename "$f"); for i in $(seq $c); do cp "$f" "$V/$i-$b"; done; done
cd $A
[ -z "${SHAPES:-}" ] || timeout 100 $N $S/shapes.js | tee -a $OUT/explore.jsonl
[ $# -gt 0 ] || set -- '{"device":"cuda","batchSize":8}' '{"device":"cuda","analysisWorkers":4}' '{"device":"cuda","batchMaxWaitMs":50}'
for over in "$@"; do
  rm -rf $R/out-x; nvidia-smi dmon -s u -d 1 > $R/dmon.txt 2>&1 & dm=$!
  timeout 100 $N $S/drive.js $V $R/out-x "$over" default | tail -1 > $R/run.json; kill $dm 2>/dev/null; wait $dm 2>/dev/null
  sm=$(awk '!/^#/ && $2 ~ /^[0-9]+$/ { if ($2 > 5) { n++; s += $2 } } END { print (n ? s / n : 0) }' $R/dmon.txt)
  python3 -c "import json,sys; d=json.load(open('$R/run.json')); print(json.dumps({**{k:d.get(k) for k in ['over','engineSec','sec','pagesPerSec','cpuCoreSecondsPerPage','coreUse','batchFill','batches','error']}, 'smBusyPctWhileActive': round($sm, 1)}))" | tee -a $OUT/explore.jsonl
done
