#!/usr/bin/perl
# Issue 15's full disk: DataDir on a 96 MiB tmpfs (in a mount namespace
# of the daemon's own, as in t/42-disk-full.t).  A 150 MB backup fails
# with a clear error and gives its space back at once (the unindexed
# pack tail is cut); then an 8 MB backup succeeds and every older
# snapshot restores identical.  Under Server.ReserveSpace an upload is
# refused with the clear message while snapshots, restore, verify,
# forget and prune go on; the status shows free space, capacity, the
# reserve and the level (warning, critical).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path remove_tree);
use JSON::PP;
use GV;
use GVClient;
use GVTmpfs;

my $why = GVTmpfs::cannot(qw(du fallocate));
plan skip_all => $why if $why;

my $MiB = 1 << 20;
# ReserveSpace stays at its default (-1: 1% of the file system); prune
# runs only when asked, with no grace, to show it frees space.
my $fs = GVTmpfs->start('96m', Workers => 2,
                        'Prune.Interval' => 0, 'Prune.GraceSeconds' => 0);
my $gv = $fs->gv;

# In the daemon's mount namespace: a command, du -sk of DataDir.
sub in_ns { $fs->in_ns(@_) }
sub du_kib { $fs->du_kib }
sub disk {
    my $s = $gv->status or return {};
    return $s->{disk} // {};
}
sub mib { sprintf '%.1f MiB', ($_[0] // 0) / $MiB }

my $cl = GVClient->new($gv, 'filler');
my ($crc, $cout, $cerr) = GVClient::ctl($gv, 'client', 'allow-forget', 'filler');
is($crc, 0, 'the client may forget') or diag("$cout$cerr");
sub tree {
    my ($name, $n, $size) = @_;
    my $d = $gv->dir . "/$name";
    make_path($d);
    GVClient::_spit_bytes("$d/f$_", GVClient::pseudo_bytes($size, "$name$_")) for 1 .. $n;
    return $d;
}
sub backup {
    my ($set, $dir) = @_;
    my ($rc, $out, $err) = $cl->run('backup', '--set', $set, $dir);
    my ($id) = $out =~ /snapshot (\d+) saved/;
    return ($rc, $err, $id);
}

# --- the status: free space, capacity, reserve, level
my $k = disk();
like($k->{capacity}, qr/^\d+$/, 'status: disk.capacity is an integer');
cmp_ok($k->{capacity}, '>', 90 * $MiB, '... of the 96 MiB tmpfs');
cmp_ok($k->{capacity}, '<=', 96 * $MiB, '... not of another file system');
cmp_ok($k->{free}, '<=', $k->{capacity}, 'disk.free is at most the capacity');
is($k->{reserve}, int($k->{capacity} / 100), 'the default reserve: 1% of the file system');
is($k->{level}, 'ok', 'level ok on an empty disk');
my $R = $k->{reserve};

# --- older snapshots
my @older;
for my $o (['a', 3, 1_000_000], ['b', 2, 1_500_000]) {
    my $d = tree("older-$o->[0]", $o->[1], $o->[2]);
    my ($rc, $err, $id) = backup("older-$o->[0]", $d);
    is($rc, 0, "older backup $o->[0] fits") or diag($err);
    push @older, [$id, $d];
}

# --- a 150 MB backup on the 96 MiB disk
my $big = tree('big', 30, 5_000_000);
my $du0 = du_kib();
my $free0 = disk()->{free};
my ($rc, $err) = backup('big', $big);
is($rc, 2, 'a 150 MB backup does not fit: exit 2');
like($err, qr/the server's disk is full \(\d+\.\d MiB free, reserve \d+\.\d MiB\): backups are refused until space is freed \(forget \+ prune\)/,
     '... with the clear message') or diag($err);
(my $msg = $err) =~ s/\s+\z//;
my $du1 = du_kib();
my $free1 = disk()->{free};
cmp_ok($du1 - $du0, '<', 2048, 'the failed upload gave its space back: DataDir within 2 MiB of its size before')
    or diag("du before $du0 KiB, after $du1 KiB");
cmp_ok($free0 - $free1, '<', 2 * $MiB, '... and the free space is back')
    or diag('free before ' . mib($free0) . ', after ' . mib($free1));
like($gv->log_text, qr/pack write: \d+\.\d MiB free, reserve \d+\.\d MiB/, 'the server logs the refusal');
is(scalar(() = $cl->snapshots), 2, 'only the older snapshots are listed');
my ($sent) = $gv->log_text =~ /ended: the server's disk is full [^;]*; nothing committed; (\d+) bytes in/;
diag(sprintf('full disk: tmpfs %s, reserve %s; before the 150 MB backup: free %s, du %d KiB; '
    . 'it sent %s before the refusal; after it failed: free %s, du %d KiB; client said: %s',
    mib($k->{capacity}), mib($R), mib($free0), $du0, mib($sent), mib($free1), $du1, $msg));

# --- then an 8 MB backup succeeds
my $eight = tree('eight', 8, 1_000_000);
my ($id8);
($rc, $err, $id8) = backup('eight', $eight);
is($rc, 0, 'then an 8 MB backup succeeds') or diag($err);
push @older, [$id8, $eight];
diag('after the 8 MB backup: free ' . mib(disk()->{free}) . ', du ' . du_kib() . ' KiB');

my $n = 0;
for my $o (@older) {
    my $t = $gv->dir . '/restore' . ++$n;
    ($rc, undef, $err) = $cl->run('restore', '--target', $t, $o->[0]);
    is($rc, 0, "snapshot $o->[0] restores") or diag($err);
    is(scalar(GVClient::compare_trees($o->[1], "$t$o->[1]")), 0, '... identical');
}

# --- under the reserve: fill the disk with a file of our own
my $filler = $fs->datadir . "/filler";
sub fill_to {
    my ($free) = @_;
    in_ns('rm', '-f', $filler);
    my $have = disk()->{free};
    return $have if $have <= $free;
    in_ns('fallocate', '-l', $have - $free, $filler) == 0 or return;
    return disk()->{free};
}
my $f = fill_to(int($R / 2));
cmp_ok($f, '<', $R, 'filled: free space under the reserve') or diag(mib($f));
is(disk()->{level}, 'critical', 'the status says critical');
my ($src, $sout, $serr) = GVClient::ctl($gv, 'stats', '--json');
my $sj = eval { JSON::PP->new->decode($sout) } || {};
is($sj->{disk} && $sj->{disk}{level}, 'critical', 'gigavaultctl stats says critical too')
    or diag("$sout$serr");
my $small = tree('small', 1, 300_000);
($rc, $err) = backup('small', $small);
is($rc, 2, 'under the reserve an upload is refused: exit 2');
like($err, qr/the server's disk is full \(\d+\.\d MiB free, reserve \d+\.\d MiB\): backups are refused until space is freed \(forget \+ prune\)/,
     '... with the clear message') or diag($err);
my @s = $cl->snapshots;
is(scalar @s, 3, 'snapshots are listed');
my $t = $gv->dir . '/restore-full';
($rc, undef, $err) = $cl->run('restore', '--target', $t, $older[0][0]);
is($rc, 0, 'a restore works') or diag($err);
is(scalar(GVClient::compare_trees($older[0][1], "$t$older[0][1]")), 0, '... identical');
($rc, undef, $err) = $cl->run('verify', $older[1][0]);
is($rc, 0, 'verify works') or diag($err);
($rc, undef, $err) = $cl->run('forget', $id8);
is($rc, 0, 'forget works (a catalog write)') or diag($err);
my ($prc, $pout, $perr) = GVClient::ctl($gv, 'prune');
is($prc, 0, "prune works") or diag("$pout$perr");
my $fp = disk()->{free};
cmp_ok($fp, '>', $f + 7 * $MiB, 'forget + prune gave the 8 MB back')
    or diag('free ' . mib($f) . ' -> ' . mib($fp));
diag('under the reserve: free ' . mib($f) . '; after forget + prune: ' . mib($fp));
($rc, $err) = backup('small', $small);
is($rc, 0, 'then an upload is accepted again') or diag($err);

# --- the warning level: under twice the reserve
$f = fill_to(int($R * 3 / 2));
ok($f >= $R && $f < 2 * $R, 'free space between the reserve and twice it') or diag(mib($f));
is(disk()->{level}, 'warning', 'the status says warning');
in_ns('rm', '-f', $filler);
is(disk()->{level}, 'ok', 'and ok again with the file gone');

@s = $cl->snapshots;
is(scalar @s, 3, 'two older snapshots and the small one');
ok($gv->ready, 'the pool is whole');
is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
