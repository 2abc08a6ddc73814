#!/usr/bin/perl
# Reviewer 3, finding 5: a SIGHUP reload must not release the bucket's
# lease (old workers may still be writing under it): the lease child is
# kept across generations, and a standby waiting for the lease does not
# get it.  A reload that changes the S3 section is refused.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 600 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use GVCeph;
use GV qw(wait_until);
use GVClient;
use File::Temp ();

GVCeph::skip_unless_ceph();
my $ceph = GVCeph->start;
my %s3 = $ceph->gv_options(Bucket => 'hup', LeaseDuration => 10);
my %common = (Workers => 1, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
    DrainTimeout => 3);
sub lease_of { my $s = $_[0]->status or return ''; return ($s->{store} // {})->{lease} // '' }

my $a = GV->start(%common, %s3);
ok(wait_until(sub { lease_of($a) eq 'held' }, 60), 'A holds the lease');
my $tmp = File::Temp::tempdir('hup-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
my $cdata = "$tmp/c-data";
GV::_spit("$tmp/c.conf", GV::make_conf(%common, %s3, 'S3.Role' => 'standby',
    'Server.DataDir' => $cdata, -dir => $tmp));
my ($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', "$tmp/c.conf",
    'rebuild-catalog', '--from-bucket'], {}, 120);
is($rc, 0, 'a standby DataDir from the bucket') or diag("$out$err");
my $c = GV->start(%common, %s3, 'S3.Role' => 'standby',
    'Server.DataDir' => $cdata);
ok(wait_until(sub { lease_of($c) eq 'standby' }, 30), 'C is a standby');
my ($lease1) = grep { /\S/ } split /\n/,
    `pgrep -P @{[$a->pid]} -f 'gigavaultd: lease'`;
ok($lease1, "A's lease child runs");

$a->reload(%common, %s3, HandshakeTimeout => 7);
ok($a->log_like(qr/reloaded .*new generation/, 10), 'A reloaded: a new generation');
my $t0 = time;
my $lost = 0;
while (time - $t0 < 25) {
	$lost = 1 if $a->log_text =~ /bucket lease .*released|lease was lost/;
	last if $lost;
	sleep 1;
}
ok(!$lost, 'A did not release or lose the lease on the reload');
is(lease_of($a), 'held', 'A still holds the lease after 2.5 x LeaseDuration');
my ($lease2) = grep { /\S/ } split /\n/,
    `pgrep -P @{[$a->pid]} -f 'gigavaultd: lease'`;
is($lease2, $lease1, 'the same lease child');
unlike($c->log_text, qr/bucket lease \S+ taken/, 'C took nothing');

$a->reload(%common, %s3, HandshakeTimeout => 7, 'S3.FollowInterval' => 5);
ok($a->log_like(qr/reload failed.*Store or S3 section changed/, 10),
    'a reload that changes the S3 section is refused');

$c->stop;
$a->stop;
ok($a->log_like(qr/bucket lease .* released/, 10), 'released on the final stop');
$ceph->stop;
ok(!$ceph->procs, 'no Ceph left');
done_testing;
