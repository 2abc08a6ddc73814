#!/usr/bin/perl
# Prune from a DataDir whose catalog is behind the bucket (a standby
# rebuilt before the active server's last backup) must not delete the
# packs it does not index: they are another catalog's live data.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 600 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use File::Temp ();
use GVCeph;
use GV qw(wait_until);
use GVClient;

GVCeph::skip_unless_ceph();
my $ceph = GVCeph->start;
my %s3 = $ceph->gv_options(Bucket => 'behind', LeaseDuration => 10);
my %common = (Workers => 2, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
    'Prune.GraceSeconds' => 0, DrainTimeout => 3);
sub lease_of { my $s = $_[0]->status or return ''; ($s->{store} // {})->{lease} // '' }
sub packs { join ' ', sort map { m{packs/([0-9a-f]+)$} ? $1 : () }
    keys %{ $ceph->list('behind', 'gigavault/packs/') } }
my $tmp = File::Temp::tempdir('behind-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;

my $a = GV->start(%common, %s3);
ok(wait_until(sub { lease_of($a) eq 'held' }, 60), 'A holds the lease');
my $cl = GVClient->new($a, 'alice');
my $src = $a->dir . '/src';
make_path($src);
GVClient::make_tree($src);
my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup 1');

# B: a DataDir rebuilt from the bucket now, then left behind.
my $bdata = "$tmp/b-data";
my $bconf = "$tmp/b.conf";
GV::_spit($bconf, GV::make_conf(%common, %s3, 'S3.Role' => 'standby',
    'Server.DataDir' => $bdata, -dir => $tmp));
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $bconf,
    'rebuild-catalog', '--from-bucket'], {}, 120);
is($rc, 0, 'B rebuilt from the bucket') or diag($out . $err);

GVClient::_spit_bytes("$src/new.bin", GVClient::pseudo_bytes(300_000, "b2"));
($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup 2 on A (packs B does not know)');
my $before = packs();

# Prune with B's catalog (refused without the lease where that is
# checked; either way, nothing of A's may go).
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $bconf,
    'prune'], {}, 120);
note("prune from B: rc $rc\n$out$err");
is(packs(), $before, 'prune from a DataDir behind removed no pack');

system("rm -f " . $a->cfg->{Server}{DataDir} . "/cache/*.pack");
for my $s ($cl->snapshots) {
	my $t = $a->dir . "/r$s->{id}";
	($rc, $out, $err) = $cl->run('restore', '--target', $t, $s->{id});
	is($rc, 0, "snapshot $s->{id} restores from the bucket") or diag($err);
}
$a->stop;
$ceph->stop;
ok(!$ceph->procs, 'no Ceph left');
done_testing;
