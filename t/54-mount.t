#!/usr/bin/perl
# gigavault mount: the snapshots read-only through FUSE.  A tree with every
# file type, a 50 MiB random file (many chunks), a directory 30 deep, a
# symlink and a file with holes is backed up twice; the mount shows one
# directory per snapshot and "latest", and the tree under it equals the
# source (contents, modes, owners, times, link counts, targets); the big
# file reads the same at a random offset; fusermount3 -u ends the command
# with exit 0.  A second set makes the top directory one per set; SIGINT
# unmounts and exits 0 too.  Skipped where FUSE cannot be used.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use POSIX ();
use Time::HiRes qw(time sleep);
use GV;
use GVClient;

sub which { for (split /:/, $ENV{PATH}) { return "$_/$_[0]" if -x "$_/$_[0]" } undef }

plan skip_all => 'no /dev/fuse (no FUSE in this kernel or container)'
    unless -c '/dev/fuse';
plan skip_all => 'fusermount3 is not installed (Debian package fuse3)'
    unless which('fusermount3');
plan skip_all => 'not root, and fusermount3 is not set-uid: this user cannot mount'
    if $> != 0 && !-u which('fusermount3');
{
    open my $fh, '+<', '/dev/fuse'
        or plan skip_all => "cannot open /dev/fuse: $!";
}

my (@mounts, @pids);
sub mounted {
    my ($dir) = @_;
    open my $fh, '<', '/proc/mounts' or return 0;
    while (<$fh>) {
        my @f = split;
        return 1 if $f[1] eq $dir && $f[2] =~ /^fuse/;
    }
    return 0;
}
END {
    my $rc = $?;
    for my $m (@mounts) {
        system('fusermount3', '-uz', $m) if mounted($m);
    }
    for my $p (@pids) { kill 'KILL', $p; waitpid($p, 0) }
    $? = $rc;
}

# A short IdleTimeout: the server drops the mount's idle session, which
# must connect again.
my $gv = GV->start(Workers => 2, IdleTimeout => 4);
my $cl = GVClient->new($gv, 'alice');
my $src = $gv->dir . '/src';
make_path($src);
GVClient::make_tree($src);

# A 50 MiB random file: about 100 chunks.
my $big = "$src/big.bin";
system("head -c 52428800 /dev/urandom > '$big'") == 0 or die "head: $?";
# A directory 30 deep with a file at the bottom.
my $deep = join '/', map { "d$_" } 1 .. 30;
make_path("$src/$deep");
GVClient::_spit_bytes("$src/$deep/bottom.txt", "at the bottom\n");
symlink($deep, "$src/to-deep") or die;
# A file with holes: 8 MiB, data at 1 MiB and 6 MiB.
system('truncate', '-s', '8M', "$src/sparse") == 0 or die;
for my $at (1, 6) {
    system("printf 'data at $at MiB' | dd of='$src/sparse' bs=1M seek=$at "
        . "conv=notrunc status=none") == 0 or die;
}

# Extended attributes and ACLs, where this file system takes them.
my $xdir = "$src/sub/deeper";
my $have_x = system("setfattr -n user.gv.note -v kept '$xdir/text.txt' 2>/dev/null") == 0;
my $have_acl = system("setfacl -m u:1234:r '$xdir/text.txt' 2>/dev/null") == 0
    && system("setfacl -d -m u:1234:rx '$xdir' 2>/dev/null") == 0;

my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'first backup') or diag($err);
GVClient::_spit_bytes("$src/small.txt", "changed for the second snapshot\n");
Time::HiRes::utime(1_600_000_000.123456789, 1_600_000_000.987654321, "$src/small.txt");
# The second with the writer's test-only tiny limits: directories of
# more than 32 entries in pages under an index, files of more than 4
# chunks with chunk lists, all read through the mount.
make_path("$src/many");
GVClient::_spit_bytes(sprintf("$src/many/f%03d", $_), "file $_\n") for 1 .. 100;
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', $cl->dir . '/client.conf',
    'backup', $src], { GIGAVAULT_PASSPHRASE => $GVClient::PASS,
    GIGAVAULT_TEST_SMALL_TREES => 1 });
is($rc, 0, 'second backup (small trees)') or diag($err);
my @snaps = $cl->snapshots;
is(scalar @snaps, 2, 'two snapshots');

my $mnt = $gv->dir . '/mnt';
make_path($mnt);
push @mounts, $mnt;

# --- errors before mounting: exit 2
($rc, $out, $err) = $cl->run('mount', "$src/small.txt");
is($rc, 2, 'mount on a file: exit 2');
like($err, qr/small\.txt: not a directory/, '... saying why');
($rc, $out, $err) = $cl->run('mount');
is($rc, 2, 'mount without a mount point: exit 2');
like($err, qr/usage: gigavault mount/, '... with its usage');

# start_mount(@args): the mount command in the background, and wait until
# the mount point lists something.
sub start_mount {
    my (@args) = @_;
    my $pid = $cl->spawn('mount', @args, $mnt);
    push @pids, $pid;
    my $ok = GV::wait_until(sub {
        return 0 unless mounted($mnt);
        opendir(my $dh, $mnt) or return 0;
        my @e = grep { !/^\.\.?$/ } readdir $dh;
        return scalar @e;
    }, 60, 0.1);
    ok($ok, "mount @args shows entries") or
        diag(GV::_slurp($cl->dir . '/spawn.err'));
    return $pid;
}

# wait_exit($pid): its exit status, or -1 after 30 s.
sub wait_exit {
    my ($pid) = @_;
    my $st = -1;
    GV::wait_until(sub {
        my $r = waitpid($pid, POSIX::WNOHANG());
        return 0 unless $r == $pid;
        $st = GV::_decode_status($?);
        @pids = grep { $_ != $pid } @pids;
        return 1;
    }, 30, 0.05);
    return $st;
}

my $pid = start_mount();

# --- layout: one directory per snapshot, and latest
opendir(my $dh, $mnt) or die "$mnt: $!";
my @top = sort grep { !/^\.\.?$/ } readdir $dh;
closedir $dh;
my @dirs = grep { $_ ne 'latest' } @top;
is(scalar @top, 3, 'two snapshot directories and latest') or diag("@top");
like($_, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-\d+$/, "$_ is named by date, time and id")
    for @dirs;
my ($newest) = grep { /-\Q$snaps[-1]{id}\E$/ } @dirs;
ok(-l "$mnt/latest", 'latest is a symlink');
is(readlink("$mnt/latest"), $newest, 'latest points at the newest snapshot');
my ($oldest) = grep { /-\Q$snaps[0]{id}\E$/ } @dirs;
is(GV::_slurp("$mnt/$oldest$src/small.txt"), "hello, world\n",
    'the older snapshot has the older contents');

# --- reading the big file: throughput against a restore of it
my $t0 = time;
system("cat '$mnt/latest$big' > /dev/null") == 0 or die;
my $mount_s = time - $t0;
my $rdir = $gv->dir . '/restore-big';
$t0 = time;
($rc, $out, $err) = $cl->run('restore', '--target', $rdir, 'latest', $big);
my $restore_s = time - $t0;
is($rc, 0, 'restore of the big file') or diag($err);
# What restore spends before the data (keys, session, trees): ls's time.
$t0 = time;
$cl->run('ls', 'latest', $big);
my $setup_s = time - $t0;
diag(sprintf('50 MiB file: read through the mount %.1f MB/s (%.2f s); restore '
    . '%.1f MB/s (%.2f s, %.2f s of it setup as ls takes)', 52.4288 / $mount_s,
    $mount_s, 52.4288 / $restore_s, $restore_s, $setup_s));

# --- the tree equals the source
my @diff = GVClient::compare_trees($src, "$mnt/latest$src");
is(scalar @diff, 0, 'the mounted tree equals the source: contents, modes, owners, times, hard links')
    or diag(join "\n", @diff);
# (diff cannot compare fifos, even two of them: compare_trees did above.)
($rc, $out, $err) = GVClient::run_cmd(['diff', '-r', '--no-dereference', '-x', 'fifo',
    $src, "$mnt/latest$src"]);
is($rc, 0, 'diff -r --no-dereference finds no difference') or diag($out . $err);
is(system('cmp', '-s', $big, "$mnt/latest$big"), 0, 'cmp of the big file');
is(system('cmp', '-s', "$src/sparse", "$mnt/latest$src/sparse"), 0, 'cmp of the file with holes');
is((stat "$mnt/latest$src/sparse")[7], 8 << 20, '... its size');
# Where the data and the holes are (SEEK_DATA 3, SEEK_HOLE 4).
sub segments {
    my ($f) = @_;
    open my $fh, '<:raw', $f or die "$f: $!";
    my ($pos, @s) = (0);
    while (defined(my $d = sysseek($fh, $pos, 3))) {
        my $h = sysseek($fh, $d, 4) // last;
        push @s, ($d + 0) . '-' . ($h + 0);
        $pos = $h;
    }
    return "@s";
}
SKIP: {
    my $blocks = (stat "$mnt/latest$src/sparse")[12];
    skip 'this backup records no holes (the sparse file shows fully allocated)', 2
        if $blocks * 512 >= 8 << 20;
    ok($blocks < 1024, "the file with holes uses $blocks blocks");
    is(segments("$mnt/latest$src/sparse"), segments("$src/sparse"),
        'SEEK_DATA and SEEK_HOLE find the data and holes of the source');
}
is(GV::_slurp("$mnt/latest$src/to-deep/bottom.txt"), "at the bottom\n",
    'a symlink to the deep directory leads to its file');
is(sprintf('%o', (stat "$mnt/latest$src/modes")[2] & 07777), '2750', 'setgid directory mode');
is(sprintf('%o', (stat "$mnt/latest$src/modes/private")[2] & 07777), '600', 'private file mode');
is((stat "$mnt/latest$src/hard1")[3], 2, 'link count as stored');
is((stat "$mnt/latest$src/hard1")[1], (stat "$mnt/latest$src/sub/hard2")[1],
    'hard links share an inode number');

# xattrs and ACLs as the source has them: getfattr -d -m - and getfacl.
sub in_dir { my ($d, $cmd) = @_; return `cd '$d' && $cmd 2>&1` }
SKIP: {
    skip 'this file system takes no user xattrs nor ACLs', 3 unless $have_x || $have_acl;
    my $r = $gv->dir . '/restore-x';
    $cl->run('restore', '--target', $r, 'latest', $xdir);
    skip 'this backup does not keep xattrs (a restore has none)', 3
        unless in_dir("$r$xdir", 'getfattr -d -m - text.txt') =~ /user\.gv\.note|posix_acl/;
    my $m = "$mnt/latest$xdir";
    is(in_dir($m, 'getfattr -d -m - text.txt'), in_dir($xdir, 'getfattr -d -m - text.txt'),
        'getfattr -d -m - shows the xattrs of the source');
    is(in_dir($m, 'getfacl -p text.txt'), in_dir($xdir, 'getfacl -p text.txt'),
        'getfacl shows the access ACL of the source');
    is(in_dir("$m/..", 'getfacl -p deeper'), in_dir("$xdir/..", 'getfacl -p deeper'),
        'getfacl shows the default ACL of the source');
}

# Random offsets of the big file, 3 reads of 100 000 bytes; then of the
# same file in the older snapshot, first read there (the kernel has none
# of its pages: its chunks' offsets come from the lengths learned above).
{
    open my $fh, '<:raw', $big or die;
    for my $snap ('latest', $oldest) {
        for my $i (1 .. 3) {
            my $blocks = int(rand(52428800 / 4096 - 30));
            sysseek($fh, $blocks * 4096, 0);
            sysread($fh, my $want, 100_000);
            my $got = `dd if='$mnt/$snap$big' bs=4096 skip=$blocks count=25 status=none 2>&1 | head -c 100000`;
            ok($got eq $want, "$snap: dd skip=$blocks reads the same bytes");
        }
    }
}
is(system('cmp', '-s', $big, "$mnt/$oldest$big"), 0, 'cmp of the big file in the older snapshot');

# Read-only.
ok(!open(my $w, '>', "$mnt/latest$src/new-file"), 'cannot create a file');
ok(!open($w, '>>', "$mnt/latest$src/small.txt"), 'cannot write a file');

# --- fusermount3 -u: the command ends, exit 0, nothing mounted
($rc, $out, $err) = GVClient::run_cmd(['fusermount3', '-u', $mnt]);
is($rc, 0, 'fusermount3 -u') or diag($err);
is(wait_exit($pid), 0, 'the mount command exits 0') or
    diag(GV::_slurp($cl->dir . '/spawn.err'));
ok(!mounted($mnt), 'nothing is mounted any more');

# --- several sets: one directory per set; SIGINT unmounts
($rc, $out, $err) = $cl->run('backup', '--set', 'other', "$src/sub");
is($rc, 0, 'a backup in set "other"') or diag($err);
my ($first_set) = map { $_->{set} } @snaps;
$pid = start_mount();
opendir($dh, $mnt) or die;
@top = sort grep { !/^\.\.?$/ } readdir $dh;
closedir $dh;
is("@top", join(' ', sort($first_set, 'other')), 'one directory per set');
ok(-l "$mnt/other/latest", 'each with its latest');
is(GV::_slurp("$mnt/other/latest$src/sub/deeper/text.txt"),
    GV::_slurp("$src/sub/deeper/text.txt"), 'a file of the other set');
# A new backup shows when the set's directory is read again (at most
# every 10 s); idle past the server's IdleTimeout, the mount connects
# again for that listing and the reads after it.
($rc, $out, $err) = $cl->run('backup', '--set', 'other', "$src/sub");
is($rc, 0, 'another backup in set "other"') or diag($err);
# A file open across the drop: 1 MiB read before, the rest after (its
# chunk lists are read as it goes, over the new session).
open my $fh, '<:raw', "$mnt/$first_set/latest$big" or die "$big: $!";
sysread($fh, my $head, 1 << 20) == 1 << 20 or die;
sleep 11;
{
    local $/;
    my $rest = <$fh>;
    close $fh;
    ok($head . $rest eq GV::_slurp($big),
        'a file open while the server dropped the session reads to the end the same');
}
opendir($dh, "$mnt/other") or die;
my @other = sort grep { !/^\.\.?$/ } readdir $dh;
closedir $dh;
is(scalar @other, 3, 'the new snapshot shows in the mounted file system') or diag("@other");
is(readlink("$mnt/other/latest"), $other[1], '... and latest points at it');
is(system('cmp', '-s', $big, "$mnt/$first_set/latest$big"), 0,
    'after the server dropped the idle session, the big file reads the same');
like(GV::_slurp($cl->dir . '/spawn.err'), qr/connecting to the server again/,
    '... over a new session');
kill 'INT', $pid;
is(wait_exit($pid), 0, 'SIGINT: the mount command exits 0') or
    diag(GV::_slurp($cl->dir . '/spawn.err'));
ok(!mounted($mnt), 'SIGINT unmounted it');

# --- --set shows that set flat
$pid = start_mount('--set', 'other');
opendir($dh, $mnt) or die;
@top = sort grep { !/^\.\.?$/ } readdir $dh;
closedir $dh;
is(scalar @top, 3, '--set other: its snapshots and latest') or diag("@top");
kill 'TERM', $pid;
is(wait_exit($pid), 0, 'SIGTERM: the mount command exits 0');
ok(!mounted($mnt), 'SIGTERM unmounted it');

# --- damaged chunks: the read fails with EIO, the file is named
GVClient::damage_packs($gv);
$pid = start_mount();
($rc, $out, $err) = GVClient::run_cmd(['cat', "$mnt/$first_set/latest$big"]);
isnt($rc, 0, 'reading a damaged file fails');
like($err, qr/Input\/output error/, '... with EIO') or diag($err);
like(GV::_slurp($cl->dir . '/spawn.err'), qr{mount: .*/big\.bin: (damaged|read failed)},
    '... and the mount names it') or diag(GV::_slurp($cl->dir . '/spawn.err'));
ok(-d "$mnt/$first_set/latest$src/sub", 'the rest is still there');
($rc, $out, $err) = GVClient::run_cmd(['fusermount3', '-u', $mnt]);
is(wait_exit($pid), 0, 'unmounted: exit 0');
ok(!mounted($mnt), 'nothing is left mounted');
is($gv->stop, 0, 'daemon stops cleanly');

done_testing();
