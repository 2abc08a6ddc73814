#!/usr/bin/perl
# Runs t/unit-config, which speaks TAP: every option of src/server/config.c's
# table is in man/gigavault.conf.5 and conf/gigavault.conf.in, and the other
# way round.  It reads them from GV_SRCDIR.
use strict;
use warnings;
use FindBin;
$ENV{GV_SRCDIR} //= "$FindBin::Bin/..";
my $bin = ($ENV{GV_BUILDDIR} // '.') . '/t/unit-config';
if (!-x $bin) {
	print "1..1\nnot ok 1 - $bin is built (run make check)\n";
	exit 1;
}
exec $bin or die "exec $bin: $!";
