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
use File::Temp ();
use GV;
use GVClient;

plan skip_all => 'needs root (mount namespace and tmpfs)' if $> != 0;
plan skip_all => 'needs unshare(1) and nsenter(1)'
    unless grep({ -x "$_/unshare" } split /:/, $ENV{PATH}) && grep({ -x "$_/nsenter" } split /:/, $ENV{PATH});

plan skip_all => 'this machine does not allow a private mount namespace with tmpfs'
    if system('unshare -m --propagation private sh -c "mount -t tmpfs -o size=1m gvprobe /mnt" >/dev/null 2>&1') != 0;

my $tmp = File::Temp::tempdir('gv-full-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
make_path("$tmp/data");
# gigavaultd wrapped: a private mount namespace with a 24 MiB tmpfs on
# DataDir; the mount disappears with the daemon's processes.
my $wrap = "$tmp/gigavaultd-on-tmpfs";
open my $fh, '>', $wrap or die;
print $fh <<"SH";
#!/bin/sh
exec unshare -m --propagation private sh -c 'mount -t tmpfs -o size=24m,mode=0755 gvfull "\$0" && exec "\$@"' '$tmp/data' '$GV::BIN' "\$@"
SH
close $fh;
chmod 0755, $wrap;
local $GV::BIN = $wrap;

my $gv = GV->start(Workers => 2, DataDir => "$tmp/data",
                   'Server.ReserveSpace' => 0);
# gigavaultctl must see the same DataDir: run it in the daemon's namespace.
my $ctlwrap = "$tmp/gigavaultctl-in-ns";
open $fh, '>', $ctlwrap or die;
printf $fh qq(#!/bin/sh\nexec nsenter -t %d -m -- '%s' "\$@"\n), $gv->pid, $GVClient::CTL;
close $fh;
chmod 0755, $ctlwrap;
local $GVClient::CTL = $ctlwrap;
my $cl = GVClient->new($gv, 'filler');
my $small = $gv->dir . '/small';
make_path($small);
GVClient::_spit_bytes("$small/f$_", GVClient::pseudo_bytes(1_000_000, "s$_")) for 1 .. 3;
my ($rc, $out, $err) = $cl->run('backup', $small);
is($rc, 0, 'a small backup fits') or diag($err);

sub du_kib {
    my $out = `nsenter -t @{[ $gv->pid ]} -m -- du -sk '$tmp/data' 2>/dev/null`;
    return $out =~ /^(\d+)/ ? $1 : -1;
}
my $du0 = du_kib();
my $big = $gv->dir . '/big';
make_path($big);
GVClient::_spit_bytes("$big/f$_", GVClient::pseudo_bytes(5_000_000, "b$_")) for 1 .. 8;
($rc, $out, $err) = $cl->run('backup', '--set', 'big', $big);
is($rc, 2, 'a backup that does not fit fails (exit 2)');
like($err, qr/the server's disk is full \(\d+\.\d MiB free, reserve 0\.0 MiB\): backups are refused until space is freed/,
     '... with a clear error') or diag($err);
like($gv->log_text, qr/No space left on device/, 'the server logs ENOSPC');
my $du1 = du_kib();
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
