# Parsing and summarising for scripts/bench.sh: wrk and dfaas-loadgen outputs, CPU accounting
# from /proc, Google Benchmark JSON, and the summary tables (medians, min-max, ratios, targets).
# Only POSIX awk (Debian's mawk) and coreutils: no jq or python needed.

# ---- CPU accounting -------------------------------------------------------------------------

# cpu_stat: "busy softirq" jiffies of the whole machine since boot, from /proc/stat. Busy is
# user+nice+system+irq+softirq+steal: everything but idle and iowait, so it includes the kernel's
# packet processing (softirq) whichever process or namespace it ran for.
cpu_stat() {
  awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $8; exit }' /proc/stat
}

# proc_cpu NS COMM: utime+stime clock ticks of every process named COMM in namespace NS.
proc_cpu() {
  local ns=$1 comm=$2 total=0 pid rest
  for pid in $(ip netns pids "$ns" 2>/dev/null); do
    [[ -r /proc/$pid/stat ]] || continue
    rest=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    [[ "$rest" == *"($comm)"* ]] || continue
    rest=${rest##*) }  # fields after "pid (comm) "; utime and stime are the 12th and 13th
    # shellcheck disable=SC2086
    set -- $rest
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}

# ---- tool outputs -------------------------------------------------------------------------

# parse_wrk FILE: "requests seconds req/s p50_us p99_us failed" from the WRK_RESULT line.
parse_wrk() {
  awk '/^WRK_RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    secs = v["duration_us"] / 1e6
    failed = v["err_connect"] + v["err_read"] + v["err_write"] + v["err_status"] + v["err_timeout"]
    printf "%d %.3f %.1f %d %d %d\n", v["requests"], secs, (secs > 0 ? v["requests"] / secs : 0),
      v["p50_us"], v["p99_us"], failed
    found = 1
  }
  END { if (!found) exit 1 }' "$1"
}

# json_flat FILE: flattens dfaas-loadgen's pretty-printed JSON report to "section.key value"
# lines (the report nests one level).
json_flat() {
  awk '
    /^ *"[^"]+": *[\{\[] *$/ { match($0, /"[^"]+"/); sec = substr($0, RSTART + 1, RLENGTH - 2); next }
    /^ *[\}\]],? *$/ { sec = ""; next }
    /^ *"[^"]+": / {
      match($0, /"[^"]+"/); k = substr($0, RSTART + 1, RLENGTH - 2)
      v = $0; sub(/^ *"[^"]+": */, "", v); sub(/,$/, "", v); gsub(/"/, "", v)
      print (sec == "" ? k : sec "." k), v
    }' "$1"
}

# parse_loadgen FILE: "requests seconds throughput p50_us p99_us failed lag_p99_us retries".
# failed = requests without a 2xx/3xx answer (transport errors included).
parse_loadgen() {
  json_flat "$1" | awk '
    { v[$1] = $2 }
    $1 ~ /^status_codes\./ { code = substr($1, 14) + 0; if (code >= 200 && code < 400) ok += $2 }
    END {
      if (!("requests" in v)) exit 1
      printf "%d %.3f %.1f %d %d %d %d %d\n", v["requests"], v["duration"] / 1e9, v["throughput"],
        v["latencies.50th"] / 1000, v["latencies.99th"] / 1000, v["requests"] - ok,
        v["send_lag.99th"] / 1000, v["retries"]
    }'
}

# served_by FILE: "node:count ..." from a loadgen report.
served_by() {
  json_flat "$1" | awk '$1 ~ /^served_by\./ { printf "%s%s:%s", sep, substr($1, 11), $2; sep = " " }'
}

# ---- BPF micro-benchmarks ------------------------------------------------------------------

# bpf_table FILE.json: markdown table of dfaas-bench-bpf, ns/packet median (min-max) over the
# repetitions, and net of the BM_Harness_Noop median.
bpf_table() {
  awk '
    function sortv(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    function median(a, n) { return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    /"run_name":/ { rn = $2; gsub(/[",]/, "", rn); sub(/\/manual_time$/, "", rn) }
    /"run_type":/ { rt = $2; gsub(/[",]/, "", rt) }
    /"real_time":/ && rt == "iteration" {
      t = $2; gsub(/,/, "", t)
      if (!(rn in n)) order[++names] = rn
      vals[rn, ++n[rn]] = t + 0
    }
    END {
      for (k = 1; k <= names; k++) {
        rn = order[k]; m = n[rn]
        for (i = 1; i <= m; i++) a[i] = vals[rn, i]
        sortv(a, m); med[rn] = median(a, m); lo[rn] = a[1]; hi[rn] = a[m]
      }
      noop = med["BM_Harness_Noop"]
      print "| Path (benchmark) | ns/packet, median (min–max) | net of harness |"
      print "|---|---|---|"
      for (k = 1; k <= names; k++) {
        rn = order[k]
        net = (rn == "BM_Harness_Noop") ? "—" : sprintf("%.0f", med[rn] - noop)
        printf "| %s | %.0f (%.0f–%.0f) | %s |\n", rn, med[rn], lo[rn], hi[rn], net
      }
    }' "$1"
}

# ---- summary -------------------------------------------------------------------------------

# bench_summary MEASUREMENTS.tsv CHURN.tsv: the markdown summary (tables, ratios, targets).
bench_summary() {
  awk -F'\t' -v churn_file="$2" '
    function sortv(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    # stat(key, what): median, min and max over rounds, in S_MED, S_MIN, S_MAX; S_N values.
    function stat(key, what,   i, m, a) {
      m = cnt[key]; S_N = m
      if (m == 0) { S_MED = S_MIN = S_MAX = ""; return 0 }
      for (i = 1; i <= m; i++) a[i] = val[key, what, i]
      sortv(a, m)
      S_MIN = a[1]; S_MAX = a[m]
      S_MED = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
      return 1
    }
    function sum(key, what,   i, s) { s = 0; for (i = 1; i <= cnt[key]; i++) s += val[key, what, i]; return s }
    function med(key, what) { stat(key, what); return S_MED }
    # ratio of medians of two scenarios (same mode, tool), and the min-max of per-round ratios.
    function ratio(s1, s2, mode, tool, what,   k1, k2, r, lo, hi, x, rd) {
      k1 = s1 SUBSEP mode SUBSEP tool; k2 = s2 SUBSEP mode SUBSEP tool
      if (!cnt[k1] || !cnt[k2] || med(k2, what) == 0) { R_TXT = "n/a"; return "" }
      r = med(k1, what) / med(k2, what); lo = ""; hi = ""
      for (rd in rounds) if (((rd, k1, what) in byround) && ((rd, k2, what) in byround) && byround[rd, k2, what] > 0) {
        x = byround[rd, k1, what] / byround[rd, k2, what]
        if (lo == "" || x < lo) lo = x; if (hi == "" || x > hi) hi = x
      }
      R_TXT = sprintf("%.2f×", r) (lo == "" ? "" : sprintf(" (%.2f–%.2f)", lo, hi))
      return r
    }
    function fmt(x, f) { return x == "" ? "n/a" : sprintf(f, x) }
    function mmm(key, what, f) { if (!stat(key, what)) return "n/a"; return sprintf(f " (" f "–" f ")", S_MED, S_MIN, S_MAX) }
    function verdict(ok, have) { return have ? (ok ? "PASS" : "**MISS**") : "n/a" }
    NR == 1 { next }
    {
      key = $2 SUBSEP $3 SUBSEP $4; i = ++cnt[key]; rounds[$1] = 1
      seen_scen[$2] = 1; seen_mode[$3] = 1
      req = $5 + 0
      val[key, "rps", i] = $7; val[key, "p50", i] = $8; val[key, "p99", i] = $9; val[key, "failed", i] = $10
      val[key, "busy10k", i] = req > 0 ? $11 / req * 1e4 : 0
      val[key, "hap10k", i] = req > 0 ? $14 / req * 1e4 : 0
      val[key, "clientshare", i] = $11 > 0 ? $13 / $11 : 0
      val[key, "lag", i] = $17
      byround[$1, key, "rps"] = $7; byround[$1, key, "p50"] = $8; byround[$1, key, "busy10k"] = val[key, "busy10k", i]
      rate[key] = $7
    }
    END {
      nscen = split("direct route fwd fwdnh entfwd gwa local localnh entlocal knat hapref haptuned", scen, " ")
      name["direct"] = "1 direct: client → B gateway"; name["route"] = "5 kernel routing via A (no NAT)"
      name["fwd"] = "2 dfaas forward A → B"; name["gwa"] = "6 gateway on A called directly"
      name["local"] = "6 dfaas local path on A"; name["knat"] = "4 kernel NAT on A (DNAT+MASQUERADE)"
      name["hapref"] = "3 HAProxy on A as DFaaS configures it"; name["haptuned"] = "3 HAProxy on A tuned"
      name["fwdnh"] = "2 dfaas forward, HTTP stats off"; name["localnh"] = "6 dfaas local path, HTTP stats off"
      name["entfwd"] = "7 dfaas entry URL, forward A → B"; name["entlocal"] = "7 dfaas entry URL, local on A"
      nm = split("ka close", modes, " "); mname["ka"] = "keep-alive"; mname["close"] = "conn/request"

      print "### Closed loop (wrk): capacity"
      print ""
      print "| Scenario | Mode | req/s median (min–max) | × direct | × routing | p50 µs | p99 µs | failed | CPU s/10k req, machine | of which HAProxy | client share of CPU |"
      print "|---|---|---|---|---|---|---|---|---|---|---|"
      for (m = 1; m <= nm; m++) for (s = 1; s <= nscen; s++) {
        k = scen[s] SUBSEP modes[m] SUBSEP "wrk"; if (!cnt[k]) continue
        ratio(scen[s], "direct", modes[m], "wrk", "rps"); rd = R_TXT
        ratio(scen[s], "route", modes[m], "wrk", "rps"); rr = R_TXT
        printf "| %s | %s | %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", name[scen[s]], mname[modes[m]],
          mmm(k, "rps", "%.0f"), rd, rr, fmt(med(k, "p50"), "%.0f"), fmt(med(k, "p99"), "%.0f"),
          sum(k, "failed"), fmt(med(k, "busy10k"), "%.2f"),
          (scen[s] ~ /^hap/ ? fmt(med(k, "hap10k"), "%.2f") : "—"), fmt(med(k, "clientshare") * 100, "%.0f%%")
      }
      print ""
      print "### Open loop (dfaas-loadgen at a fixed rate): latency and CPU at equal load"
      print ""
      print "| Scenario | Mode | rate req/s | p50 µs median (min–max) | p50 − routing µs | p99 µs median (min–max) | failed | CPU s/10k req, machine | − direct | of which HAProxy | send lag p99 µs (max) |"
      print "|---|---|---|---|---|---|---|---|---|---|---|"
      for (m = 1; m <= nm; m++) for (s = 1; s <= nscen; s++) {
        k = scen[s] SUBSEP modes[m] SUBSEP "loadgen"; if (!cnt[k]) continue
        kr = "route" SUBSEP modes[m] SUBSEP "loadgen"; kd = "direct" SUBSEP modes[m] SUBSEP "loadgen"
        dp50 = cnt[kr] ? sprintf("%+.0f", med(k, "p50") - med(kr, "p50")) : "n/a"
        dcpu = cnt[kd] ? sprintf("%+.2f", med(k, "busy10k") - med(kd, "busy10k")) : "n/a"
        stat(k, "lag"); lagmax = S_MAX
        printf "| %s | %s | %.0f | %s | %s | %s | %d | %s | %s | %s | %s |\n", name[scen[s]], mname[modes[m]],
          rate[k], mmm(k, "p50", "%.0f"), dp50, mmm(k, "p99", "%.0f"), sum(k, "failed"),
          fmt(med(k, "busy10k"), "%.2f"), dcpu, (scen[s] ~ /^hap/ ? fmt(med(k, "hap10k"), "%.2f") : "—"),
          fmt(lagmax, "%.0f")
      }

      # Policy churn results (system mode requests failed p50 p99 updates ...).
      churn_have = 0; churn_failed = 0
      if (churn_file != "") while ((getline line < churn_file) > 0) {
        split(line, c, "\t"); if (c[1] == "system") continue
        if (c[1] == "dfaas") { churn_have = 1; churn_failed += c[5] }
      }

      print ""
      print "### Targets"
      print ""
      print "| Target | Measured (median ratio, per-round min–max) | Goal | Result |"
      print "|---|---|---|---|"
      for (m = 1; m <= nm; m++) {
        r = ratio("fwd", "route", modes[m], "wrk", "rps")
        printf "| Forward vs plain routing hop, %s (wrk req/s) | %s | ≥ 0.95× | %s |\n", mname[modes[m]], R_TXT, verdict(r >= 0.95, r != "")
      }
      r = ratio("fwd", "hapref", "ka", "wrk", "rps")
      printf "| Forward vs HAProxy-as-DFaaS, keep-alive | %s | ≥ 5× | %s |\n", R_TXT, verdict(r >= 5, r != "")
      r = ratio("fwd", "hapref", "close", "wrk", "rps")
      printf "| Forward vs HAProxy-as-DFaaS, conn/request | %s | ≥ 1.5× | %s |\n", R_TXT, verdict(r >= 1.5, r != "")
      r = ratio("fwd", "knat", "close", "wrk", "rps")
      printf "| Forward vs kernel NAT, conn/request | %s | ≥ 3× | %s |\n", R_TXT, verdict(r >= 3, r != "")
      for (m = 1; m <= nm; m++) {
        r = ratio("local", "gwa", modes[m], "wrk", "rps")
        printf "| Local path vs gateway called directly, %s | %s | ≥ 0.95× | %s |\n", mname[modes[m]], R_TXT, verdict(r >= 0.95, r != "")
      }
      for (m = 1; m <= nm; m++) {
        k = "fwd" SUBSEP modes[m] SUBSEP "loadgen"; kr = "route" SUBSEP modes[m] SUBSEP "loadgen"
        have = cnt[k] && cnt[kr]; d = have ? med(k, "p50") - med(kr, "p50") : ""
        printf "| Added p50 over the routing hop, %s (loadgen) | %s | ≤ 50 µs | %s |\n", mname[modes[m]],
          have ? sprintf("%+.0f µs (%.0f vs %.0f)", d, med(k, "p50"), med(kr, "p50")) : "n/a", verdict(d <= 50, have)
      }
      printf "| Failed requests during dfaas policy churn | %s | 0 | %s |\n", churn_have ? churn_failed : "n/a", verdict(churn_failed == 0, churn_have)
      # The cost of recording HTTP responses and latencies (only when fwdnh / localnh ran).
      for (m = 1; m <= nm; m++) for (s = 1; s <= 2; s++) {
        a = s == 1 ? "fwd" : "local"
        r = ratio(a, a "nh", modes[m], "wrk", "rps"); if (r == "") continue
        printf "| (cost) %s with HTTP stats vs without, %s (wrk req/s) | %s | 1.00× expected | info |\n", a, mname[modes[m]], R_TXT
      }
      for (m = 1; m <= nm; m++) {
        ratio("route", "direct", modes[m], "wrk", "rps")
        printf "| (reference) routing hop vs direct, %s | %s | about 0.75–0.8× expected | info |\n", mname[modes[m]], R_TXT
      }
    }' "$1"
}

# churn_table CHURN.tsv: markdown table of the policy churn runs.
churn_table() {
  awk -F'\t' '
    NR == 1 { next }
    BEGIN {
      print "| System | Mode | rate | requests | failed | p50 µs | p99 µs | updates (reloads) | update cost | served by | notes |"
      print "|---|---|---|---|---|---|---|---|---|---|---|"
    }
    { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, ($2 == "ka" ? "keep-alive" : "conn/request"), $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$1"
}

# dp_counters_table RAW_DIR: the data plane's own counters summed over the measured rounds of
# the dfaas scenarios (files dpstats-r<N>-<scenario>-<node>.json): new connections, SYN
# retransmissions, drops of any reason, mid-flow conntrack misses, collisions.
dp_counters_table() {
  local dir=$1 scen node f
  echo "| Scenario | Node | syn_new | syn_retransmit | drops (all drop_* reasons) | pass_ct_miss_midflow | ct_collision | http_request |"
  echo "|---|---|---|---|---|---|---|---|"
  for scen in fwd local; do
    for node in a b; do
      set -- "$dir"/dpstats-r*-"$scen"-"$node".json
      [[ -e "$1" ]] || continue
      for f in "$@"; do json_flat "$f"; done | awk -v s="$scen" -v n="$node" '
        $1 ~ /^reasons\./ { k = substr($1, 9); v[k] += $2; if (k ~ /^drop_/) drops += $2 }
        END { printf "| %s | %s | %d | %d | %d | %d | %d | %d |\n", s, toupper(n), v["syn_new"],
          v["syn_retransmit"], drops, v["pass_ct_miss_midflow"], v["ct_collision"], v["http_request"] }'
    done
  done
}
