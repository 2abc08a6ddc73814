#!/usr/bin/perl
# Reviewer 3, finding 8: "is this catalog behind the bucket?" compares
# the bucket's journal segments with the good end of DataDir/journal
# (after its last whole record), not with the file's size: a damaged
# tail (a crash in an append) must not hide a segment another server
# wrote at that offset.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 600 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use GVCeph;
use GV qw(wait_until);
use GVClient;

GVCeph::skip_unless_ceph();
my $ceph = GVCeph->start;
my %s3 = $ceph->gv_options(Bucket => 'tail', LeaseDuration => 10);
my %common = (Workers => 1, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
    DrainTimeout => 3);
sub lease_of { my $s = $_[0]->status or return ''; return ($s->{store} // {})->{lease} // '' }

my $a = GV->start(%common, %s3);
ok(wait_until(sub { lease_of($a) eq 'held' }, 60), 'A holds the lease');
my ($rc, $out, $err) = $a->ctl('client', 'add', 'alice');
is($rc, 0, 'A: client add alice') or diag($err);
my $journal = $a->dir . '/data/journal';
ok(-s $journal, "A's journal") or diag($journal);
$a->stop;

# B, from the bucket, writes one more record (the segment at A's end).
my $tmp = File::Temp::tempdir('tail-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
GV::_spit("$tmp/b.conf", GV::make_conf(%common, %s3,
    'Server.DataDir' => "$tmp/b-data", -dir => $tmp));
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', "$tmp/b.conf",
    'rebuild-catalog', '--from-bucket'], {}, 120);
is($rc, 0, 'B: a DataDir from the bucket') or diag("$out$err");
my $b = GV->start(%common, %s3, 'Server.DataDir' => "$tmp/b-data");
ok(wait_until(sub { lease_of($b) eq 'held' }, 60), 'B holds the lease');
($rc, $out, $err) = $b->ctl('client', 'add', 'bob');
is($rc, 0, 'B: client add bob (a segment at the end of A\'s journal)') or diag($err);
$b->stop;

# A crash left a damaged tail on A's journal: longer than that segment.
open(my $f, '>>', $journal) or die "$journal: $!";
print $f "\xff" x 4096;
close $f;
GVClient::restart_daemon($a) or BAIL_OUT('A does not start again');
ok(wait_until(sub { lease_of($a) eq 'lost' }, 60),
    'A finds its catalog behind the bucket (the damaged tail hides nothing)')
    or diag("lease: " . lease_of($a));
ok($a->log_like(qr/this catalog is behind the bucket/, 5), '... and logs it');
($rc, $out, $err) = $a->ctl('client', 'add', 'mallory');
isnt($rc, 0, 'A: gigavaultctl client add is refused');
$a->stop;
$ceph->stop;
ok(!$ceph->procs, 'no Ceph left');
done_testing;
