#!/bin/bash
# bench/compare.sh - gigavault against restic, borg and rsync on the same
# data, on this machine: full backup, incremental after a scripted 1%
# change, full restore, repository size, client peak RSS.  Prints one
# table, and the ratios gigavault/peer.
#
# usage: bench/compare.sh [DATA]      (default DATA: /usr/share)
# env:   BENCH_WORK (default /tmp/gv-bench), BENCH_TOOLS ("gigavault restic
#        borg rsync"), BENCH_DROP_CACHES=1 (as root: drop the page cache
#        before every timed step, so reads come from the disk)
#
# Every tool runs with its defaults and encryption on (restic always
# encrypts; borg repokey-blake2; gigavault always).  The gigavault server
# runs on 127.0.0.1 in the same machine, as restic and borg write local
# repositories.  Needs: restic, borg, rsync, GNU time (bench/deps.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
DATA=${1:-/usr/share}
WORK=${BENCH_WORK:-/tmp/gv-bench}
TOOLS=${BENCH_TOOLS:-"gigavault restic borg rsync"}
PASS=bench-passphrase
export RESTIC_PASSWORD=$PASS BORG_PASSPHRASE=$PASS GIGAVAULT_PASSPHRASE=$PASS
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

for t in restic borg rsync /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench: $t missing (run bench/deps.sh)" >&2; exit 2; }
done

mkdir -p "$WORK"
build=$WORK/build
# --- build gigavault out of tree, optimized
if [ ! -x "$build/src/gigavault" ] || [ "$top/src" -nt "$build/src/gigavault" ]; then
	(cd "$top" && { [ -x configure ] || autoreconf -fi; })
	mkdir -p "$build"
	(cd "$build" && { [ -f Makefile ] || "$top/configure" CFLAGS="-O2 -g" >/dev/null; } &&
	    make -j"$(nproc)" >/dev/null)
fi

# --- the data: a private copy, reset to DATA before each run
sync_data

# The 1% change: every 100th regular file (sorted), 4 KiB overwritten in
# the middle, plus 1% new small files.  Same for every tool.
change_data() {
	find "$data" -type f -size +0 | sort | awk 'NR % 100 == 0' | while read -r f; do
		sz=$(stat -c %s "$f")
		dd if=/dev/urandom of="$f" bs=1 count=$(( sz < 4096 ? sz : 4096 )) \
		    seek=$(( sz / 2 > 4096 ? sz / 2 - 2048 : 0 )) conv=notrunc status=none
	done
	mkdir -p "$data/bench-new"
	for i in $(seq 1 $(( nfiles / 100 ))); do
		head -c 2000 /dev/urandom > "$data/bench-new/$i"
	done
}

# timed NAME CMD...: run, record seconds and peak RSS (MiB) in $T_S, $T_RSS
timed() {
	local name=$1; shift
	drop
	/usr/bin/time -f '%e %M' -o "$WORK/time.$name" "$@" >"$WORK/log.$name" 2>&1 || {
		echo "bench: $name failed:" >&2; tail -20 "$WORK/log.$name" >&2; exit 1; }
	read -r T_S T_RSS < "$WORK/time.$name"
	T_RSS=$(( T_RSS / 1024 ))
}

declare -A full incr rest size rss

# --- gigavault: a daemon on 127.0.0.1, a registered client
gv_setup() {
	rm -rf "$WORK/gv"; mkdir -p "$WORK/gv"
	local p; p=$(python3 - <<'PY'
import socket
ports = []
socks = []
for _ in range(9):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s); ports.append(s.getsockname()[1])
print(" ".join(map(str, ports)))
PY
)
	set -- $p
	cat > "$WORK/gv/gigavault.conf" <<CONF
Server { Workers = 4  Listen = {"127.0.0.1"}  DataDir = "$WORK/gv/data"  User = ""  PidFile = "$WORK/gv/gigavaultd.pid" }
Ports { BackupServer = $1  SSLServer = $2  UI = $3  UDPScan = $4  MAPI32Bit = $5  WebConsole = $6  WebConsoleSSL = $7  Multicast = {$8, $9} }
Log { File = "$WORK/gv/gigavaultd.log" }
CONF
	GV_PORT=$1
	"$build/src/gigavaultd" -d -f "$WORK/gv/gigavault.conf" 2>"$WORK/gv/stderr" &
	GV_PID=$!
	for _ in $(seq 50); do [ -f "$WORK/gv/gigavaultd.pid" ] && break; sleep 0.1; done
	sleep 0.5
	cat > "$WORK/gv/client.conf" <<CONF
Server = "127.0.0.1:$GV_PORT"
KeyFile = "$WORK/gv/key"
StateFile = "$WORK/gv/state.json"
CONF
	token=$("$build/src/gigavaultctl" -f "$WORK/gv/gigavault.conf" client add bench | grep -Eo '[0-9a-f]{32,}' | head -1)
	"${GV[@]}" init >/dev/null
	"${GV[@]}" register -s "127.0.0.1:$GV_PORT" --token "$token" >/dev/null
}
GV_PID=
gv_teardown() {
	[ -n "$GV_PID" ] || return 0
	kill -TERM "$GV_PID" 2>/dev/null || true
	wait "$GV_PID" 2>/dev/null || true
	GV_PID=
}
# The client command, as an array: /usr/bin/time cannot run a function.
GV=("$build/src/gigavault" -c "$WORK/gv/client.conf")

run_tool() {
	local t=$1 target=$WORK/restore-$t
	rm -rf "$target"; mkdir -p "$target"
	case $t in
	gigavault)
		timed gv-full "${GV[@]}" backup "$data"; full[$t]=$T_S; rss[$t]=$T_RSS ;;
	restic)
		rm -rf "$WORK/restic"; restic init --repo "$WORK/restic" >/dev/null
		timed restic-full restic --repo "$WORK/restic" backup "$data"; full[$t]=$T_S; rss[$t]=$T_RSS ;;
	borg)
		rm -rf "$WORK/borg"; borg init -e repokey-blake2 "$WORK/borg"
		timed borg-full borg create "$WORK/borg::full" "$data"; full[$t]=$T_S; rss[$t]=$T_RSS ;;
	rsync)
		rm -rf "$WORK/rsync"; mkdir -p "$WORK/rsync"
		timed rsync-full rsync -a --delete "$data"/ "$WORK/rsync"/; full[$t]=$T_S; rss[$t]=$T_RSS ;;
	esac
}

run_incr() {
	local t=$1 target=$WORK/restore-$t
	case $t in
	gigavault) timed gv-incr "${GV[@]}" backup "$data" ;;
	restic) timed restic-incr restic --repo "$WORK/restic" backup "$data" ;;
	borg) timed borg-incr borg create "$WORK/borg::incr" "$data" ;;
	rsync) timed rsync-incr rsync -a --delete "$data"/ "$WORK/rsync"/ ;;
	esac
	incr[$t]=$T_S; [ "$T_RSS" -gt "${rss[$t]}" ] && rss[$t]=$T_RSS
	case $t in
	gigavault) timed gv-restore "${GV[@]}" restore --target "$target" latest
		size[$t]=$(du -sb "$WORK/gv/data" | cut -f1) ;;
	restic) timed restic-restore restic --repo "$WORK/restic" restore latest --target "$target"
		size[$t]=$(du -sb "$WORK/restic" | cut -f1) ;;
	borg) timed borg-restore sh -c "cd '$target' && borg extract '$WORK/borg::incr'"
		size[$t]=$(du -sb "$WORK/borg" | cut -f1) ;;
	rsync) timed rsync-restore rsync -a "$WORK/rsync"/ "$target"/
		size[$t]=$(du -sb "$WORK/rsync" | cut -f1) ;;
	esac
	rest[$t]=$T_S
	# every restore must be right, or its time means nothing
	local got="$target$data"
	[ "$t" = rsync ] && got=$target
	if ! diff -r --no-dereference -q "$data" "$got" >/dev/null 2>&1; then
		echo "bench: $t restore differs from the data" >&2; exit 1
	fi
	rm -rf "$target"
}

echo "bench: $nfiles files, $((size_bytes / 1048576)) MiB in $DATA" >&2
trap gv_teardown EXIT
for t in $TOOLS; do if [ "$t" = gigavault ]; then gv_setup; fi; done
for t in $TOOLS; do echo "bench: $t full" >&2; run_tool "$t"; done
change_data
for t in $TOOLS; do echo "bench: $t incremental + restore" >&2; run_incr "$t"; done

mbs() { awk -v b="$size_bytes" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? b / 1048576 / s : 0) }'; }
printf '\n%s files, %s MiB (%s); %s, %s cores\n\n' "$nfiles" "$((size_bytes / 1048576))" "$DATA" \
    "$(uname -sr)" "$(nproc)"
printf '| tool | full s | full MB/s | incr s | restore s | restore MB/s | repo MiB | peak RSS MiB |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for t in $TOOLS; do
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${full[$t]}" "$(mbs "${full[$t]}")" \
	    "${incr[$t]}" "${rest[$t]}" "$(mbs "${rest[$t]}")" "$((${size[$t]} / 1048576))" "${rss[$t]}"
done
if [[ " $TOOLS " == *" gigavault "* ]]; then
	printf '\n| gigavault / peer | full throughput | incr time | restore throughput | repo size |\n'
	printf '|---|---|---|---|---|\n'
	for t in $TOOLS; do
		[ "$t" = gigavault ] && continue
		awk -v gf="${full[gigavault]}" -v pf="${full[$t]}" -v gi="${incr[gigavault]}" -v pi="${incr[$t]}" \
		    -v gr="${rest[gigavault]}" -v pr="${rest[$t]}" -v gs="${size[gigavault]}" -v ps="${size[$t]}" -v t="$t" \
		    'BEGIN { printf "| vs %s | %.2fx | %.2fx | %.2fx | %.2fx |\n", t, pf/gf, gi/pi, pr/gr, gs/ps }'
	done
fi
