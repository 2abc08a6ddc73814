#!/usr/bin/perl
# gigavault diff: added, removed and changed paths (with what changed)
# between two snapshots, as text and JSON, reading only the directories
# that changed (an unchanged big subtree costs nothing); gigavault find:
# paths matching patterns over 3 snapshots, newest first, a match in a
# subtree unchanged since a newer snapshot shown for every snapshot (as a
# walk of each finds it), with the memo and without; bad patterns refused.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path remove_tree);
use JSON::PP;
use GV;
use GVClient;

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'alice');
my $src = $gv->dir . '/src';
make_path("$src/big");
sub spit { GVClient::_spit_bytes(@_) }
spit("$src/keep.txt", "kept\n");
spit("$src/gone.txt", "going\n");
spit("$src/content.txt", "first version\n");
spit("$src/mode.txt", "mode\n");
spit("$src/kind", "a file, then a directory\n");
chmod 0644, "$src/mode.txt";
# The big subtree: 40 directories of 50 files, one of them matching.
for my $d (0 .. 39) {
    make_path("$src/big/d$d");
    spit("$src/big/d$d/f$_.dat", "file $d/$_\n") for 0 .. 49;
}
spit("$src/big/d7/match.txt", "in the big tree\n");
my $T0 = 1_700_000_000;
utime $T0, $T0, "$src/$_" for qw(content.txt mode.txt), "";

my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'first backup') or diag($err);

# The changes.
unlink "$src/gone.txt";
spit("$src/new.txt", "new\n");
spit("$src/content.txt", "second version\n");       # same length? no matter
utime $T0, $T0, "$src/content.txt";                    # only the content differs
chmod 0600, "$src/mode.txt";
unlink "$src/kind";
make_path("$src/kind");
spit("$src/kind/inside", "inside\n");
utime $T0, $T0, "$src/kind";
utime $T0, $T0, $src;                                  # its own times unchanged
($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'second backup') or diag($err);

my @s = map { $_->{id} } $cl->snapshots;
is(scalar @s, 2, 'two snapshots');

# Bytes the daemon sent in sessions that ended after log offset $from.
sub bytes_out_since {
    my ($from) = @_;
    my $log = substr(GV::_slurp($gv->logfile), $from);
    my $sum = 0;
    $sum += $1 while $log =~ /ended: .*? (\d+) bytes out/g;
    return $sum;
}

# --- diff of the source directory
my $from = GVClient::log_size($gv);
($rc, $out, $err) = $cl->run('diff', $s[0], $s[1], $src);
is($rc, 0, 'diff S1 S2 SRC: exit 0') or diag($err);
my $diff_out = bytes_out_since($from);
my @want = (
    "M $src/content.txt (content)",
    "- $src/gone.txt",
    "M $src/kind (type)",
    "+ $src/kind/inside",
    "M $src/mode.txt (mode)",
    "+ $src/new.txt",
    "2 added, 1 removed, 3 changed",
);
is_deeply([split /\n/, $out], \@want, '... the changes in name order, what changed, the counts')
    or diag($out);
is($err, '', '... nothing on stderr');

# An unchanged subtree is not read: the diff reads far less than a listing.
$from = GVClient::log_size($gv);
($rc, my $lsout) = $cl->run('ls', $s[1], $src);
is($rc, 0, 'ls of the same snapshot');
my $ls_out = bytes_out_since($from);
ok($diff_out * 5 < $ls_out,
   "diff read $diff_out bytes, ls of the same tree $ls_out: the 2,000-file subtree was skipped");

# --- the whole snapshots: the same changes, and the paths above SRC
($rc, $out, $err) = $cl->run('diff', $s[0], $s[1]);
is($rc, 0, 'diff S1 S2: exit 0') or diag($err);
for my $l (@want[0 .. 5]) {
    like($out, qr/^\Q$l\E$/m, "... has \"$l\"");
}
unlike($out, qr{\Q$src\E/big}, '... nothing in the unchanged subtree');
# Above SRC only the times of its parents (/tmp...) may change, by others.
my @above = grep { !m{^. \Q$src\E/} && !/^\d+ added/ } split /\n/, $out;
my @anc = grep { length } split m{/}, $src;
my %anc = map { ('/' . join('/', @anc[0 .. $_ - 1])) => 1 } 1 .. $#anc;
is_deeply([grep { !(/^M (\S+) \(times\)$/ && $anc{$1}) } @above], [],
          '... above SRC at most the times of its parents') or diag($out);
like($out, qr/^2 added, 1 removed, ${\(3 + @above)} changed$/m, '... the counts')
    or diag($out);

($rc, $out, $err) = $cl->run('diff', $s[1], $s[0], $src);
is($rc, 0, 'diff S2 S1: exit 0');
like($out, qr/^\+ \Q$src\E\/gone\.txt$/m, '... the other way: gone.txt added');
like($out, qr/^- \Q$src\E\/new\.txt$/m, '... new.txt removed');
like($out, qr/^- \Q$src\E\/kind\/inside$/m, '... what was in the directory removed');

($rc, $out, $err) = $cl->run('diff', $s[0], $s[0]);
is($rc, 0, 'diff S1 S1: exit 0');
is($out, "0 added, 0 removed, 0 changed\n", '... no changes');

($rc, $out, $err) = $cl->run('diff', $s[0], 'latest', "$src/kind/");
is($rc, 0, 'diff of a path that changed type (latest, a trailing slash)');
is($out, "M $src/kind (type)\n+ $src/kind/inside\n1 added, 0 removed, 1 changed\n", '... its change')
    or diag($out);
($rc, $out, $err) = $cl->run('diff', $s[0], $s[1], "$src/new.txt");
is($out, "+ $src/new.txt\n1 added, 0 removed, 0 changed\n", 'a path in the second only: added');
($rc, $out, $err) = $cl->run('diff', $s[0], $s[1], "$src/nowhere");
is($rc, 2, 'a path in neither: exit 2');
like($err, qr{nowhere: in neither snapshot}, '... said');
($rc, $out, $err) = $cl->run('diff', $s[0], 999);
is($rc, 2, 'a snapshot that does not exist: exit 2');
like($err, qr/no snapshot 999/, '... named');
($rc, $out, $err) = $cl->run('diff', $s[0]);
is($rc, 2, 'one snapshot only: usage, exit 2');

# --- --json
($rc, $out, $err) = $cl->run('diff', '--json', $s[0], $s[1], $src);
is($rc, 0, 'diff --json: exit 0') or diag($err);
my $j = eval { JSON::PP->new->decode($out) };
ok(ref $j eq 'ARRAY', '... an array') or diag($out);
is(scalar @$j, 6, '... one object per change');
my %by = map { $_->{path} => $_ } @$j;
is_deeply($by{"$src/content.txt"}, { change => 'M', path => "$src/content.txt", type => 'file',
                                     what => ['content'] }, '... a content change');
is_deeply($by{"$src/mode.txt"}{what}, ['mode'], '... a mode change');
is_deeply($by{"$src/kind"}{what}, ['type'], '... a type change');
is($by{"$src/kind"}{type}, 'dir', '... with the new type');
is_deeply($by{"$src/new.txt"}, { change => '+', path => "$src/new.txt", type => 'file' }, '... an addition');
is_deeply($by{"$src/gone.txt"}, { change => '-', path => "$src/gone.txt", type => 'file' }, '... a removal');
($rc, $out, $err) = $cl->run('diff', '--json', $s[0], $s[0]);
is_deeply(JSON::PP->new->decode($out), [], 'no changes: an empty array');

# --- find over 3 snapshots
spit("$src/third.txt", "3\n");
spit("$src/content.txt", "third version\n");
($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'third backup') or diag($err);
@s = map { $_->{id} } $cl->snapshots;
is(scalar @s, 3, 'three snapshots');

($rc, $out, $err) = $cl->run('find', '*.txt');
is($rc, 0, 'find "*.txt": exit 0') or diag($err);
my @got = map { /^(\d+) \S+ (\S+)$/ ? "$1 $2" : "BAD: $_" } split /\n/, $out;
my @exp = (
    (map { "$s[2] $src/$_" } qw(big/d7/match.txt content.txt keep.txt mode.txt new.txt third.txt)),
    (map { "$s[1] $src/$_" } qw(big/d7/match.txt content.txt keep.txt mode.txt new.txt)),
    (map { "$s[0] $src/$_" } qw(big/d7/match.txt content.txt gone.txt keep.txt mode.txt)),
);
is_deeply(\@got, \@exp,
          '... newest snapshot first; a match in the unchanged big subtree shown for every snapshot holding it')
    or diag($out);
like($out, qr/^\d+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* \//m, '... each line: snapshot id, time, path');

($rc, $out, $err) = $cl->run('find', '--snapshot', $s[0], "$src/*.txt", '**/inside', 'kind/');
is($rc, 0, 'find --snapshot S1 with several patterns: exit 0') or diag($err);
@got = map { /^(\d+) \S+ (\S+)$/ ? "$1 $2" : "BAD: $_" } split /\n/, $out;
is_deeply(\@got, [map { "$s[0] $src/$_" } qw(content.txt gone.txt keep.txt mode.txt)],
          '... that snapshot only; "kind/" matches no file') or diag($out);

($rc, $out, $err) = $cl->run('find', '--snapshot', 'latest', 'kind/', '**/inside', 'd3');
@got = map { /^(\d+) \S+ (\S+)$/ ? "$1 $2" : "BAD: $_" } split /\n/, $out;
is_deeply(\@got, [map { "$s[2] $src/$_" } qw(big/d3 kind kind/inside)],
          'find "kind/" "**/inside" "d3" in latest: directories and what is below') or diag($out);

($rc, $out, $err) = $cl->run('find', '--json', 'match.txt', 'gone.txt');
is($rc, 0, 'find --json: exit 0') or diag($err);
$j = eval { JSON::PP->new->decode($out) };
ok(ref $j eq 'ARRAY', '... an array') or diag($out);
is_deeply([map { "$_->{snapshot} $_->{path} $_->{type}" } @$j],
          ["$s[2] $src/big/d7/match.txt file", "$s[1] $src/big/d7/match.txt file",
           "$s[0] $src/big/d7/match.txt file", "$s[0] $src/gone.txt file"], '... of the matches');
ok(defined $j->[0]{time} && $j->[0]{unix_time} > 0, '... with their snapshot times');

($rc, $out, $err) = $cl->run('find', 'nothing-like-this');
is($rc, 0, 'no match: exit 0');
is($out, '', '... nothing printed');

($rc, $out, $err) = $cl->run('find', '*.txt', '[abc');
is($rc, 2, 'a bad pattern: exit 2');
like($err, qr/find: pattern "\[abc": .*class/i, '... naming it and why') or diag($err);
is($out, '', '... nothing found before');
($rc, $out, $err) = $cl->run('find');
is($rc, 2, 'no pattern: usage, exit 2');
like($err, qr/usage: gigavault find/, '... with the usage');

# --- find lists every snapshot holding a match, also where the directory
# holding it did not change (etc/ssh) while a sibling did (etc/hosts
# between 1 and 2) and something unrelated was added (in 3): as many
# lines as a listing of each snapshot on its own finds.
my $sys = $gv->dir . '/sys';
make_path("$sys/etc/ssh", "$sys/var");
spit("$sys/etc/ssh/sshd_config", "Port 22\n");
spit("$sys/etc/ssh/ssh_config", "Host *\n");
spit("$sys/etc/hosts", "127.0.0.1 localhost\n");
($rc, $out, $err) = $cl->run('backup', $sys);
is($rc, 0, 'sys: first backup') or diag($err);
spit("$sys/etc/hosts", "127.0.0.1 localhost\n10.0.0.1 gw\n");
($rc, $out, $err) = $cl->run('backup', $sys);
is($rc, 0, 'sys: second backup (a sibling of etc/ssh changed)') or diag($err);
spit("$sys/var/new.log", "new\n");
($rc, $out, $err) = $cl->run('backup', $sys);
is($rc, 0, 'sys: third backup (an unrelated file added)') or diag($err);
my @all = map { $_->{id} } $cl->snapshots;

# What a walk of each snapshot on its own finds (basename patterns).
sub brute {
    my ($re) = @_;
    my @l;
    for my $id (reverse @all) {
        my ($lrc, $lout, $lerr) = $cl->run('ls', '--json', $id);
        die "ls $id: $lerr" if $lrc != 0;
        push @l, map { "$id $_->{path}" } grep { $_->{path} =~ m{/$re\z} }
            @{ JSON::PP->new->decode($lout) };
    }
    return @l;
}
my @sysids = @all[-3 .. -1];
for my $memo (undef, 1, 66500) {
    local $ENV{GIGAVAULT_TEST_FIND_MEMO} = $memo if defined $memo;
    my $how = defined $memo ? "with a memo of at most $memo bytes" : 'with the memo';
    ($rc, $out, $err) = $cl->run('find', 'sshd_config');
    is($rc, 0, "find sshd_config $how: exit 0") or diag($err);
    @got = map { /^(\d+) \S+ (\S+)$/ ? "$1 $2" : "BAD: $_" } split /\n/, $out;
    is_deeply(\@got, [map { "$_ $sys/etc/ssh/sshd_config" } reverse @sysids],
              '... every snapshot that holds it, newest first') or diag($out);
    ($rc, $out, $err) = $cl->run('find', '*.txt', '*_config', '*.log');
    @got = map { /^(\d+) \S+ (\S+)$/ ? "$1 $2" : "BAD: $_" } split /\n/, $out;
    is_deeply(\@got, [brute(qr{[^/]*(?:\.txt|_config|\.log)})],
              '... and over all snapshots: the same lines as a walk of each on its own')
        or diag($out);
}

# "?" is a character of a UTF-8 name, not a byte, also when the
# environment's locale is C.
spit("$sys/caf\xc3\xa9", "coffee\n");
($rc, $out, $err) = $cl->run('backup', $sys);
is($rc, 0, 'sys: a backup with a UTF-8 name') or diag($err);
{
    local $ENV{LC_ALL} = 'C';
    ($rc, $out, $err) = $cl->run('find', '--snapshot', 'latest', 'caf?');
}
is($rc, 0, 'find "caf?" with LC_ALL=C: exit 0') or diag($err);
like($out, qr{^\d+ \S+ \Q$sys\E/caf\xc3\xa9$}m, '... finds the name whose last character is two bytes') or diag($out);

done_testing;
