#!/usr/bin/perl
# rebuild_follow() (server/rebuild.h), the standby's way of following an
# S3 bucket, against a real Ceph (t/lib/GVCeph.pm), driven through
# t/gv-follow on a second DataDir with the same S3 section: the first
# call brings every client, snapshot and blob; later calls bring only
# what is new (new snapshots, packs above the last one); a policy and a
# prune on the writer (snapshots forgotten, packs rewritten and deleted)
# are followed: forgotten snapshots go, index entries move to the
# rewritten packs, freed ones go; a call with nothing new changes
# nothing.  The followed catalog then serves a restore: the standby's
# DataDir is started as a gigavaultd after the writer stopped, and
# every snapshot it lists restores identical.  Skips only when the Ceph
# packages are missing.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 900 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use IPC::Open2;
use GVCeph;
use GV;
use GVClient;

GVCeph::skip_unless_ceph();
my $bin = ($ENV{GV_BUILDDIR} // '.') . '/t/gv-follow';
die "$bin is not built (make check)" unless -x $bin;
my $ceph = GVCeph->start;
my $bucket = 'gv93';
my %s3 = $ceph->gv_options(Bucket => $bucket);
my $gv = GV->start(Workers => 2, 'Prune.Interval' => 0,
    'Prune.GraceSeconds' => 0, 'Prune.RewriteBelow' => 100,
    'Scrub.Interval' => 0, %s3);
my $cl = GVClient->new($gv, 'alice');

my %src;
sub backup {
	my ($set, $seed) = @_;
	my $d = $src{$set} //= do {
		my $x = $gv->dir . "/src-$set";
		make_path($x);
		GVClient::make_tree($x);
		$x;
	};
	GVClient::_spit_bytes("$d/f$_",
	    GVClient::pseudo_bytes(200_000, "$set$seed$_")) for 1 .. 5;
	my ($rc, $out, $err) = $cl->run('backup', '--set', $set, $d);
	is($rc, 0, "backup $set ($seed)") or diag($err);
}
backup('home', 1);

# The standby's DataDir and config: same S3 section.
my $sdir = $gv->dir . '/standby';
make_path($sdir);
my $sconf = "$sdir/gigavault.conf";
open(my $fh, '>', $sconf) or die;
print $fh GV::make_conf(-dir => $sdir, %s3, 'Prune.Interval' => 0,
    'Scrub.Interval' => 0);
close $fh;
my $pid = open2(my $from, my $to, $bin, $sconf) or die;

sub ask {
	my ($cmd) = @_;
	print $to "$cmd\n";
	my @l;
	while (defined(my $l = <$from>)) {
		chomp $l;
		last if $l eq 'end';
		push @l, $l;
	}
	return @l;
}
sub snaps { join ' ', sort map { (split / /)[2] } grep { /^snap / } ask('list') }

my ($r) = ask('follow');
like($r, qr/^ok max_pack [1-9]\d* segments [1-9]\d* indexed [1-9]\d* snapshots 1$/,
    'first follow: the blobs and the snapshot') or diag($r);
is(snaps(), '1', '  snapshot 1 listed');
($r) = ask('follow');
like($r, qr/^ok .* indexed 0 snapshots 0$/, 'again: nothing new') or
    diag($r);

backup('home', 2);
backup('docs', 1);
($r) = ask('follow');
like($r, qr/^ok .* indexed [1-9]\d* snapshots 2$/,
    'after two backups: their blobs and two snapshots') or diag($r);
is(snaps(), '1 2 3', '  snapshots 1, 2, 3 listed');

my ($rc, $out, $err) = $gv->ctl('policy', 'set', 'alice', '--keep-last', '1');
is($rc, 0, 'the writer: keep the last snapshot of each set') or diag($err);
($rc, $out, $err) = $gv->ctl('prune');
is($rc, 0, 'the writer prunes') or diag("$out$err");
note($out);
like($out, qr/1 snapshots forgotten/, '  snapshot 1 forgotten');
like($out, qr/ 1 rewritten|[1-9]\d* packs removed/,
    '  packs rewritten or removed') or diag($out);
($r) = ask('follow');
like($r, qr/^ok /, 'follow after the prune') or diag($r);
is(snaps(), '2 3', '  snapshot 1 gone');
my %inx = map { /^pack (\d+) (\d+)$/ ? ($1 => $2) : () } ask('packs');
my %inb = map { m{/packs/([0-9a-f]{8})$} ? (hex($1) => 1) : () }
    keys %{ $ceph->list($bucket, 'gigavault/packs/') };
is(join(' ', grep { !$inb{$_} } sort keys %inx), '',
    '  no index entry points into a pack the bucket lacks') or
    diag(join ' ', %inx);
my ($tot) = ask('totals');
($rc, $out) = $gv->ctl('status', '--json');
my $js = eval { JSON::PP->new->decode($out) };
my ($c, $n, $u) = $tot =~ /^totals (\d+) (\d+) (\d+)$/;
is($n, 2, '  two snapshots in the totals');
is($u, $js->{storage}{unique_bytes}, "  unique bytes as the writer's ($u)");

close $to;
waitpid($pid, 0);
is($? >> 8, 0, 'gv-follow exits 0');

# The writer stops; the standby's DataDir serves the restores.
is($gv->stop, 0, 'the writer stops');
my $sid = GV::_slurp($gv->cfg->{Server}{DataDir} . '/server-id');
open($fh, '>', "$sdir/data/server-id") or die;
print $fh $sid;
close $fh;
system('chown', '-R', 'nobody:', "$sdir/data") if $> == 0;
my $gv2 = GV->start(Workers => 2, 'Prune.Interval' => 0,
    'Scrub.Interval' => 0, %s3,
    'Server.DataDir' => "$sdir/data",
    'Ports.BackupServer' => $gv->port('BackupServer'));
ok($gv2, 'gigavaultd on the followed DataDir');
my @s = $cl->snapshots;
is(join(' ', map { $_->{id} } @s), '2 3', 'the client lists 2 and 3');
for my $s (@s) {
	my $t = $gv->dir . "/r$s->{id}";
	($rc, $out, $err) = $cl->run('restore', '--target', $t, $s->{id});
	is($rc, 0, "snapshot $s->{id} restores") or diag($err);
	is(scalar(GVClient::compare_trees($src{$s->{set}}, "$t$src{$s->{set}}")),
	    0, '  identical');
}
is($gv2->stop, 0, 'it stops cleanly');
$ceph->stop;
ok(!$ceph->procs, 'no Ceph process left');
done_testing;
