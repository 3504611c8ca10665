# shellcheck shell=bash
# Machine-readable results and plots of a scripts/bench.sh run (bench.sh --report).
#
# results.csv: one row per figure, "section,name,mode,metric,median,min,max,samples":
#   section closed   wrk (closed loop): req_per_s, p50_us, p99_us of scenario NAME in MODE (ka, close)
#   section open     dfaas-loadgen (open loop, fixed rate): req_per_s, p50_us, p99_us
#   section bpf      dfaas-bench-bpf: ns_per_packet of benchmark NAME (MODE empty)
# median, min and max over the rounds (or the BPF repetitions); lines starting with '#' say where
# the figures come from. The plots are drawn from this file only, so a file converted from
# recorded tables (docs/data/) draws the same way as a fresh run.
# Only POSIX awk and gnuplot (pngcairo, or gd's png terminal).

# results_csv MEASUREMENTS.tsv [BPF.json [MACHINE.txt]]: results.csv on stdout; MACHINE.txt (the
# run's raw/machine.txt) gives the "# run:" line the plots show.
results_csv() {
  local tsv=$1 bpf=${2:-} machine=${3:-}
  if [[ -n $machine && -s $machine ]]; then
    awk -v run="$(basename "$(dirname "$(dirname "$machine")")")" -F': ' '
      $1 == "date" || $1 == "git" || $1 == "profile" || $1 == "kernel" { v[$1] = $2 }
      END { sub(/ .*/, "", v["kernel"]); printf "# run: %s (%s), %s, commit %s, kernel %s\n", run, v["profile"], v["date"], v["git"], v["kernel"] }' "$machine"
  fi
  echo "section,name,mode,metric,median,min,max,samples"
  awk -F'\t' '
    function sortv(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    NR == 1 {
      for (i = 1; i <= NF; i++) col[$i] = i
      if (!("scenario" in col) || !("req_per_s" in col) || !("p50_us" in col) || !("p99_us" in col)) {
        print "results_csv: " FILENAME " has no measurements header" > "/dev/stderr"; bad = 1; exit 1
      }
      nm = split("req_per_s p50_us p99_us", metric, " ")
      next
    }
    {
      section = ($col["tool"] == "wrk") ? "closed" : ($col["tool"] == "loadgen" ? "open" : "")
      if (section == "") next
      key = section "," $col["scenario"] "," $col["mode"]
      if (!(key in cnt)) order[++keys] = key
      i = ++cnt[key]
      for (m = 1; m <= nm; m++) val[key, m, i] = $col[metric[m]] + 0
    }
    END {
      if (bad) exit 1
      for (k = 1; k <= keys; k++) {
        key = order[k]; n = cnt[key]
        for (m = 1; m <= nm; m++) {
          for (i = 1; i <= n; i++) a[i] = val[key, m, i]
          sortv(a, n)
          med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
          printf "%s,%s,%.6g,%.6g,%.6g,%d\n", key, metric[m], med, a[1], a[n], n
        }
      }
    }' "$tsv" || return 1
  [[ -n $bpf && -s $bpf ]] || return 0
  # Google Benchmark JSON: one "iteration" entry per repetition (aggregates are skipped);
  # real_time is the program's time per packet (manual time, ns).
  awk '
    function sortv(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    /"run_name":/ { rn = $2; gsub(/[",]/, "", rn); sub(/\/manual_time$/, "", rn) }
    /"run_type":/ { rt = $2; gsub(/[",]/, "", rt) }
    /"time_unit":/ { u = $2; gsub(/[",]/, "", u); if (u != "ns") { print "results_csv: time unit " u " in " FILENAME > "/dev/stderr"; bad = 1 } }
    /"real_time":/ && rt == "iteration" {
      t = $2; gsub(/,/, "", t)
      if (!(rn in n)) order[++names] = rn
      vals[rn, ++n[rn]] = t + 0
    }
    END {
      if (bad) exit 1
      for (k = 1; k <= names; k++) {
        rn = order[k]; m = n[rn]
        for (i = 1; i <= m; i++) a[i] = vals[rn, i]
        sortv(a, m)
        med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
        printf "bpf,%s,,ns_per_packet,%.6g,%.6g,%.6g,%d\n", rn, med, a[1], a[m], m
      }
    }' "$bpf"
}

# report_pairs CSV SECTION METRIC MODE: the gnuplot data of one panel, one line per comparison
# the benchmarks make (the dfaas path, then its baseline): "label dfaas_med min max base_med min
# max". A comparison one of whose scenarios is missing from the run is left out.
report_pairs() {
  awk -F, -v sec="$2" -v met="$3" -v mode="$4" '
    /^#/ || $1 != sec || $3 != mode || $4 != met { next }
    { med[$2] = $5; lo[$2] = $6; hi[$2] = $7 }
    END {
      n = split("fwd route|fwd knat|fwd hapref|fwd haptuned|local gwa", pairs, "|")
      label["route"] = "forward vs\\nrouting hop"; label["knat"] = "forward vs\\nkernel NAT"
      label["hapref"] = "forward vs\\nHAProxy\\nas DFaaS"; label["haptuned"] = "forward vs\\nHAProxy\\ntuned"
      label["gwa"] = "local path vs\\ngateway\\non A"
      for (i = 1; i <= n; i++) {
        split(pairs[i], p, " ")
        if (!((p[1] in med) && (p[2] in med))) continue
        printf "\"%s\" %s %s %s %s %s %s\n", label[p[2]], med[p[1]], lo[p[1]], hi[p[1]], med[p[2]], lo[p[2]], hi[p[2]]
      }
    }' "$1"
}

# report_value CSV SECTION NAME MODE METRIC: the median of one figure (empty when absent).
report_value() {
  awk -F, -v s="$2" -v n="$3" -v m="$4" -v k="$5" '!/^#/ && $1 == s && $2 == n && $3 == m && $4 == k { print $5; exit }' "$1"
}

# report_source CSV: the provenance lines of the file ('#' lines), for the plots' subtitles.
report_source() {
  awk '/^# *run:/ { sub(/^# *run: */, ""); print; exit }' "$1"
}

# report_terminal: the gnuplot terminal line for PNG output (cairo if this gnuplot has it).
REPORT_CAIRO=""
report_terminal() {
  local size=$1
  if [[ -z $REPORT_CAIRO ]]; then
    REPORT_CAIRO=no
    gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 && REPORT_CAIRO=yes
  fi
  if [[ $REPORT_CAIRO == yes ]]; then
    echo "set terminal pngcairo size $size font 'sans,10' noenhanced"
  else
    echo "set terminal png size $size noenhanced"
  fi
}

# The look every plot shares: the dfaas path in blue, its baseline in grey, min-max whiskers.
REPORT_STYLE="set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside top center horizontal maxcols 3 samplen 2
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set bmargin 5
set tmargin 4
set datafile separator whitespace"

# report_plot_pairs OUT.png DATADIR SECTION "METRIC[ METRIC]" TITLE YLABEL SOURCE CSV: one PNG with
# one panel per mode (keep-alive, conn/request) and per metric. Returns 1 when no panel has data.
report_plot_pairs() {
  local out=$1 dir=$2 section=$3 metrics=$4 title=$5 ylabel=$6 source=$7 csv=$8
  local rows cols=2 metric mode panels=() f direct mname
  read -ra metrics <<<"$metrics"
  rows=${#metrics[@]}
  for metric in "${metrics[@]}"; do
    for mode in ka close; do
      f="$dir/$section-$metric-$mode.dat"
      report_pairs "$csv" "$section" "$metric" "$mode" >"$f"
      [[ -s $f ]] && panels+=("$f")
    done
  done
  ((${#panels[@]})) || return 1
  {
    report_terminal "1200,$((rows * 420 + 60))"
    echo "set output '$out'"
    echo "$REPORT_STYLE"
    # shellcheck disable=SC2028 # the \n are gnuplot's, not echo's
    echo "set multiplot layout $rows,$cols title \"$title\\n$source\\n\" font ',11'"
    for metric in "${metrics[@]}"; do
      for mode in ka close; do
        f="$dir/$section-$metric-$mode.dat"
        mname=$([[ $mode == ka ]] && echo "keep-alive" || echo "one request per connection")
        echo "unset arrow; unset label"
        echo "set title '$mname: $(report_metric_name "$metric")'"
        echo "set xrange [-0.6:$(($(wc -l <"$f") - 1)).6]"
        echo "set ylabel '$ylabel'"
        if [[ ! -s $f ]]; then
          echo "set label 1 'not measured in this run' at graph 0.5, 0.5 center"
          echo "plot [0:1][0:1] NaN notitle"
          continue
        fi
        echo "plot '$f' using 2:3:4:xtic(1) title 'dfaas data plane' lc rgb '#1f77b4', \\"
        direct=$(report_value "$csv" "$section" direct "$mode" "$metric")
        if [[ -n $direct ]]; then
          echo "     '' using 5:6:7 title 'baseline (below)' lc rgb '#9a9a9a', \\"
          echo "     $direct with lines dt 2 lw 1.5 lc rgb '#d62728' title 'direct: $(printf '%.0f' "$direct")'"
        else
          echo "     '' using 5:6:7 title 'baseline (below)' lc rgb '#9a9a9a'"
        fi
      done
    done
    echo "unset multiplot"
  } >"$dir/$(basename "$out" .png).gp"
  gnuplot "$dir/$(basename "$out" .png).gp" 2>"$dir/gnuplot.err" || {
    cat "$dir/gnuplot.err" >&2
    return 2
  }
}

report_metric_name() {
  case $1 in
    req_per_s) echo "throughput (higher is better)" ;;
    p50_us) echo "p50 latency (lower is better)" ;;
    p99_us) echo "p99 latency (lower is better)" ;;
    *) echo "$1" ;;
  esac
}

# report_plot_bpf OUT.png DATADIR SOURCE CSV: ns/packet per BPF path, median with min-max, and
# the harness's own cost (BM_Harness_Noop) as a line. Returns 1 when there are no BPF figures.
report_plot_bpf() {
  local out=$1 dir=$2 source=$3 csv=$4 f="$2/bpf.dat" noop
  awk -F, '!/^#/ && $1 == "bpf" && $4 == "ns_per_packet" {
    name = $2; sub(/^BM_/, "", name); printf "\"%s\" %s %s %s\n", name, $5, $6, $7 }' "$csv" >"$f"
  [[ -s $f ]] || return 1
  noop=$(report_value "$csv" bpf BM_Harness_Noop "" ns_per_packet)
  {
    report_terminal "1200,560"
    echo "set output '$out'"
    echo "$REPORT_STYLE"
    # shellcheck disable=SC2028 # the \n is gnuplot's, not echo's
    echo "set title \"BPF paths: time per packet (BPF_PROG_TEST_RUN), median and min-max over the repetitions\\n$source\" font ',11'"
    echo "set ylabel 'ns per packet'"
    echo "set xtics rotate by -35 left"
    echo "set bmargin 9"
    echo "set rmargin 8"
    echo "set tmargin 5"
    echo "set key inside top left vertical"
    echo "set xrange [-0.6:$(($(wc -l <"$f") - 1)).6]"
    if [[ -n $noop ]]; then
      echo "plot '$f' using 2:3:4:xtic(1) title 'ns/packet (median, min-max)' lc rgb '#1f77b4', \\"
      echo "     $noop with lines dt 2 lw 1.5 lc rgb '#d62728' title 'the harness alone (Harness_Noop): $(printf '%.0f' "$noop") ns'"
    else
      echo "plot '$f' using 2:3:4:xtic(1) title 'ns/packet (median, min-max)' lc rgb '#1f77b4'"
    fi
  } >"$dir/bpf.gp"
  gnuplot "$dir/bpf.gp" 2>"$dir/gnuplot.err" || {
    cat "$dir/gnuplot.err" >&2
    return 2
  }
}

# bench_report CSV OUTDIR: bench-throughput.png, bench-latency.png, bench-bpf.png in OUTDIR from
# CSV; prints what it wrote. A part without figures is reported and skipped; returns 1 when
# nothing could be drawn, 2 when gnuplot fails.
bench_report() {
  local csv=$1 outdir=$2 work source drawn=0 rc
  command -v gnuplot >/dev/null || {
    echo "report: gnuplot is not installed (scripts/setup.sh installs it)" >&2
    return 2
  }
  mkdir -p "$outdir"
  work=$(mktemp -d)
  source=$(report_source "$csv")
  source=${source:-$(basename "$csv")}
  source=${source//\'/}
  source=${source//\"/}
  rc=0
  report_plot_pairs "$outdir/bench-throughput.png" "$work" closed req_per_s \
    "Capacity, closed loop (wrk -t2 -c32): requests/s, median and min-max over the rounds" \
    "requests/s" "$source" "$csv" || rc=$?
  case $rc in
    0) echo "report: $outdir/bench-throughput.png" && drawn=$((drawn + 1)) ;;
    1) echo "report: no closed-loop (wrk) figures to compare: bench-throughput.png not drawn" >&2 ;;
    *) rm -rf "$work" && return 2 ;;
  esac
  rc=0
  report_plot_pairs "$outdir/bench-latency.png" "$work" open "p50_us p99_us" \
    "Latency at equal load, open loop (dfaas-loadgen at a fixed rate): microseconds, median and min-max over the rounds" \
    "microseconds" "$source" "$csv" || rc=$?
  case $rc in
    0) echo "report: $outdir/bench-latency.png" && drawn=$((drawn + 1)) ;;
    1) echo "report: no open-loop (dfaas-loadgen) figures to compare: bench-latency.png not drawn" >&2 ;;
    *) rm -rf "$work" && return 2 ;;
  esac
  rc=0
  report_plot_bpf "$outdir/bench-bpf.png" "$work" "$source" "$csv" || rc=$?
  case $rc in
    0) echo "report: $outdir/bench-bpf.png" && drawn=$((drawn + 1)) ;;
    1) echo "report: no BPF figures (dfaas-bench-bpf): bench-bpf.png not drawn" >&2 ;;
    *) rm -rf "$work" && return 2 ;;
  esac
  rm -rf "$work"
  ((drawn > 0)) || return 1
}
