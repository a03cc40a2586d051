#!/usr/bin/env bash
# Bounded libFuzzer runs of every target (`make fuzz`), see README.md.
#
#   bash tests/fuzz/run.sh [TARGET...]        default: form cdr cdr_json jwt dispatch
#   bash tests/fuzz/run.sh merge TARGET...    corpus/T + the findings of the last run
#                                             that add coverage → build-fuzz/fuzz-work/T/merged/
#
# Environment: FUZZ_SECONDS (default 60 per target), FUZZ_BUILD (default
# build-fuzz at the top of the repository), FUZZ_ARGS (extra libFuzzer flags).
#
# Sets up FUZZ_BUILD with clang + libFuzzer + ASan/UBSan if needed, builds the
# fuzz_<name> binaries, replays regressions/<name>/ one by one, and runs each
# target on a COPY of tests/fuzz/corpus/<name> plus the passing regressions in
# FUZZ_BUILD/fuzz-work/<name>/corpus (the repository is never written). Exit
# status non-zero when a regression still fails, or a target crashed, leaked,
# timed out or violated a property; the inputs are printed.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
all_targets=(form cdr cdr_json jwt dispatch)

mode=run
if [ "${1:-}" = merge ]; then
    mode=merge
    shift
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [ -f "$here/fuzz_$t.c" ] || { echo "run.sh: no target '$t' (have: ${all_targets[*]})" >&2; exit 2; }
done

command -v clang >/dev/null || { echo "run.sh: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

# --- build -----------------------------------------------------------------
if [ ! -f "$build/build.ninja" ]; then
    echo "== setting up $build (clang, libFuzzer, ASan+UBSan)"
    # The library gets coverage instrumentation (fuzzer-no-link); only the
    # fuzz_<name> executables link libFuzzer (tests/fuzz/meson.build).
    # werror=false: the project is -Werror under gcc, and a clang-only warning
    # in the library must not stop fuzzing (it is printed; tests/fuzz/ itself
    # is always compiled with -Werror).
    CC=clang meson setup "$build" "$root" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized -Dwerror=false -Dc_args=-fsanitize=fuzzer-no-link || exit 1
elif ! python3 -c 'import json, sys; o = {x["name"]: x["value"] for x in json.load(open(sys.argv[1]))}; sys.exit(0 if o.get("fuzz") else 1)' \
        "$build/meson-info/intro-buildoptions.json" 2>/dev/null; then
    # an existing directory set up by hand without the targets
    meson configure "$build" -Dfuzz=true >/dev/null || exit 1
fi
ninja -C "$build" $(for t in "${targets[@]}"; do echo "tests/fuzz/fuzz_$t"; done) || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export W3_FIXTURES=${W3_FIXTURES:-$root/fixtures}
work_root="$build/fuzz-work"
# temporary databases and keys of the targets stay inside the build dir
export TMPDIR="$work_root/tmp"
mkdir -p "$TMPDIR"

dict_arg() {
    [ -f "$here/$1.dict" ] && echo "-dict=$here/$1.dict"
}

# --- merge: a small corpus from the committed one + the last run's findings -
# The named files of corpus/T (the seeds: fixtures, hand-written cases) are
# all kept; among the hashed files and the findings, select_corpus.py adds the
# inputs that cover the most new edges, up to FUZZ_CORPUS_MAX files (60).
if [ $mode = merge ]; then
    for t in "${targets[@]}"; do
        w="$work_root/$t"
        rm -rf "$w/merge"
        mkdir -p "$w/merge/seeds" "$w/merge/rest" "$w/corpus"
        for f in "$here/corpus/$t"/*; do
            if [[ $(basename "$f") =~ ^[0-9a-f]{40}$ ]]; then cp "$f" "$w/merge/rest/"; else cp "$f" "$w/merge/seeds/"; fi
        done
        cp "$w/corpus"/* "$w/merge/rest/" 2>/dev/null
        "$build/tests/fuzz/fuzz_$t" -merge=1 -merge_control_file="$w/merge/control" -rss_limit_mb=2048 -timeout=10 \
            "$w/merge/seeds" "$w/merge/rest" >"$w/merge.log" 2>&1 || {
            echo "run.sh: merge of $t failed, see $w/merge.log" >&2
            exit 1
        }
        rm -rf "$w/merged"
        echo -n "$t: "
        python3 "$here/select_corpus.py" "$w/merge/control" "${FUZZ_CORPUS_MAX:-60}" "$w/merged" || exit 1
        echo "    $(du -sh "$w/merged" | cut -f1) in $w/merged"
        echo "    review, then: rm -r tests/fuzz/corpus/$t && cp -r $w/merged tests/fuzz/corpus/$t"
    done
    exit 0
fi

# --- run -------------------------------------------------------------------
failed=0
summary=()
for t in "${targets[@]}"; do
    w="$work_root/$t"
    rm -rf "$w/corpus" "$w/artifacts" "$w/regressions.log"
    mkdir -p "$w/corpus" "$w/artifacts"
    cp "$here/corpus/$t"/* "$w/corpus/" 2>/dev/null
    # regressions first, one by one: one still failing is reported (a bug not
    # fixed yet) and left out, so that fuzzing goes on past it
    still=""
    for r in "$here/regressions/$t"/*; do
        [ -f "$r" ] || continue
        if "$build/tests/fuzz/fuzz_$t" -rss_limit_mb=2048 -timeout=10 "$r" >>"$w/regressions.log" 2>&1; then
            cp "$r" "$w/corpus/"
        else
            still="$still $r"
        fi
    done
    if [ -n "$still" ]; then
        failed=1
        echo "!! fuzz_$t: regression inputs still failing (bug not fixed), log: $w/regressions.log"
        grep -aE 'runtime error:|property violated|SUMMARY: [A-Za-z]*Sanitizer' "$w/regressions.log" | sort -u | head -5 | sed 's/^/   /'
        for r in $still; do echo "   regression: $r"; done
    fi
    echo "== fuzz_$t for ${seconds}s ($(ls "$w/corpus" | wc -l) inputs), log: $w/fuzz.log"
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$w/artifacts/" $(dict_arg "$t") ${FUZZ_ARGS:-} \
        "$w/corpus" >"$w/fuzz.log" 2>&1
    rc=$?
    # the last status line ("#N ... cov: C ft: F corp: K/S ... exec/s: E"; in
    # -fork mode "#N: cov: C ft: F corp: K exec/s E ...") and the final stats
    last=$(grep -aE '^#[0-9]+' "$w/fuzz.log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\(\/[0-9a-zA-Z]*\)\?\).*/\1/p' <<<"$last")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/fuzz.log" | tail -n 1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$w/fuzz.log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
    [ -n "$eps" ] || eps=$(sed -n 's/.*exec\/s:\? \([0-9]*\).*/\1/p' <<<"$last")
    line=$(printf '%-9s execs %-9s exec/s %-6s cov %-5s ft %-6s corpus %s' "$t" "${execs:-?}" "${eps:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}")
    crashes=$(ls "$w/artifacts" 2>/dev/null)
    [ -n "$still" ] && line="$line  REGRESSION FAILING"
    if [ $rc -ne 0 ] || [ -n "$crashes" ]; then
        failed=1
        line="$line  FAILED (exit $rc)"
        echo "!! fuzz_$t failed (exit $rc):"
        grep -E 'ERROR: |runtime error:|property violated|SUMMARY:' "$w/fuzz.log" | head -5 | sed 's/^/   /'
        for a in $crashes; do
            echo "   input: $w/artifacts/$a"
        done
        echo "   reproduce: $build/tests/fuzz/fuzz_$t $w/artifacts/<input>"
        echo "   keep it:   cp $w/artifacts/<input> tests/fuzz/regressions/$t/<what-it-is>"
    fi
    summary+=("$line")
done

echo
echo "== summary (${seconds}s per target; new inputs are in $work_root/<target>/corpus,"
echo "   'bash tests/fuzz/run.sh merge <target>' minimises them)"
printf '%s\n' "${summary[@]}"
exit $failed
