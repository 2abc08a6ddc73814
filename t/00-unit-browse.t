#!/usr/bin/perl
# Runs the C unit tests of src/agent/browse.c's checks of browse and
# restore args (what the agent refuses, and why), t/unit-browse, which
# speak TAP.
use strict;
use warnings;
my $bin = ($ENV{GV_BUILDDIR} // '.') . '/t/unit-browse';
if (!-x $bin) {
	print "1..1\nnot ok 1 - $bin is built (run make check)\n";
	exit 1;
}
exec $bin or die "exec $bin: $!";
