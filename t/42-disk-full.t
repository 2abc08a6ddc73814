#!/usr/bin/perl
# A full disk: with DataDir on a small tmpfs (in a mount namespace of the
# daemon's own, so nothing outlives the test) and no reserve
# (Server.ReserveSpace = 0, so the pack write itself fails with ENOSPC),
# a backup that does not fit fails with a clear error, its pack tail is
# cut so the space returns at once, the daemon keeps serving, and what
# was committed before restores intact.  t/44-full-disk-reserve.t tries
# the reserve.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use GV;
use GVClient;
use GVTmpfs;

my $why = GVTmpfs::cannot(qw(du));
plan skip_all => $why if $why;

# DataDir on a 24 MiB tmpfs of the daemon's own (GVTmpfs).
my $fs = GVTmpfs->start('24m', Workers => 2, 'Server.ReserveSpace' => 0);
my $gv = $fs->gv;
my $cl = GVClient->new($gv, 'filler');
my $small = $gv->dir . '/small';
make_path($small);
GVClient::_spit_bytes("$small/f$_", GVClient::pseudo_bytes(1_000_000, "s$_")) for 1 .. 3;
my ($rc, $out, $err) = $cl->run('backup', $small);
is($rc, 0, 'a small backup fits') or diag($err);

my $du0 = $fs->du_kib;
my $big = $gv->dir . '/big';
make_path($big);
GVClient::_spit_bytes("$big/f$_", GVClient::pseudo_bytes(5_000_000, "b$_")) for 1 .. 8;
($rc, $out, $err) = $cl->run('backup', '--set', 'big', $big);
is($rc, 2, 'a backup that does not fit fails (exit 2)');
like($err, qr/the server's disk is full \(\d+\.\d MiB free, reserve 0\.0 MiB\): backups are refused until space is freed/,
     '... with a clear error') or diag($err);
like($gv->log_text, qr/No space left on device/, 'the server logs ENOSPC');
my $du1 = $fs->du_kib;
cmp_ok($du1 - $du0, '<', 1024, 'its pack tail is cut: DataDir within 1 MiB of its size before')
    or diag("du before $du0 KiB, after $du1 KiB");
diag("ENOSPC: du of DataDir before the backup that did not fit $du0 KiB, after $du1 KiB");

my @s = $cl->snapshots;
is(scalar @s, 1, 'only the committed snapshot is listed');
my $t = $gv->dir . '/restore';
($rc, $out, $err) = $cl->run('restore', '--target', $t, $s[0]{id});
is($rc, 0, 'and it restores') or diag($err);
is(scalar(GVClient::compare_trees($small, "$t$small")), 0, '... identical');
my $more = $gv->dir . '/more';
make_path($more);
GVClient::_spit_bytes("$more/f$_", GVClient::pseudo_bytes(1_000_000, "m$_")) for 1 .. 4;
($rc, $out, $err) = $cl->run('backup', '--set', 'more', $more);
is($rc, 0, 'then a 4 MB backup fits in the space given back') or diag($err);
ok($gv->ready, 'the pool is whole: no worker died of it');
is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
