#!/usr/bin/perl
# Sparse files: a backup finds holes (SEEK_DATA, SEEK_HOLE), does not
# read or send them, and a restore makes them holes again (du within a
# few blocks of the original, content equal); restore --sparse also
# turns long runs of zeros in a non-sparse file into holes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
sub compare { system("cmp", "-s", $_[0], $_[1]) == 0 ? 0 : 1 }
use File::Path qw(make_path);
use Fcntl qw(SEEK_SET);
use GV;
use GVClient;

my $MiB = 1 << 20;

# Write $len pseudo-random bytes at $off of $f (created when missing).
sub put_at {
    my ($f, $off, $len, $tag) = @_;
    open my $fh, (-e $f ? '+<' : '>'), $f or die "$f: $!";
    binmode $fh;
    sysseek($fh, $off, SEEK_SET) or die;
    my $b = GVClient::pseudo_bytes($len, $tag);
    syswrite($fh, $b) == $len or die "$f: $!";
    close $fh;
}

sub set_size {
    my ($f, $n) = @_;
    open my $fh, (-e $f ? '+<' : '>'), $f or die "$f: $!";
    truncate($fh, $n) or die "truncate $f: $!";
    close $fh;
}
sub disk { (stat $_[0])[12] * 512 }	# bytes allocated

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'sparse');
my $src = $gv->dir . '/src';
make_path($src);

# Does this file system make holes at all?
{
    my $probe = "$src/probe";
    set_size($probe, 64 * $MiB);
    my $ok = disk($probe) < $MiB;
    unlink $probe;
    plan skip_all => 'the temp directory\'s file system has no holes' unless $ok;
}

# 1 GiB with three data regions; holes at the start and the end.
my $big = "$src/big.img";
set_size($big, 1024 * $MiB);
put_at($big, 100 * $MiB, 256 * 1024, 'r1');
put_at($big, 500 * $MiB, $MiB, 'r2');
put_at($big, 900 * $MiB + 12345, 70_000, 'r3');	# not block aligned
# 64 MiB: a hole, 2 MiB of data, a hole.
my $ends = "$src/ends.img";
set_size($ends, 64 * $MiB);
put_at($ends, 16 * $MiB, 2 * $MiB, 'mid');
# Data, then a hole to the end; and the same data in a plain file.
my $tail = "$src/tail.img";
put_at($tail, 0, 3 * $MiB, 'tail');
set_size($tail, 40 * $MiB);
# Zeros written out: not sparse on disk.
my $zeros = "$src/zeros.img";
{
    open my $fh, '>', $zeros or die;
    print $fh "\0" x $MiB for 1 .. 16;
    close $fh;
    put_at($zeros, 8 * $MiB + 100, 5000, 'z');
}
ok(disk($zeros) >= 16 * $MiB, '(setup) the file of zeros is allocated');
diag(sprintf('on disk: big %d KiB, ends %d KiB, tail %d KiB',
    disk($big) / 1024, disk($ends) / 1024, disk($tail) / 1024));

my $from = GVClient::log_size($gv);
my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup of sparse files exits 0') or diag($err);
my $sent = GVClient::bytes_in_since($gv, $from);
# Data: 0.25 + 1 + 0.07 + 2 + 3 MiB random, 16 MiB of zeros (a few
# chunks, deduplicated), trees.  The 1.1 GiB of holes must not be sent.
ok($sent < 12 * $MiB, "backup sent $sent bytes: the holes were not sent");
diag("backup sent $sent bytes for " . (1024 + 64 + 40 + 16) . ' MiB of files');

my $t1 = $gv->dir . '/r1';
($rc, $out, $err) = $cl->run('restore', '--target', $t1, 'latest');
is($rc, 0, 'restore exits 0') or diag($err);
for my $f (qw(big.img ends.img tail.img zeros.img)) {
    my ($a, $b) = ("$src/$f", "$t1$src/$f");
    is(-s $b, -s $a, "$f: same size");
    is(compare($a, $b), 0, "$f: same content");
}
for my $f (qw(big.img ends.img tail.img)) {
    my ($a, $b) = (disk("$src/$f"), disk("$t1$src/$f"));
    ok(abs($a - $b) <= 64 * 1024, "$f: restored sparse: $b bytes on disk, "
        . "$a in the original");
}
ok(disk("$t1$src/zeros.img") >= 16 * $MiB,
    'zeros.img: without --sparse, its zeros are written');

# The same sparse file again: unchanged, its holes come from the parent.
($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'second backup exits 0') or diag($err);
my $t2 = $gv->dir . '/r2';
($rc, $out, $err) = $cl->run('restore', '--sparse', '--target', $t2, 'latest');
is($rc, 0, 'restore --sparse exits 0') or diag($err);
for my $f (qw(big.img ends.img tail.img zeros.img)) {
    is(compare("$src/$f", "$t2$src/$f"), 0, "--sparse: $f: same content");
}
ok(disk("$t2$src/big.img") <= disk($big) + 64 * 1024,
    'an unchanged file keeps its holes (taken from the parent snapshot)');
my $z = disk("$t2$src/zeros.img");
ok($z <= 64 * 1024, "--sparse: the zeros of zeros.img became holes ($z bytes on disk)");

# A file whose size is not a multiple of the block, zeros to the end.
put_at("$src/odd", 0, 5000, 'odd');
{
    open my $fh, '>>', "$src/odd" or die;
    print $fh "\0" x (3 * $MiB + 17);
    close $fh;
}
($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup with a file ending in zeros') or diag($err);
my $t3 = $gv->dir . '/r3';
($rc, $out, $err) = $cl->run('restore', '--sparse', '--target', $t3, 'latest',
    "$src/odd");
is($rc, 0, 'restore --sparse of it') or diag($err);
is(-s "$t3$src/odd", -s "$src/odd", '... same size (the length is set past '
    . 'the last zeros)');
is(compare("$src/odd", "$t3$src/odd"), 0, '... same content');
ok(disk("$t3$src/odd") <= 64 * 1024, '... and sparse');

# --- a tree whose files' chunks and holes do not make their sizes (what
# a damaged or forged tree could say): such a file is not restored, and
# never written past its size; a sound neighbour is
{
    my $forge = "$GV::BUILDDIR/t/gv-forge";
    my ($frc, $fout, $ferr) = GVClient::run_cmd([$forge, '-c', $cl->{conf}, '--bad-size'],
        { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
    is($frc, 0, 'forged a snapshot of files whose data and holes do not make their sizes') or diag($ferr);
    my ($snap) = $fout =~ /^(\d+)$/m;
    my $bt = $gv->dir . '/bad-size';
    my ($brc, undef, $berr) = $cl->run('restore', '--target', $bt, $snap // 'none');
    is($brc, 1, '... restore: exit 1') or diag($berr);
    like($berr, qr{/short: not restored: its chunks and holes make 7 bytes, its size is 100}, '... a file with too few bytes is named');
    like($berr, qr{/holey: not restored: its chunks and holes make 12 bytes, its size is 20}, '... one whose hole leaves it short too');
    like($berr, qr{/long: not restored: its chunks hold more bytes than its size \(3\)}, '... and one with too many');
    ok(!-e "$bt/short" && !-e "$bt/long" && !-e "$bt/holey", '... none of them is left behind');
    is(GV::_slurp("$bt/ok"), ("\0" x 5) . '7 bytes', '... the sound one is restored, hole and data');
}

done_testing();
