# The replay computation of sensorgate in awk, as a baseline for the replay
# benchmark: per key, a ring buffer of the last `size` readings, a running sum,
# the hot/resolved alert state machine (for = 0), and one window line per key
# at the end. Fields are found with match(), as an awk user would.
# Usage: mawk -v size=60 -v above=75 -v clear=73 -v min_samples=10 -f replay.awk FILE
{
  if (!match($0, /"sensor":"[^"]*"/)) { bad++; next }
  key = substr($0, RSTART + 10, RLENGTH - 11)
  if (!match($0, /"temperatura":-?[0-9.eE+-]+/)) { bad++; next }
  v = substr($0, RSTART + 14, RLENGTH - 14) + 0
  if (!match($0, /"data_evento":"[^"]*"/)) { bad++; next }
  t = substr($0, RSTART + 15, RLENGTH - 16)

  h = head[key] + 0
  if (cnt[key] == size) sum[key] -= ring[key, h]
  else cnt[key]++
  ring[key, h] = v
  sum[key] += v
  head[key] = (h + 1) % size
  total[key]++
  last[key] = v
  when[key] = t

  avg = sum[key] / cnt[key]
  if (!firing[key] && cnt[key] >= min_samples && avg > above) {
    firing[key] = 1
    printf "{\"event\":\"alert\",\"rule\":\"hot\",\"state\":\"firing\",\"key\":\"%s\",\"avg\":%.15g,\"count\":%d,\"time\":\"%s\"}\n", key, avg, cnt[key], t
  } else if (firing[key] && avg < clear) {
    firing[key] = 0
    printf "{\"event\":\"alert\",\"rule\":\"hot\",\"state\":\"resolved\",\"key\":\"%s\",\"avg\":%.15g,\"count\":%d,\"time\":\"%s\"}\n", key, avg, cnt[key], t
  }
}
END {
  for (key in cnt) {
    lo = hi = ring[key, 0]
    for (i = 1; i < cnt[key]; i++) {
      x = ring[key, i]
      if (x < lo) lo = x
      if (x > hi) hi = x
    }
    printf "{\"event\":\"window\",\"key\":\"%s\",\"count\":%d,\"total\":%d,\"avg\":%.15g,\"min\":%.15g,\"max\":%.15g,\"last\":%.15g,\"time\":\"%s\"}\n", key, cnt[key], total[key], sum[key] / cnt[key], lo, hi, last[key], when[key]
  }
}
