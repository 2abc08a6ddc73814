#!/bin/sh
# fuzz/fuzz.sh - build the libFuzzer harnesses fuzz/fuzz-*.c with clang
# and run each on a copy of its corpus.  `make fuzz` calls it from the
# build directory (after `make`, which generates autoconf.h and
# src/server/wwwdata.c):
#
#	sh fuzz/fuzz.sh SRCDIR [NAME...]
#
# builds fuzz/build/fuzz-NAME (every harness when no NAME is given) with
# -fsanitize=fuzzer,address,undefined, whatever CC configure chose, and
# runs each for FUZZ_SECONDS (default 60) on fuzz/build/corpus-NAME (new
# inputs land there), reading the seeds in SRCDIR/fuzz/corpus/NAME and
# the kept crashes in SRCDIR/fuzz/regress/NAME.  A crash, leak, timeout
# or sanitizer report stops that harness, leaves its input as
# fuzz/build/crash-NAME-* and makes the script exit 1 after the others
# ran.  FUZZ_BUILD_ONLY=1 only builds, FUZZ_NO_BUILD=1 only runs (what
# an earlier call built); FUZZ_RUNS=N runs N inputs instead
# of a time; FUZZ_JOBS=N builds N objects at a time (default 2);
# FUZZ_FLAGS adds libFuzzer flags.
set -eu

src=${1:?usage: fuzz.sh SRCDIR [NAME...]}
shift
src=$(cd "$src" && pwd)
CLANG=${CLANG:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-2}
out=fuzz/build
mkdir -p "$out/obj"

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz.sh: $CLANG not found (Debian: apt-get install clang" \
	    "libclang-rt-14-dev)" >&2
	exit 1
fi
if [ ! -f autoconf.h ] || [ ! -f src/server/wwwdata.c ]; then
	echo "fuzz.sh: run from a configured build directory after make" >&2
	exit 1
fi

if [ $# -eq 0 ]; then
	set -- $(cd "$src/fuzz" && ls fuzz-*.c | sed -e 's/^fuzz-//' \
	    -e 's/\.c$//')
fi

PKGS="libssl libcrypto libconfuse lmdb libevent_core libevent_extra
libevent_openssl jansson libzstd fuse3 libcurl liboath"
# shellcheck disable=SC2086
CFLAGS="-g -O1 -fno-omit-frame-pointer -DHAVE_CONFIG_H -I. -Isrc -I$src/src
$(pkg-config --cflags $PKGS) -fsanitize=address,undefined
-fno-sanitize-recover=undefined"
# shellcheck disable=SC2086
LIBS="$(pkg-config --libs $PKGS) -lpthread"

# Build the library of every source (objects rebuilt when they or any
# header changed) and the harnesses named.
build() {
	# Every source of the four libraries but the programs' main() files.
	sources=$(ls "$src"/src/common/*.c "$src"/src/server/*.c \
	    "$src"/src/client/*.c "$src"/src/agent/*.c | \
	    grep -v -e '/gigavaultd\.c$' -e '/agentmain\.c$' \
	    -e '/gigavault\.c$' -e '/wwwdata\.c$')
	sources="$sources src/server/wwwdata.c"

	# An object is rebuilt when its source or any header is newer.
	newest_h=$(ls -t "$src"/src/*/*.h | head -1)
	objs=
	todo=
	for s in $sources; do
		o=$out/obj/$(echo "$s" | sed -e "s|^$src/||" -e 's|/|_|g' \
		    -e 's|\.c$|.o|')
		objs="$objs $o"
		if [ ! -f "$o" ] || [ "$s" -nt "$o" ] ||
		    [ "$newest_h" -nt "$o" ]; then
			todo="$todo $s:$o"
		fi
	done
	export CLANG CFLAGS
	# shellcheck disable=SC2086
	printf '%s\n' $todo | xargs -r -P "$FUZZ_JOBS" -I{} sh -c '
		s=${1%%:*}; o=${1#*:}
		echo "  CLANG    $s"
		# shellcheck disable=SC2086
		$CLANG $CFLAGS -fsanitize=fuzzer-no-link -c "$s" -o "$o"' sh {}
	rm -f "$out/libgvfuzz.a"
	# shellcheck disable=SC2086
	ar rcs "$out/libgvfuzz.a" $objs

	for n in "$@"; do
		echo "  CLANG    fuzz/fuzz-$n.c"
		# shellcheck disable=SC2086
		$CLANG $CFLAGS -fsanitize=fuzzer -I"$src/fuzz" \
		    "$src/fuzz/fuzz-$n.c" "$out/libgvfuzz.a" $LIBS \
		    -o "$out/fuzz-$n"
	done
}

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
	build "$@"
fi
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

if [ -n "${FUZZ_RUNS:-}" ]; then
	limit="-runs=$FUZZ_RUNS"
else
	limit="-max_total_time=$FUZZ_SECONDS"
fi
failed=
for n in "$@"; do
	mkdir -p "$out/corpus-$n"
	seeds=
	for d in "$src/fuzz/corpus/$n" "$src/fuzz/regress/$n"; do
		[ -d "$d" ] && seeds="$seeds $d"
	done
	echo "fuzz-$n: $limit"
	# shellcheck disable=SC2086
	if ! ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	    "$out/fuzz-$n" $limit -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$out/crash-$n-" ${FUZZ_FLAGS:-} \
	    "$out/corpus-$n" $seeds; then
		echo "fuzz-$n: FAILED (input in $out/crash-$n-*)" >&2
		failed="$failed $n"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz.sh: crashes in:$failed" >&2
	exit 1
fi
