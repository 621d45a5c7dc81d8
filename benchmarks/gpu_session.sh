#!/usr/bin/env bash
# A lent GPU session's work in one call of at most 10 minutes: the third seed (seed 2) of Kvasir-SEG with the
# protocol of data/kvasir_h100_curves.csv (256 px, 12 fractions, depths 4-6, exactly 1500 steps of batch 16,
# lr 0.002), trained with the fused engine, and the machine it ran on.
#
#   here:     python benchmarks/gpu_prepare.py --data ../shared/data          (writes .gpu-carry/, about 30 MiB)
#   device:   run(command="bash benchmarks/gpu_session.sh", carry=[".gpu-carry"], timeout_s=600)
#
# The sweep is stopped (SIGINT, finished runs kept) after $BUDGET seconds so that its folder is packed into
# $OUT/kvasir_s2.tgz within the call. To finish an interrupted sweep in a second call, unpack that archive into
# .gpu-carry/ (it resumes from .gpu-carry/kvasir_s2). Extra arguments are appended to the sweep command (a CPU
# rehearsal: OUT=/tmp/gpu-out bash benchmarks/gpu_session.sh --device cpu --image-size 32 --depths 2 --steps 3).
set -uo pipefail
OUT=${OUT:?set OUT to the folder that comes back}
CARRY=${CARRY:-.gpu-carry}
BUDGET=${BUDGET:-500}
mkdir -p "$OUT"
started=$(date +%s)
python3 -m pip install --quiet --no-index --no-deps "$CARRY"/wheels/*.whl 2>&1 | tail -n 3
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
{
  date -u +%Y-%m-%dT%H:%M:%SZ
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU"
  python3 -c 'import sys, torch, monai, lightning; print(sys.version.split()[0], torch.__version__, monai.__version__, lightning.__version__)'
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"
if [ -d "$CARRY/kvasir_s2" ] && [ ! -d "$OUT/kvasir_s2" ]; then cp -r "$CARRY/kvasir_s2" "$OUT/kvasir_s2"; fi
timeout -s INT "$BUDGET" python3 -c 'from samplecast.cli import main; main()' sweep "$CARRY/kvasir-seg256" \
  --out "$OUT/kvasir_s2" --fractions 0.02,0.03,0.05,0.075,0.1,0.15,0.2,0.3,0.4,0.5,0.75,1 --depths 4,5,6 \
  --seeds 2 --steps 1500 --min-epochs 0 --batch-size 16 --lr 0.002 --image-size 256 --engine fused \
  --no-check-convergence "$@" 2>&1 | tee "$OUT/sweep.log"
echo "sweep exit $? after $(( $(date +%s) - started )) s" | tee -a "$OUT/sweep.log"
tar czf "$OUT/kvasir_s2.tgz" -C "$OUT" kvasir_s2 && rm -rf "$OUT/kvasir_s2"
ls -la "$OUT"
