#!/bin/bash
# bench/objstore.sh - Store.Backend = datadir against Store.Backend = s3
# (a single-node Ceph with radosgw on 127.0.0.1, t/lib/ceph-start.sh) on
# the same data in the same run: full backup and full restore, MB/s (the
# s3 restore starts with DataDir/cache emptied, so every pack comes from
# the bucket).  Then the time `gigavaultctl rebuild-catalog --from-bucket`
# takes to make the catalog again from the bucket alone for BENCH_BLOBS
# blobs (a backup of that many small files of distinct contents, with
# DataDir deleted).  Prints two tables.
#
# usage: bench/objstore.sh [DATA]        (default DATA: /usr/share/doc)
# env:   BENCH_WORK (default /tmp/gv-bench-objstore), BENCH_BLOBS
#        (default 100000; 0 skips the rebuild), BENCH_BIN (a directory
#        with gigavaultd, gigavault and gigavaultctl; default the tree's
#        src/, built with make)
#
# Needs the Ceph packages of doc/ceph-tests.md.  Everything runs as the
# current user inside BENCH_WORK; gigavaultd runs without discovery.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
DATA=${1:-/usr/share/doc}
WORK=${BENCH_WORK:-/tmp/gv-bench-objstore}
BLOBS=${BENCH_BLOBS:-100000}
BIN=${BENCH_BIN:-$top/src}
PASS=bench-passphrase
export GIGAVAULT_PASSPHRASE=$PASS

for t in ceph-mon ceph-osd radosgw "$BIN/gigavaultd" "$BIN/gigavault" \
    "$BIN/gigavaultctl"; do
	command -v "$t" >/dev/null ||
	    { echo "bench: $t missing (doc/ceph-tests.md; make)" >&2; exit 2; }
done

rm -rf "$WORK/gv" "$WORK/ceph" "$WORK"/restore-*
mkdir -p "$WORK/ceph"

ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

GV_PID=
gv_teardown() {
	[ -n "$GV_PID" ] || return 0
	kill -TERM "$GV_PID" 2>/dev/null || true
	wait "$GV_PID" 2>/dev/null || true
	GV_PID=
}
cleanup() {
	gv_teardown
	sh "$top/t/lib/ceph-start.sh" stop "$WORK/ceph" || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- Ceph
set -- $(ports 2)
echo "bench: starting Ceph" >&2
sh "$top/t/lib/ceph-start.sh" start "$WORK/ceph" "$1" "$2" >/dev/null
. "$WORK/ceph/s3.env"
cred=$WORK/s3.cred
printf 'access_key_id = %s\nsecret_access_key = %s\n' "$S3_ACCESS_KEY" \
    "$S3_SECRET_KEY" > "$cred"
chmod 600 "$cred"

# gv_setup BACKEND PREFIX: a fresh DataDir, gigavaultd on it, a client.
gv_setup() {
	local backend=$1 prefix=$2 store=""
	rm -rf "$WORK/gv"; mkdir -p "$WORK/gv"
	set -- $(ports 9)
	if [ "$backend" = s3 ]; then
		store="Store { Backend = s3 }
S3 { Endpoint = \"$S3_ENDPOINT\"  Region = \"$S3_REGION\"  Bucket = \"gvbench\"  Prefix = \"$prefix\"  CredentialsFile = \"$cred\"  PathStyle = 1 }"
	fi
	cat > "$WORK/gv/gigavault.conf" <<CONF
Server { Workers = 4  Listen = {"127.0.0.1"}  DataDir = "$WORK/gv/data"  User = ""  PidFile = "$WORK/gv/gigavaultd.pid" }
Ports { BackupServer = $1  SSLServer = $2  UI = $3  UDPScan = $4  MAPI32Bit = $5  WebConsole = $6  WebConsoleSSL = $7  Multicast = {$8, $9} }
Log { File = "$WORK/gv/gigavaultd.log" }
Discovery { Multicast = 0 }
WebConsole { Enabled = 0 }
Prune { Interval = 0 }
Scrub { Interval = 0 }
$store
CONF
	GV_PORT=$1
	gv_start
	cat > "$WORK/gv/client.conf" <<CONF
Server = "127.0.0.1:$GV_PORT"
KeyFile = "$WORK/gv/key"
StateFile = "$WORK/gv/state.json"
CONF
	token=$(ctl client add bench 2>/dev/null | grep -Eo '[0-9a-f]{32,}' | head -1)
	"${GV[@]}" init >/dev/null
	"${GV[@]}" register -s "127.0.0.1:$GV_PORT" --token "$token" >/dev/null
}
gv_start() {
	"$BIN/gigavaultd" -d -f "$WORK/gv/gigavault.conf" \
	    2>>"$WORK/gv/stderr" &
	GV_PID=$!
	for _ in $(seq 100); do
		[ -f "$WORK/gv/gigavaultd.pid" ] && break
		kill -0 "$GV_PID" 2>/dev/null ||
		    { cat "$WORK/gv/stderr" >&2; exit 1; }
		sleep 0.1
	done
	sleep 0.5
}
ctl() { "$BIN/gigavaultctl" -f "$WORK/gv/gigavault.conf" "$@"; }
GV=("$BIN/gigavault" -c "$WORK/gv/client.conf")

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
mbs() { echo "scale=1; $size_bytes / 1000000 / $1" | bc -l; }

sync_data
declare -A full rest
for b in datadir s3; do
	echo "bench: $b backend: backup and restore of $data" >&2
	gv_setup "$b" "tree-$$/"
	t0=$(now)
	"${GV[@]}" backup "$data" >/dev/null
	t1=$(now)
	full[$b]=$(secs "$t0" "$t1")
	# s3: the packs come back from the bucket, not the cache.
	rm -f "$WORK/gv/data/cache/"*.pack
	t0=$(now)
	"${GV[@]}" restore --target "$WORK/restore-$b" latest >/dev/null
	t1=$(now)
	rest[$b]=$(secs "$t0" "$t1")
	diff -r --no-dereference "$data" "$WORK/restore-$b$data" >/dev/null ||
	    { echo "bench: $b restore differs from the data" >&2; exit 1; }
	gv_teardown
	rm -rf "$WORK/restore-$b"
done

printf '\nData: %s, %s bytes in %s files; %s, %s CPUs\n\n' "$DATA" \
    "$size_bytes" "$nfiles" "$(uname -r)" "$(nproc)"
printf '| backend | backup s | backup MB/s | restore s | restore MB/s |\n'
printf '|---|---|---|---|---|\n'
for b in datadir s3; do
	printf '| %s | %.2f | %s | %.2f | %s |\n' "$b" "${full[$b]}" \
	    "$(mbs "${full[$b]}")" "${rest[$b]}" "$(mbs "${rest[$b]}")"
done

[ "$BLOBS" -gt 0 ] || exit 0

# --- BLOBS small files of distinct contents, backed up to the bucket.
echo "bench: $BLOBS small files" >&2
small=$WORK/small
rm -rf "$small"
python3 - "$small" "$BLOBS" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(top, "d%04d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(d)
    with open(os.path.join(d, "f%06d" % i), "w") as f:
        f.write("file %d of the rebuild benchmark\n" % i)
PY
gv_setup s3 "rebuild-$$/"
t0=$(now)
"${GV[@]}" backup "$small" >/dev/null
t1=$(now)
bk=$(secs "$t0" "$t1")
gv_teardown
rm -rf "$WORK/gv/data"
t0=$(now)
out=$(ctl rebuild-catalog --from-bucket)
t1=$(now)
rb=$(secs "$t0" "$t1")
echo "$out" >&2
blobs=$(echo "$out" | sed -n 's/.* \([0-9]*\) blobs indexed/\1/p')
packs=$(echo "$out" | sed -n 's/^packs: \([0-9]*\) with.*/\1/p')
gv_start
ok=ok
"${GV[@]}" restore --target "$WORK/restore-small" latest >/dev/null &&
    diff -r --no-dereference "$small" "$WORK/restore-small$small" >/dev/null || ok=FAILED
gv_teardown
rm -rf "$WORK/restore-small"
printf '\n| files | backup s | blobs indexed | packs | rebuild --from-bucket s | blobs/s | restore after |\n'
printf '|---|---|---|---|---|---|---|\n'
printf '| %s | %.2f | %s | %s | %.2f | %.0f | %s |\n' "$BLOBS" "$bk" \
    "$blobs" "$packs" "$rb" "$(echo "$blobs / $rb" | bc -l)" "$ok"
