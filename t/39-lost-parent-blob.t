#!/usr/bin/perl
# A blob of the parent snapshot is lost for good: the first record of
# the pack (the first chunk of the first file) is garbled and the catalog
# rebuilt from the packs, which drops it.  An incremental that reuses the
# unchanged file's chunks is refused by the server (PUT_LINKED: linked
# blobs are not stored); the client says so, warns, and backs up again
# in the same command without the parent: it reads every file, sends the
# lost chunk again and saves a snapshot that verifies and restores.  Then
# --no-parent does the same by hand (no file unchanged).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use GV;
use GVClient;

$ENV{GV_TEST_TIMEOUT} //= 300;
alarm 300;

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'lost');
my $src = $gv->dir . '/src';
make_path("$src/d");
# "a" is read first: its first chunk is the pack's first record.
GVClient::_spit_bytes("$src/d/a", GVClient::pseudo_bytes(3_000_000, 'lost'));
GVClient::_spit_bytes("$src/d/b", "b, first version\n");

my ($rc, $out, $err) = $cl->run('-v', 'backup', $src);
is($rc, 0, 'first backup: exit 0') or diag($err);
$gv->stop;

# Garble the first record's blob bytes; rebuild the catalog without it.
my $data = $gv->dir . '/data';
my ($pack) = sort glob("$data/packs/*.pack");
ok($pack, 'a pack file') or BAIL_OUT('no pack');
open my $fh, '+<:raw', $pack or die "$pack: $!";
sysread($fh, my $hdr, 64) == 64 or die "short pack";
my ($magic, $type, $nlinks, $len) = unpack('a4 C x3 x8 x32 N N', $hdr);
is($magic, 'GVB2', 'its first record is a format 2 record');
is($nlinks, 0, '... of a blob without links (a data chunk)');
ok($len > 100_000, "... $len bytes long (a chunk of the big file)");
my $at = 64 + 32 * $nlinks + 50;
sysseek($fh, $at, 0);
sysread($fh, my $byte, 1);
sysseek($fh, $at, 0);
syswrite($fh, chr(ord($byte) ^ 0xff)) == 1 or die;
close $fh;
unlink "$data/data.mdb", "$data/lock.mdb";
my ($st, $o, $e) = $gv->ctl('rebuild-catalog');
is($st, 0, 'rebuild-catalog: exit 0') or diag("$o$e");
ok(GVClient::restart_daemon($gv), 'gigavaultd starts') or $gv->diag_logs;

my ($vrc, $vout) = $cl->run('verify', 'latest');
isnt($vrc, 0, 'the first snapshot has a missing chunk now') or diag($vout);

# The incremental: "a" unchanged (its lost chunk reused), "b" changed.
sleep 1;
GVClient::_spit_bytes("$src/d/b", "b, second version\n");
($rc, $out, $err) = $cl->run('-v', 'backup', $src);
is($rc, 0, 'incremental: exit 0 after backing up again') or diag($err);
like($err, qr/linked blobs? (?:is|are) not stored: the server no longer has blobs of the parent snapshot/,
     '... it says the server lacks blobs of the parent');
like($err, qr/warning: backing up again without the parent snapshot/, '... warns it goes again');
like($err, qr/\(0 unchanged\)/, '... and the second run reads every file');
like($out, qr/^snapshot \d+ saved: /m, '... a snapshot is saved');
($rc, $out, $err) = $cl->run('verify', 'latest');
is($rc, 0, 'the new snapshot verifies clean') or diag("$out$err");
my $dst = $gv->dir . '/restored';
($rc, $out, $err) = $cl->run('restore', '--target', $dst, 'latest');
is($rc, 0, '... and restores') or diag($err);
is_deeply([GVClient::compare_trees($src, "$dst$src")], [], '... byte for byte');

# The next incremental has a sound parent: no retry, "a" is unchanged.
($rc, $out, $err) = $cl->run('-v', 'backup', $src);
is($rc, 0, 'next incremental: exit 0') or diag($err);
unlike($err, qr/warning: backing up again/, '... without a retry');
like($err, qr/\(2 unchanged\)/, '... both files unchanged');

# --no-parent by hand.
($rc, $out, $err) = $cl->run('-v', 'backup', '--no-parent', $src);
is($rc, 0, 'backup --no-parent: exit 0') or diag($err);
like($err, qr/\(0 unchanged\)/, '... reads every file');
unlike($err, qr/parent snapshot \d+/, '... names no parent');
# (Pages whose access times it reads anew may differ; no file data.)
like($err, qr/sent \d+ new blobs \((\d+ B|[0-3](\.\d+)? KiB)\)/,
     '... and sends no file data again, at most a few pages and the meta blob (the rest is there)');

$gv->stop;
done_testing;
