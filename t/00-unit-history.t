#!/usr/bin/perl
# Runs the C unit tests of the catalog's history and the dashboard's fill
# estimate (t/unit-history), which speak TAP.
use strict;
use warnings;
my $bin = ($ENV{GV_BUILDDIR} // '.') . '/t/unit-history';
if (!-x $bin) {
	print "1..1\nnot ok 1 - $bin is built (run make check)\n";
	exit 1;
}
exec $bin or die "exec $bin: $!";
