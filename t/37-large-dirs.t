#!/usr/bin/perl
# Tree format 2 against a real gigavaultd (protocol version 3), with the
# writer's limits made tiny by the test-only GIGAVAULT_TEST_SMALL_TREES:
# a directory of 3,000 entries is split into pages under indexes and a
# file of many chunks into chunk lists; an incremental after one changed
# file sends a few blobs (one page and the indexes above it, not the
# directory); the snapshot restores byte for byte (also without the
# variable: the reader takes any layout), lists and restores a single
# path, and verifies clean.  A snapshot whose root is stored with links
# that are not its own (t/gv-forge --lie: what a lying server would
# hand out) is reported as damaged by verify and restore.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use GV;
use GVClient;

my $FORGE = "$GV::BUILDDIR/t/gv-forge";
ok(-x $FORGE, 't/gv-forge is built') or BAIL_OUT('run make check');

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'pages');
my $src = $gv->dir . '/src';
my $many = "$src/many";
make_path($many, "$src/sub");
for my $i (0 .. 2999) {
    GVClient::_spit_bytes(sprintf("%s/f%05d", $many, $i), "file $i\n" x (1 + $i % 3));
}
symlink('f00001', "$many/link") or die;
GVClient::_spit_bytes("$src/sub/big", GVClient::pseudo_bytes(24_000_000, 'big'));
GVClient::_spit_bytes("$src/sub/small", "small\n");

sub sent {
    my ($err) = @_;
    return $err =~ /sent (\d+) new blobs/ ? $1 : -1;
}

$ENV{GIGAVAULT_TEST_SMALL_TREES} = 1;
my ($rc, $out, $err) = $cl->run('-v', 'backup', $src);
is($rc, 0, 'full backup with small tree limits: exit 0') or diag($err);
my $full = sent($err);
ok($full > 3000, "it sent $full new blobs (3,000 files, the pages, the lists)");

my $v;
($rc, $out, $err) = $cl->run('verify', '--json', 'latest');
$v = eval { JSON::PP->new->decode($out) };
is($rc, 0, 'verify of the paged snapshot: exit 0') or diag($err);
ok($v && $v->{trees} > 3000 / 32, "... $v->{trees} tree blobs: pages, indexes and chunk lists")
    or diag($out);
is($v && $v->{damaged} + $v->{missing}, 0, '... none damaged');

# --- one file changes: one page and its indexes go out
sleep 1;
GVClient::_spit_bytes("$many/f01500", "changed\n");
($rc, $out, $err) = $cl->run('-v', 'backup', $src);
is($rc, 0, 'incremental backup: exit 0') or diag($err);
my $incr = sent($err);
ok($incr >= 2 && $incr <= 20,
   "the incremental sent $incr new blobs: the chunk, a page or two, the indexes above, the path up to the root")
    or diag($err);
like($err, qr/\(3001 unchanged\)/, '... every other file reused without reading it')
    or diag($err);

my @snaps = $cl->snapshots;
is(scalar @snaps, 2, 'two snapshots');
ok($snaps[1]{files} == 3002 && $snaps[1]{bytes} > 24_000_000, "the server keeps the client's counts: $snaps[1]{files} files, $snaps[1]{bytes} bytes");
ok($snaps[1]{new_bytes} < $snaps[0]{new_bytes} / 100,
   "new bytes: $snaps[1]{new_bytes} of the incremental, $snaps[0]{new_bytes} of the full");

# A big file unchanged: its lists are reused, not sent again; grown:
# only the changed chunks and lists go.
open my $fh, '>>:raw', "$src/sub/big" or die;
print $fh GVClient::pseudo_bytes(100_000, 'tail');
close $fh;
($rc, $out, $err) = $cl->run('-v', 'backup', $src);
is($rc, 0, 'backup after the big file grew: exit 0') or diag($err);
my $grow = sent($err);
ok($grow >= 2 && $grow <= 20, "... sent $grow new blobs (its last chunks, lists and pages)") or diag($err);

# Read again from scratch: the big file's chunk lists are cut while it is
# read (a window of a few dozen ids here) into the same blobs as before.
($rc, $out, $err) = $cl->run('-v', 'backup', '--no-parent', $src);
is($rc, 0, 'backup --no-parent: exit 0') or diag($err);
like($err, qr/\(0 unchanged\)/, '... reads every file again');
ok(sent($err) <= 10, '... and sends only the pages whose access times it read anew and the meta blob (same lists, ids): ' . sent($err))
    or diag($err);

# --- restore, with and without the variable (the reader takes any layout)
delete $ENV{GIGAVAULT_TEST_SMALL_TREES};
my $target = $gv->dir . '/restore';
($rc, $out, $err) = $cl->run('restore', '--target', $target, 'latest');
is($rc, 0, 'restore: exit 0') or diag($err);
my @diff = GVClient::compare_trees($src, "$target$src");
is(scalar @diff, 0, 'restored tree is identical') or diag(join "\n", @diff[0 .. ($#diff > 9 ? 9 : $#diff)]);

($rc, $out, $err) = $cl->run('ls', 'latest', "$many/f02999");
is($rc, 0, 'ls of one path in the paged directory: exit 0') or diag($err);
like($out, qr{\Q$many\E/f02999$}m, '... finds it');
my $one = $gv->dir . '/one';
($rc, $out, $err) = $cl->run('restore', '--target', $one, 'latest', "$many/f00042");
is($rc, 0, 'restore of one file of it: exit 0') or diag($err);
is(GV::_slurp("$one$many/f00042"), "file 42\n", '... with its contents');
($rc, $out, $err) = $cl->run('restore', '--target', $one, $snaps[0]{id}, "$many/f01500");
is(GV::_slurp("$one$many/f01500"), "file 1500\n" x 1, 'the older snapshot keeps the old contents');

# --- nothing changes: the parent's pages are known, not asked about (a
# first backup takes in the directories above $src, which the restores
# above changed, and the access times the reads above left)
$ENV{GIGAVAULT_TEST_SMALL_TREES} = 1;
($rc, $out, $err) = $cl->run('-v', 'backup', $src);
is($rc, 0, 'backup after the restores: exit 0') or diag($err);
ok(sent($err) <= 4, '... sent ' . sent($err) . ' new blobs: the pages of the changed directories above, the meta blob')
    or diag($err);
($rc, $out, $err) = $cl->run('-v', 'backup', $src);
is($rc, 0, 'backup of the unchanged tree: exit 0') or diag($err);
my ($asked) = $err =~ /asked about (\d+) blobs/;
ok(defined $asked && $asked <= 2,
   "it asked the server about " . ($asked // '?') . " blobs (the new meta blob), not about each of the $v->{trees} tree blobs")
    or diag($err);
ok(sent($err) >= 0 && sent($err) <= 1, '... and sent at most the meta blob') or diag($err);
delete $ENV{GIGAVAULT_TEST_SMALL_TREES};

# --- links that are not the blob's own
($rc, $out, $err) = GVClient::run_cmd([$FORGE, '-c', $cl->{conf}, '--lie'],
                                      { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
is($rc, 0, 'forged a snapshot whose root is stored with wrong links') or diag($err);
my ($lie) = $out =~ /^(\d+)$/m;
($rc, $out, $err) = $cl->run('verify', $lie);
is($rc, 1, 'verify of it: exit 1') or diag("$out$err");
like($out . $err, qr/do not match its contents/, '... the links are named as the damage');
($rc, $out, $err) = $cl->run('restore', '--target', $gv->dir . '/lie', $lie);
isnt($rc, 0, 'restore of it fails');
like($err, qr/do not match its contents/, '... saying why');

# --- kinds and levels that are not what the naming blob says
($rc, $out, $err) = GVClient::run_cmd([$FORGE, '-c', $cl->{conf}, '--bad-level'],
                                      { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
is($rc, 0, 'forged a snapshot: a file whose lists are not of its level, a directory that is a list')
    or diag($err);
my ($badlvl) = $out =~ /^(\d+)$/m;
($rc, $out, $err) = $cl->run('verify', $badlvl);
is($rc, 1, 'verify of it: exit 1') or diag("$out$err");
like($out . $err, qr/not a chunk list of the level its file or list says/, '... names the wrong level')
    or diag("$out$err");
like($out . $err, qr/a chunk list where a directory was expected/, '... and the list posing as a directory')
    or diag("$out$err");
my $bl = $gv->dir . '/badlevel';
($rc, $out, $err) = $cl->run('restore', '--target', $bl, $badlvl);
isnt($rc, 0, 'restore of it: exit non-zero');
like($err, qr{/a: not restored: .*not a chunk list of level 2}, '... the file with the wrong level is not restored')
    or diag($err);
ok(!-e "$bl/a", '... and not left behind');
is(GV::_slurp("$bl/b"), "file b\n", '... its sound neighbour is restored');
like($err, qr{/d: directory not restored}, '... nor is the list posing as a directory') or diag($err);

done_testing;
