#!/usr/bin/perl
# t/93-takeover.t - one writer per bucket, and a standby that takes over
# (doc/object-store.md rules 5 and 6), against a real Ceph
# (t/lib/GVCeph.pm).  Server A (S3.Role = active) takes the bucket's
# lease and serves backups.  Server C (S3.Role = standby; its DataDir
# made from the bucket with gigavaultctl rebuild-catalog --from-bucket,
# so the same server id; same bucket and prefix, other ports) refuses
# backups with "standby: ..." (its console says standby) and follows
# the bucket: it lists a snapshot A committed after it started.  Server
# B, a second active, waits for the lease, names its holder and refuses
# writes with that reason.  A is killed with SIGKILL (every process); C takes the lease
# once it expired, catches up and writes (the take-over time is
# measured and printed), and a client pointed at C (-s) lists its
# snapshots, restores them and backs up again, its parent found.  A
# restarted as it was finds the lease held by C and does not write; when
# C stops (and releases the lease) A takes it but, its catalog behind
# the bucket, does not write and says what to do.  Skips only when the
# Ceph packages are missing.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 900 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use File::Temp ();
use Time::HiRes qw(time sleep);
use GVCeph;
use GV qw(wait_until);
use GVClient;

GVCeph::skip_unless_ceph();
my $ceph = GVCeph->start;
diag(sprintf 'Ceph started in %.1f s', $ceph->start_seconds);

my $D = 10;	# S3.LeaseDuration (its minimum)
my %s3 = $ceph->gv_options(Bucket => 'gv93', LeaseDuration => $D);
my %common = (Workers => 2, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
    DrainTimeout => 3);

sub store_of {
	my $s = $_[0]->status or return {};
	return $s->{store} // {};
}
sub lease_of { store_of($_[0])->{lease} // '' }

# A DataDir made from the bucket, for a second server.
my $tmp = File::Temp::tempdir('gv93-XXXXXX', TMPDIR => 1,
    CLEANUP => !$ENV{GV_KEEP});
chmod 0755, $tmp;
sub from_bucket {
	my ($name, %o) = @_;
	my $data = "$tmp/$name-data";
	my $conf = "$tmp/$name.conf";
	GV::_spit($conf, GV::make_conf(%common, %s3, %o,
	    'Server.DataDir' => $data, -dir => $tmp));
	my ($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $conf,
	    'rebuild-catalog', '--from-bucket'], {}, 120);
	is($rc, 0, "$name: DataDir made from the bucket") or diag($out . $err);
	return $data;
}

my $FI = 2;	# S3.FollowInterval of the standby

# --- A: the writer.
my $a = GV->start(%common, %s3);
my $adata = $a->cfg->{Server}{DataDir};
ok(wait_until(sub { lease_of($a) eq 'held' }, 60),
    'A (active) holds the lease: status says so') or $a->diag_logs;
is(store_of($a)->{role}, 'active', '  role active');
like($a->log_text, qr/bucket lease gigavault\/lease taken \(none was there\)/,
    '  its log says it took the lease');

my $cl = GVClient->new($a, 'alice');
my $src = $a->dir . '/src';
make_path($src);
GVClient::make_tree($src);
my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup to A') or diag($err);

# --- C: a standby, its DataDir made from the bucket now.
my $cdata = from_bucket('c', 'S3.Role' => 'standby');
my $c = GV->start(%common, %s3, 'S3.Role' => 'standby',
    'S3.FollowInterval' => $FI, 'Server.DataDir' => $cdata);
my $cport = '127.0.0.1:' . $c->port;
ok(wait_until(sub { lease_of($c) eq 'standby' &&
    (store_of($c)->{lease_detail} // '') =~ /held by/ }, 30),
    'C (standby): status says standby, naming the holder') or $c->diag_logs;
is(store_of($c)->{role}, 'standby', '  role standby');
$c->add_admin('cadmin', 'c-pass-word');
{
	my $r = $c->web(POST => '/api/login',
	    json => { user => 'cadmin', password => 'c-pass-word' });
	my ($cookie) = GV::session_cookie($r);
	$r = $c->web(GET => '/api/dashboard', cookie => $cookie);
	my $st = ref $r->{json} eq 'HASH' ? $r->{json}{store} // {} : {};
	ok(($st->{lease} // '') eq 'standby' &&
	    ($st->{lease_detail} // '') =~ /^standby: /,
	    '  the console\'s dashboard says standby') or
	    diag($r->{body} // '');
}
($rc, $out, $err) = $cl->run('backup', '-s', $cport, $src);
ok($rc != 0 && $err =~ /standby: /, '  a backup at C is refused with ' .
    '"standby: ..."') or diag("$rc $out $err");

GVClient::_spit_bytes("$src/added.txt", "one more file\n");
($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'a second backup to A') or diag($err);
my @snaps = $cl->snapshots;
is(scalar @snaps, 2, '  2 snapshots');
ok(wait_until(sub {
	my ($r, $o) = $cl->run('snapshots', '-s', $cport, '--json');
	return $r == 0 && (() = $o =~ /"id"/g) == 2;
}, 60), "C follows the bucket (every $FI s): it lists the second " .
    'snapshot too') or $c->diag_logs;
like($c->log_text, qr/standby: followed the bucket: \d+ journal records/,
    '  its log says what it applied');

# --- B: an active whose DataDir was made from the bucket now.
my $bdata = from_bucket('b');
my $b = GV->start(%common, %s3, 'Server.DataDir' => $bdata);
ok(wait_until(sub { lease_of($b) eq 'waiting' &&
    (store_of($b)->{lease_detail} // '') =~ /held by/ }, 60),
    'B (active, second) waits for the lease') or $b->diag_logs;
like(store_of($b)->{lease_detail}, qr/held by \S+ \(server [0-9a-f]{32}, pid \d+\), generation 1/,
    '  status names the holder');
like($b->log_text, qr/waiting for the bucket's lease: held by .*not writing until it expires/,
    '  and so does its log');
($rc, $out, $err) = $cl->run('backup', '-s', '127.0.0.1:' . $b->port,
    $src);
ok($rc != 0 && $err =~ /waiting for the bucket's lease: held by/,
    '  a backup at B is refused, saying why') or diag("$rc $out $err");

# B is stopped (it holds no lease): the take-over is C's.
$b->stop;

# --- SIGKILL every process of A: the standby C takes over.
my @apids = ($a->pid, map { $_->{pid} } $a->descendants);
kill 'KILL', @apids;
my $killed = time;
$a->wait_exit(10);
ok(wait_until(sub { lease_of($c) eq 'held' }, 120),
    'A killed with SIGKILL: the standby C takes the lease') or
    $c->diag_logs;
my $took = time - $killed;
diag(sprintf('take-over: C writing %.1f s after A was killed ' .
    '(S3.LeaseDuration %d s, S3.FollowInterval %d s)', $took, $D, $FI));
like($c->log_text, qr/standby: caught up; bucket lease gigavault\/lease taken \(it had expired\): generation 2/,
    '  its log says it caught up and took the expired lease, ' .
    'generation 2');
cmp_ok($took, '>=', $D * 2 / 3, sprintf('  not before the lease could ' .
    'expire (%.1f s)', $took));

($rc, $out, $err) = $cl->run('snapshots', '-s', $cport, '--json');
is($rc, 0, 'a client pointed at B lists its snapshots') or diag($err);
my $n = () = $out =~ /"id"/g;
is($n, 2, '  both of them');
my $target = "$tmp/restore";
($rc, $out, $err) = $cl->run('restore', '-s', $cport, '--target', $target,
    'latest');
is($rc, 0, '  restores the latest from B') or diag($err);
my @diff = GVClient::compare_trees($src, "$target$src");
is(scalar @diff, 0, '  identical to the source') or diag(join "\n", @diff);
GVClient::_spit_bytes("$src/after.txt", "written after the take-over\n");
($rc, $out, $err) = $cl->run('backup', '-v', '-s', $cport, $src);
is($rc, 0, '  and backs up to B') or diag($err);
like($err, qr/parent snapshot \d+/, '  its parent found');
($rc, $out, $err) = $cl->run('snapshots', '-s', $cport, '--json');
$n = () = $out =~ /"id"/g;
is($n, 3, '  3 snapshots now');

# --- A restarted as it was: the lease is B's; A does not write.
my $a2 = GV->start(%common, %s3, 'Server.DataDir' => $adata);
ok(wait_until(sub { lease_of($a2) eq 'waiting' &&
    (store_of($a2)->{lease_detail} // '') =~ /held by/ }, 60),
    'A restarted as it was: waits, the lease held by C') or $a2->diag_logs;
($rc, $out, $err) = $cl->run('backup', '-s', '127.0.0.1:' . $a2->port,
    $src);
ok($rc != 0 && $err =~ /waiting for the bucket's lease/,
    '  a backup at the old A is refused') or diag("$rc $out $err");

# --- C stops cleanly (releases); A, whose catalog is behind the
# bucket now, takes the lease but does not write.
$c->stop;
ok(wait_until(sub { lease_of($a2) eq 'lost' }, 60),
    'C stopped: A takes the released lease, but its catalog is behind ' .
    'the bucket: it does not write') or $a2->diag_logs;
like(store_of($a2)->{lease_detail}, qr/this catalog is behind the bucket .*rebuild-catalog --from-bucket/,
    '  saying so, and what to do');
like($c->log_text, qr/bucket lease gigavault\/lease released/,
    '  C released the lease at its stop');
$a2->stop;

$ceph->stop;
ok(!$ceph->procs, 'no Ceph process left');
done_testing();
