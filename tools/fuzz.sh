#!/usr/bin/env bash
# Builds every libFuzzer target (a CMake target named fuzz_*) with clang,
# ASan and UBSan in build-fuzz, and runs each for FUZZ_SECONDS seconds
# (default 30) on a copy of its seed corpus, tests/fuzz/corpus/<target>/.
# Exits non-zero if any target finds a crash, leak, timeout or memory blow-up;
# the input that did it is kept in build-fuzz/artifacts/<target>/.
#
#   tools/fuzz.sh                         every target, 30 s each
#   FUZZ_SECONDS=600 tools/fuzz.sh        longer
#   tools/fuzz.sh fuzz_wire_decode        only the targets named
#
# Reproduce a crash: build-fuzz/<path>/<target> build-fuzz/artifacts/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
dir=build-fuzz

tools/install-deps.sh
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSLUICE_FUZZ=ON -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCH=OFF
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(ninja -C "$dir" -t targets all | sed -n 's/^\(fuzz_[A-Za-z0-9_]*\): phony$/\1/p' | sort -u)
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* targets in $dir" >&2
  exit 1
fi
cmake --build "$dir" --target "${targets[@]}"

# Runs write new inputs into their corpus: give them a copy, so the
# repository's seeds stay as committed.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
for target in "${targets[@]}"; do
  binary=$(find "$dir" -type f -name "$target" -perm -u+x | head -n 1)
  if [ -z "$binary" ]; then
    echo "fuzz: built $target but cannot find its binary" >&2
    exit 1
  fi
  corpus="$work/$target"
  mkdir -p "$corpus"
  if [ -d "tests/fuzz/corpus/$target" ]; then
    cp -R "tests/fuzz/corpus/$target/." "$corpus/"
  else
    echo "fuzz: $target has no seed corpus (tests/fuzz/corpus/$target/); starting from nothing"
  fi
  artifacts="$dir/artifacts/$target"
  mkdir -p "$artifacts"
  echo "== $target: ${seconds}s on $(find "$corpus" -type f | wc -l) seeds"
  # -timeout: one input taking this long is a hang, reported like a crash.
  if "$binary" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus" >"$work/$target.log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' "$work/$target.log" || true
  else
    echo "fuzz: $target FAILED; the last lines of its log:" >&2
    tail -n 60 "$work/$target.log" >&2
    echo "fuzz: the input is in $artifacts/; reproduce with: $binary $artifacts/<file>" >&2
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each with no failure"
