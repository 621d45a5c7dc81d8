#!/usr/bin/env bash
# A lent GPU session's work in one call of at most 10 minutes, trained with the fused engine, and the machine it ran
# on. JOB picks the sweep:
#   kvasir_s2 (default): the third seed (seed 2) of Kvasir-SEG with the protocol of data/kvasir_h100_curves.csv (256 px,
#     12 fractions, depths 4-6, exactly 1500 steps of batch 16, lr 0.002);
#   fuseg: FUSeg at 128 px, 11 fractions, depths 3 and 4, seeds 0-2, at least 6000 steps and 400 epochs per run
#     (on the CPU, 347 images gave Dice 0.659 / 0.719 / 0.753 at 55 / 110 / 200 epochs; data/README.md), with the
#     sweep's convergence checks at the largest size and at the floor.
#
#   here:     python benchmarks/gpu_prepare.py --data ../shared/data          (writes .gpu-carry/, about 32 MiB)
#   device:   run(command="JOB=fuseg bash benchmarks/gpu_session.sh", carry=[".gpu-carry"], timeout_s=600)
#
# The sweep is stopped (SIGINT, finished runs kept) after $BUDGET seconds so that its folder is packed into
# $OUT/$JOB.tgz within the call (the images it reads are $CARRY/kvasir-seg256 and $CARRY/fuseg128). To finish an
# interrupted sweep in a second call, unpack that archive into .gpu-carry/ (it resumes from .gpu-carry/$JOB). Extra
# arguments are appended to the sweep command (a CPU rehearsal: OUT=/tmp/gpu-out bash benchmarks/gpu_session.sh
# --device cpu --image-size 32 --depths 2 --steps 3).
set -uo pipefail
OUT=${OUT:?set OUT to the folder that comes back}
CARRY=${CARRY:-.gpu-carry}
BUDGET=${BUDGET:-500}
JOB=${JOB:-kvasir_s2}
case "$JOB" in
  kvasir_s2) SWEEP=("$CARRY/kvasir-seg256" --fractions 0.02,0.03,0.05,0.075,0.1,0.15,0.2,0.3,0.4,0.5,0.75,1
                    --depths 4,5,6 --seeds 2 --steps 1500 --min-epochs 0 --batch-size 16 --lr 0.002 --image-size 256
                    --no-check-convergence) ;;
  fuseg) SWEEP=("$CARRY/fuseg128" --fractions 0.02,0.03,0.05,0.075,0.1,0.15,0.2,0.3,0.5,0.75,1 --depths 3,4
                   --seeds 0,1,2 --steps 6000 --min-epochs 400 --batch-size 16 --lr 0.005 --image-size 128) ;;
  *) echo "JOB must be kvasir_s2 or fuseg, not $JOB" >&2; exit 2 ;;
esac
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
if [ -d "$CARRY/$JOB" ] && [ ! -d "$OUT/$JOB" ]; then cp -r "$CARRY/$JOB" "$OUT/$JOB"; fi
timeout -s INT "$BUDGET" python3 -c 'from samplecast.cli import main; main()' sweep "${SWEEP[@]}" \
  --out "$OUT/$JOB" --engine fused "$@" 2>&1 | tee "$OUT/sweep.log"
echo "sweep exit $? after $(( $(date +%s) - started )) s" | tee -a "$OUT/sweep.log"
tar czf "$OUT/$JOB.tgz" -C "$OUT" "$JOB" && rm -rf "$OUT/$JOB"
ls -la "$OUT"
