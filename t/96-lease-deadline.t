#!/usr/bin/perl
# Reviewer 3, finding 4: a worker must not write to the bucket after the
# lease's validity has passed, however late the lease child notices.
# A's lease child is stopped (SIGSTOP); after the deadline backups to A
# are refused, C takes over, no segment is overwritten, and a catalog
# rebuilt from the bucket has every acknowledged snapshot.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 600 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use File::Temp ();
use Time::HiRes qw(time sleep);
use JSON::PP;
use GVCeph;
use GV qw(wait_until);
use GVClient;

GVCeph::skip_unless_ceph();
my $ceph = GVCeph->start;
my %s3 = $ceph->gv_options(Bucket => 'deadline', LeaseDuration => 10);
my %common = (Workers => 2, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
    DrainTimeout => 3);
sub lease_of { my $s = $_[0]->status or return ''; return ($s->{store} // {})->{lease} // '' }
my $tmp = File::Temp::tempdir('deadline-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
sub from_bucket {
	my ($name, %o) = @_;
	my $data = "$tmp/$name-data";
	my $conf = "$tmp/$name.conf";
	GV::_spit($conf, GV::make_conf(%common, %s3, %o,
	    'Server.DataDir' => $data, -dir => $tmp));
	my ($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $conf,
	    'rebuild-catalog', '--from-bucket'], {}, 120);
	is($rc, 0, "$name: a DataDir from the bucket") or diag("$out$err");
	return ($data, $conf);
}
sub segs { $ceph->list('deadline', 'gigavault/journal/') }

my $a = GV->start(%common, %s3);
ok(wait_until(sub { lease_of($a) eq 'held' }, 60), 'A holds the lease');
my $cl = GVClient->new($a, 'alice');
my $src = $a->dir . '/src';
make_path($src);
GVClient::make_tree($src);
my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup 1 to A');
my $acked = 1;
my ($cdata) = from_bucket('c', 'S3.Role' => 'standby');
my $c = GV->start(%common, %s3, 'S3.Role' => 'standby',
    'S3.FollowInterval' => 2, 'Server.DataDir' => $cdata);
ok(wait_until(sub { lease_of($c) eq 'standby' }, 30), 'C is a standby');
my ($lc) = grep { /\S/ } split /\n/,
    `pgrep -P @{[$a->pid]} -f 'gigavaultd: lease'`;
ok($lc, "A's lease child");
my $before = segs();
kill 'STOP', $lc;
my $t0 = time;
# The lease's validity for writers: duration - a quarter after the last
# renewal began; 10 s covers it.
sleep 10;
GVClient::_spit_bytes("$src/a2.bin", GVClient::pseudo_bytes(100_000, "a2"));
($rc, $out, $err) = $cl->run('backup', $src);
isnt($rc, 0, 'after the deadline, a backup to A is refused') or $acked++;
ok(wait_until(sub { lease_of($c) eq 'held' }, 60), 'C takes the lease')
    or $c->diag_logs;
GVClient::_spit_bytes("$src/c3.bin", GVClient::pseudo_bytes(100_000, "c3"));
($rc, $out, $err) = $cl->run('backup', '-s', '127.0.0.1:' . $c->port, $src);
is($rc, 0, 'a backup to C') or diag($err);
$acked++ if $rc == 0;
GVClient::_spit_bytes("$src/a4.bin", GVClient::pseudo_bytes(100_000, "a4"));
($rc, $out, $err) = $cl->run('backup', $src);
isnt($rc, 0, 'a backup to A is still refused') or $acked++;
my $after = segs();
my @changed = grep { !exists $after->{$_} || $after->{$_} != $before->{$_} }
    keys %$before;
is("@changed", '', 'no segment of A was overwritten or removed');
my (undef, $dconf) = from_bucket('d');
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $dconf,
    'snapshots', 'alice', '--json'], {}, 60);
my $list = eval { my $d = JSON::PP->new->decode($out); ref $d eq 'HASH' ? $d->{snapshots} : $d } || [];
is(scalar @$list, $acked, "the bucket's rebuild has all $acked acknowledged snapshots")
    or diag("$out$err");
kill 'CONT', $lc;
$c->stop;
$a->stop;
$ceph->stop;
ok(!$ceph->procs, 'no Ceph left');
done_testing;
