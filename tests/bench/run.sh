#!/usr/bin/env bash
# The w3voipd benchmark (make bench). See tests/bench/README.md.
#
#   bash tests/bench/run.sh [BUILD_DIR]          # everything, ~8-10 minutes
#   BENCH_ONLY="dir cdr" bash tests/bench/run.sh build   # some scenarios only
#
# Scenarios: dir (directory sip_auth), dp_public (DID → extension),
# dp_internal (9 + number → trunk), cdr (POST /fs/cdr). Every lookup
# scenario runs against the bare evhttp server (the limit), w3voipd on the
# demo database and w3voipd on the 1M-extension database, interleaved; the
# CDR ingest against the bare server (reads the body, answers 201) and
# w3voipd on the demo database, interleaved.
# Results: bench-results.md at the top of the project (also printed).
#
# Tunables (environment): BENCH_PAIRS (3), BENCH_CDR_PAIRS (5: the CDR
# flood moves more between rounds than the lookups), BENCH_DURATION (4 s, throughput
# runs), BENCH_LAT_DURATION (3 s, one-connection runs), BENCH_THREADS (1),
# BENCH_CONNS (16), BENCH_CDR_CONNS (64), BENCH_CDR_DURATION (6 s),
# BENCH_SCALE (1; 0 skips the large database), BENCH_PERF (1; 0 skips perf),
# BENCH_KEEP (0; 1 keeps the databases in BUILD/bench-work).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BENCH_DIR=$ROOT/tests/bench
CAP=$ROOT/fixtures/captures
BUILT_W3VOIPD=$BUILD/w3voipd
BUILT_W3VOIP=$BUILD/w3voip
BUILT_BARE=$BUILD/tests/bench/bench_bare
BUILT_SHIM=$BUILD/tests/bench/bench_sqltrace.so
LUA=$BENCH_DIR/fs_post.lua
REPORT=$BENCH_DIR/report.py
OUT_MD=$ROOT/bench-results.md

PAIRS=${BENCH_PAIRS:-3}
CDR_PAIRS=${BENCH_CDR_PAIRS:-5}
DUR=${BENCH_DURATION:-4}
LAT_DUR=${BENCH_LAT_DURATION:-3}
THREADS=${BENCH_THREADS:-1}
CONNS=${BENCH_CONNS:-16}
CDR_CONNS=${BENCH_CDR_CONNS:-64}
CDR_DUR=${BENCH_CDR_DURATION:-6}
SCALE=${BENCH_SCALE:-1}
PERF=${BENCH_PERF:-1}
ONLY=${BENCH_ONLY:-dir dp_public dp_internal dir_miss cdr prov}
NPROC=$(nproc)
AUTH_B64=$(printf 'fsnode:secret' | base64)
CDR_UUID=df2ca423-c52d-4e77-9e81-2211975e94c9
T_START=$(date +%s)

log() { printf '[bench %4ds] %s\n' $(($(date +%s) - T_START)) "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"
command -v python3 >/dev/null || die "python3 is not installed"
ninja -C "$BUILD" >/dev/null || die "build failed"
for f in "$BUILT_W3VOIPD" "$BUILT_W3VOIP" "$BUILT_BARE" "$BUILT_SHIM"; do
    [ -e "$f" ] || die "missing $f (ninja -C $BUILD)"
done

# ---- work directory: on a real disk (a database on tmpfs would fake fsync) --
WORK=$BUILD/bench-work
rm -rf "$WORK"
mkdir -p "$WORK"
FSTYPE=$(stat -f -c %T "$WORK")
case $FSTYPE in tmpfs | ramfs) die "$WORK is on $FSTYPE: the databases must live on a real disk" ;; esac
FSDEV=$(df --output=source "$WORK" | tail -1)
RES=$WORK/results.jsonl
: >"$RES"

# The binaries measured are copies taken now: a rebuild of BUILD while the
# benchmark runs (someone working on the code) cannot change them mid-way,
# and perf can still read their symbols.
mkdir -p "$WORK/bin"
cp "$BUILT_W3VOIPD" "$BUILT_W3VOIP" "$BUILT_BARE" "$BUILT_SHIM" "$WORK/bin/"
W3VOIPD=$WORK/bin/w3voipd
W3VOIP=$WORK/bin/w3voip
BARE=$WORK/bin/bench_bare
SHIM=$WORK/bin/bench_sqltrace.so

head -c 48 /dev/urandom | base64 -w0 >"$WORK/jwt.key"
echo "fsnode:secret" >"$WORK/fs.cred"
chmod 600 "$WORK/jwt.key" "$WORK/fs.cred"

# ---- process bookkeeping: every server we start is stopped on exit ---------
declare -A PID PORT
STARTED=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for p in "${STARTED[@]}"; do
        kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
    done
    for p in "${STARTED[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    if [ "${BENCH_KEEP:-0}" != 1 ]; then
        rm -f "$WORK"/*.db "$WORK"/*.db-wal "$WORK"/*.db-shm "$WORK"/*.log "$WORK"/perf.data* "$WORK"/acked.*
    fi
    [ $rc -ne 0 ] && log "failed (exit $rc); partial results in $WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# environment of every server: no W3_* from the caller, the trunk secrets set
SERVER_ENV=(env)
for v in $(compgen -e | grep '^W3_' || true); do SERVER_ENV+=(-u "$v"); done
SERVER_ENV+=(XDG_RUNTIME_DIR="$WORK" W3_TRUNK_TENANTA_STORE02=bench-secret W3_BENCH_TRUNK_SECRET=bench-secret)

wait_port() { # name pid
    local name=$1 pid=$2
    for _ in $(seq 1 200); do
        [ -s "$WORK/$name.port" ] && { PORT[$name]=$(cat "$WORK/$name.port"); PID[$name]=$pid; return 0; }
        kill -0 "$pid" 2>/dev/null || die "$name exited at start: $(tail -3 "$WORK/$name.stderr")"
        sleep 0.05
    done
    die "$name did not start listening"
}

start_w3() { # name db [VAR=value…]
    local name=$1 db=$2
    shift 2
    rm -f "$WORK/$name.port"
    # --header-timeout 10: wrk opens its connections again during the 2 s
    # of silence that end a CDR run (stop=) and sends nothing on them; the
    # default 2 s would close them just as wrk ends and count read errors
    "${SERVER_ENV[@]}" "$@" "$W3VOIPD" --db "$db" --jwt-key "$WORK/jwt.key" --header-timeout 10 \
        --fs-credentials-file "$WORK/fs.cred" --listen 127.0.0.1:0 --port-file "$WORK/$name.port" \
        --workers "$NPROC" --log-file "$WORK/$name.log" --pidfile "$WORK/$name.pid" \
        </dev/null >>"$WORK/$name.stderr" 2>&1 &
    local pid=$!
    STARTED+=("$pid")
    wait_port "$name" "$pid"
}

start_bare() {
    rm -f "$WORK/bare.port"
    "$BARE" --listen 127.0.0.1:0 --port-file "$WORK/bare.port" --workers "$NPROC" \
        </dev/null >>"$WORK/bare.stderr" 2>&1 &
    local pid=$!
    STARTED+=("$pid")
    wait_port bare "$pid"
}

stop_server() { # name [signal]
    local name=$1 sig=${2:-TERM} pid=${PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
    unset "PID[$name]"
}

alive() { kill -0 "${PID[$1]}" 2>/dev/null; }

cpu_ticks() { # utime + stime of a process (clock ticks)
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

thread_ticks() { # "tid:ticks,…" of every thread of a process
    local t out=""
    for t in /proc/"$1"/task/*; do
        out+="${t##*/}:$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0),"
    done
    echo "${out%,}"
}

# Waits (at most 20 s) until the server has used no CPU for 200 ms: requests
# left queued by wrk's stop are served before the next run starts.
settle() {
    local pid=$1 a b
    a=$(cpu_ticks "$pid")
    for _ in $(seq 1 100); do
        sleep 0.2
        b=$(cpu_ticks "$pid")
        [ "$((b - a))" -le 1 ] && return 0
        a=$b
    done
}

# ---- scenarios --------------------------------------------------------------
declare -A CAPTURE EXPECT PATHOF
CAPTURE[dir]=directory-sip_auth-register.form
EXPECT[dir]='<user id="100">'
CAPTURE[dp_public]=dialplan-public-did.form
EXPECT[dp_public]='data="user/100@tenantA.edvoip.it"'
CAPTURE[dp_internal]=dialplan-internal-outbound.form
EXPECT[dp_internal]='sofia/gateway/tenantA_store01/0612345678'
CAPTURE[cdr]=cdr-json-a-leg.json
LOOKUPS=()
for s in dir dp_public dp_internal; do want $s && LOOKUPS+=("$s"); done

# One captured request with curl, as wrk will send it (minus Connection).
post_capture() { # port capture outfile → prints "status bytes seconds"
    local port=$1 cap=$2 out=$3
    curl -s -o "$out" -w '%{http_code} %{size_download} %{time_total}' --max-time 60 \
        -H 'Host: 127.0.0.1:18099' -H "Authorization: Basic $AUTH_B64" -H 'User-Agent: freeswitch-xml/1.0' \
        -H 'Accept: */*' -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary "@$CAP/$cap" "http://127.0.0.1:$port/fs/xml"
}

precheck() { # server scenario
    local srv=$1 scen=$2 r
    r=$(post_capture "${PORT[$srv]}" "${CAPTURE[$scen]}" "$WORK/precheck.$srv.$scen.xml") || true
    [ "${r%% *}" = 200 ] || die "precheck $srv/$scen: HTTP ${r%% *}"
    if [ "$srv" != bare ] && ! grep -qF "${EXPECT[$scen]}" "$WORK/precheck.$srv.$scen.xml"; then
        die "precheck $srv/$scen: the answer lacks ${EXPECT[$scen]} (see $WORK/precheck.$srv.$scen.xml)"
    fi
}

# run_wrk SERVER SCENARIO MODE THREADS CONNS DURATION KIND REP [lua options…]
# Appends one JSON line to $RES.
run_wrk() {
    local srv=$1 scen=$2 mode=$3 t=$4 c=$5 d=$6 kind=$7 rep=$8
    shift 8
    local pid=${PID[$srv]} port=${PORT[$srv]} out=$WORK/wrk.$kind.$srv.$scen.$mode.$rep.txt
    alive "$srv" || die "$srv (pid $pid) is not running any more (crashed?): $(tail -3 "$WORK/$srv.stderr" 2>/dev/null)"
    local cap=${CAPTURE[$scen]} served="" capf hdrf send="" o
    # stop=S: requests are sent during the first S seconds only
    for o in "$@"; do case $o in stop=*) send=${o#stop=} ;; esac; done
    # a capture of fixtures/captures/, or a file generated here (absolute)
    if [[ $cap == /* ]]; then capf=$cap hdrf=$cap.headers.txt; else capf=$CAP/$cap hdrf=$CAP/headers/$cap.headers.txt; fi
    [ -f "$WORK/$srv.log" ] && : >"$WORK/$srv.log"
    local c0 c1 t0 t1
    c0=$(cpu_ticks "$pid")
    t0=$(thread_ticks "$pid")
    timeout $((d + 60)) wrk -t"$t" -c"$c" -d"${d}s" --timeout 10s --latency -s "$LUA" \
        "http://127.0.0.1:$port/" -- "$capf" "$hdrf" "$mode" \
        "auth=$AUTH_B64" "$@" >"$out" 2>&1 || log "wrk exited with an error on $srv/$scen ($out)"
    settle "$pid"
    c1=$(cpu_ticks "$pid")
    t1=$(thread_ticks "$pid")
    if [ -f "$WORK/$srv.log" ]; then
        served=$(grep -c 'msg=request' "$WORK/$srv.log" || true)
        : >"$WORK/$srv.log"
    fi
    python3 "$REPORT" wrkline --out "$out" --kind "$kind" --srv "$srv" --scen "$scen" --mode "$mode" \
        --threads "$t" --conns "$c" --duration "$d" --rep "$rep" --cpu-ticks $((c1 - c0)) \
        --clk-tck "$(getconf CLK_TCK)" --served "${served:-}" --threads-before "$t0" --threads-after "$t1" \
        --send-seconds "$send" >>"$RES"
    alive "$srv" || die "$srv died during $scen/$mode (see $WORK/$srv.stderr, dmesg)"
}

mem_json() { # name label → JSON line
    local pid=${PID[$1]}
    python3 - "$1" "$2" "/proc/$pid/status" <<'EOF'
import json, sys
d = {}
for line in open(sys.argv[3]):
    k, _, v = line.partition(":")
    if k in ("VmRSS", "VmHWM"):
        d[k] = int(v.split()[0])
print(json.dumps({"kind": "mem", "srv": sys.argv[1], "label": sys.argv[2], **d}))
EOF
}

# ---- machine ----------------------------------------------------------------
python3 - "$RES" "$THREADS" "$CONNS" "$CDR_CONNS" "$DUR" "$LAT_DUR" "$CDR_DUR" "$PAIRS" "$FSTYPE" "$FSDEV" \
    "$(wrk --version 2>&1 | head -1)" "$(sqlite3 --version | cut -d' ' -f1)" "$NPROC" \
    "$(sha256sum "$W3VOIPD" | cut -c1-12) built $(date -u -r "$BUILT_W3VOIPD" '+%Y-%m-%d %H:%M:%S UTC')" \
    "$CDR_PAIRS" >>"$RES" <<'EOF'
import json, platform, sys, time
a = sys.argv
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
print(json.dumps({"kind": "meta", "threads": int(a[2]), "conns": int(a[3]), "cdr_conns": int(a[4]),
                  "duration": int(a[5]), "lat_duration": int(a[6]), "cdr_duration": int(a[7]), "pairs": int(a[8]),
                  "fstype": a[9], "fsdev": a[10], "wrk": a[11], "sqlite": a[12], "nproc": int(a[13]),
                  "cpu": model, "kernel": platform.release(), "mem_mb": mem // 1024, "binary": a[14],
                  "cdr_pairs": int(a[15]),
                  "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}))
EOF

# what a durable commit costs on this disk (context for the CDR numbers)
python3 - "$WORK" >>"$RES" <<'EOF'
import json, os, sys, time
path = os.path.join(sys.argv[1], "fsync.probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
ts = []
for i in range(60):
    os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
    t = time.perf_counter()
    os.fdatasync(fd)
    ts.append((time.perf_counter() - t) * 1e3)
os.close(fd)
os.unlink(path)
ts.sort()
print(json.dumps({"kind": "fsync", "p50_ms": ts[len(ts) // 2], "p99_ms": ts[-1], "n": len(ts)}))
EOF

# ---- databases ----------------------------------------------------------------
log "databases in $WORK ($FSTYPE on $FSDEV)"
SMALL=$WORK/small.db
"$W3VOIP" init --db "$SMALL" >/dev/null
sqlite3 "$SMALL" <"$ROOT/fixtures/demo.sql"

LARGE=$WORK/large.db
if [ "$SCALE" = 1 ]; then
    log "generating the large database (10,000 tenants, 1,000,000 extensions, 1,000,000 DIDs)"
    g0=$(date +%s.%N)
    "$W3VOIP" init --db "$LARGE" >/dev/null
    sqlite3 "$LARGE" <"$ROOT/fixtures/demo.sql"
    # The audit triggers (log_*) would write one voip_activity_log row (with
    # a JSON copy of the row) per generated row: they are set aside during the
    # bulk load and put back exactly as they were. The lookups never read the
    # log. Every other trigger stays and fires.
    AUDIT="type = 'trigger' AND name LIKE 'log\_%' ESCAPE '\'"
    sqlite3 "$LARGE" "SELECT sql || ';' FROM sqlite_master WHERE $AUDIT" >"$WORK/triggers.sql"
    sqlite3 "$LARGE" "SELECT 'DROP TRIGGER ' || name || ';' FROM sqlite_master WHERE $AUDIT" | sqlite3 "$LARGE"
    sqlite3 -bail "$LARGE" <"$BENCH_DIR/gen_scale.sql" >"$WORK/gen_scale.out"
    sqlite3 -bail "$LARGE" <"$WORK/triggers.sql"
    g1=$(date +%s.%N)
    # foreign_key_check prints nothing when every key holds; then the counts
    if grep -qv '|' <(grep -v '^wal$\|^delete$' "$WORK/gen_scale.out") 2>/dev/null; then
        die "the generated data breaks a foreign key: $(head -3 "$WORK/gen_scale.out")"
    fi
    python3 - "$LARGE" "$g0" "$g1" "$WORK/gen_scale.out" >>"$RES" <<'EOF'
import json, os, sys
counts = {}
for line in open(sys.argv[4]):
    if "|" in line:
        k, v = line.strip().split("|")
        counts[k] = int(v)
print(json.dumps({"kind": "gen", "seconds": float(sys.argv[3]) - float(sys.argv[2]),
                  "bytes": os.path.getsize(sys.argv[1]), **counts}))
EOF
    log "large database: $(du -h "$LARGE" | cut -f1) in $(python3 -c "print(round($g1-$g0,1))") s"
fi

# ---- servers ----------------------------------------------------------------
SERVERS=(bare w3)
start_bare
start_w3 w3 "$SMALL"
if [ "$SCALE" = 1 ]; then
    start_w3 w3big "$LARGE"
    SERVERS+=(w3big)
fi
for srv in "${SERVERS[@]}"; do mem_json "$srv" start >>"$RES"; done
for scen in "${LOOKUPS[@]}"; do
    for srv in "${SERVERS[@]}"; do precheck "$srv" "$scen"; done
done
log "servers: ${SERVERS[*]} ($NPROC workers each); prechecks passed"

# warm-up (not recorded): code paths, allocator, page cache
for srv in "${SERVERS[@]}"; do
    for scen in "${LOOKUPS[@]}"; do
        [ "$srv" = w3big ] && [ "$scen" = dp_public ] && continue
        timeout 30 wrk -t1 -c4 -d1s -s "$LUA" "http://127.0.0.1:${PORT[$srv]}/" -- "$CAP/${CAPTURE[$scen]}" \
            "$CAP/headers/${CAPTURE[$scen]}.headers.txt" keep "auth=$AUTH_B64" >/dev/null 2>&1 || true
    done
    settle "${PID[$srv]}"
done

# ---- lookups: throughput, interleaved bare / w3 / w3big ------------------------
for scen in "${LOOKUPS[@]}"; do
    for mode in close keep; do
        log "throughput $scen, $mode: wrk -t$THREADS -c$CONNS -d${DUR}s, $PAIRS rounds of ${SERVERS[*]}"
        for rep in $(seq 1 "$PAIRS"); do
            for srv in "${SERVERS[@]}"; do
                run_wrk "$srv" "$scen" "$mode" "$THREADS" "$CONNS" "$DUR" tput "$rep"
            done
        done
    done
done

# ---- the cache-miss case: REGISTERs rotating over 10,000 extensions ----------
# of the 1M database (tenants t00001..t00100 x extensions 100..199), so that no
# answer is served twice within 10,000 requests: the answer cache cannot help.
if [ "$SCALE" = 1 ] && want dir_miss; then
    MISS=$WORK/dir_miss.form
    python3 - "$CAP/${CAPTURE[dir]}" "$CAP/headers/${CAPTURE[dir]}.headers.txt" "$MISS" <<'EOF'
import re, sys
body = open(sys.argv[1], "rb").read().replace(b"tenantA.edvoip.it", b"tDDDDD.bench.example").replace(b"=100&", b"=UUU&")
hdr = open(sys.argv[2], "rb").read()
hdr = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % len(body), hdr)
open(sys.argv[3], "wb").write(body)
open(sys.argv[3] + ".headers.txt", "wb").write(hdr)
EOF
    CAPTURE[dir_miss]=$MISS
    sed 's/DDDDD/00042/g; s/UUU/157/g' "$MISS" >"$WORK/dir_miss.one"
    r=$(curl -s -o "$WORK/dir_miss.out" -w '%{http_code}' -H "Authorization: Basic $AUTH_B64" \
        -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$WORK/dir_miss.one" \
        "http://127.0.0.1:${PORT[w3big]}/fs/xml")
    grep -q '<user id="157">' "$WORK/dir_miss.out" || die "dir_miss precheck: $r $(head -c 300 "$WORK/dir_miss.out")"
    log "throughput dir_miss, close: wrk -t$THREADS -c$CONNS -d${DUR}s, $PAIRS rounds of bare w3big (rotate=1)"
    for rep in $(seq 1 "$PAIRS"); do
        for srv in bare w3big; do
            run_wrk "$srv" dir_miss close "$THREADS" "$CONNS" "$DUR" tput "$rep" rotate=1
        done
    done
fi

# ---- lookups: one connection (latency) ---------------------------------------
for scen in "${LOOKUPS[@]}"; do
    log "latency $scen: wrk -t1 -c1 -d${LAT_DUR}s keep-alive, $PAIRS rounds of ${SERVERS[*]}"
    for rep in $(seq 1 "$PAIRS"); do
        for srv in "${SERVERS[@]}"; do
            run_wrk "$srv" "$scen" keep 1 1 "$LAT_DUR" lat "$rep"
        done
    done
done

# ---- memory and the gateways document ----------------------------------------
for srv in w3 w3big; do
    [ -n "${PID[$srv]:-}" ] || continue
    mem_json "$srv" after-lookups >>"$RES"
    r=$(post_capture "${PORT[$srv]}" directory-gateways.form "$WORK/gateways.$srv.xml")
    set -- $r
    gw_count=$(grep -c '<gateway name=' "$WORK/gateways.$srv.xml" || true)
    dom_count=$(grep -c '<domain name=' "$WORK/gateways.$srv.xml" || true)
    echo "{\"kind\": \"gateways\", \"srv\": \"$srv\", \"status\": $1, \"bytes\": $2, \"seconds\": $3, \"gateways\": $gw_count, \"domains\": $dom_count}" >>"$RES"
    mem_json "$srv" after-gateways >>"$RES"
    rm -f "$WORK/gateways.$srv.xml"
done

# ---- where the CPU goes (perf, if the kernel lets us) ------------------------
PERF_OK=0
if [ "$PERF" = 1 ] && command -v perf >/dev/null && perf record -e cpu-clock -o "$WORK/perf.data.test" -- true >/dev/null 2>&1; then
    PERF_OK=1
fi
profile() { # server scenario mode conns label [lua options]
    local srv=$1 scen=$2 mode=$3 c=$4 label=$5
    shift 5
    local cap=${CAPTURE[$scen]}
    (timeout 30 wrk -t"$THREADS" -c"$c" -d5s --timeout 10s -s "$LUA" "http://127.0.0.1:${PORT[$srv]}/" -- \
        "$CAP/$cap" "$CAP/headers/$cap.headers.txt" "$mode" "auth=$AUTH_B64" "$@" >/dev/null 2>&1 &)
    sleep 0.7
    # DWARF call graphs: the callers of libc/libsqlite3 functions are known too
    timeout 30 perf record -q -F 499 -e cpu-clock --call-graph dwarf,16384 -p "${PID[$srv]}" \
        -o "$WORK/perf.data.$label" -- sleep 3 >/dev/null 2>&1 || true
    sleep 1.5
    settle "${PID[$srv]}"
    timeout 60 perf report -i "$WORK/perf.data.$label" --stdio --children --sort dso,sym -g none \
        --percent-limit 1 2>/dev/null | python3 "$REPORT" perfline --label "$label" >>"$RES" || true
    rm -f "$WORK/perf.data.$label"
    [ -f "$WORK/$srv.log" ] && : >"$WORK/$srv.log"
}
if [ "$PERF_OK" = 1 ]; then
    for scen in "${LOOKUPS[@]}"; do
        log "perf profile: w3voipd $scen, Connection: close"
        profile w3 "$scen" close "$CONNS" "$scen-close"
    done
fi

# ---- SQL evidence on the large database (LD_PRELOAD counters) -----------------
# One phase per scenario: prepares, transactions, queries and the work of each
# statement while w3voipd serves it.
evidence() { # name db scenarios…
    local name=$1 db=$2
    shift 2
    start_w3 "$name" "$db" LD_PRELOAD="$SHIM" BENCH_SQLTRACE_OUT="$WORK/$name.trace"
    local phase=0
    if [[ " $* " == *" cdr "* ]]; then
        # the writer prepares its statements at their first use: one CDR
        # before the counted phases, so that they count the steady state
        sed "s/$CDR_UUID/00000000-0000-4000-b000-00000000beef/g" "$CAP/${CAPTURE[cdr]}" |
            curl -s -o /dev/null --max-time 30 -H "Authorization: Basic $AUTH_B64" \
                -H 'Content-Type: application/json' --data-binary @- \
                "http://127.0.0.1:${PORT[$name]}/fs/cdr?uuid=00000000-0000-4000-b000-00000000beef" || true
    fi
    for scen in "$@"; do
        phase=$((phase + 1))
        settle "${PID[$name]}"
        kill -USR2 "${PID[$name]}"
        : >"$WORK/$name.log"
        if [ "$scen" = cdr ]; then
            run_wrk "$name" cdr close 1 4 2 trace "$phase" path=/fs/cdr "uuid=$CDR_UUID" run=$((0x7000 + phase))
        else
            run_wrk "$name" "$scen" keep 1 2 2 trace "$phase"
        fi
        echo "{\"kind\": \"trace_phase\", \"srv\": \"$name\", \"scen\": \"$scen\", \"phase\": $phase}" >>"$RES"
    done
    settle "${PID[$name]}"
    kill -USR2 "${PID[$name]}"
    stop_server "$name"
    python3 "$REPORT" traceline --srv "$name" --file "$WORK/$name.trace" >>"$RES"
}
# ---- provisioning -------------------------------------------------------------
if want prov; then
    log "provisioning: PUT of 10,000 new extensions; unchanged PUT of a 100-extension tenant on the 1M db"
    TOKEN=$("$W3VOIP" token --key "$WORK/jwt.key" --platform --client-id bench)
    big=()
    [ "$SCALE" = 1 ] && big=(--big-port "${PORT[w3big]}")
    python3 "$BENCH_DIR/prov_bench.py" --token "$TOKEN" --port "${PORT[w3]}" "${big[@]}" >>"$RES" ||
        echo '{"kind": "prov", "scen": "put10k", "error": "prov_bench.py failed"}' >>"$RES"
fi
if [ "$SCALE" = 1 ]; then
    stop_server w3big
    if [ "${#LOOKUPS[@]}" -gt 0 ]; then
        log "SQL evidence (LD_PRELOAD counters) on the large database"
        evidence w3big-trace "$LARGE" "${LOOKUPS[@]}"
    fi
    # the biggest file is not needed any more
    [ "${BENCH_KEEP:-0}" = 1 ] || rm -f "$LARGE" "$LARGE-wal" "$LARGE-shm"
fi

# ---- CDR ingest ---------------------------------------------------------------
if want cdr; then
    # the limit answers like w3voipd: 201, "call_id" = the uuid of the query
    u=00000000-0000-4000-b000-0000000bae00
    r=$(sed "s/$CDR_UUID/$u/g" "$CAP/${CAPTURE[cdr]}" |
        curl -s -o "$WORK/precheck.bare.cdr.json" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
            --data-binary @- "http://127.0.0.1:${PORT[bare]}/fs/cdr?uuid=$u") || true
    [ "$r" = 201 ] && grep -qF "\"call_id\":\"$u\"" "$WORK/precheck.bare.cdr.json" ||
        die "precheck bare/cdr: HTTP $r $(head -c 300 "$WORK/precheck.bare.cdr.json")"
    log "CDR ingest: wrk -t$THREADS -c$CDR_CONNS, Connection: close, $CDR_PAIRS rounds of ${CDR_DUR}s of bare w3"
    for rep in $(seq 1 "$CDR_PAIRS"); do
        # the limit first, with the same options (acked= included: the Lua
        # script does the same work); its acknowledged uuids are only counted
        rm -f "$WORK"/acked.*
        run_wrk bare cdr close "$THREADS" "$CDR_CONNS" "$CDR_DUR" cdr_bare "$rep" path=/fs/cdr "uuid=$CDR_UUID" \
            "acked=$WORK/acked" "run=$((0x5800 + rep))" "stop=$((CDR_DUR - 2))"
        n=$(cat "$WORK"/acked.* 2>/dev/null | wc -l)
        [ "$n" -gt 0 ] || die "bare/cdr round $rep: no call_id read from the answers"
        settle "${PID[w3]}"
        run=$((0x5000 + rep))
        rm -f "$WORK"/acked.*
        # the writer's counters around the run (commits, its own checkpoints)
        curl -s --max-time 10 -o "$WORK/metrics.before" "http://127.0.0.1:${PORT[w3]}/metrics" || true
        # stop=: the connections stop sending 2 s before wrk ends, so every
        # request has its answer when wrk returns (2xx count == rows)
        run_wrk w3 cdr close "$THREADS" "$CDR_CONNS" "$CDR_DUR" cdr "$rep" path=/fs/cdr "uuid=$CDR_UUID" \
            "acked=$WORK/acked" "run=$run" "stop=$((CDR_DUR - 2))"
        curl -s --max-time 10 -o "$WORK/metrics.after" "http://127.0.0.1:${PORT[w3]}/metrics" || true
        cat "$WORK"/acked.* 2>/dev/null >"$WORK/acked.all" || true
        python3 "$REPORT" cdrcheck --db "$SMALL" --run "$run" --acked "$WORK/acked.all" --rep "$rep" \
            --metrics-before "$WORK/metrics.before" --metrics-after "$WORK/metrics.after" >>"$RES"
    done
    if [ "$PERF_OK" = 1 ]; then
        log "perf profile: w3voipd CDR ingest"
        profile w3 cdr close "$CDR_CONNS" cdr path=/fs/cdr "uuid=$CDR_UUID" run=$((0x6000))
    fi
    # durability: kill -9 in the middle of a flood; every acknowledged CDR
    # must be in the database afterwards
    log "CDR durability: kill -9 during a flood"
    rm -f "$WORK"/acked.*
    run=$((0x6100))
    cap=${CAPTURE[cdr]}
    timeout 30 wrk -t"$THREADS" -c"$CDR_CONNS" -d4s --timeout 10s -s "$LUA" "http://127.0.0.1:${PORT[w3]}/" -- \
        "$CAP/$cap" "$CAP/headers/$cap.headers.txt" close "auth=$AUTH_B64" path=/fs/cdr "uuid=$CDR_UUID" \
        "acked=$WORK/acked" "run=$run" >"$WORK/wrk.kill9.txt" 2>&1 &
    wrk_pid=$!
    sleep 2
    kill -KILL "${PID[w3]}"
    wait "${PID[w3]}" 2>/dev/null || true
    unset "PID[w3]"
    wait "$wrk_pid" 2>/dev/null || true
    cat "$WORK"/acked.* 2>/dev/null >"$WORK/acked.all" || true
    python3 "$REPORT" cdrcheck --db "$SMALL" --run "$run" --acked "$WORK/acked.all" --rep kill9 >>"$RES"
fi
stop_server bare
stop_server w3

if [ "${#LOOKUPS[@]}" -gt 0 ] || want cdr; then
    log "SQL evidence (LD_PRELOAD counters) on the demo database"
    ev=("${LOOKUPS[@]}")
    want cdr && ev+=(cdr)
    evidence w3-trace "$SMALL" "${ev[@]}"
fi

# ---- report ---------------------------------------------------------------------
log "writing $OUT_MD"
python3 "$REPORT" markdown --results "$RES" --out "$OUT_MD" --elapsed $(($(date +%s) - T_START))
cat "$OUT_MD"
log "done in $(($(date +%s) - T_START)) s"
