#!/usr/bin/perl
# t/94-sync.t - gigavaultctl sync to another bucket on a real Ceph
# (t/lib/ceph-start.sh on free loopback ports in this test's directory):
# server A (DataDir packs, alice's and bob's records mixed in its packs)
# backs up; `sync --client alice` copies alice's blobs into packs of her
# own and her journal records into a segment of bucket B; a server B
# made from bucket B alone (packs and segments fetched into an empty
# DataDir, the server id from bucket.json, rebuild-catalog) restores
# alice's snapshots byte for byte and knows nothing of bob.  A second
# sync after one more backup writes exactly one new pack and one new
# segment and copies fewer records; a third copies nothing; a forget on
# A is not copied (the target keeps its own retention).  A damaged pack
# on A is named, not copied, no segment is written and sync exits 1.
# The housekeeper's Sync job copies a client of another server and
# records the run in housekeeping.json.
# Skips only when ceph-mon, ceph-osd or radosgw is missing; Ceph is
# stopped in every case.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path remove_tree);
use File::Temp ();
use JSON::PP;
use Time::HiRes qw(time);
use lib 't/lib';
use GV qw(free_ports);
use GVClient;

for my $p (qw(ceph-mon ceph-osd radosgw)) {
	plan skip_all => "$p not installed (tools/deps --test)"
	    unless grep { -x "$_/$p" } split /:/, $ENV{PATH};
}
$ENV{GV_TEST_TIMEOUT} //= 600;
alarm 900;

my $src = $ENV{GV_SRCDIR} // '.';
my $s3bin = ($ENV{GV_BUILDDIR} // '.') . '/t/gv-s3';
my $start = "$src/t/lib/ceph-start.sh";
die "$s3bin is not built (make check)" unless -x $s3bin;

my $tmp = File::Temp::tempdir('gv-sync-XXXXXX', TMPDIR => 1,
    CLEANUP => !$ENV{GV_KEEP});
my $cdir = "$tmp/ceph";
mkdir $cdir or die "$cdir: $!";
my $started = 0;
sub stop_ceph {
	return unless $started;
	$started = 0;
	system('sh', $start, 'stop', $cdir);
}
END { stop_ceph() }
$SIG{$_} = sub { stop_ceph(); exit 1 } for qw(INT TERM HUP);

my ($monport, $rgwport) = free_ports(2);
$started = 1;
my $t0 = time;
my $out = `sh $start start $cdir $monport $rgwport 2>&1`;
is($?, 0, sprintf('Ceph started in %.1f s', time - $t0)) or do {
	diag($out);
	BAIL_OUT('no Ceph');
};
my %env;
open(my $ef, '<', "$cdir/s3.env") or die "$cdir/s3.env: $!";
while (<$ef>) { $env{$1} = $2 if /^(\w+)=(.*)$/ }
close $ef;

my $gva = GV->start(Workers => 1);
my $dira = $gva->dir;
my @own = (stat "$dira/data")[4, 5];

# The credentials and the target file, readable by DataDir's owner (the
# user gigavaultctl becomes when run as root).
my $cred = "$dira/s3cred";
open(my $cf, '>', $cred) or die;
print $cf "access_key_id = $env{S3_ACCESS_KEY}\n" .
    "secret_access_key = $env{S3_SECRET_KEY}\n";
close $cf;
chmod 0600, $cred;
chown @own, $cred;
my $bucket = 'gvsync';
my $prefix = 'offsite/';
my $target = "$dira/offsite.conf";
open(my $tf, '>', $target) or die;
print $tf "# bucket B\nEndpoint = $env{S3_ENDPOINT}\nRegion = $env{S3_REGION}\n" .
    "Bucket = $bucket\nPrefix = \"offsite\"\nCredentialsFile = $cred\n" .
    "PathStyle = yes\n";
close $tf;

sub s3 {
	my @cmd = ($s3bin, '-e', $env{S3_ENDPOINT}, '-r', $env{S3_REGION},
	    '-b', $bucket, '-k', $cred, @_);
	return GVClient::run_cmd(\@cmd, {}, 120);
}
my ($rc, $err);
($rc, $out, $err) = s3('mkbucket');
is($rc, 0, "bucket $bucket made") or diag $err;

sub keys_under {
	my ($dir) = @_;
	my ($rc, $out, $err) = s3('list', "$prefix$dir", 1000);
	die "list $dir: $err" if $rc != 0;
	return map { (split / /)[0] } grep { !/^keys \d+$/ } split /\n/, $out;
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
	my $copy = "$tmp/alice-$id";
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
is(scalar(keys_under('')), 0, 'dry run: the bucket is still empty');

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
is(scalar @segs1, 1, 'and one journal segment');
ok(scalar(grep { $_ eq "${prefix}bucket.json" } keys_under('')), 'and bucket.json');

# Server B from bucket B alone.
my $gvb = GV->start(Workers => 1);
my $datab = $gvb->dir . '/data';
my @ownb = (stat $datab)[4, 5];
$gvb->stop;
sub fetch_b {
	remove_tree("$datab/catalog", "$datab/packs");
	unlink "$datab/journal", glob("$datab/catalog.broken-*");
	remove_tree(glob("$datab/catalog.broken-*"));
	make_path("$datab/packs");
	my $idf = "$tmp/bucket.json";
	my ($rc, $o, $e) = s3('get', "${prefix}bucket.json", $idf);
	die "get bucket.json: $e" if $rc != 0;
	my $id = JSON::PP->new->decode(GV::_slurp($idf))->{server_id};
	GV::_spit("$datab/server-id", "$id\n");
	for my $k (keys_under('packs/')) {
		(my $n = $k) =~ s{.*/}{};
		($rc, $o, $e) = s3('get', $k, "$datab/packs/$n.pack");
		die "get $k: $e" if $rc != 0;
	}
	# The segments joined into one journal: each one's header dropped but
	# the first's.
	my $journal = '';
	for my $k (sort(keys_under('journal/'))) {
		($rc, $o, $e) = s3('get', $k, "$tmp/seg");
		die "get $k: $e" if $rc != 0;
		my $seg = GV::_slurp("$tmp/seg");
		die "$k: not a journal segment" unless substr($seg, 0, 8) eq "GVJRNL1\n";
		$journal .= $journal eq '' ? $seg : substr($seg, 8);
	}
	GV::_spit("$datab/journal", $journal);
	system('chown', '-R', "$ownb[0]:$ownb[1]", $datab) == 0 or die;
	($rc, $o, $e) = $gvb->ctl('rebuild-catalog');
	is($rc, 0, 'server B: rebuild-catalog from bucket B\'s objects')
	    or diag "$o$e";
	return $o;
}
my $rb = fetch_b();
like($rb, qr/rebuilt: 1 clients, 2 snapshots, 1 policies/,
    'server B knows alice, her two snapshots and her policy') or diag $rb;
GVClient::restart_daemon($gvb) or BAIL_OUT('server B does not start');
my $portb = '127.0.0.1:' . $gvb->port('BackupServer');

sub restore_b {
	my ($id, $tag) = @_;
	my $t = "$tmp/restore-$tag-$id";
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
($rc, $j2, $err) = sync_json('--client', 'alice');
is($rc, 0, 'second sync exits 0') or diag $err;
diag(sprintf('second sync: %d records, %d bytes into %d packs; %d journal '
    . 'records, %d not copied', map { $j2->{$_} // -1 }
    qw(records bytes packs journal_records journal_skipped)));
is($j2->{packs}, 1, 'second sync: one new pack');
ok($j2->{records} > 0 && $j2->{records} < $j1->{records},
    'second sync: fewer records than the first');
is($j2->{journal_skipped}, 1, 'second sync: the forget is not copied');
is(scalar(keys_under('packs/')), 2, 'the bucket holds two packs');
is(scalar(keys_under('journal/')), 2, 'and two segments');

($rc, $j3, $err) = sync_json();
is($rc, 0, 'third sync (every client) exits 0') or diag $err;
ok($j3->{records} > 0 && $j3->{packs} == 1,
    'third sync: bob was never copied, now he is') or diag explain $j3;
($rc, $j3, $err) = sync_json();
is($rc, 0, 'fourth sync exits 0') or diag $err;
is($j3->{records} + $j3->{packs} + $j3->{journal_records}, 0,
    'fourth sync: nothing new, nothing copied') or diag explain $j3;

$gvb->stop;
$rb = fetch_b();
like($rb, qr/rebuilt: 2 clients, 4 snapshots/,
    'server B rebuilt: alice\'s three snapshots (the forget kept) and bob\'s')
    or diag $rb;
GVClient::restart_daemon($gvb) or BAIL_OUT('server B does not start');
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
($rc, $out, $err) = $gva->ctl('sync', '--to-bucket', $target, '--client', 'alice');
is($rc, 1, 'sync with a damaged pack exits 1') or diag "$out$err";
like($err, qr/pack $pname is damaged and was not copied/, "... naming pack $pname")
    or diag $err;
is(scalar(keys_under('journal/')), scalar @segs, '... no segment written');
is(scalar(keys_under('packs/')), scalar @before,
    '... and no pack (the fourth backup wrote only that one)');

$gvb->stop;
$gva->stop;

# The housekeeper's job: a server with a Sync section copies carol to
# prefix hk/ every 2 s and records each run in housekeeping.json.
my $target2 = "$dira/hk.conf";
open($tf, '>', $target2) or die;
print $tf "Endpoint = $env{S3_ENDPOINT}\nRegion = $env{S3_REGION}\n" .
    "Bucket = $bucket\nPrefix = hk/\nCredentialsFile = $cred\n";
close $tf;
my $gvc = GV->start(Workers => 1,
    'Sync.Target' => $target2, 'Sync.Clients' => ['carol'],
    'Sync.Interval' => 2);
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
is(scalar(grep { m{^hk/packs/} } keys_under_prefix('hk/packs/')), 1,
    '... into one pack under hk/');
like($gvc->log_text, qr{sync to $bucket/hk/: done: \d+ blobs}, '... and logged it');
$gvc->stop;
done_testing;

sub keys_under_prefix {
	my ($p) = @_;
	my ($rc, $out, $err) = s3('list', $p, 1000);
	die "list $p: $err" if $rc != 0;
	return map { (split / /)[0] } grep { !/^keys \d+$/ } split /\n/, $out;
}
