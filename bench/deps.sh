#!/bin/sh
# bench/deps.sh - install the tools bench/compare.sh compares against
# and the scale benchmark bench/scale.sh needs (Debian 12).  Run as root.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends restic borgbackup rsync time python3 lmdb-utils
