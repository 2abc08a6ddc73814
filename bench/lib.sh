# bench/lib.sh - what the benchmark scripts share; sourced, not run.

# sync_data: a private copy of $DATA in $WORK/data (reset to DATA, and
# warm in the cache); sets data, size_bytes and nfiles.
sync_data() {
	data=$WORK/data
	echo "bench: syncing $DATA to $data" >&2
	mkdir -p "$data"
	rsync -a --delete "$DATA"/ "$data"/
	size_bytes=$(du -sb "$data" | cut -f1)
	nfiles=$(find "$data" -type f | wc -l)
}

# drop: with BENCH_DROP_CACHES=1 (as root), drop the page cache.
drop() {
	if [ "${BENCH_DROP_CACHES:-0}" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
}
