#!/bin/bash
# On the GPU machine, after unpack.sh (RX overrides /tmp/rx): sets the CUDA libraries' path, then the model alone (modelonly.js), pipeline runs on a ~180-page volume of the sample pages at the
# device defaults (drive.js), and the CUDA-vs-CPU table agreement (compare.py). Writes measure.log,
# modelonly.jsonl, pipeline.jsonl and GPU utilisation (dmon-*.txt) to $OUT.
# QUICK=1 skips the 2-session and tiny-model runs, SKIP_MODELONLY=1 the model alone; PROFILE=1 runs only the CUDA pipeline, with CPU profiles. DEVICE=cpu runs the same on the CPU only (a dry run of these scripts anywhere); PAGES_TARGET sets the volume size.
set -u
R=${RX:-/tmp/rx}; OUT=${OUT:-$R/out}; DEVICE=${DEVICE:-cuda}; mkdir -p $OUT
exec > >(tee $OUT/measure.log) 2>&1
A=$R/app; N=$R/bin/node; S=$R/scripts
export RX=$R RX_APP=$A DEVICE
X=$A/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
[ -x $N ] || { echo "no $R/bin/node: run unpack.sh first (the machine went idle?)"; exit 3; }
if [ $DEVICE = cuda ]; then
  ls -la $X
  source "$(dirname "$0")/cuda-libs.sh"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
nproc
V=$R/vol/vol; rm -rf $R/vol; mkdir -p $V; n=$(ls $R/pages | wc -l); [ $n -gt 0 ] || { echo "no pages in $R/pages"; exit 3; }
c=$(( (${PAGES_TARGET:-180} + n - 1) / n )); for f in $R/pages/*; do b=$(basename "$f"); for i in $(seq $c); do cp "$f" "$V/$i-$b"; done; done
echo "pages: $(ls $V | wc -l)"
cd $A
if [ -n "${PROFILE:-}" ]; then   # PROFILE=1: only the CUDA pipeline run, with V8 CPU profiles of its threads
  rm -rf $R/prof $R/out-prof; timeout ${RUN_TIMEOUT:-110} $N --cpu-prof --cpu-prof-dir=$R/prof $S/drive.js $V $R/out-prof '{"device":"cuda"}' default | tail -1 | tee $OUT/pipeline.jsonl
  { ls $R/prof | grep '\.0\.[0-9]*\.cpuprofile$'; grep -l runBatch $R/prof/* | xargs -n1 basename; grep -l decodeImage $R/prof/* | xargs -n1 basename | head -2; ls -S $R/prof | head -2; } | awk '!seen[$0]++' | head -7 | while read -r f; do gzip -c $R/prof/$f > $OUT/$f.gz; done; ls -la $R/prof $OUT; exit 0
fi
[ -n "${SKIP_MODELONLY:-}" ] || timeout 120 $N $S/modelonly.js $R/pages | tee $OUT/modelonly.jsonl
run() { name=$1; shift; rm -rf $R/out-$name; dm=
  if command -v nvidia-smi >/dev/null; then nvidia-smi dmon -s u -d 1 > $OUT/dmon-$name.txt 2>&1 & dm=$!; fi
  timeout ${RUN_TIMEOUT:-110} $N $S/drive.js $V $R/out-$name "$@" | tail -1 | tee -a $OUT/pipeline.jsonl; [ -n "$dm" ] && kill $dm 2>/dev/null; }
if [ $DEVICE = cuda ]; then
  run cuda '{"device":"cuda"}' default
  [ -n "${QUICK:-}" ] || run cuda-2sessions '{"device":"cuda","inferWorkers":2}' default
fi
run cpu '{"device":"cpu"}' default
[ -n "${QUICK:-}" ] || run tiny-cpu '{"device":"cpu"}' tiny
if [ $DEVICE = cuda ]; then
  python3 $S/compare.py cuda cpu | tee -a $OUT/pipeline.jsonl
  [ -n "${QUICK:-}" ] || python3 $S/compare.py cuda-2sessions cpu | tee -a $OUT/pipeline.jsonl
else
  [ -n "${QUICK:-}" ] || python3 $S/compare.py cpu tiny-cpu | tee -a $OUT/pipeline.jsonl
fi
echo done
