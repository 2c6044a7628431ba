#!/bin/bash
# On the GPU machine after unpack.sh: what limits the CUDA pipeline. Shape switching on one session
# (shapes.js), then pipeline runs with one setting changed at a time. Writes explore.jsonl to $OUT.
set -u
R=${RX:-/tmp/rx}; OUT=${OUT:-$R/out}; mkdir -p $OUT
A=$R/app; N=$R/bin/node; S=$R/scripts
export RX=$R RX_APP=$A
source "$(dirname "$0")/cuda-libs.sh"
cp bench/gpu/shapes.js $S/
V=$R/vol/vol; rm -rf $R/vol; mkdir -p $V; n=$(ls $R/pages | wc -l)
c=$(( (${PAGES_TARGET:-180} + n - 1) / n )); for f in $R/pages/*; do b=$(basename "$f"); for i in $(seq $c); do cp "$f" "$V/$i-$b"; done; done
cd $A
timeout 100 $N $S/shapes.js | tee -a $OUT/explore.jsonl
for over in '{"device":"cuda","batchSize":8}' '{"device":"cuda","analysisWorkers":4}' '{"device":"cuda","batchMaxWaitMs":50}'; do
  rm -rf $R/out-x; timeout 100 $N $S/drive.js $V $R/out-x "$over" default | tail -1 | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print(json.dumps({k:d.get(k) for k in ['over','engineSec','sec','pagesPerSec','cpuCoreSecondsPerPage','batchFill','batches','error']}))" | tee -a $OUT/explore.jsonl
done
