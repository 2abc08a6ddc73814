#!/usr/bin/perl
# End to end: gigavault backs up a tree with every file type to a real
# gigavaultd and restores it byte for byte; an incremental backup after a
# 1% change sends little; restore refuses to overwrite without
# --overwrite, and then leaves the metadata of the directories that
# exist alone; damaged pack bytes are reported with the file named.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path remove_tree);
use GV;
use GVClient;

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'alice');
my $src = $gv->dir . '/src';
make_path($src);
GVClient::make_tree($src);

# --- full backup and restore of every file type
my $from = GVClient::log_size($gv);
my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup exits 0') or diag($err);
like($out . $err, qr/snapshot \d+ saved/, 'backup names the snapshot');
my @snaps = $cl->snapshots;
is(scalar @snaps, 1, 'one snapshot listed');

my $target = $gv->dir . '/restore1';
($rc, $out, $err) = $cl->run('restore', '--target', $target, 'latest');
is($rc, 0, 'restore exits 0') or diag($err);
my @diff = GVClient::compare_trees($src, "$target$src");
is(scalar @diff, 0, 'restored tree is identical: contents, modes, owners, times, links')
    or diag(join "\n", @diff);

# --- restore of one subtree
my $part = $gv->dir . '/restore-part';
($rc, $out, $err) = $cl->run('restore', '--target', $part, 'latest', "$src/sub/deeper");
is($rc, 0, 'restore of a subtree exits 0') or diag($err);
ok(-f "$part$src/sub/deeper/text.txt", 'the subtree is there');
ok(!-e "$part$src/small.txt", 'nothing outside the subtree');

# --- existing files, and the metadata of existing directories, are
# kept without --overwrite
GVClient::_spit_bytes("$target$src/small.txt", "changed locally\n");
my %dmeta = (sub => ["$target$src/sub", 0700, 1_000_000_000], top => ["$target$src", 0711, 1_000_000_100],
             part => ["$part$src/sub", 0701, 1_000_000_200]);
for (values %dmeta) { chmod $_->[1], $_->[0]; utime $_->[2], $_->[2], $_->[0] }
my $dstat = sub { my @s = stat $_[0]; return sprintf('%o %d', $s[2] & 07777, $s[9]) };
($rc, $out, $err) = $cl->run('restore', '--target', $target, 'latest');
is($rc, 1, 'restore over existing files: exit 1 (partial)');
like($err, qr/small\.txt: exists; not overwritten/, '... naming the files kept');
is(GV::_slurp("$target$src/small.txt"), "changed locally\n", '... and keeping their contents');
for my $k (qw(sub top)) {
    is($dstat->($dmeta{$k}[0]), sprintf('%o %d', $dmeta{$k}[1], $dmeta{$k}[2]),
       "... and the mode and mtime of an existing directory ($k)");
}
($rc, $out, $err) = $cl->run('restore', '--target', $part, 'latest', "$src/sub/deeper");
is($dstat->($dmeta{part}[0]), sprintf('%o %d', $dmeta{part}[1], $dmeta{part}[2]),
   'a subtree restored again keeps the mode and mtime of the directories on its way') or diag($err);
($rc, $out, $err) = $cl->run('restore', '--overwrite', '--target', $target, 'latest');
is($rc, 0, 'restore --overwrite exits 0') or diag($err);
is(GV::_slurp("$target$src/small.txt"), "hello, world\n", '... and puts the snapshot contents back');
is($dstat->("$target$src/sub"), $dstat->("$src/sub"), '... and the directories\' metadata');

# --- incremental: change 1% of the files, expect < 2% of the bytes
my $big = $gv->dir . '/big';
make_path($big);
for my $i (1 .. 200) {
    GVClient::_spit_bytes("$big/f$i", GVClient::pseudo_bytes(200_000, "f$i"));
}
$from = GVClient::log_size($gv);
($rc, $out, $err) = $cl->run('backup', '--set', 'big', $big);
is($rc, 0, 'first backup of 200 files') or diag($err);
my $first = GVClient::bytes_in_since($gv, $from);
GVClient::_spit_bytes("$big/f$_", GVClient::pseudo_bytes(200_000, "new$_")) for 1, 2;
$from = GVClient::log_size($gv);
($rc, $out, $err) = $cl->run('backup', '--set', 'big', $big);
is($rc, 0, 'incremental backup') or diag($err);
my $second = GVClient::bytes_in_since($gv, $from);
ok($first > 40_000_000, "first backup sent $first bytes");
ok($second < 0.02 * $first, "incremental sent $second bytes, under 2% of $first");

# --- a second client with the same data sees only its own snapshots, and
# does not dedup against alice (her ids are keyed with her key)
{
    my $bob = GVClient->new($gv, 'bob');
    my $from2 = GVClient::log_size($gv);
    ($rc, $out, $err) = $bob->run('backup', '--set', 'big', $big);
    is($rc, 0, 'bob backs up the same files') or diag($err);
    my $bob_sent = GVClient::bytes_in_since($gv, $from2);
    ok($bob_sent > 0.9 * $first, "bob uploads his own copy ($bob_sent bytes)");
    my @bs = $bob->snapshots;
    is(scalar @bs, 1, 'bob sees one snapshot, his own');
    my @as = $cl->snapshots;
    is(scalar @as, 3, 'alice still sees her three');
}

# --- damaged pack bytes: restore names the file
{
    my @packs = glob($gv->dir . '/data/packs/*');
    ok(@packs, 'packs exist');
    # Flip bytes in the middle of every large pack (data chunks).
    GVClient::damage_packs($gv);
    my $t = $gv->dir . '/restore-damaged';
    my @all = $cl->snapshots;
    ($rc, $out, $err) = $cl->run('restore', '--target', $t, $all[-1]{id});
    ok($rc == 1 || $rc == 2, "restore of damaged data fails (exit $rc)");
    like($err, qr{/f\d+: chunk \d+ (damaged|not available)}, '... naming the damaged file')
        or diag($err);
}

is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
