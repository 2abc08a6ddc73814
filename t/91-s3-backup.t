#!/usr/bin/perl
# Store.Backend = s3 end to end against a real Ceph (t/lib/GVCeph.pm):
# gigavault backs up a tree to a gigavaultd whose packs and journal live
# in a radosgw bucket, and restores it byte for byte; the bucket holds
# bucket.json, one object per pack and a journal segment per change, and
# DataDir/packs stays empty; a restore with DataDir/cache emptied reads
# the packs back from the bucket; verify, forget and prune (pack objects
# deleted, the rest rewritten) and scrub (an object PUT again with
# changed bytes is named) work on the bucket.  Skips only when the Ceph
# packages are missing.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 900 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path remove_tree);
use GVCeph;
use GV;
use GVClient;

GVCeph::skip_unless_ceph();
my $ceph = GVCeph->start;
diag(sprintf 'Ceph started in %.1f s', $ceph->start_seconds);

my $bucket = 'gv91';
my $gv = GV->start(Workers => 2, 'Prune.Interval' => 0,
    'Prune.GraceSeconds' => 0,
    'Scrub.Interval' => 0, $ceph->gv_options(Bucket => $bucket));
my $data = $gv->cfg->{Server}{DataDir};
my $objs = $ceph->list($bucket, 'gigavault/');
ok(exists $objs->{'gigavault/bucket.json'}, 'the start wrote bucket.json');
my ($rc, $bj) = $ceph->s3($bucket, 'getmem', 'gigavault/bucket.json', 4096,
    $gv->dir . '/bucket.json');
my $sid = GV::_slurp("$data/server-id") // '';
chomp $sid;
like(GV::_slurp($gv->dir . '/bucket.json') // '',
    qr/"server_id": "\Q$sid\E"/, '  naming this DataDir\'s server id');

($rc, my $st) = $gv->ctl('status');
like($st, qr/^store: +s3 bucket $bucket at \Q${\$ceph->endpoint}\E, prefix "gigavault\/": reachable, server $sid$/m,
    'gigavaultctl status: the bucket, reachable, its server id') or
    diag($st);

# Config checks: s3 without its required options; another server's
# bucket.json refused at start.
{
	my ($st, $e) = run_check(make_conf('Store.Backend' => 's3'));
	ok($st != 0 && $e =~ /Store\.Backend = s3 needs S3\.Endpoint/,
	    'Store.Backend = s3 without S3.Endpoint: refused, naming it') or
	    diag($e);
	($st, $e) = run_check(make_conf($ceph->gv_options(Bucket => $bucket),
	    'S3.Prefix' => '/abs/'));
	ok($st != 0 && $e =~ /S3\.Prefix "\/abs\/"/, 'a Prefix starting ' .
	    'with / refused') or diag($e);
	my $other = GV->spawn(Workers => 1, $ceph->gv_options(Bucket =>
	    $bucket));
	ok(wait_until(sub { !$other->alive }, 30), 'a second DataDir on the ' .
	    'same bucket and prefix: gigavaultd exits');
	like($other->stderr_text, qr/belongs to another server/,
	    '  saying the bucket belongs to another server') or
	    diag($other->stderr_text);
	my $old = $gv->dir . '/old-data';
	make_path("$old/packs");
	GVClient::_spit_bytes("$old/packs/00000001.pack", 'x' x 100);
	system('chown', '-R', 'nobody:', $old) if $> == 0;
	$other = GV->spawn(Workers => 1, $ceph->gv_options(Bucket => 'gv91b'),
	    'Server.DataDir' => $old);
	ok(wait_until(sub { !$other->alive }, 30), 'a DataDir with packs of ' .
	    'the datadir backend: gigavaultd exits');
	like($other->stderr_text, qr/holds packs written with Store\.Backend = datadir/,
	    '  saying why') or diag($other->stderr_text);
}

my $cl = GVClient->new($gv, 'alice');
my $src = $gv->dir . '/src';
make_path($src);
GVClient::make_tree($src);
for my $i (1 .. 20) {
	GVClient::_spit_bytes("$src/f$i",
	    GVClient::pseudo_bytes(300_000, "f$i"));
}

my ($out, $err);
($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup to the s3 backend') or diag($err);
$objs = $ceph->list($bucket, 'gigavault/');
my @packs = grep { m{^gigavault/packs/[0-9a-f]{8}$} } keys %$objs;
my @segs = grep { m{^gigavault/journal/[0-9a-f]{16}$} } keys %$objs;
ok(@packs >= 1, scalar(@packs) . ' pack objects in the bucket');
ok(@segs >= 3, scalar(@segs) . ' journal segments (client add, register, ' .
    'commit)');
is(scalar(grep { -s } glob("$data/packs/*")), 0,
    'DataDir/packs holds nothing');
ok(scalar(glob("$data/cache/*.pack")), 'the packs are kept in DataDir/cache');

my $target = $gv->dir . '/restore1';
($rc, $out, $err) = $cl->run('restore', '--target', $target, 'latest');
is($rc, 0, 'restore') or diag($err);
my @diff = GVClient::compare_trees($src, "$target$src");
is(scalar @diff, 0, '  the restored tree is identical') or
    diag(join "\n", @diff);

# Empty the cache: reads fetch the packs from the bucket.
unlink glob("$data/cache/*.pack");
$target = $gv->dir . '/restore2';
($rc, $out, $err) = $cl->run('restore', '--target', $target, 'latest');
is($rc, 0, 'restore with an empty cache') or diag($err);
@diff = GVClient::compare_trees($src, "$target$src");
is(scalar @diff, 0, '  identical: read from the bucket') or
    diag(join "\n", @diff);
ok(scalar(glob("$data/cache/*.pack")), '  and cached again');

($rc, $out, $err) = $cl->run('verify', 'latest');
is($rc, 0, 'verify') or diag("$out$err");

# A second snapshot after a change, then a policy that forgets the
# first, and prune.
GVClient::_spit_bytes("$src/f$_", GVClient::pseudo_bytes(300_000, "g$_"))
    for 1 .. 20;
($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'second backup') or diag($err);
my @snaps = $cl->snapshots;
is(scalar @snaps, 2, 'two snapshots');
my $before = $ceph->list($bucket, 'gigavault/packs/');
($rc, $out, $err) = $gv->ctl('policy', 'set', 'alice', '--keep-last', '1');
is($rc, 0, 'policy: keep the last snapshot') or diag("$out$err");
($rc, $out, $err) = $gv->ctl('prune');
is($rc, 0, 'prune') or diag("$out$err");
note($out);
my $after = $ceph->list($bucket, 'gigavault/packs/');
my @gone = grep { !exists $after->{$_} } keys %$before;
my @new = grep { !exists $before->{$_} } keys %$after;
ok(@gone >= 1, 'prune deleted ' . scalar(@gone) . ' pack objects');
like($out, qr/(\d+) packs removed, (\d+) rewritten/, '  and says so');
$target = $gv->dir . '/restore3';
($rc, $out, $err) = $cl->run('restore', '--target', $target, 'latest');
is($rc, 0, 'restore after prune') or diag($err);
@diff = GVClient::compare_trees($src, "$target$src");
is(scalar @diff, 0, '  identical') or diag(join "\n", @diff);

($rc, $out, $err) = $gv->ctl('scrub', '--bytes');
is($rc, 0, 'scrub of the bucket: clean') or diag("$out$err");

# Damage one pack object in the bucket: PUT it again with a byte flipped.
# The newest pack: the second backup's, every record in it live.
my ($victim) = reverse sort grep { $after->{$_} > 10000 } keys %$after;
my $f = $gv->dir . '/victim';
($rc, undef, $err) = $ceph->s3($bucket, 'get', $victim, $f);
is($rc, 0, "fetched $victim") or diag($err);
{
	open(my $h, '+<:raw', $f) or die;
	my $at = int($after->{$victim} / 2);
	seek($h, $at, 0);
	read($h, my $b, 1);
	seek($h, $at, 0);
	print $h chr(ord($b) ^ 0xff);
	close $h;
}
($rc, undef, $err) = $ceph->s3($bucket, 'put', $victim, $f);
is($rc, 0, '  PUT again with a byte flipped') or diag($err);
(my $vid = $victim) =~ s{.*/}{};
($rc, $out, $err) = $gv->ctl('scrub');
is($rc, 1, 'scrub finds damage: exit 1') or diag("$out$err");
like("$out$err", qr/pack $vid/, "  naming pack $vid") or diag("$out$err");

is($gv->stop, 0, 'daemon stops cleanly');
$ceph->stop;
ok(!$ceph->procs, 'no Ceph process left');
done_testing;
