# The five [rule.*] rules of tests/bench/rules_bench.sh in awk, as a baseline
# for the rules benchmark. Fields are found with match(), as an awk user would;
# the RFC 3339 time becomes epoch seconds by arithmetic on its digits (days
# from the civil date). Event time, lateness 0, the input in time order (the
# simulator's, with no --late): a time window closes when the largest time
# the rule accepted reaches its end.
#   t1m     tumbling 1m per sensor: count avg max
#   s5m     sliding 5m every 1m per sensor: sum stddev (panes of 1m)
#   c60     count 60 per sensor: avg, alert avg > above, clear avg < clear,
#           min_samples (the hot machine of replay.awk)
#   ids     total, one group "*": count distinct(id_sensor)
#   hot10s  where temperatura > 70, tumbling 10s per sensor: count
# Results are printed as sensorgate prints them but not in its order (windows
# closing together come out in awk's hash order); s5m's open windows at the
# end are not printed. Averages and sums are not compensated, so they may
# differ from sensorgate's in the last digits.
# Usage: mawk -v above=75.0123 -v clear=73.0123 -v min_samples=10 -f rules.awk FILE
function days_from_civil(y, m, d) {      # Howard Hinnant's algorithm
  y -= (m <= 2)
  era = int((y >= 0 ? y : y - 399) / 400)
  yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
  return era * 146097 + doe - 719468
}
function rfc3339(s,    z, doe, yoe, doy, mp, d, m, y, era, r) {  # epoch seconds -> text
  z = int(s / 86400); r = s - z * 86400
  z += 719468
  era = int((z >= 0 ? z : z - 146096) / 146097)
  doe = z - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  y = yoe + era * 400
  doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
  mp = int((5 * doy + 2) / 153)
  d = doy - int((153 * mp + 2) / 5) + 1
  m = mp + (mp < 10 ? 3 : -9)
  y += (m <= 2)
  return sprintf("%04d-%02d-%02dT%02d:%02d:%02d.000000Z", y, m, d, int(r / 3600), int(r % 3600 / 60), r % 60)
}
function shortest(x,    p, s) {       # shortest %.Ng that reads back the same
  if (x == int(x) && x < 1e15 && x > -1e15) return sprintf("%d", x)
  for (p = 1; p <= 17; p++) { s = sprintf("%." p "g", x); if (s + 0 == x) return s }
  return s
}
# t1m: close every key's window [start, start + 60)
function close_t1m(end,    k) {
  for (k in t1_n) if (t1_start[k] + 60 <= end) {
    printf "{\"event\":\"result\",\"rule\":\"t1m\",\"key\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"count\":%d,\"avg\":%s,\"max\":%s}\n", k, rfc3339(t1_start[k]), rfc3339(t1_start[k] + 60), t1_n[k], shortest(t1_sum[k] / t1_n[k]), shortest(t1_max[k])
    delete t1_n[k]
  }
}
function close_h10(end,    k) {
  for (k in h10_n) if (h10_start[k] + 10 <= end) {
    printf "{\"event\":\"result\",\"rule\":\"hot10s\",\"key\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"count\":%d}\n", k, rfc3339(h10_start[k]), rfc3339(h10_start[k] + 10), h10_n[k]
    delete h10_n[k]
  }
}
# s5m: the window [end - 300, end) of each key, from its 1m panes
function close_s5m(end,    k, p, n, s, q, sd) {
  for (k in s5_keys) {
    n = s = q = 0
    for (p = end - 300; p < end; p += 60) if ((k, p) in s5_n) { n += s5_n[k, p]; s += s5_s[k, p]; q += s5_q[k, p] }
    if (n > 0) {
      sd = q / n - (s / n) * (s / n); sd = sd > 0 ? sqrt(sd) : 0
      printf "{\"event\":\"result\",\"rule\":\"s5m\",\"key\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"sum\":%s,\"stddev\":%s}\n", k, rfc3339(end - 300), rfc3339(end), shortest(s), shortest(sd)
    }
    if ((k, end - 300) in s5_n) { delete s5_n[k, end - 300]; delete s5_s[k, end - 300]; delete s5_q[k, end - 300] }
  }
}
{
  if (!match($0, /"sensor":"[^"]*"/)) { bad++; next }
  key = substr($0, RSTART + 10, RLENGTH - 11)
  if (!match($0, /"temperatura":-?[0-9.eE+-]+/)) { bad++; next }
  v = substr($0, RSTART + 14, RLENGTH - 14) + 0
  if (!match($0, /"data_evento":"[^"]*"/)) { bad++; next }
  ts = substr($0, RSTART + 15, RLENGTH - 16)
  if (!match($0, /"id_sensor":"[^"]*"/)) { bad++; next }
  id = substr($0, RSTART + 13, RLENGTH - 14)
  t = days_from_civil(substr(ts, 1, 4) + 0, substr(ts, 6, 2) + 0, substr(ts, 9, 2) + 0) * 86400 \
      + substr(ts, 12, 2) * 3600 + substr(ts, 15, 2) * 60 + substr(ts, 18, 2)

  # the watermark: windows whose end it reaches close, before this record joins
  if (t > wm) {
    m = t - t % 60
    if (m > wm_m) { if (wm_m) for (e = wm_m + 60; e <= m; e += 60) { close_t1m(e); close_s5m(e) } wm_m = m }
    wm = t
  }

  # t1m
  st = t - t % 60
  if (!(key in t1_n)) { t1_n[key] = 0; t1_sum[key] = 0; t1_max[key] = v; t1_start[key] = st }
  t1_n[key]++; t1_sum[key] += v; if (v > t1_max[key]) t1_max[key] = v

  # s5m
  s5_keys[key] = 1
  s5_n[key, st]++; s5_s[key, st] += v; s5_q[key, st] += v * v
  if (st > s5_last[key]) s5_last[key] = st

  # c60: ring of 60, running sum, hot machine
  h = head[key] + 0
  if (cnt[key] == 60) sum[key] -= ring[key, h]
  else cnt[key]++
  ring[key, h] = v
  sum[key] += v
  head[key] = (h + 1) % 60
  total[key]++
  when[key] = ts
  avg = sum[key] / cnt[key]
  if (!firing[key] && cnt[key] >= min_samples && avg > above) {
    firing[key] = 1
    printf "{\"event\":\"alert\",\"rule\":\"c60\",\"state\":\"firing\",\"key\":\"%s\",\"count\":%d,\"total\":%d,\"time\":\"%s\",\"avg\":%s}\n", key, cnt[key], total[key], ts, shortest(avg)
  } else if (firing[key] && avg < clear) {
    firing[key] = 0
    printf "{\"event\":\"alert\",\"rule\":\"c60\",\"state\":\"resolved\",\"key\":\"%s\",\"count\":%d,\"total\":%d,\"time\":\"%s\",\"avg\":%s}\n", key, cnt[key], total[key], ts, shortest(avg)
  }

  # ids
  ids_n++
  if (!(id in seen)) { seen[id] = 1; ids_d++ }
  if (ids_n == 1 || ts < ids_lo) ids_lo = ts    # same format: text order is time order
  if (ids_n == 1 || ts > ids_hi) ids_hi = ts

  # hot10s
  if (v > 70) {                 # only what the rule accepts moves its watermark
    st10 = t - t % 10
    if (st10 > wm_10) { if (wm_10) close_h10(st10); wm_10 = st10 }
    if (!(key in h10_n)) { h10_n[key] = 0; h10_start[key] = st10 }
    h10_n[key]++
  }
}
END {
  for (k in cnt)
    printf "{\"event\":\"window\",\"rule\":\"c60\",\"key\":\"%s\",\"count\":%d,\"total\":%d,\"time\":\"%s\",\"avg\":%s}\n", k, cnt[k], total[k], when[k], shortest(sum[k] / cnt[k])
  for (k in t1_n)
    printf "{\"event\":\"result\",\"rule\":\"t1m\",\"key\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"count\":%d,\"avg\":%s,\"max\":%s,\"open\":true}\n", k, rfc3339(t1_start[k]), rfc3339(t1_start[k] + 60), t1_n[k], shortest(t1_sum[k] / t1_n[k]), shortest(t1_max[k])
  for (k in h10_n)
    printf "{\"event\":\"result\",\"rule\":\"hot10s\",\"key\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"count\":%d,\"open\":true}\n", k, rfc3339(h10_start[k]), rfc3339(h10_start[k] + 10), h10_n[k]
  printf "{\"event\":\"result\",\"rule\":\"ids\",\"key\":\"*\",\"start\":\"%s\",\"end\":\"%s\",\"count\":%d,\"distinct(id_sensor)\":%d,\"open\":true}\n", ids_lo, ids_hi, ids_n, ids_d
  if (bad) printf "rules.awk: %d records without a field\n", bad > "/dev/stderr"
}
