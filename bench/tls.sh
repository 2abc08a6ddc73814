#!/bin/bash
# bench/tls.sh - gigavault over TLS (Ports.SSLServer) against plain TCP
# (Ports.BackupServer) on the same data, on this machine: a full backup
# and a full restore, each timed RUNS times, plain and TLS alternating.
# Prints the medians, the throughput, the TLS/plain throughput ratios
# (the goal: TLS >= 0.90x plain), the CPU seconds spent by the client
# and the daemon, and the TLS protocol and cipher the daemon negotiated.
#
# usage: BUILD=/tmp/build-bench bench/tls.sh [DATA]   (default DATA: /usr/share)
# env:   BUILD (a built tree with src/gigavaultd, src/gigavault,
#        src/gigavaultctl; this script builds nothing; default
#        $BENCH_WORK/build, where bench/compare.sh builds),
#        BENCH_WORK (default /tmp/gv-bench-tls), BENCH_RUNS (default 5),
#        BENCH_RESTORE_DIR (where restores go; default /dev/shm when it
#        is a tmpfs with room for two copies of the data, else
#        $BENCH_WORK; see below),
#        BENCH_SERVER_DIR (where each run's daemon DataDir goes; default
#        $BENCH_WORK; a tmpfs there takes the daemon's fdatasync out),
#        BENCH_DROP_CACHES=1 (as root: drop the page cache before every
#        timed step, as compare.sh does)
#
# Restores go to a tmpfs by default, not to the disk as in compare.sh:
# on this machine's virtual disk a restore of /usr/share waits 15-40 s
# on ext4's file creation (RESULTS.md, "Second run"), the same for both
# transports, which hides the transport this benchmark is about and
# makes one run take minutes.  BENCH_RESTORE_DIR=$BENCH_WORK measures
# the end-to-end restore to disk instead.
#
# Each run is one mode (plain or TLS) on a fresh daemon: a new DataDir,
# a new client (token, key file, state), register, a timed full backup,
# then a timed restore of that snapshot into an empty directory, checked
# against the data with diff -r before its time is accepted.  So every
# full backup is really full and every run starts from the same state.
# Runs go plain, TLS, TLS, plain, plain, TLS, ... (ABBA), so neither mode
# always runs first on a warmer or colder machine; the tables report
# the median of each.  Everything runs on 127.0.0.1 under BENCH_WORK;
# the daemon listens on 127.0.0.1 only, runs as the invoking user, with
# scheduled prune and scrub off.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
DATA=${1:-/usr/share}
WORK=${BENCH_WORK:-/tmp/gv-bench-tls}
BUILD=${BUILD:-$WORK/build}
RUNS=${BENCH_RUNS:-5}
SDIR=${BENCH_SERVER_DIR:-$WORK}
PASS=bench-passphrase
export GIGAVAULT_PASSPHRASE=$PASS

for t in rsync python3 /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench: $t missing (run bench/deps.sh)" >&2; exit 2; }
done
for b in gigavaultd gigavault gigavaultctl; do
	[ -x "$BUILD/src/$b" ] || { echo "bench: $BUILD/src/$b missing: build first" \
	    "(mkdir -p DIR && cd DIR && $(cd "$here/.." && pwd)/configure && make), then BUILD=DIR" >&2; exit 2; }
done
BUILD=$(cd "$BUILD" && pwd)
GVD=$BUILD/src/gigavaultd GVCTL=$BUILD/src/gigavaultctl GVC=$BUILD/src/gigavault

mkdir -p "$WORK"
# --- the data: a private copy, reset to DATA before each run
sync_data
if [ -n "${BENCH_RESTORE_DIR:-}" ]; then
	RDIR=$BENCH_RESTORE_DIR
elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] &&
    [ $(( $(df -Pk /dev/shm | awk 'NR == 2 { print $4 }') * 1024 )) -gt $(( size_bytes * 2 )) ]; then
	RDIR=/dev/shm/gv-bench-tls.$$
else
	RDIR=$WORK
fi
mkdir -p "$RDIR" "$SDIR"

# CPU ticks (user+sys, with reaped children) of PID and its descendants.
tree_ticks() {
	python3 - "$1" <<'PY'
import os, sys
root = int(sys.argv[1]); kids = {}; ticks = {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open("/proc/%s/stat" % p).read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()
    kids.setdefault(int(f[1]), []).append(int(p))
    ticks[int(p)] = sum(int(x) for x in f[11:15])
tot, todo = 0, [root]
while todo:
    p = todo.pop(); tot += ticks.get(p, 0); todo += kids.get(p, [])
print(tot)
PY
}
HZ=$(getconf CLK_TCK)

# timed NAME CMD...: run, record wall seconds, client CPU seconds and
# daemon CPU seconds in $T_S, $T_CPU, $T_DCPU
timed() {
	local name=$1; shift
	drop
	local d0; d0=$(tree_ticks "$GV_PID")
	/usr/bin/time -f '%e %U %S' -o "$WORK/time.$name" "$@" >"$WORK/log.$name" 2>&1 || {
		echo "bench: $name failed:" >&2; tail -20 "$WORK/log.$name" >&2; exit 1; }
	local d1; d1=$(tree_ticks "$GV_PID")
	local u s
	read -r T_S u s < "$WORK/time.$name"
	T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	T_DCPU=$(awk -v a="$d0" -v b="$d1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
}

free_ports() {
	python3 - <<'PY'
import socket
socks = []
for _ in range(9):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# The server's key and self-signed certificate, made once, used by every
# daemon (each run's DataDir is new; the certificate lives outside it).
tls_dir=$WORK/tls
GV_PID=
gv_start() {	# gv_start DIR: a daemon with a fresh DataDir in DIR
	local dir=$1
	rm -rf "$dir"; mkdir -p "$dir"
	set -- $(free_ports)
	cat > "$dir/gigavault.conf" <<CONF
Server { Workers = 4  Listen = {"127.0.0.1"}  DataDir = "$dir/data"  User = ""  PidFile = "$dir/gigavaultd.pid" }
Ports { BackupServer = $1  SSLServer = $2  UI = $3  UDPScan = $4  MAPI32Bit = $5  WebConsole = $6  WebConsoleSSL = $7  Multicast = {$8, $9} }
SSL { Enabled = 1  Certificate = "$tls_dir/server.crt"  Key = "$tls_dir/server.key" }
Log { File = "$dir/gigavaultd.log"  Level = "debug" }
Prune { Interval = 0 }
Scrub { Interval = 0 }
CONF
	GV_PLAIN=$1 GV_SSL=$2 GV_CONF=$dir/gigavault.conf
	if [ ! -f "$tls_dir/server.crt" ]; then
		mkdir -p "$tls_dir"
		"$GVCTL" -f "$GV_CONF" tls init --name localhost >"$tls_dir/init.log" 2>&1 || {
			echo "bench: tls init failed:" >&2; cat "$tls_dir/init.log" >&2; exit 1; }
	fi
	"$GVD" -d -f "$GV_CONF" 2>"$dir/stderr" &
	GV_PID=$!
	for _ in $(seq 100); do
		[ -f "$dir/gigavaultd.pid" ] && break
		kill -0 "$GV_PID" 2>/dev/null || { echo "bench: gigavaultd died:" >&2; tail "$dir/stderr" >&2; exit 1; }
		sleep 0.1
	done
	sleep 0.5
}
gv_stop() {
	[ -n "$GV_PID" ] || return 0
	kill -TERM "$GV_PID" 2>/dev/null || true
	wait "$GV_PID" 2>/dev/null || true
	GV_PID=
}
cleanup() {
	gv_stop
	case $RDIR in /dev/shm/gv-bench-tls.*) rm -rf "$RDIR" ;; esac
}
trap cleanup EXIT

# A key file made once (scrypt is slow on purpose); every client gets a
# copy.  Each run has its own DataDir, so no run can dedup against another.
keyfile=$WORK/key
if [ ! -f "$keyfile" ]; then
	printf 'KeyFile = "%s"\n' "$keyfile" > "$WORK/init.conf"
	"$GVC" -c "$WORK/init.conf" init >/dev/null
fi

# run MODE N: one run of MODE (plain|tls) on a fresh daemon
declare -A full rest fcpu rcpu fdcpu rdcpu
proto=
run() {
	local mode=$1 n=$2 dir=$WORK/$1-$2
	rm -rf "$dir"
	gv_start "$SDIR/$1-$2-server"
	mkdir -p "$dir/client"
	cp "$keyfile" "$dir/client/key"
	local ssl=() port=$GV_PLAIN
	if [ "$mode" = tls ]; then
		ssl=(--ssl); port=$GV_SSL
		# the client config names both ports and TLS, as a TLS user's would
		cat > "$dir/client/client.conf" <<CONF
Ports { BackupServer = $GV_PLAIN  SSLServer = $GV_SSL }
SSL { Enabled = 1 }
CONF
	else
		printf 'Ports { BackupServer = %s  SSLServer = %s }\n' "$GV_PLAIN" "$GV_SSL" \
		    > "$dir/client/client.conf"
	fi
	local gv=("$GVC" -c "$dir/client/client.conf")
	local token
	token=$("$GVCTL" -f "$GV_CONF" client add "bench-$mode-$n" | grep -Eo '[0-9a-f]{32,}' | head -1)
	# without a port, -s takes Ports.SSLServer with TLS on, BackupServer without
	"${gv[@]}" register "${ssl[@]}" -s 127.0.0.1 --token "$token" >"$dir/register.log" 2>&1 || {
		echo "bench: register ($mode) failed:" >&2; cat "$dir/register.log" >&2; exit 1; }

	timed "$mode-full-$n" "${gv[@]}" backup "$data"
	full[$mode]+=" $T_S"; fcpu[$mode]+=" $T_CPU"; fdcpu[$mode]+=" $T_DCPU"
	local target=$RDIR/restore-$mode-$n
	rm -rf "$target"; mkdir -p "$target"
	timed "$mode-restore-$n" "${gv[@]}" restore --target "$target" latest
	rest[$mode]+=" $T_S"; rcpu[$mode]+=" $T_CPU"; rdcpu[$mode]+=" $T_DCPU"
	echo "bench: $mode run $n: full $(echo "${full[$mode]}" | awk '{print $NF}') s," \
	    "restore $T_S s" >&2
	# every restore must be right, or its time means nothing
	if ! diff -r --no-dereference -q "$data" "$target$data" >/dev/null 2>&1; then
		echo "bench: $mode restore $n differs from the data" >&2; exit 1
	fi
	rm -rf "$target"
	# every session of this run went where it should: TLS ones negotiated,
	# plain ones not (the daemon logs the protocol of each TLS session)
	local tl; tl=$(grep -Eo 'session from [^ ]+: TLSv[0-9.]+ [A-Z0-9_-]+' "$SDIR/$mode-$n-server/gigavaultd.log" || true)
	if [ "$mode" = tls ]; then
		[ -n "$tl" ] || { echo "bench: no TLS session in the daemon's log" >&2; exit 1; }
		proto=$(echo "$tl" | awk '{ print $4, $5 }' | sort | uniq -c | sed 's/^ *//')
		[ -n "$ssl_probe" ] || ssl_probe=$(openssl s_client -brief -connect "127.0.0.1:$GV_SSL" \
		    -servername localhost </dev/null 2>&1 | grep -E 'Protocol|Ciphersuite|Peer sig|Server Temp|Negotiated' || true)
	elif [ -n "$tl" ]; then
		echo "bench: a plain run made TLS sessions" >&2; exit 1
	fi
	gv_stop
	rm -rf "$SDIR/$mode-$n-server/data"
}
ssl_probe=

echo "bench: $nfiles files, $((size_bytes / 1048576)) MiB in $DATA; $RUNS runs each, restores into $RDIR" >&2
# Other work on the machine shows in wall time (not much in CPU seconds):
# note the load before and after.
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$RUNS"); do
	if [ $((i % 2)) = 1 ]; then run plain "$i"; run tls "$i"; else run tls "$i"; run plain "$i"; fi
done

med() { echo "$1" | tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END {
	printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mbs() { awk -v b="$size_bytes" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? b / 1048576 / s : 0) }'; }

printf '\n%s files, %s MiB (%s); %s, %s cores; restores into %s (%s), daemon DataDir in %s (%s)\n' \
    "$nfiles" "$((size_bytes / 1048576))" "$DATA" "$(uname -sr)" "$(nproc)" "$RDIR" \
    "$(stat -f -c %T "$RDIR")" "$SDIR" "$(stat -f -c %T "$SDIR")"
printf 'load average before %s, after %s' "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
awk -v l="${load0%% *}" 'BEGIN { if (l + 0 > 0.5) printf " (the machine was not idle: wall times are noisy)" }'
printf '\nmedian of %s runs each; all runs (s): ' "$RUNS"
for m in plain tls; do printf '%s full%s, restore%s; ' "$m" "${full[$m]}" "${rest[$m]}"; done
printf '\n\n| transport | full s | full MB/s | restore s | restore MB/s | full CPU s client+daemon | restore CPU s client+daemon |\n'
printf '|---|---|---|---|---|---|---|\n'
for m in plain tls; do
	f=$(med "${full[$m]}") r=$(med "${rest[$m]}")
	printf '| %s | %s | %s | %s | %s | %s + %s | %s + %s |\n' "$m" "$f" "$(mbs "$f")" "$r" "$(mbs "$r")" \
	    "$(med "${fcpu[$m]}")" "$(med "${fdcpu[$m]}")" "$(med "${rcpu[$m]}")" "$(med "${rdcpu[$m]}")"
done
awk -v pf="$(med "${full[plain]}")" -v tf="$(med "${full[tls]}")" \
    -v pr="$(med "${rest[plain]}")" -v tr="$(med "${rest[tls]}")" 'BEGIN {
	printf "\n| TLS / plain | full backup throughput | restore throughput |\n|---|---|---|\n"
	printf "| ratio (goal >= 0.90x) | %.2fx%s | %.2fx%s |\n", pf / tf, (pf / tf >= 0.9 ? "" : " (below)"),
	    pr / tr, (pr / tr >= 0.9 ? "" : " (below)") }'
printf '\nTLS sessions in the last TLS run (count, protocol, cipher, from the daemon'"'"'s debug log):\n%s\n' "$proto"
[ -z "$ssl_probe" ] || printf 'openssl s_client -brief:\n%s\n' "$ssl_probe"
