#!/bin/bash
# Rules benchmark: sensorgate --replay over one simulator file with the simple
# form (the rule `hot`), with 5 [rule.*] rules and with 20, beside mawk doing
# the same work where awk can (tests/bench/replay.awk for the simple form,
# tests/bench/rules.awk for the 5 rules); then one rule `sliding D every S`
# for several D and S, to show that the cost of a record does not grow with
# the window length D or with D/S. Prints records/s (best of BENCH_RUNS
# wall-clock runs, and the user CPU of the fastest), the ratio to the simple
# form, and callgrind instructions per record (marginal: a 200,000-record run
# minus a 100,000-record run, divided by 100,000: the start-up and the end,
# where replay prints every open window, cancel out).
#
# Usage: tests/bench/rules_bench.sh [BUILD_DIR] [N]
#   BUILD_DIR holds gateway/sensorgate and simulator/sensorgate-sim [build]
#   N records in the file [1000000]; BENCH_RUNS runs each, best kept [3];
#   BENCH_CALLGRIND=0 skips the instruction count (skipped anyway without valgrind);
#   BENCH_CG_RECORDS=K counts instructions from K and 2K records [100000];
#   BENCH_DS lists the D/S pairs ["1m/10s 10m/10s 1h/10s 1h/1s 1h/1m"].
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${2:-1000000}
runs=${BENCH_RUNS:-3}
sim=$build/simulator/sensorgate-sim
work=$(mktemp -d /tmp/sensorgate-rules-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
for tool in mawk /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "rules_bench: $tool is missing (apt-get install mawk time)" >&2; exit 1; }
done
[[ $n -ge 8500 ]] || { echo "rules_bench: N must be at least 8500 (the simulator's --hot 5 needs it)" >&2; exit 1; }

# The binary may be rebuilt while we run: wait for it (up to 2 minutes), then
# work on a copy, so that every run measures the same program.
for ((i = 0; i < 60; i++)); do
  [[ -x $build/gateway/sensorgate && -x $sim ]] && break
  sleep 2
done
cp "$build/gateway/sensorgate" "$work/sensorgate"
gate=$work/sensorgate
"$gate" --version >/dev/null || { echo "rules_bench: $build/gateway/sensorgate does not run" >&2; exit 1; }

callgrind=${BENCH_CALLGRIND:-1}
if [[ $callgrind != 0 ]] && ! command -v valgrind >/dev/null; then
  echo "rules_bench: valgrind is missing: instructions per record skipped (apt-get install valgrind)" >&2
  callgrind=0
fi
cg=${BENCH_CG_RECORDS:-100000}
if [[ $callgrind != 0 && $n -lt $((2 * cg)) ]]; then
  echo "rules_bench: N < $((2 * cg)): instructions per record skipped (they need $cg and $((2 * cg)) records)" >&2
  callgrind=0
fi

# --- configurations ---------------------------------------------------------
above=75.0123 clear=73.0123 min_samples=10  # thresholds no window average can equal exactly
cat > "$work/simple.ini" <<INI
[window]
size = 60
max_keys = 10000
[alert]
above = $above
clear_below = $clear
min_samples = $min_samples
INI

# rule NAME WINDOW AGGREGATES [KEY [EXTRA LINES...]]: one [rule.NAME] section
rule() {
  local name=$1 window=$2 aggs=$3 key=${4-sensor}
  printf '\n[rule.%s]\nkey = %s\nvalue = padrao.leitura.temperatura\ntime = data_evento\nwindow = %s\naggregates = %s\n' \
    "$name" "$key" "$window" "$aggs"
  shift 4 2>/dev/null || shift $#
  for line in "$@"; do printf '%s\n' "$line"; done
}
# The five rules rules.awk also computes.
rules5() {
  rule t1m "tumbling 1m" "count, avg, max"
  rule s5m "sliding 5m every 1m" "sum, stddev"
  rule c60 "count 60" "avg" sensor "alert = avg > $above" "clear = avg < $clear" "min_samples = $min_samples"
  rule ids "total" "count, distinct(id_sensor)" "" "max_distinct = 1000000"  # id_sensor is nearly unique a record
  rule hot10s "tumbling 10s" "count" sensor "where = padrao.leitura.temperatura > 70"
}
# 20 rules with the defaults (max_keys 10000) plan 108.8 MiB, over the default
# memory_max of 64MiB: both files raise it, so that max_keys stays the default.
gateway() { printf '[gateway]\nmemory_max = 512MiB\n'; }
{ gateway; rules5; } > "$work/rules5.ini"
{
  gateway
  rules5
  rule t30s "tumbling 30s" "count, min, last"
  rule t5m_all "tumbling 5m" "count, avg, min, max" ""
  rule s10m "sliding 10m every 30s" "avg, max, slope"
  rule s1m_all "sliding 1m every 10s" "count, sum, stddev" ""
  rule c120 "count 120" "avg, min, max" sensor "alert = avg > 74" "clear = avg < 72" "min_samples = 30" "outlier_z = 4"
  rule c30 "count 30" "stddev, last, slope"
  rule tot_sensor "total" "count, avg, min, max"
  rule tot_keys "total" "distinct(sensor)" ""
  rule cold "tumbling 1m" "count, min" sensor "where = padrao.leitura.temperatura < 25"
  rule band "sliding 2m every 20s" "count, avg" sensor \
    "where = padrao.leitura.temperatura >= 50 and padrao.leitura.temperatura <= 60"
  rule three "tumbling 10s" "avg, max" sensor 'where = sensor in ("sensor01", "sensor02", "sensor03")'
  rule z15s "tumbling 15s" "avg" sensor "alert = zscore(avg) > 3" "baseline = 20"
  rule s30s "sliding 30s every 5s" "min, max"
  rule t1h "tumbling 1h" "count, sum, stddev"
  rule c10 "count 10" "last, max" sensor "alert = max > 80" "clear = max < 78" "for = 5s"
} > "$work/rules20.ini"
[[ $(grep -c '^\[rule\.' "$work/rules5.ini") -eq 5 && $(grep -c '^\[rule\.' "$work/rules20.ini") -eq 20 ]] \
  || { echo "rules_bench: bad rule count in the generated configurations" >&2; exit 1; }
# D and S: one sliding rule, with a distinct() too (the temperatures: a few
# hundred values a sensor). max_keys = 50 (the file's keys): with the default
# 10,000, `sliding 1h every 1s` plans 3.3 GiB and is refused; with 50 it plans
# 49 MiB (3,600 panes of 225 bytes a key, and the distinct() pools).
ds_list=${BENCH_DS:-"1m/10s 10m/10s 1h/10s 1h/1s 1h/1m"}
ds_name() { echo "ds_${1%/*}_${1#*/}"; }
for ds in $ds_list; do
  rule sl "sliding ${ds%/*} every ${ds#*/}" "count, sum, avg, distinct(padrao.leitura.temperatura)" sensor \
    "max_keys = 50" > "$work/$(ds_name "$ds").ini"
done

# --- data -------------------------------------------------------------------
file=$work/readings.txt
"$sim" --equipment 50 --count "$n" --seed 7 --start-time 2023-03-15T12:00:00Z --hot 5 -o "$file"
lines=$(wc -l <"$file")
[[ $lines -eq $n ]] || { echo "rules_bench: expected $n lines, got $lines" >&2; exit 1; }
head -n "$cg" "$file" >"$work/head1.txt"
head -n $((2 * cg)) "$file" >"$work/head2.txt"

# --- measuring ---------------------------------------------------------------
# best_of CMD...: runs CMD $runs times, exiting on a non-zero exit; sets
# best_s, best_u to the wall seconds and user CPU seconds of the fastest run
# (wall from the nanosecond clock, user CPU from /usr/bin/time); its output
# is left in out and err.
best_of() {
  local best="" user="" i t0 t1 t u
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    if ! /usr/bin/time -f "%U" -o "$work/time" "$@" >"$work/run.out" 2>"$work/run.err"; then
      echo "rules_bench: failed (exit status not 0): $*" >&2; sed 's/^/  /' "$work/run.err" >&2; exit 1
    fi
    t1=$(date +%s%N)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b - a) / 1e9}')
    u=$(tail -n 1 "$work/time")
    if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then
      best=$t user=$u; cp "$work/run.out" "$work/out"; cp "$work/run.err" "$work/err"
    fi
  done
  best_s=$best best_u=$user
}
rate() { awk -v n="$n" -v s="$1" 'BEGIN{ if (s <= 0) s = 0.005; printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b <= 0) b = 0.005; if (a <= 0) a = 0.005; printf "%.2f", b / a }'; }
warnings=()
# check_err NAME: the replay summary must show accepted records; a rule that
# accepted none is reported.
check_err() {
  local acc
  acc=$(sed -n 's/^sensorgate: replay: .* \([0-9][0-9]*\) accepted.*/\1/p' "$work/err")
  if [[ -z $acc || $acc -eq 0 ]]; then
    echo "rules_bench: $1: the replay accepted no record:" >&2; cat "$work/err" >&2; exit 1
  fi
  while read -r r; do warnings+=("$1: rule $r accepted no record"); done \
    < <(sed -n 's/^sensorgate: rule \([^:]*\): 0 accepted.*/\1/p' "$work/err")
  while read -r r; do warnings+=("$1: $r"); done < <(grep -iv '^sensorgate: \(replay\|rule\)' "$work/err" || true)
}
# count_ir CONFIG: marginal callgrind instructions per record
count_ir() {
  [[ $callgrind != 0 ]] || { ir_rec="-"; return; }
  local h ir=()
  for h in 1 2; do
    if ! valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$gate" --config "$1" \
        --replay "$work/head$h.txt" >/dev/null 2>"$work/cg.err"; then
      echo "rules_bench: callgrind run failed: $1" >&2; tail -n 20 "$work/cg.err" >&2; exit 1
    fi
    ir+=("$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/cg.err")")
  done
  ir_rec=$(((ir[1] - ir[0]) / cg))
}
# replay NAME CONFIG: sets r_s r_u r_r r_ir r_res: seconds, user seconds,
# records/s, instructions per record, result lines
replay() {
  best_of "$gate" --config "$2" --replay "$file"
  check_err "$1"
  cp "$work/out" "$work/$1.out"
  cp "$work/err" "$work/$1.err"
  count_ir "$2"
  r_s=$best_s r_u=$best_u r_r=$(rate "$best_s") r_ir=$ir_rec
  r_res=$(grep -c '"event":"result"' "$work/out" || true)
}

echo "rules benchmark: $n records ($(du -h "$file" | cut -f1)), 50 sensors, 10 records/s each of event time;" \
  "best of $runs runs; $(nproc) cores, $(uname -m); instructions: callgrind, marginal $cg to $((2 * cg)) records"

# (a) simple form, (b) 5 rules, (c) 20 rules
replay simple "$work/simple.ini"; a_s=$r_s a_u=$r_u a_r=$r_r a_ir=$r_ir
replay rules5 "$work/rules5.ini"; b_s=$r_s b_u=$r_u b_r=$r_r b_ir=$r_ir b_res=$r_res
replay rules20 "$work/rules20.ini"; c_s=$r_s c_u=$r_u c_r=$r_r c_ir=$r_ir c_res=$r_res

# mawk doing the same work
best_of mawk -v size=60 -v above=$above -v clear=$clear -v min_samples=$min_samples \
  -f "$src/tests/bench/replay.awk" "$file"
ma_s=$best_s
cp "$work/out" "$work/simple.awk.out"
best_of mawk -v above=$above -v clear=$clear -v min_samples=$min_samples \
  -f "$src/tests/bench/rules.awk" "$file"
mb_s=$best_s
cp "$work/out" "$work/rules5.awk.out"

# Same results? Averages, sums and stddevs are left out (awk sums without
# compensation); s5m's open windows at the end are not printed by rules.awk.
strip() { sed 's/,"avg":[^,}]*//; s/,"sum":[^,}]*//; s/,"stddev":[^,}]*//' "$@"; }
same_a=yes same_b=yes
diff <(grep '"alert"' "$work/simple.awk.out" | strip) <(grep '"alert"' "$work/simple.out" | strip) >/dev/null || same_a=NO
diff <(grep '"window"' "$work/simple.awk.out" | strip | sort) <(grep '"window"' "$work/simple.out" | strip | sort) >/dev/null || same_a=NO
diff <(grep '"alert"' "$work/rules5.awk.out" | strip) <(grep '"alert"' "$work/rules5.out" | strip) >/dev/null || same_b=NO
diff <(grep -v '"alert"' "$work/rules5.awk.out" | strip | sort) \
     <(grep -v '"alert"' "$work/rules5.out" | grep -v '"rule":"s5m".*"open":true' | strip | sort) >/dev/null || same_b=NO

# D and S
declare -A ds_s ds_u ds_r ds_ir ds_res
for ds in $ds_list; do
  name=$(ds_name "$ds")
  replay "$name" "$work/$name.ini"
  ds_s[$ds]=$r_s ds_u[$ds]=$r_u ds_r[$ds]=$r_r ds_ir[$ds]=$r_ir ds_res[$ds]=$r_res
done

# --- table ------------------------------------------------------------------
echo
printf '| configuration | rules | seconds | user s | records/s | vs simple | instr/record | mawk seconds | mawk records/s | sensorgate vs mawk | same results |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
printf '| (a) simple form: [window]/[alert] | 1 (hot) | %s | %s | %s | 1.00 | %s | %s | %s | %s | %s |\n' \
  "$a_s" "$a_u" "$a_r" "$a_ir" "$ma_s" "$(rate "$ma_s")" "$(ratio "$a_s" "$ma_s")" "$same_a"
printf '| (b) 5 [rule.*] | 5 | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
  "$b_s" "$b_u" "$b_r" "$(ratio "$a_s" "$b_s")" "$b_ir" "$mb_s" "$(rate "$mb_s")" "$(ratio "$b_s" "$mb_s")" "$same_b"
printf '| (c) 20 [rule.*] | 20 | %s | %s | %s | %s | %s | - | - | - | - |\n' \
  "$c_s" "$c_u" "$c_r" "$(ratio "$a_s" "$c_s")" "$c_ir"
echo
echo "vs simple: seconds of the configuration / seconds of the simple form (how many times slower)."
echo "mawk (a): tests/bench/replay.awk, the whole simple form (ring of 60, hot alert, window lines)."
echo "mawk (b): tests/bench/rules.awk, all 5 rules: t1m (tumbling 1m count/avg/max), s5m (sliding 5m every 1m"
echo "  sum/stddev, closed windows), c60 (count 60 avg, alert), ids (total count/distinct(id_sensor)), hot10s"
echo "  (where temperatura > 70, tumbling 10s count). 'same results': identical lines but for avg/sum/stddev rounding."
echo "mawk (c): not done (15 more rules: slope, zscore, outlier_z, for, in-lists; awk could, it would be a program of its own)."
echo "results: (a) 0 (window lines), (b) $b_res result lines, (c) $c_res result lines."
echo
printf '| window (one rule per sensor: count, sum, avg, distinct(temperature)) | D/S | seconds | user s | records/s | instr/record | result lines |\n'
printf '|---|---|---|---|---|---|---|\n'
sec() { awk -v x="$1" 'BEGIN{ u = substr(x, length(x)); v = substr(x, 1, length(x) - 1) + 0; print v * (u == "h" ? 3600 : u == "m" ? 60 : 1) }'; }
for ds in $ds_list; do
  d=${ds%/*} s=${ds#*/}
  printf '| sliding %s every %s | %s | %s | %s | %s | %s | %s |\n' "$d" "$s" "$(( $(sec "$d") / $(sec "$s") ))" \
    "${ds_s[$ds]}" "${ds_u[$ds]}" "${ds_r[$ds]}" "${ds_ir[$ds]}" "${ds_res[$ds]}"
done
if [[ $callgrind != 0 ]]; then
  irs=$(for ds in $ds_list; do echo "${ds_ir[$ds]}"; done)
  echo
  echo "$irs" | awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 }
    END { printf "D and D/S: instructions per record from %d to %d: largest / smallest = %.2f\n", lo, hi, hi / lo }'
fi
if ((${#warnings[@]})); then
  echo
  echo "warnings:"
  for w in "${warnings[@]}"; do echo "  $w"; done
fi
[[ $same_a == yes && $same_b == yes ]] || { echo "rules_bench: mawk and sensorgate results differ (see 'same results')" >&2; exit 1; }
