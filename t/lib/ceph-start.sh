#!/bin/sh
# t/lib/ceph-start.sh: start and stop a single-node Ceph for tests (one
# monitor, one OSD on BlueStore in a sparse file, radosgw; no manager),
# as the current user, everything inside one directory, on 127.0.0.1.
#
#   ceph-start.sh start DIR MONPORT RGWPORT   starts it; prints the S3
#                                            endpoint; on failure stops
#                                            what it started, exit 1
#   ceph-start.sh stop DIR                   kills what start started
#   ceph-start.sh rgw-stop DIR               stops radosgw only
#   ceph-start.sh rgw-start DIR              starts it again, waits until
#                                            it answers
#
# After start, DIR/s3.env holds S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY,
# S3_REGION (shell syntax), DIR/pids/*.pid the daemons' pids, DIR/log/
# their logs.  Nothing outside DIR is written: every path Ceph would
# take from /etc/ceph, /var/lib/ceph, /var/run/ceph or /var/log/ceph is
# set in DIR/ceph.conf and every command gets --conf.

set -u

ACCESS_KEY=GVTESTACCESSKEY00001
SECRET_KEY=gvtestsecretkey0000000000000000000000001
REGION=default

die() { echo "ceph-start: $*" >&2; exit 1; }

# now_ms: monotonic-enough wall clock in milliseconds.
now_ms() { date +%s%3N; }

# alive PID: the process exists and is not a zombie (a daemon whose
# parent, the start shell, is gone waits as a zombie until init reaps
# it, and kill -0 still succeeds on it).
alive() {
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
	return 0
}

ceph_stop() {
	d=$1
	[ -d "$d/pids" ] || return 0
	# One at a time, radosgw first, then the OSD, then the monitor:
	# each shuts down in well under a second while the ones below it
	# still run (all at once, radosgw waits seconds for the OSD).
	for n in rgw osd mon; do
		f=$d/pids/$n.pid
		[ -f "$f" ] || continue
		p=$(cat "$f")
		kill -TERM "$p" 2>/dev/null
		i=0
		while alive "$p" && [ $i -lt 30 ]; do
			sleep 0.05; i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
		rm -f "$f"
	done
	return 0
}

# rgw_start DIR: radosgw (again), on the port in DIR/rgw.port; waits
# until it answers.
rgw_start() {
	rd=$1
	rport=$(cat "$rd/rgw.port") || die "no $rd/rgw.port"
	radosgw --conf "$rd/ceph.conf" -n client.rgw -f \
	    >>"$rd/log/rgw.out" 2>&1 &
	echo $! > "$rd/pids/rgw.pid"
	i=0
	until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$rport/"; do
		i=$((i + 1))
		[ $i -lt 300 ] || die "radosgw not answering after 30 s"
		alive "$(cat "$rd/pids/rgw.pid")" ||
		    die "radosgw died (see $rd/log/client.rgw.log)"
		sleep 0.1
	done
}

# rgw_stop DIR: TERM radosgw, KILL after 1.5 s.
rgw_stop() {
	f=$1/pids/rgw.pid
	[ -f "$f" ] || return 0
	p=$(cat "$f")
	kill -TERM "$p" 2>/dev/null
	i=0
	while alive "$p" && [ $i -lt 30 ]; do
		sleep 0.05; i=$((i + 1))
	done
	kill -KILL "$p" 2>/dev/null
	rm -f "$f"
}

# c: the ceph command line tool against this cluster.
c() { timeout 20 ceph --conf "$D/ceph.conf" --connect-timeout 10 "$@"; }

ceph_start() {
	D=$1 MONPORT=$2 RGWPORT=$3
	case $D in /*) ;; *) D=$(pwd)/$D ;; esac
	mkdir -p "$D/run" "$D/log" "$D/pids" "$D/mon.a" "$D/osd.0" \
	    "$D/rgw" "$D/crash" || die "cannot make $D"
	t0=$(now_ms)
	fsid=$(uuidgen)
	cat > "$D/ceph.conf" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$MONPORT]
mon_initial_members = a
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_supported = none
keyring = $D/keyring
run_dir = $D/run
admin_socket = $D/run/\$name.asok
pid_file = $D/run/\$name.pid
log_file = $D/log/\$name.log
log_to_stderr = false
err_to_stderr = true
crash_dir = $D/crash
mon_cluster_log_file = $D/log/cluster.log
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_max_pg_per_osd = 1000
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false

[mon]
mon_data = $D/mon.\$id
paxos_propose_interval = 0.05
mon_data_avail_crit = 1
mon_data_avail_warn = 2

[osd]
osd_data = $D/osd.\$id
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = 10737418240
bluestore_block_db_create = false
bluestore_block_wal_create = false
bluestore_fsck_on_mount = false
osd_memory_target = 939524096

[client]
admin_socket = $D/run/\$name.\$pid.asok
log_file = $D/log/\$name.\$pid.log
log_to_file = false

[client.rgw]
admin_socket = $D/run/\$name.asok
log_file = $D/log/\$name.log
log_to_file = true
auth_client_required = none
ms_mon_client_mode = crc
rgw_data = $D/rgw
rgw_frontends = beast endpoint=127.0.0.1:$RGWPORT
rgw_enable_usage_log = false
rgw_dns_name = localhost
EOF
	# The monitor.
	: > "$D/keyring"
	monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MONPORT]" \
	    "$D/monmap" >"$D/log/monmaptool.out" 2>&1 ||
	    { cat "$D/log/monmaptool.out" >&2; die "monmaptool failed"; }
	ceph-mon --conf "$D/ceph.conf" --mkfs -i a --monmap "$D/monmap" \
	    >"$D/log/mon-mkfs.out" 2>&1 ||
	    { cat "$D/log/mon-mkfs.out" >&2; die "ceph-mon --mkfs failed"; }
	ceph-mon --conf "$D/ceph.conf" -f -i a >"$D/log/mon.out" 2>&1 &
	echo $! > "$D/pids/mon.pid"

	# One OSD: the monitor gives it its id, mkfs makes the sparse
	# block file, then it starts and boots into the map.
	uuid=$(uuidgen)
	id=$(c osd new "$uuid" 2>"$D/log/osd-new.out") ||
	    { cat "$D/log/osd-new.out" >&2; die "ceph osd new failed"; }
	[ "$id" = 0 ] || die "ceph osd new gave id '$id', not 0"
	t_quorum=$(now_ms)
	ceph-osd --conf "$D/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" \
	    >"$D/log/osd-mkfs.out" 2>&1 ||
	    { cat "$D/log/osd-mkfs.out" >&2; die "ceph-osd --mkfs failed"; }
	t_mkfs=$(now_ms)
	ceph-osd --conf "$D/ceph.conf" -f -i 0 >"$D/log/osd.out" 2>&1 &
	echo $! > "$D/pids/osd.pid"
	i=0
	until c osd dump 2>/dev/null | grep -q '^osd\.0 up'; do
		i=$((i + 1))
		[ $i -lt 300 ] || die "osd.0 not up after 30 s (see $D/log)"
		kill -0 "$(cat "$D/pids/osd.pid")" 2>/dev/null ||
		    die "ceph-osd died (see $D/log/osd.0.log)"
		sleep 0.1
	done
	t_osd=$(now_ms)

	# radosgw makes its pools (size 1 by osd_pool_default_size).
	echo "$RGWPORT" > "$D/rgw.port"
	rgw_start "$D"
	t_rgw=$(now_ms)
	# Every pool size 1, also ones made before the defaults applied.
	for p in $(c osd pool ls); do
		c osd pool set "$p" size 1 --yes-i-really-mean-it \
		    >/dev/null 2>&1
	done
	timeout 30 radosgw-admin --conf "$D/ceph.conf" -n client.rgw \
	    user create --uid=gvtest --display-name=gvtest \
	    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" \
	    >"$D/log/user-create.out" 2>&1 ||
	    { cat "$D/log/user-create.out" >&2; die "user create failed"; }
	cat > "$D/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGWPORT
S3_REGION=$REGION
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
EOF
	t1=$(now_ms)
	echo "mon $((t_quorum - t0)) ms, osd mkfs $((t_mkfs - t_quorum)) ms," \
	    "osd up $((t_osd - t_mkfs)) ms, rgw up $((t_rgw - t_osd)) ms," \
	    "user $((t1 - t_rgw)) ms, total $((t1 - t0)) ms" > "$D/log/timing"
	echo "http://127.0.0.1:$RGWPORT"
}

case ${1:-} in
start)
	[ $# -eq 4 ] || die "usage: ceph-start.sh start DIR MONPORT RGWPORT"
	# On any failure or signal, stop what was started.
	trap 'ceph_stop "$D"' EXIT
	trap 'exit 1' INT TERM HUP
	D=$2
	case $D in /*) ;; *) D=$(pwd)/$D ;; esac
	ceph_start "$D" "$3" "$4"
	trap - EXIT
	;;
stop)
	[ $# -eq 2 ] || die "usage: ceph-start.sh stop DIR"
	ceph_stop "$2"
	;;
rgw-stop)
	[ $# -eq 2 ] || die "usage: ceph-start.sh rgw-stop DIR"
	rgw_stop "$2"
	;;
rgw-start)
	[ $# -eq 2 ] || die "usage: ceph-start.sh rgw-start DIR"
	rgw_start "$2"
	;;
*)
	die "usage: ceph-start.sh start DIR MONPORT RGWPORT | stop DIR |" \
	    "rgw-stop DIR | rgw-start DIR"
	;;
esac
