#!/bin/bash
# bench/scale.sh - gigavault against restic on N tiny unique files
# (issue 14, "Benchmarks"): for each N, a full backup, then an
# incremental after 100 files changed; times, bytes sent, catalog and
# index size, client peak RSS.  Prints one table, the ratios
# gigavault/restic, and how each time grows from the smallest N to the
# largest.  Then "30 incrementals of an unchanged tree": mdb_stat of the
# catalog before and after (it must not grow without bound).
#
# usage: bench/scale.sh [N ...]    (default: 200000 1100000 2000000)
# env:   BENCH_N (the list of N, if no argument is given),
#        BENCH_LAYOUT (dirs: directories of 1000 files, the default;
#        flat: one directory of N entries),
#        BENCH_WORK (default /dev/shm/gv-scale; the data tree is made
#        there, so it should be a tmpfs),
#        BENCH_SERVER_DIR (where gigavault's DataDir and restic's
#        repository go, both in the same place; default $BENCH_WORK),
#        BENCH_TOOLS (default "gigavault restic"),
#        BENCH_CHANGES (files changed before the incremental; default 100),
#        BENCH_UNCHANGED (incrementals of an unchanged tree; default 30,
#        0 for none), BENCH_UNCHANGED_AT ("first", the default: at the
#        smallest N only; "all"; or a list of N),
#        BUILD (a built tree with src/gigavaultd, src/gigavault and
#        src/gigavaultctl; default: build one in $BENCH_WORK/build, as
#        bench/compare.sh does)
#
# Uses only the command-line interfaces (gigavaultd, gigavaultctl,
# gigavault, restic), so it runs against any build of the tree.  The
# daemon listens on 127.0.0.1 only, with multicast discovery, scheduled
# prune and scrub off, and a fresh DataDir for every N; restic gets a
# fresh local repository (and cache) for every N.  Every tool runs with
# its defaults and encryption on.
#
# What is measured, per tool and N:
# - full s, incr s: wall time of the backup (GNU time), and the client's
#   peak RSS (the larger of the two runs);
# - sent: for gigavault, the daemon's bytes_in over the backup's
#   sessions (gigavaultctl stats --json, the change of the sum over the
#   days); for restic, the growth of the repository (du -sb);
# - srv wr: bytes the daemon's processes wrote (the wchar of their
#   /proc/PID/io: the packs, the catalog's pages, the journal, if any),
#   gigavault only.  (The client's own wchar would not do: sendmsg(2)
#   does not count there);
# - index: gigavault's catalog (du -sb DataDir/catalog), with mdb_stat's
#   pages in use and on the free list and the entries of all its
#   databases; restic's index/ directory.  Bytes per blob: the catalog
#   divided by the blobs `gigavaultctl usage --json` counts.
# Needs: restic, mdb_stat (lmdb-utils), python3, GNU time (bench/deps.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
if [ $# -gt 0 ]; then NS="$*"; else NS=${BENCH_N:-"200000 1100000 2000000"}; fi
LAYOUT=${BENCH_LAYOUT:-dirs}
WORK=${BENCH_WORK:-/dev/shm/gv-scale}
SDIR=${BENCH_SERVER_DIR:-$WORK}
TOOLS=${BENCH_TOOLS:-"gigavault restic"}
CHANGES=${BENCH_CHANGES:-100}
UNCHANGED=${BENCH_UNCHANGED:-30}
UNCHANGED_AT=${BENCH_UNCHANGED_AT:-first}
PASS=bench-passphrase
export RESTIC_PASSWORD=$PASS GIGAVAULT_PASSPHRASE=$PASS

case $LAYOUT in dirs|flat) ;; *) echo "bench: BENCH_LAYOUT must be dirs or flat" >&2; exit 2 ;; esac
for n in $NS; do
	case $n in ''|*[!0-9]*) echo "bench: N must be a number: $n" >&2; exit 2 ;; esac
	[ "$n" -ge "$CHANGES" ] || { echo "bench: N=$n is below BENCH_CHANGES=$CHANGES" >&2; exit 2; }
done
for t in restic mdb_stat python3 /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "bench: $t missing (run bench/deps.sh)" >&2; exit 2; }
done
mkdir -p "$WORK" "$SDIR"
WORK=$(cd "$WORK" && pwd) SDIR=$(cd "$SDIR" && pwd)
[ "$(stat -f -c %T "$WORK")" = tmpfs ] ||
    echo "bench: warning: $WORK is not a tmpfs; the data tree's reads will count" >&2

# --- gigavault: a given build, or one made out of tree, optimized
if [ -n "${BUILD:-}" ]; then
	build=$(cd "$BUILD" && pwd)
else
	build=$WORK/build
	if [ ! -x "$build/src/gigavault" ] || [ "$top/src" -nt "$build/src/gigavault" ]; then
		(cd "$top" && { [ -x configure ] || autoreconf -fi; })
		mkdir -p "$build"
		(cd "$build" && { [ -f Makefile ] || "$top/configure" CFLAGS="-O2 -g" >/dev/null; } &&
		    make -j"$(nproc)" >/dev/null)
	fi
fi
for b in gigavaultd gigavault gigavaultctl; do
	[ -x "$build/src/$b" ] || { echo "bench: $build/src/$b missing" >&2; exit 2; }
done
GVD=$build/src/gigavaultd GVCTL=$build/src/gigavaultctl GVC=$build/src/gigavault

# --- the data: N tiny files, each with unique contents
# mkdata DIR N: directories d00000, d00001, ... of 1000 files each, or
# (BENCH_LAYOUT=flat) the N files in DIR itself.
mkdata() {
	rm -rf "$1"; mkdir -p "$1"
	python3 - "$1" "$2" "$LAYOUT" "$$.$(date +%s)" <<'PY'
import os, sys
top, n, layout, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sub = top
for i in range(n):
    if layout == "dirs" and i % 1000 == 0:
        sub = os.path.join(top, "d%05d" % (i // 1000))
        os.mkdir(sub)
    fd = os.open(os.path.join(sub, "f%07d" % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"scale %s file %d\n" % (seed.encode(), i))
    os.close(fd)
PY
}
# change DIR N K: K files spread evenly over the tree get new contents
change() {
	python3 - "$1" "$2" "$3" "$LAYOUT" <<'PY'
import os, sys
top, n, k, layout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for j in range(k):
    i = j * (n // k) + (n // k) // 2
    sub = os.path.join(top, "d%05d" % (i // 1000)) if layout == "dirs" else top
    with open(os.path.join(sub, "f%07d" % i), "ab") as f:
        f.write(b"changed %d\n" % j)
PY
}

# timed NAME CMD...: run CMD under GNU time; sets T_S (s), T_RSS (MiB).
# A command that fails (today's gigavault refuses a snapshot of more than
# 2^20 blobs) is reported, its time marked "failed", and the run goes on.
timed() {
	local name=$1 fail=; shift
	/usr/bin/time -f '%e %M' -o "$WORK/time.$name" "$@" >"$WORK/log.$name" 2>&1 || {
		fail=1; echo "bench: $name failed:" >&2; tail -5 "$WORK/log.$name" >&2; }
	read -r T_S T_RSS < <(grep -v '^Command' "$WORK/time.$name")
	T_RSS=$(( T_RSS / 1024 ))
	if [ -n "$fail" ]; then T_S="$T_S failed"; fi
}

# tree_io PID: wchar of PID and its descendants (reaped children count
# in their parent's)
tree_io() {
	python3 - "$1" <<'PY'
import os, sys
root = int(sys.argv[1]); kids = {}; wc = {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open("/proc/%s/stat" % p).read()
        io = dict(l.split(": ") for l in open("/proc/%s/io" % p).read().split("\n") if l)
    except (OSError, ValueError):
        continue
    kids.setdefault(int(s[s.rindex(")") + 2:].split()[1]), []).append(int(p))
    wc[int(p)] = int(io.get("wchar", 0))
tot, todo = 0, [root]
while todo:
    p = todo.pop(); tot += wc.get(p, 0); todo += kids.get(p, [])
print(tot)
PY
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

# --- gigavault: a daemon on 127.0.0.1 with a fresh DataDir, a client
GV_PID=
gv_start() {	# gv_start DIR
	local dir=$1
	rm -rf "$dir"; mkdir -p "$dir"
	set -- $(free_ports)
	cat > "$dir/gigavault.conf" <<CONF
Server { Workers = 4  Listen = {"127.0.0.1"}  DataDir = "$dir/data"  User = ""  PidFile = "$dir/gigavaultd.pid" }
Ports { BackupServer = $1  SSLServer = $2  UI = $3  UDPScan = $4  MAPI32Bit = $5  WebConsole = $6  WebConsoleSSL = $7  Multicast = {$8, $9} }
Log { File = "$dir/gigavaultd.log" }
Discovery { Multicast = 0 }
Prune { Interval = 0 }
Scrub { Interval = 0 }
CONF
	GV_PORT=$1 GV_CONF=$dir/gigavault.conf GV_DATA=$dir/data
	"$GVD" -d -f "$GV_CONF" 2>"$dir/stderr" &
	GV_PID=$!
	for _ in $(seq 100); do
		[ -f "$dir/gigavaultd.pid" ] && break
		kill -0 "$GV_PID" 2>/dev/null || { echo "bench: gigavaultd died:" >&2; tail "$dir/stderr" >&2; exit 1; }
		sleep 0.1
	done
	sleep 0.5
	mkdir -p "$dir/client"
	cp "$keyfile" "$dir/client/key"
	cat > "$dir/client/client.conf" <<CONF
Server = "127.0.0.1:$GV_PORT"
KeyFile = "$dir/client/key"
StateFile = "$dir/client/state.json"
CONF
	GV=("$GVC" -c "$dir/client/client.conf")
	local token
	token=$("$GVCTL" -f "$GV_CONF" client add bench | grep -Eo '[0-9a-f]{32,}' | head -1)
	"${GV[@]}" register -s "127.0.0.1:$GV_PORT" --token "$token" >"$dir/register.log" 2>&1 || {
		echo "bench: register failed:" >&2; cat "$dir/register.log" >&2; exit 1; }
}
gv_stop() {
	[ -n "$GV_PID" ] || return 0
	kill -TERM "$GV_PID" 2>/dev/null || true
	wait "$GV_PID" 2>/dev/null || true
	GV_PID=
}
# gv_bytes_in: the sum of bytes_in over the days gigavaultctl stats shows
gv_bytes_in() {
	"$GVCTL" -f "$GV_CONF" stats --days 3 --json 2>/dev/null | python3 -c '
import json, sys
def walk(o):
    if isinstance(o, dict):
        return sum(v if k == "bytes_in" and isinstance(v, int) else walk(v) for k, v in o.items())
    if isinstance(o, list):
        return sum(walk(v) for v in o)
    return 0
try:
    print(walk(json.load(sys.stdin)))
except ValueError:
    print(-1)'
}
# gv_blobs: the blobs the server holds for all clients (usage --json)
gv_blobs() {
	"$GVCTL" -f "$GV_CONF" usage --json 2>/dev/null | python3 -c '
import json, sys
try:
    o = json.load(sys.stdin)
except ValueError:
    o = None
rows = o if isinstance(o, list) else (o or {}).get("clients", [])
print(sum(r.get("blobs", 0) for r in rows if isinstance(r, dict)) if rows else "")'
}
# cat_stat: "BYTES USED FREE ENTRIES" of the catalog (du, mdb_stat)
cat_stat() {
	local c=$GV_DATA/catalog b u f e
	b=$(du -sb "$c" | cut -f1)
	u=$(mdb_stat -e "$c" 2>/dev/null | awk '/Number of pages used/ { print $NF }')
	f=$(mdb_stat -f "$c" 2>/dev/null | awk '/Free pages/ { print $NF }')
	e=$(mdb_stat -a "$c" 2>/dev/null | awk '/^Status of/ { main = /Main DB/ }
	    /Entries:/ && !main { s += $NF } END { print s + 0 }')
	echo "$b ${u:--} ${f:--} ${e:--}"
}

# A key file made once (scrypt is slow on purpose); every client gets a copy.
keyfile=$WORK/key
if [ ! -f "$keyfile" ]; then
	printf 'KeyFile = "%s"\n' "$keyfile" > "$WORK/init.conf"
	"$GVC" -c "$WORK/init.conf" init >/dev/null
fi

cleanup() {
	gv_stop
	rm -rf "$WORK/data" "$SDIR/gv" "$SDIR/restic" "$WORK/restic-cache"
}
trap cleanup EXIT

declare -A full incr sent_f sent_i srv_f srv_i rss idx idxb idxu idxf idxe blobs
unch=()
mdb_before=() mdb_after=()

unchanged_here() {	# unchanged_here N: run the unchanged series at N?
	[ "$UNCHANGED" -gt 0 ] || return 1
	case $UNCHANGED_AT in
	first) [ "$1" = "${NS%% *}" ] ;;
	all) return 0 ;;
	*) [[ " $UNCHANGED_AT " == *" $1 "* ]] ;;
	esac
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
data=$WORK/data
for n in $NS; do
	echo "bench: N=$n: making $n files ($LAYOUT) in $data" >&2
	mkdata "$data" "$n"
	for t in $TOOLS; do
		k="$t:$n"
		case $t in
		gigavault)
			gv_start "$SDIR/gv"
			echo "bench: N=$n: gigavault full" >&2
			b0=$(gv_bytes_in) w0=$(tree_io "$GV_PID")
			timed "gv-full-$n" "${GV[@]}" backup "$data"
			b1=$(gv_bytes_in) w1=$(tree_io "$GV_PID")
			full[$k]=$T_S rss[$k]=$T_RSS
			sent_f[$k]=$((b1 - b0)) srv_f[$k]=$((w1 - w0))
			;;
		restic)
			rm -rf "$SDIR/restic" "$WORK/restic-cache"
			export RESTIC_CACHE_DIR=$WORK/restic-cache
			restic init --repo "$SDIR/restic" >/dev/null
			echo "bench: N=$n: restic full" >&2
			s0=$(du -sb "$SDIR/restic" | cut -f1)
			timed "restic-full-$n" restic --repo "$SDIR/restic" backup "$data"
			s1=$(du -sb "$SDIR/restic" | cut -f1)
			full[$k]=$T_S rss[$k]=$T_RSS sent_f[$k]=$((s1 - s0)) srv_f[$k]=-
			;;
		esac
	done
	echo "bench: N=$n: changing $CHANGES files" >&2
	change "$data" "$n" "$CHANGES"
	for t in $TOOLS; do
		k="$t:$n"
		case $t in
		gigavault)
			echo "bench: N=$n: gigavault incremental" >&2
			b0=$(gv_bytes_in) w0=$(tree_io "$GV_PID")
			timed "gv-incr-$n" "${GV[@]}" backup "$data"
			b1=$(gv_bytes_in) w1=$(tree_io "$GV_PID")
			sent_i[$k]=$((b1 - b0)) srv_i[$k]=$((w1 - w0))
			read -r c_b c_u c_f c_e <<< "$(cat_stat)"
			idx[$k]=$c_b idxu[$k]=$c_u idxf[$k]=$c_f idxe[$k]=$c_e
			blobs[$k]=$(gv_blobs)
			;;
		restic)
			echo "bench: N=$n: restic incremental" >&2
			s0=$(du -sb "$SDIR/restic" | cut -f1)
			timed "restic-incr-$n" restic --repo "$SDIR/restic" backup "$data"
			s1=$(du -sb "$SDIR/restic" | cut -f1)
			sent_i[$k]=$((s1 - s0)) srv_i[$k]=-
			idx[$k]=$(du -sb "$SDIR/restic/index" | cut -f1)
			idxu[$k]=- idxf[$k]=- idxe[$k]=$(find "$SDIR/restic/index" -type f | wc -l)
			blobs[$k]=
			;;
		esac
		incr[$k]=$T_S
		if [ "$T_RSS" -gt "${rss[$k]}" ]; then rss[$k]=$T_RSS; fi
	done
	if [[ " $TOOLS " == *" gigavault "* ]] && unchanged_here "$n"; then
		echo "bench: N=$n: $UNCHANGED incrementals of the unchanged tree" >&2
		before=$(cat_stat) ts=()
		mdb_stat -ef "$GV_DATA/catalog" > "$WORK/mdb-before-$n" 2>&1 || true
		for i in $(seq 1 "$UNCHANGED"); do
			timed "gv-unch-$n-$i" "${GV[@]}" backup "$data"
			ts+=("$T_S")
		done
		after=$(cat_stat)
		mdb_stat -ef "$GV_DATA/catalog" > "$WORK/mdb-after-$n" 2>&1 || true
		unch+=("$n|$before|$after|${ts[0]}|${ts[$((UNCHANGED - 1))]}|$(printf '%s\n' "${ts[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')")
	fi
	gv_stop
	rm -rf "$data" "$SDIR/gv" "$SDIR/restic" "$WORK/restic-cache"
done

mib() { awk -v b="$1" 'BEGIN { if (b == "-" || b == "") print "-"; else printf "%.1f", b / 1048576 }'; }
kib() { awk -v b="$1" 'BEGIN { if (b == "-" || b == "") print "-"; else printf "%.0f", b / 1024 }'; }
printf '\nN tiny unique files (%s layout), %s changed before the incremental; %s, %s cores, %s\n' \
    "$LAYOUT" "$CHANGES" "$(uname -sr)" "$(nproc)" "$("$GVC" --version 2>/dev/null | head -1 || echo gigavault)"
printf 'data in %s (%s); DataDir and repository in %s (%s); %s\n' "$WORK" "$(stat -f -c %T "$WORK")" \
    "$SDIR" "$(stat -f -c %T "$SDIR")" "$(restic version | cut -d' ' -f1-2)"
printf 'load average before %s, after %s\n\n' "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| tool | N | full s | incr s | full sent MiB | incr sent KiB | srv wr full MiB | srv wr incr KiB | index MiB | pages used/free | entries | B/blob | peak RSS MiB |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for t in $TOOLS; do
	for n in $NS; do
		k="$t:$n" bpb=-
		if [ -n "${blobs[$k]}" ] && [ "${blobs[$k]}" -gt 0 ] 2>/dev/null; then
			bpb=$(( ${idx[$k]} / ${blobs[$k]} ))
		fi
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		    "$t" "$n" "${full[$k]}" "${incr[$k]}" "$(mib "${sent_f[$k]}")" "$(kib "${sent_i[$k]}")" \
		    "$(mib "${srv_f[$k]}")" "$(kib "${srv_i[$k]}")" \
		    "$(mib "${idx[$k]}")" "${idxu[$k]}/${idxf[$k]}" "${idxe[$k]}" "$bpb" "${rss[$k]}"
	done
done
cat <<'EOF'

sent: gigavault, the daemon's bytes_in (gigavaultctl stats); restic, the
repository's growth.  srv wr: bytes the daemon wrote (packs and
catalog).  index: gigavault's DataDir/catalog (entries: all its LMDB
named databases), restic's index/ (entries: its files).  B/blob: catalog bytes
per blob the server holds.
EOF
if [[ " $TOOLS " == *" gigavault "* && " $TOOLS " == *" restic "* ]]; then
	printf '\n| N | gigavault/restic full time | gigavault/restic incr time | gigavault incr sent / full sent |\n|---|---|---|---|\n'
	for n in $NS; do
		awk -v gf="${full[gigavault:$n]}" -v rf="${full[restic:$n]}" -v gi="${incr[gigavault:$n]}" \
		    -v ri="${incr[restic:$n]}" -v sf="${sent_f[gigavault:$n]}" -v si="${sent_i[gigavault:$n]}" -v n="$n" \
		    'BEGIN { printf "| %s | %.2fx | %.2fx | %s |\n", n, (rf > 0 ? gf / rf : 0), (ri > 0 ? gi / ri : 0),
		        (sf > 0 ? sprintf("%.3f%%", 100 * si / sf) : "-") }'
	done
fi
set -- $NS
if [ $# -gt 1 ]; then
	lo=$1; eval "hi=\${$#}"
	printf '\nGrowth from N=%s to N=%s (files x%s; growing no faster than the files: a factor <= that)\n\n' \
	    "$lo" "$hi" "$(awk -v a="$lo" -v b="$hi" 'BEGIN { printf "%.2f", b / a }')"
	printf '| tool | full time | incr time | full sent | incr sent | index | peak RSS |\n|---|---|---|---|---|---|---|\n'
	for t in $TOOLS; do
		awk -v t="$t" -v f0="${full[$t:$lo]}" -v f1="${full[$t:$hi]}" -v i0="${incr[$t:$lo]}" -v i1="${incr[$t:$hi]}" \
		    -v s0="${sent_f[$t:$lo]}" -v s1="${sent_f[$t:$hi]}" -v j0="${sent_i[$t:$lo]}" -v j1="${sent_i[$t:$hi]}" \
		    -v x0="${idx[$t:$lo]}" -v x1="${idx[$t:$hi]}" -v r0="${rss[$t:$lo]}" -v r1="${rss[$t:$hi]}" '
		    function g(a, b) { return a > 0 ? sprintf("%.2fx", b / a) : "-" }
		    BEGIN { printf "| %s | %s | %s | %s | %s | %s | %s |\n", t, g(f0, f1), g(i0, i1), g(s0, s1), g(j0, j1), g(x0, x1), g(r0, r1) }'
	done
fi
if [ ${#unch[@]} -gt 0 ]; then
	printf '\n%s incrementals of an unchanged tree (gigavault; catalog before the first and after the last)\n\n' "$UNCHANGED"
	printf '| N | catalog bytes before | after | growth per backup | pages used before | after | free pages before | after | entries before | after | first s | last s | median s |\n'
	printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
	for u in "${unch[@]}"; do
		IFS='|' read -r n bef aft t1 tl tm <<< "$u"
		read -r b0 u0 f0 e0 <<< "$bef"; read -r b1 u1 f1 e1 <<< "$aft"
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		    "$n" "$b0" "$b1" "$(( (b1 - b0) / UNCHANGED ))" "$u0" "$u1" "$f0" "$f1" "$e0" "$e1" "$t1" "$tl" "$tm"
	done
	for u in "${unch[@]}"; do
		n=${u%%|*}
		printf '\nmdb_stat -ef, N=%s, before:\n' "$n"; sed 's/^/    /' "$WORK/mdb-before-$n"
		printf 'after:\n'; sed 's/^/    /' "$WORK/mdb-after-$n"
	done
fi
