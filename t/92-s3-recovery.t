#!/usr/bin/perl
# Store.Backend = s3 against a real Ceph (t/lib/GVCeph.pm), failures and
# recovery: radosgw stopped in the middle of a backup makes the backup
# fail with a clear error and commit nothing, and leaves nothing
# half-written referenced (scrub clean, every snapshot restores); with
# radosgw back the next backup succeeds and restores.  Then the whole
# DataDir is deleted and `gigavaultctl rebuild-catalog --from-bucket` on
# an empty DataDir with the same config brings back every client,
# snapshot and policy: gigavaultd starts on it (the bucket's server id),
# every snapshot restores identical, and a backup after it works (its
# pack and journal keys above the bucket's).  Skips only when the Ceph
# packages are missing.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 900 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(time sleep);
use GVCeph;
use GV;
use GVClient;

GVCeph::skip_unless_ceph();
my $ceph = GVCeph->start;
my $bucket = 'gv92';
my $gv = GV->start(Workers => 2, 'Prune.Interval' => 0,
    'Scrub.Interval' => 0, $ceph->gv_options(Bucket => $bucket,
    Retries => 2));
my $data = $gv->cfg->{Server}{DataDir};
my $cl = GVClient->new($gv, 'alice');
my ($rc, $out, $err) = $gv->ctl('policy', 'set', 'alice', '--keep-last',
    '5');
is($rc, 0, 'a policy for alice') or diag("$out$err");

# Two sets, two snapshots each.
my %src;
for my $set (qw(home docs)) {
	my $d = $gv->dir . "/src-$set";
	make_path($d);
	GVClient::make_tree($d);
	$src{$set} = $d;
	for my $round (1, 2) {
		GVClient::_spit_bytes("$d/f$_",
		    GVClient::pseudo_bytes(200_000, "$set$round$_")) for 1 .. 5;
		($rc, $out, $err) = $cl->run('backup', '--set', $set, $d);
		is($rc, 0, "backup $set #$round") or diag($err);
	}
}
my @snaps = $cl->snapshots;
is(scalar @snaps, 4, 'four snapshots');

# radosgw stopped in the middle of a backup of 60 MB.
my $big = $gv->dir . '/src-big';
make_path($big);
GVClient::_spit_bytes("$big/b$_", GVClient::pseudo_bytes(4_000_000, "b$_"))
    for 1 .. 15;
my $from = GVClient::log_size($gv);
my $pid = $cl->spawn('backup', '--set', 'big', $big);
my $seen = wait_until(sub {
	substr(GV::_slurp($gv->logfile) // '', $from) =~ /authenticated|auth/i;
}, 30, 0.02);
sleep 0.1;
$ceph->rgw_stop;
my $t0 = time;
waitpid($pid, 0);
my $brc = $? >> 8;
my $berr = GV::_slurp($cl->dir . '/spawn.err') // '';
ok($seen && $brc != 0, "radosgw stopped mid-backup: the backup fails " .
    "(exit $brc)") or diag($berr);
like($berr, qr/storage error on the server|nothing committed/,
    '  with a clear error') or diag($berr);
like(substr(GV::_slurp($gv->logfile), $from),
    qr/upload of pack [0-9a-f]{8} failed: .*(Couldn't connect|Recv failure|Send failure|Server returned nothing|Failure when receiving)/,
    '  the log names the pack upload and why') or
    diag(substr(GV::_slurp($gv->logfile), $from));
note($berr);

ok($ceph->rgw_start, 'radosgw started again');
my @after = $cl->snapshots;
is(scalar @after, 4, 'no snapshot was committed');
($rc, $out, $err) = $gv->ctl('scrub');
is($rc, 0, 'scrub: nothing damaged, nothing half-written referenced') or
    diag("$out$err");
($rc, $out, $err) = $cl->run('backup', '--set', 'big', $big);
is($rc, 0, 'the next backup succeeds') or diag($err);
my $t = $gv->dir . '/restore-big';
($rc, $out, $err) = $cl->run('restore', '--target', $t, 'latest');
is($rc, 0, '  and restores') or diag($err);
is(scalar(GVClient::compare_trees($big, "$t$big")), 0, '  identical');
@snaps = $cl->snapshots;
is(scalar @snaps, 5, 'five snapshots');

# The whole DataDir deleted; the catalog made again from the bucket.
my $conf = $gv->conf;
is($gv->stop, 0, 'daemon stopped');
remove_tree($data);
ok(!-e $data, 'DataDir deleted');
my $t1 = time;
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $conf,
    'rebuild-catalog', '--from-bucket'], {}, 300);
my $secs = time - $t1;
is($rc, 0, sprintf('rebuild-catalog --from-bucket (%.1f s)', $secs)) or
    diag("$out$err");
note($out);
like($out, qr/rebuilt: 1 clients, 5 snapshots, 1 policies/,
    '  one client, five snapshots, one policy') or diag($out);
ok(GVClient::restart_daemon($gv), 'gigavaultd starts on the rebuilt ' .
    'DataDir') or $gv->diag_logs;
my @back = $cl->snapshots;
is_deeply([map { $_->{id} } @back], [map { $_->{id} } @snaps],
    'the same snapshots list');
for my $s (@back) {
	my $d = $gv->dir . "/r-$s->{id}";
	($rc, $out, $err) = $cl->run('restore', '--target', $d, $s->{id});
	is($rc, 0, "snapshot $s->{id} ($s->{set}) restores") or diag($err);
}
for my $set (qw(home docs big)) {
	my ($last) = grep { $_->{set} eq $set } reverse @back;
	my $d = $gv->dir . "/r-$last->{id}";
	my $s = $set eq 'big' ? $big : $src{$set};
	is(scalar(GVClient::compare_trees($s, "$d$s")), 0,
	    "  the last of $set is identical");
}
my $before = $ceph->list($bucket, 'gigavault/');
GVClient::_spit_bytes("$src{home}/after", "written after the rebuild\n");
($rc, $out, $err) = $cl->run('backup', '--set', 'home', $src{home});
is($rc, 0, 'a backup after the rebuild') or diag($err);
my $now = $ceph->list($bucket, 'gigavault/');
my @new = grep { !exists $before->{$_} } sort keys %$now;
my ($maxp) = reverse sort grep { m{/packs/} } keys %$before;
my ($maxs) = reverse sort grep { m{/journal/} } keys %$before;
ok((grep { m{/packs/} && $_ gt $maxp } @new) &&
    (grep { m{/journal/} && $_ gt $maxs } @new),
    '  writes new packs and segments above the old ones') or
    diag(join ' ', @new);
is(scalar(grep { $before->{$_} && $now->{$_} != $before->{$_} }
    keys %$before), 0, '  and changes no old object');

is($gv->stop, 0, 'daemon stops cleanly');
$ceph->stop;
ok(!$ceph->procs, 'no Ceph process left');
done_testing;
