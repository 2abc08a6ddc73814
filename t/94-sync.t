#!/usr/bin/perl
# t/94-sync.t - gigavaultctl sync to another bucket on a real Ceph
# (t/lib/GVCeph.pm): server A (DataDir packs, alice's and bob's records
# mixed in its packs) backs up; `sync --client alice` copies alice's
# blobs into packs of her own and her journal records into segments of
# bucket B (prefix offsite/); a server B made from bucket B alone
# (`rebuild-catalog --from-bucket` on an empty DataDir, Store.Backend =
# s3 on bucket B) restores alice's snapshots byte for byte and knows
# nothing of bob.  A second sync after one more backup writes exactly
# one new pack and copies fewer records; a later one copies nothing; a
# forget on A is not copied (the target keeps its own retention).  A
# damaged pack on A is named, not copied, no segment is written and sync
# exits 1.  A server whose packs are in bucket A (Store.Backend = s3)
# syncs to another prefix of bucket B, and a server made from that
# restores.  The housekeeper's Sync job copies a client of another
# server and records the run in housekeeping.json.  Skips only when
# ceph-mon, ceph-osd or radosgw is missing; Ceph is stopped in every
# case.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 900 }
use Test::More;
use File::Path qw(make_path remove_tree);
use File::Temp ();
use JSON::PP;
use lib 't/lib';
use GVCeph;
use GV;
use GVClient;

GVCeph::skip_unless_ceph();
alarm 1200;
my $ceph = GVCeph->start;
my $cred = $ceph->cred_file;
my $bucket = 'gvsync';
my $prefix = 'offsite/';
my $tmpd = File::Temp::tempdir('gv-sync-XXXXXX', TMPDIR => 1,
    CLEANUP => !$ENV{GV_KEEP});
chmod 0755, $tmpd;	# the alert mail's directory below is Server.User's

my $gva = GV->start(Workers => 1);
my $dira = $gva->dir;
my $target = "$dira/offsite.conf";
open(my $tf, '>', $target) or die;
print $tf "# bucket B\nEndpoint = " . $ceph->endpoint . "\nRegion = " .
    $ceph->region . "\n" .
    "Bucket = $bucket\nPrefix = \"offsite\"\nCredentialsFile = $cred\n" .
    "PathStyle = yes\n";
close $tf;

my ($rc, $err, $out);
($rc, $out, $err) = $ceph->s3($bucket, 'mkbucket');
is($rc, 0, "bucket $bucket made") or diag $err;

sub keys_under {
	my ($dir, $pfx) = @_;
	return sort keys %{ $ceph->list($bucket, ($pfx // $prefix) . $dir) };
}
sub nkeys {
	my @k = keys_under(@_);
	return scalar @k;
}

sub sync_json {
	my (@args) = @_;
	my ($rc, $out, $err) = $gva->ctl('sync', '--to-bucket', $target,
	    @args, '--json');
	my $j = eval { JSON::PP->new->decode($out) };
	return ($rc, $j, $err);
}

# Alice and bob back up through the one worker: their records share
# packs.
my $alice = GVClient->new($gva, 'alice');
my $bob = GVClient->new($gva, 'bob');
my $asrc = "$dira/asrc";
GVClient::make_tree($asrc);
my $bsrc = "$dira/bsrc";
make_path($bsrc);
GVClient::_spit_bytes("$bsrc/bob.bin", GVClient::pseudo_bytes(1_500_000, 'bob'));
my %snap;	# alice's snapshot id -> copy of the tree backed up
sub backup_alice {
	my ($tag) = @_;
	my ($rc, $out, $err) = $alice->run('backup', $asrc);
	is($rc, 0, "alice backup $tag") or diag $err;
	my ($id) = "$out$err" =~ /snapshot (\d+) saved/;
	my $copy = "$tmpd/alice-$id";
	system('cp', '-a', $asrc, $copy) == 0 or die "cp: $?";
	$snap{$id} = $copy;
	return $id;
}
my $a1 = backup_alice(1);
($rc, $out, $err) = $bob->run('backup', $bsrc);
is($rc, 0, 'bob backup') or diag $err;
GVClient::_spit_bytes("$asrc/second.bin", GVClient::pseudo_bytes(1_200_000, 'a2'));
my $a2 = backup_alice(2);
is(($gva->ctl('policy', 'set', 'alice', '--keep-last', 5))[0], 0,
    'a policy for alice');

# A dry run writes nothing.
my ($j1, $j2, $j3, $j4);
($rc, $j1, $err) = sync_json('--client', 'alice', '--dry-run');
is($rc, 0, 'sync --dry-run exits 0') or diag $err;
ok($j1 && $j1->{records} > 0 && $j1->{dry_run}, 'dry run: would copy records')
    or diag explain $j1;
is(nkeys(''), 0, 'dry run: the bucket is still empty');

# The first sync.
($rc, $j1, $err) = sync_json('--client', 'alice');
is($rc, 0, 'first sync exits 0') or diag $err;
diag(sprintf('first sync: %d records, %d bytes from %d source packs into '
    . '%d packs; %d journal records', map { $j1->{$_} // -1 }
    qw(records bytes source_packs packs journal_records)));
is($j1->{packs}, 1, 'one target pack (one client)');
ok($j1->{records} > 10, 'alice\'s records copied');
ok($j1->{journal_records} >= 5, 'client, registration, policy and two commits')
    or diag explain $j1;
my @packs1 = keys_under('packs/');
my @segs1 = keys_under('journal/');
is(scalar @packs1, 1, 'the bucket holds one pack');
ok(scalar(grep { $_ eq "${prefix}bucket.json" } keys_under('')), 'and bucket.json');
is(scalar @segs1, $j1->{journal_records}, 'one segment per journal record');

# Server B from bucket B alone: an empty DataDir, rebuild-catalog
# --from-bucket, gigavaultd on bucket B.
sub from_bucket {
	my ($pfx) = @_;
	my $dir = File::Temp::tempdir('gv-syncb-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{GV_KEEP});
	chmod 0755, $dir;
	my %o = ('Prune.Interval' => 0, 'Scrub.Interval' => 0,
	    $ceph->gv_options(Bucket => $bucket, Prefix => $pfx));
	my $conf = "$dir/gigavault.conf";
	GV::_spit($conf, GV::make_conf(-dir => $dir, %o));
	my ($rc, $o, $e) = GVClient::run_cmd([$GVClient::CTL, '-f', $conf,
	    'rebuild-catalog', '--from-bucket'], {}, 300);
	is($rc, 0, "rebuild-catalog --from-bucket on $bucket/$pfx") or
	    diag "$o$e";
	my $gv = GV->start(Workers => 1, 'Server.DataDir' => "$dir/data", %o);
	return ($gv, $o);
}
sub rebuild_again {
	my ($gv) = @_;
	$gv->stop if $gv->alive;
	my ($rc, $o, $e) = $gv->ctl('rebuild-catalog', '--from-bucket');
	is($rc, 0, 'server B stopped, rebuilt from the bucket again') or
	    diag "$o$e";
	GVClient::restart_daemon($gv) or BAIL_OUT('server B does not start');
	return $o;
}
my ($gvb, $rb) = from_bucket($prefix);

like($rb, qr/rebuilt: 1 clients, 2 snapshots, 1 policies/,
    'server B knows alice, her two snapshots and her policy') or diag $rb;
my $portb = '127.0.0.1:' . $gvb->port('BackupServer');

sub restore_b {
	my ($id, $tag) = @_;
	my $t = "$tmpd/restore-$tag-$id";
	my ($rc, $out, $err) = $alice->run('-s', $portb, 'restore',
	    '--target', $t, $id);
	is($rc, 0, "$tag: alice restores snapshot $id from server B")
	    or diag $err;
	my @d = GVClient::compare_trees($snap{$id}, "$t$asrc");
	ok(!@d, "$tag: ... byte for byte") or diag join("\n", @d[0 .. ($#d > 9 ? 9 : $#d)]);
	remove_tree($t);
}
restore_b($_, 'first') for sort keys %snap;
($rc, $out, $err) = $gvb->ctl('client', 'list');
unlike($out, qr/\bbob\b/, 'server B has no bob');

# One more backup, a forget on A; the second sync copies the new records
# only.
GVClient::_spit_bytes("$asrc/third.bin", GVClient::pseudo_bytes(800_000, 'a3'));
my $a3 = backup_alice(3);
is(($gva->ctl('client', 'allow-forget', 'alice'))[0], 0, 'allow-forget alice');
($rc, $out, $err) = $alice->run('forget', $a1);
is($rc, 0, "alice forgets snapshot $a1 on A") or diag $err;
# A server running on the target holds its lease: sync waits for it to
# stop (it releases the lease).
is($gvb->stop, 0, 'server B stops before the next sync');
($rc, $j2, $err) = sync_json('--client', 'alice');
is($rc, 0, 'second sync exits 0') or diag $err;
diag(sprintf('second sync: %d records, %d bytes into %d packs; %d journal '
    . 'records, %d not copied', map { $j2->{$_} // -1 }
    qw(records bytes packs journal_records journal_skipped)));
is($j2->{packs}, 1, 'second sync: one new pack');
ok($j2->{records} > 0 && $j2->{records} < $j1->{records},
    'second sync: fewer records than the first');
is($j2->{journal_skipped}, 1, 'second sync: the forget is not copied');
is(nkeys('packs/'), 2, 'the bucket holds two packs');
is(nkeys('journal/'), $j1->{journal_records} + $j2->{journal_records},
    'and a segment for each record copied');

($rc, $j3, $err) = sync_json();
is($rc, 0, 'third sync (every client) exits 0') or diag $err;
ok($j3->{records} > 0 && $j3->{packs} == 1,
    'third sync: bob was never copied, now he is') or diag explain $j3;
($rc, $j3, $err) = sync_json();
is($rc, 0, 'fourth sync exits 0') or diag $err;
is($j3->{records} + $j3->{packs} + $j3->{journal_records}, 0,
    'fourth sync: nothing new, nothing copied') or diag explain $j3;

$rb = rebuild_again($gvb);
like($rb, qr/rebuilt: 2 clients, 4 snapshots/,
    'server B rebuilt: alice\'s three snapshots (the forget kept) and bob\'s')
    or diag $rb;
restore_b($_, 'second') for sort keys %snap;

# A damaged pack on A: named, not copied, no segment, exit 1.
GVClient::_spit_bytes("$asrc/fourth.bin", GVClient::pseudo_bytes(2_000_000, 'a4'));
backup_alice(4);
$gva->stop;
my @before = keys_under('packs/');
my @segs = keys_under('journal/');
# the newest pack holds the fourth backup's new chunks
my ($newest) = sort { -M $a <=> -M $b } glob("$dira/data/packs/*.pack");
{
	open my $fh, '+<:raw', $newest or die "$newest: $!";
	my $size = -s $newest;
	for my $off (map { int($size * $_ / 10) } 3 .. 7) {
		seek $fh, $off, 0;
		read $fh, my $b, 1;
		seek $fh, $off, 0;
		print $fh chr(ord($b) ^ 0xff);
	}
	close $fh;
}
(my $pname = $newest) =~ s{.*/([0-9a-f]{8})\.pack$}{$1};
is($gvb->stop, 0, 'server B stops again (it releases the lease)');
($rc, $out, $err) = $gva->ctl('sync', '--to-bucket', $target, '--client', 'alice');
is($rc, 1, 'sync with a damaged pack exits 1') or diag "$out$err";
like($err, qr/pack $pname is damaged and was not copied/, "... naming pack $pname")
    or diag $err;
is(nkeys('journal/'), scalar @segs, '... no segment written');
my $hka = eval { JSON::PP->new->decode(GV::_slurp("$dira/data/housekeeping.json")) } // {};
is($hka->{sync}{last}{result}, 'error', '... recorded in housekeeping.json as an error')
    or diag explain $hka->{sync};
like($hka->{sync}{last}{message} // '', qr/damaged packs not copied/,
    '... with why');
is(nkeys('packs/'), scalar @before,
    '... and no pack (the fourth backup wrote only that one)');


# A prefix with a lease object is a server's: refused.
my $leased = "$dira/leased.conf";
open($tf, '>', $leased) or die;
print $tf "Endpoint = " . $ceph->endpoint . "\nRegion = " . $ceph->region .
    "\nBucket = $bucket\nPrefix = leased/\nCredentialsFile = $cred\n";
close $tf;
GV::_spit("$tmpd/lease", '{"holder": "x"}');
($rc, $out, $err) = $ceph->s3($bucket, 'put', 'leased/lease', "$tmpd/lease");
is($rc, 0, 'a lease object under leased/') or diag $err;
($rc, $out, $err) = $gva->ctl('sync', '--to-bucket', $leased);
is($rc, 1, 'sync to a prefix with a lease exits 1') or diag "$out$err";
like($err, qr{leased/lease exists: a gigavaultd writes to this bucket},
    '... naming the lease') or diag $err;
is(nkeys('', 'leased/'), 1, '... and writes nothing there');

$gvb->stop if $gvb->alive;
$gva->stop;

# A source whose packs are in a bucket (Store.Backend = s3, bucket gva):
# dave's records are fetched from there, copied under froms3/ of bucket
# B, and a server made from that restores his snapshots.
($rc, $out, $err) = $ceph->s3('gva', 'mkbucket');
is($rc, 0, 'bucket gva made') or diag $err;
my $gvs = GV->start(Workers => 1, 'Prune.Interval' => 0,
    'Scrub.Interval' => 0, $ceph->gv_options(Bucket => 'gva'));
my $dave = GVClient->new($gvs, 'dave');
my $dsrc = $gvs->dir . '/dsrc';
GVClient::make_tree($dsrc);
my %dsnap;
for my $round (1, 2) {
	GVClient::_spit_bytes("$dsrc/r$round.bin",
	    GVClient::pseudo_bytes(600_000, "d$round"));
	($rc, $out, $err) = $dave->run('backup', $dsrc);
	is($rc, 0, "dave backup $round (packs in bucket gva)") or diag $err;
	my ($id) = "$out$err" =~ /snapshot (\d+) saved/;
	system('cp', '-a', $dsrc, "$tmpd/dave-$id") == 0 or die;
	$dsnap{$id} = "$tmpd/dave-$id";
}
my $target3 = $gvs->dir . '/froms3.conf';
open($tf, '>', $target3) or die;
print $tf "Endpoint = " . $ceph->endpoint . "\nRegion = " . $ceph->region .
    "\nBucket = $bucket\nPrefix = froms3/\nCredentialsFile = $cred\n";
close $tf;
# the cache emptied: every pack comes from bucket gva
remove_tree(glob($gvs->dir . '/data/cache/*'));
($rc, $out, $err) = $gvs->ctl('sync', '--to-bucket', $target3, '--json');
is($rc, 0, 'sync from an S3-backed server exits 0') or diag "$out$err";
my $js = eval { JSON::PP->new->decode($out) } // {};
ok($js->{records} > 10 && $js->{packs} == 1 && $js->{journal_records} >= 4,
    'its records and journal copied') or diag explain $js;
# the server's own bucket is no sync target
my $own = $gvs->dir . '/own.conf';
open($tf, '>', $own) or die;
print $tf "Endpoint = " . $ceph->endpoint . "\nRegion = " . $ceph->region .
    "\nBucket = gva\nCredentialsFile = $cred\n";
close $tf;
my %gva_before = %{ $ceph->list('gva', '') };
($rc, $out, $err) = $gvs->ctl('sync', '--to-bucket', $own);
is($rc, 1, "sync into the server's own bucket exits 1") or diag "$out$err";
like($err, qr/written by a gigavaultd, not by sync|lease exists: a gigavaultd writes to this bucket/,
    '... saying why') or diag $err;
is_deeply($ceph->list('gva', ''), \%gva_before, '... and writes nothing there');
$gvs->stop;
my ($gvb2, $rb2) = from_bucket('froms3/');
like($rb2, qr/rebuilt: 1 clients, 2 snapshots/, 'server B2 knows dave')
    or diag $rb2;
my $portb2 = '127.0.0.1:' . $gvb2->port('BackupServer');
for my $id (sort keys %dsnap) {
	my $t = "$tmpd/restore-dave-$id";
	($rc, $out, $err) = $dave->run('-s', $portb2, 'restore', '--target', $t,
	    $id);
	is($rc, 0, "dave restores snapshot $id from server B2") or diag $err;
	my @d = GVClient::compare_trees($dsnap{$id}, "$t$dsrc");
	ok(!@d, '... byte for byte') or diag join("\n", @d[0 .. ($#d > 9 ? 9 : $#d)]);
}
$gvb2->stop;

# The housekeeper's job: a server with a Sync section copies carol to
# prefix hk/ every 2 s and records each run in housekeeping.json.
my $target2 = "$dira/hk.conf";
open($tf, '>', $target2) or die;
print $tf "Endpoint = " . $ceph->endpoint . "\nRegion = " . $ceph->region .
    "\n" .
    "Bucket = $bucket\nPrefix = hk/\nCredentialsFile = $cred\n";
close $tf;
my $mdir = "$tmpd/mail";
mkdir $mdir or die;
chmod 01777, $mdir;
my $gvc = GV->start(Workers => 1,
    'Sync.Target' => $target2, 'Sync.Clients' => ['carol'],
    'Sync.Interval' => 2, 'Alerts.Mail' => 'ops@example.org',
    'Alerts.Sendmail' => "cat >> $mdir/mbox", 'Alerts.CheckInterval' => 1,
    'Alerts.FreeSpaceWarning' => 0);
my $carol = GVClient->new($gvc, 'carol');
my $csrc = $gvc->dir . '/csrc';
make_path($csrc);
GVClient::_spit_bytes("$csrc/c.bin", GVClient::pseudo_bytes(300_000, 'carol'));
($rc, $out, $err) = $carol->run('backup', $csrc);
is($rc, 0, 'carol backs up on server C') or diag $err;
my $hkfile = $gvc->dir . '/data/housekeeping.json';
my $last;
ok(GV::wait_until(sub {
	my $hk = eval { JSON::PP->new->decode(GV::_slurp($hkfile)) } or return 0;
	$last = $hk->{sync}{last};
	return $last && $last->{result} eq 'ok' && $last->{records} > 0;
}, 120), 'the housekeeper synced carol (housekeeping.json: sync ok, records copied)')
    or diag explain $last;
is($last->{damaged}, 0, '... nothing damaged');
ok($last->{journal_records} >= 3, '... her journal records') or diag explain $last;
is(nkeys('packs/', 'hk/'), 1,
    '... into one pack under hk/');
like($gvc->log_text, qr{sync to $bucket/hk/: done: \d+ blobs}, '... and logged it');
# gigavaultctl sync without --to-bucket: Sync.Target and Sync.Clients
($rc, $out, $err) = $gvc->ctl('sync', '--json');
is($rc, 0, 'gigavaultctl sync without --to-bucket: Sync.Target') or diag "$out$err";
my $jc = eval { JSON::PP->new->decode($out) } // {};
is($jc->{prefix}, 'hk/', '... its prefix') or diag $out;
is($jc->{clients}, 1, '... Sync.Clients: carol alone') or diag $out;

# A failing job: an alert sync_failed by mail.
($rc, $out, $err) = $ceph->s3($bucket, 'put', 'hk/lease', "$tmpd/lease");
is($rc, 0, 'a lease object under hk/: the next job fails') or diag $err;
ok(GV::wait_until(sub {
	my $hk = eval { JSON::PP->new->decode(GV::_slurp($hkfile)) } or return 0;
	$last = $hk->{sync}{last};
	return $last && $last->{result} eq 'error';
}, 120), 'housekeeping.json: the sync job ended in error') or diag explain $last;
like($last->{message}, qr{hk/lease exists}, '... saying why');
ok(GV::wait_until(sub { GV::_slurp("$mdir/mbox") =~ /sync_failed/ }, 60),
    'an alert sync_failed was mailed') or diag $gvc->log_text;
like(GV::_slurp("$mdir/mbox"), qr/off-site sync failed: .*hk\/lease exists/,
    '... with the reason');
$gvc->stop;
done_testing;
