#!/usr/bin/perl
# A journal segment in the bucket is never overwritten: a second writer
# (here gigavaultctl on a DataDir rebuilt from the bucket before the
# active server's last change) gets the same SEQ, finds the key taken
# by another record, fails its change and stops writing.  The active
# server's acknowledged segment stays as it was.
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
my %s3 = $ceph->gv_options(Bucket => 'twowriters', LeaseDuration => 10);
my %common = (Workers => 1, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
    DrainTimeout => 3);
sub lease_of { my $s = $_[0]->status or return ''; ($s->{store} // {})->{lease} // '' }
sub segs { sort map { m{journal/([0-9a-f]+)$} ? $1 : () }
    keys %{ $ceph->list('twowriters', 'gigavault/journal/') } }
my $tmp = File::Temp::tempdir('twowriters-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
sub seg_bytes {
	my ($seq) = @_;
	my $f = "$tmp/seg-$seq";
	my ($rc, $o, $e) = $ceph->s3('twowriters', 'getmem',
	    "gigavault/journal/$seq", 1 << 20, $f);
	return undef if $rc;
	return GV::_slurp($f);
}

my $a = GV->start(%common, %s3);
ok(wait_until(sub { lease_of($a) eq 'held' }, 60), 'A holds the lease');
my ($rc, $out, $err) = $a->ctl('client', 'add', 'alice');
is($rc, 0, 'A: client add alice') or diag($out . $err);

my $bdata = "$tmp/b-data";
my $bconf = "$tmp/b.conf";
GV::_spit($bconf, GV::make_conf(%common, %s3, 'S3.Role' => 'standby',
    'Server.DataDir' => $bdata, -dir => $tmp));
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $bconf,
    'rebuild-catalog', '--from-bucket'], {}, 120);
is($rc, 0, 'B rebuilt from the bucket') or diag($out . $err);

my %before = map { $_ => 1 } segs();
($rc, $out, $err) = $a->ctl('client', 'add', 'bob');
is($rc, 0, 'A: client add bob (acknowledged)') or diag($out . $err);
my ($seg) = grep { !$before{$_} } segs();
ok(defined $seg, "bob's segment is in the bucket");
my $bytes = seg_bytes($seg);
ok(defined $bytes && $bytes =~ /bob/, "segment $seg names bob");

# B's catalog is one record behind: its next SEQ is bob's.
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $bconf,
    'client', 'add', 'mallory'], {}, 120);
isnt($rc, 0, 'B: client add mallory fails');
like($out . $err, qr/another|lease|standby/i, 'and says why') or
    diag($out . $err);
is(seg_bytes($seg), $bytes, "A's acknowledged segment $seg is unchanged");
ok(!grep({ (seg_bytes($_) // '') =~ /mallory/ } segs()),
    'no segment names mallory');

$a->stop;
$ceph->stop;
ok(!$ceph->procs, 'no Ceph left');
done_testing;
