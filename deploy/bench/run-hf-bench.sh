#!/usr/bin/env bash
# Runs the Hugging Face tokenizers (npm) baseline: training (hf-train.js) and batch encoding (hf-encode.js) on each
# given corpus, each REPEAT times under /usr/bin/time -v, and prints one TSV row per run with the wall time and peak
# RSS that time(1) measured next to the figures the scripts print themselves.
#
# Usage: deploy/bench/run-hf-bench.sh [--repeat 2] [--out-dir DIR] CORPUS...
#   e.g. deploy/bench/run-hf-bench.sh data/brown/brown.txt /work/bench-data/mixed-230mb.txt
#   --out-dir   where tokenizer.json files and raw logs go (default /work/bench-data/hf/runs)
# Env: IDLE_WAIT (seconds to wait for an idle machine before each run, default 300), HF_MODULES (folder with node_modules/tokenizers, default /work/bench-data/hf), RAYON_NUM_THREADS (default: all
#      cores), VOCAB (default 30000; the npm binding can only do 30000, see hf-train.js).
# Setup (once): apt-get install -y time nodejs npm
#               mkdir -p /work/bench-data/hf && cd /work/bench-data/hf && npm init -y && npm install tokenizers@0.23
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPEAT=2
OUTDIR=/work/bench-data/hf/runs
CORPORA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) REPEAT="$2"; shift 2 ;;
    --out-dir) OUTDIR="$2"; shift 2 ;;
    *) CORPORA+=("$1"); shift ;;
  esac
done
[ ${#CORPORA[@]} -gt 0 ] || { echo "usage: $0 [--repeat N] [--out-dir DIR] CORPUS..." >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install -y time" >&2; exit 1; }
mkdir -p "$OUTDIR"

# prints: wall_seconds <TAB> peak_rss_MB <TAB> cpu_seconds (user+sys), from a /usr/bin/time -v log
time_fields() {
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; w = s }
              /Maximum resident set size/ { r = $2 / 1024 }
              /User time \(seconds\)|System time \(seconds\)/ { c += $2 }
              END { printf "%.2f\t%.1f\t%.2f", w, r, c }' "$1"
}

# busy CPU-seconds of the whole machine so far (from /proc/stat; USER_HZ = 100)
busy_cs() { awk '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / 100; exit }' /proc/stat; }

# The machine may be shared: before each run, wait (up to IDLE_WAIT seconds, default 300) until the other processes
# use less than 10% of one core over 3 seconds. After each run, others_cpu_s = machine busy CPU-seconds during the run
# minus the run's own; well above 0 means the figures were disturbed.
wait_idle() {
  local deadline=$((SECONDS + ${IDLE_WAIT:-300})) a b
  while [ $SECONDS -lt $deadline ]; do
    a=$(busy_cs); sleep 3; b=$(busy_cs)
    awk -v a="$a" -v b="$b" 'BEGIN { exit !((b - a) / 3 < 0.1) }' && return 0
  done
  echo "warning: machine still busy after ${IDLE_WAIT:-300}s; running anyway" >&2
}

# run_timed LOG CMD...: runs CMD under /usr/bin/time -v; prints wall, peak RSS, cpu, others_cpu, then CMD's stdout
run_timed() {
  local log="$1"; shift
  wait_idle
  local b0 b1 out
  b0=$(busy_cs)
  out=$(/usr/bin/time -v -o "$log" "$@" | grep '^{' | tail -1)
  b1=$(busy_cs)
  local f; f=$(time_fields "$log")
  local own; own=$(cut -f3 <<<"$f")
  printf '%s\t%s\t%s' "$(cut -f1,2 <<<"$f")" "$own" "$(awk -v a="$b0" -v b="$b1" -v o="$own" 'BEGIN { printf "%.1f", b - a - o }')"
  printf '\t%s\n' "$out"
}

printf 'step\tcorpus\trun\twall_s\tpeak_rss_MB\tcpu_s\tothers_cpu_s\tscript_json\n'
for corpus in "${CORPORA[@]}"; do
  name=$(basename "$corpus" .txt)
  tok="$OUTDIR/$name.tokenizer.json"
  for r in $(seq 1 "$REPEAT"); do
    printf 'train\t%s\t%s\t' "$name" "$r"
    run_timed "$OUTDIR/train-$name-$r.time" node "$HERE/hf-train.js" "$corpus" --vocab "${VOCAB:-30000}" --out "$tok" \
      2>"$OUTDIR/train-$name-$r.stderr"
  done
  for r in $(seq 1 "$REPEAT"); do
    printf 'encode\t%s\t%s\t' "$name" "$r"
    run_timed "$OUTDIR/encode-$name-$r.time" node "$HERE/hf-encode.js" "$tok" "$corpus" 2>"$OUTDIR/encode-$name-$r.stderr"
  done
done
