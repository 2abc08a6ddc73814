#!/usr/bin/perl
# Runs the C unit tests of src/client/schedule.c (when an agent's job
# runs: a subset of systemd's OnCalendar, in local time, here
# Europe/Berlin for its summer time), t/unit-schedule, which speak TAP.
use strict;
use warnings;
my $bin = ($ENV{GV_BUILDDIR} // '.') . '/t/unit-schedule';
if (!-x $bin) {
	print "1..1\nnot ok 1 - $bin is built (run make check)\n";
	exit 1;
}
exec $bin or die "exec $bin: $!";
