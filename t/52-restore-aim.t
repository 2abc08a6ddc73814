#!/usr/bin/perl
# Restore you can watch and aim: the summary line (files, directories,
# bytes, time, problems; none with -q), --include and --exclude on paths
# in the snapshot (a directory holding a chosen entry is made, with its
# metadata), --strip-components, and the exit status of each.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Find;
use File::Path qw(make_path);
use GV;
use GVClient;

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'alice');
my $src = $gv->dir . '/src';
my %files = (
    'a.txt'             => "alpha\n",
    'b.log'             => "log b\n",
    'keep/x.txt'        => "x\n",
    'keep/deep/y.log'   => "deep log\n",
    'keep/deep/z.txt'   => "zed\n",
    'cache/big.bin'     => GVClient::pseudo_bytes(3_000_000, 'big'),
    'docs/readme.md'    => "read me\n",
);
for my $f (sort keys %files) {
    my ($d) = "$src/$f" =~ m{^(.*)/};
    make_path($d);
    GVClient::_spit_bytes("$src/$f", $files{$f});
}
make_path("$src/empty");
chmod 0750, "$src/keep/deep";
utime 1_600_000_000, 1_600_000_000, "$src/keep/deep";
utime 1_500_000_000, 1_500_000_000, "$src/keep";
my $nfiles = keys %files;
my $bytes = 0;
$bytes += length $_ for values %files;

my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup') or diag($err);

my $n = 0;
sub restore {
    my $t = $gv->dir . '/r' . ++$n;
    return ($t, $cl->run('restore', '--target', $t, @_));
}

# Every path under $dir, relative to it, sorted ("d/" for directories).
sub listing {
    my ($dir) = @_;
    my @l;
    return () if !-d $dir;
    find({ no_chdir => 1, wanted => sub {
        return if $_ eq $dir;
        (my $r = $_) =~ s{^\Q$dir\E/}{};
        push @l, -d $_ && !-l $_ ? "$r/" : $r;
    } }, $dir);
    return sort @l;
}

# --- the summary line
my $t;
($t, $rc, $out, $err) = restore('latest');
is($rc, 0, 'restore: exit 0') or diag($err);
my @comp = grep { length } split m{/}, $src;
like($out, qr/^restored $nfiles files, \d+ directories, [\d.]+ (?:B|KiB|MiB) in \d+\.\d s, 0 problems\n\z/,
     'one summary line on stdout: files, directories, bytes, time, problems') or diag($out);
my ($dirs) = $out =~ /, (\d+) directories/;
is($dirs, @comp + 5, '... every directory counted (the path down to src, and its 5)');
my ($num, $unit) = $out =~ /files, \d+ directories, ([\d.]+) (\S+) in/;
my %mul = (B => 1, KiB => 1024, MiB => 1024 * 1024);
ok(abs($num * $mul{$unit} - $bytes) <= 0.06 * 1024 * 1024, "... bytes: $num $unit for $bytes");
is($err, '', '... nothing on stderr (not a terminal: no progress line)');
is(scalar(GVClient::compare_trees($src, "$t$src")), 0, '... and the tree is whole');

($t, $rc, $out, $err) = restore('-q', 'latest');
is($rc, 0, 'restore -q: exit 0') or diag($err);
is($out, '', '... no summary');
ok(-f "$t$src/a.txt", '... and restored');

# --- --exclude
($t, $rc, $out, $err) = restore('--exclude', '*.log', '--exclude', "$src/cache", 'latest');
is($rc, 0, 'restore --exclude "*.log" --exclude SRC/cache: exit 0') or diag($err);
is_deeply([listing("$t$src")],
          [qw(a.txt docs/ docs/readme.md empty/ keep/ keep/deep/ keep/deep/z.txt keep/x.txt)],
          '... no *.log anywhere, no cache') or diag(join ' ', listing("$t$src"));
like($out, qr/^restored 4 files, /, '... the summary counts what was restored');

# --- --include: parents made only as needed, with their metadata
($t, $rc, $out, $err) = restore('--include', '*.log', 'latest');
is($rc, 0, 'restore --include "*.log": exit 0') or diag($err);
is_deeply([listing("$t$src")], [qw(b.log keep/ keep/deep/ keep/deep/y.log)],
          '... the logs, and only the directories that hold them')
    or diag(join ' ', listing("$t$src"));
is((stat "$t$src/keep/deep")[2] & 07777, 0750, '... a directory made on the way has its mode');
is((stat "$t$src/keep/deep")[9], 1_600_000_000, '... and its mtime');
is((stat "$t$src/keep")[9], 1_500_000_000, '... its parent too');

($t, $rc, $out, $err) = restore('--include', "$src/keep/", '--include', "$src/empty",
                                '--exclude', 'deep/*.log', 'latest');
is($rc, 0, 'restore --include DIR/ --include DIR --exclude deep/*.log: exit 0') or diag($err);
is_deeply([listing("$t$src")], [qw(empty/ keep/ keep/deep/ keep/deep/z.txt keep/x.txt)],
          '... the included directories whole (an empty one too), less the excluded')
    or diag(join ' ', listing("$t$src"));

($t, $rc, $out, $err) = restore('--include', 'nothing-matches', 'latest');
is($rc, 0, 'an include that matches nothing: exit 0') or diag($err);
is_deeply([listing($t)], [], '... nothing made');
like($out, qr/^restored 0 files, 0 directories, /, '... and said so');

# PATH arguments and patterns together
($t, $rc, $out, $err) = restore('--exclude', '*.txt', 'latest', "$src/keep");
is($rc, 0, 'restore --exclude "*.txt" SNAP PATH: exit 0') or diag($err);
is_deeply([listing("$t$src")], [qw(keep/ keep/deep/ keep/deep/y.log)], '... that path, less the excluded');
($t, $rc, $out, $err) = restore('--exclude', '*.txt', 'latest', "$src/nowhere");
is($rc, 1, '... a path not in the snapshot: exit 1');
like($err, qr{\Q$src\E/nowhere: not in the snapshot}, '... named');
like($out, qr/, 1 problem\n/, '... and counted in the summary');

($t, $rc, $out, $err) = restore('latest', "$src/keep", $src, "$src/keep/deep", $src);
is($rc, 0, 'restore SNAP SRC/keep SRC SRC/keep/deep SRC (no pattern): exit 0') or diag($err);
is($err, '', '... a PATH within another is restored once, not found "existing"') or diag($err);
is(scalar(GVClient::compare_trees($src, "$t$src")), 0, '... and the tree is whole');
like($out, qr/^restored $nfiles files, /, '... each file counted once') or diag($out);
($t, $rc, $out, $err) = restore('latest', $src, "$src/nowhere", "$src/a.txt/x");
is($rc, 1, '... a PATH within another that is not in the snapshot: exit 1');
like($err, qr{\Q$src\E/nowhere: not in the snapshot}, '... named') or diag($err);
like($err, qr{\Q$src\E/a\.txt/x: not in the snapshot}, '... also below a file') or diag($err);

# Nested PATHs: each one is there; a PATH below an excluded directory is
# named, but not a problem (it is in the snapshot, left out as asked).
($t, $rc, $out, $err) = restore('--exclude', '*.tmp', 'latest', $src, "$src/keep");
is($rc, 0, 'restore --exclude "*.tmp" SNAP SRC SRC/keep: exit 0') or diag($err);
is($err, '', '... the nested PATH is not "not in the snapshot"') or diag($err);
is(scalar(GVClient::compare_trees($src, "$t$src")), 0, '... and the tree is whole');
($t, $rc, $out, $err) = restore('--exclude', 'cache', 'latest', "$src/cache/big.bin", "$src/docs");
is($rc, 0, 'a PATH below an excluded directory: exit 0') or diag($err);
like($err, qr{\Q$src\E/cache/big\.bin: excluded by --exclude \(\Q$src\E/cache\), not restored},
     '... named as excluded') or diag($err);
unlike($err, qr/not in the snapshot/, '... not as missing');
is_deeply([listing("$t$src")], [qw(docs/ docs/readme.md)], '... the other PATH restored')
    or diag(join ' ', listing("$t$src"));

# --- --strip-components
my $depth = @comp;                      # components of $src
($t, $rc, $out, $err) = restore('--strip-components', $depth + 1, 'latest', "$src/keep");
is($rc, 0, 'restore --strip-components N SNAP SRC/keep: exit 0') or diag($err);
is_deeply([listing($t)], [qw(deep/ deep/y.log deep/z.txt x.txt)],
          '... the subtree straight into the target (keep itself skipped)')
    or diag(join ' ', listing($t));
is(GV::_slurp("$t/deep/z.txt"), "zed\n", '... with its contents');
is((stat "$t/deep")[2] & 07777, 0750, '... and its directories\' metadata');

($t, $rc, $out, $err) = restore('--strip-components', $depth, '--exclude', 'cache', 'latest');
is($rc, 0, 'restore --strip-components (depth of SRC) --exclude cache: exit 0') or diag($err);
is_deeply([listing($t)],
          [qw(a.txt b.log docs/ docs/readme.md empty/ keep/ keep/deep/ keep/deep/y.log keep/deep/z.txt keep/x.txt)],
          '... what was in SRC, at the top of the target') or diag(join ' ', listing($t));

($t, $rc, $out, $err) = restore('--strip-components', 99, 'latest');
is($rc, 1, 'more components stripped than any path has: exit 1') or diag($err);
is_deeply([listing($t)], [], '... nothing restored');
like($err, qr/the snapshot: all of it is within the 99 stripped components, nothing restored/,
     '... and said so') or diag($err);
like($out, qr/, 1 problem\n/, '... counted as a problem');
($t, $rc, $out, $err) = restore('--strip-components', 1, '--exclude', "/$comp[0]", 'latest');
is($rc, 0, 'everything excluded within the stripped components: exit 0') or diag($err);
is($err, '', '... not said to be stripped away') or diag($err);
($t, $rc, $out, $err) = restore('--strip-components', $depth + 1, 'latest', "$src/a.txt", "$src/keep");
is($rc, 1, 'a PATH all within the stripped components: exit 1') or diag($err);
like($err, qr{\Q$src\E/a\.txt: all of it is within the @{[$depth + 1]} stripped components},
     '... named') or diag($err);
unlike($err, qr{\Q$src\E/keep:}, '... the other PATH is not') or diag($err);
is_deeply([listing($t)], [qw(deep/ deep/y.log deep/z.txt x.txt)], '... and restored')
    or diag(join ' ', listing($t));

# Two entries that strip to the same name: the second one is kept out.
($t, $rc, $out, $err) = restore('--strip-components', $depth + 1, '--include', '*.txt', 'latest');
is($rc, 0, 'strip then include: exit 0') or diag($err);
is_deeply([listing($t)], [qw(deep/ deep/z.txt x.txt)], '... the .txt files below the first level')
    or diag(join ' ', listing($t));

# --- exit codes of bad options
($t, $rc, $out, $err) = restore('--include', '[ab', 'latest');
is($rc, 2, 'a bad --include pattern: exit 2');
like($err, qr/--include "\[ab": .*class/i, '... saying why') or diag($err);
ok(!-e $t, '... before anything is made');
($t, $rc, $out, $err) = restore('--exclude', '', 'latest');
is($rc, 2, 'an empty --exclude pattern: exit 2');
($t, $rc, $out, $err) = restore('--exclude', './cache', 'latest');
is($rc, 2, 'an --exclude with a "." component (it would never match): exit 2');
like($err, qr/--exclude "\.\/cache": a "\." component never matches .*write the name alone/,
     '... saying why and what to write instead') or diag($err);
ok(!-e $t, '... before anything is made');
for my $bad ('-1', 'x', '2x', '') {
    ($t, $rc, $out, $err) = restore('--strip-components', $bad, 'latest');
    is($rc, 2, "--strip-components \"$bad\": exit 2");
    like($err, qr/--strip-components "\Q$bad\E" is not a number/, '... saying why');
}

# --- problems: an existing file is kept, exit 1, counted
($t, $rc, $out, $err) = restore('--include', 'a.txt', 'latest');
is($rc, 0, 'restore one file') or diag($err);
($rc, $out, $err) = $cl->run('restore', '--target', $t, '--include', '*.txt', 'latest');
is($rc, 1, 'again with more: exit 1 (the file there is kept)');
like($err, qr{a\.txt: exists; not overwritten}, '... named on stderr');
like($out, qr/^restored 2 files, \d+ directories, .* 1 problem\n\z/, '... the summary counts the problem');
($rc, $out, $err) = $cl->run('restore', '-q', '--target', $t, '--include', '*.txt', 'latest');
is($rc, 1, '-q: still exit 1');
is($out, '', '... no summary');
like($err, qr{a\.txt: exists}, '... the problems still named');

# --- on a terminal (script(1)): the restore works, the summary comes
SKIP: {
    skip 'no script(1)', 2 if system('script --version >/dev/null 2>&1') != 0;
    my $tt = $gv->dir . '/rtty';
    my $cmd = join ' ', map { "'$_'" } $GVClient::CLIENT, '-c', $cl->dir . '/client.conf',
        'restore', '--target', $tt, 'latest';
    local $ENV{GIGAVAULT_PASSPHRASE} = $GVClient::PASS;
    my $typed = `script -qec "$cmd" /dev/null </dev/null 2>&1`;
    is($? >> 8, 0, 'restore on a terminal: exit 0') or diag($typed);
    like($typed, qr/restored $nfiles files, /, '... with its summary');
}

# --- hard links with --strip-components and --overwrite: a/f and b/f
# strip to the same name; c/g, a link of a/f, must get a/f's content
# even though b/f replaced the file a/f was first restored to.
my $hl = $gv->dir . '/hl';
make_path("$hl/a", "$hl/b", "$hl/c");
GVClient::_spit_bytes("$hl/a/f", "content of a/f");
GVClient::_spit_bytes("$hl/b/f", "content of b/f");
link "$hl/a/f", "$hl/c/g" or die "link: $!";
GVClient::_spit_bytes("$hl/c/h", "content of c/h");
link "$hl/c/h", "$hl/c/i" or die "link: $!";
($rc, $out, $err) = $cl->run('backup', $hl);
is($rc, 0, 'backup of hard links') or diag($err);
my $hdepth = () = grep { length } split m{/}, $hl;
($t, $rc, $out, $err) = restore('--overwrite', '--strip-components', $hdepth + 1, 'latest', $hl);
is($rc, 0, 'restore --overwrite --strip-components: exit 0') or diag($err);
is(GV::_slurp("$t/f"), "content of b/f", '... the later f replaced the earlier one');
is(GV::_slurp("$t/g"), "content of a/f", '... a link of the replaced file keeps its own content');
isnt((stat "$t/g")[1], (stat "$t/f")[1], '... not linked to the replacement');
is((stat "$t/h")[1], (stat "$t/i")[1], '... a group not replaced is still linked');
is(GV::_slurp("$t/i"), "content of c/h", '... with its content');

# --overwrite over a target file hard-linked elsewhere on disk: the
# other name keeps its content (the file is replaced, not written into).
$t = $gv->dir . '/r' . ++$n;
make_path($t);
GVClient::_spit_bytes("$t/other", "not from the snapshot");
link "$t/other", "$t/f" or die "link: $!";
($rc, $out, $err) = $cl->run('restore', '--overwrite', '--strip-components', $hdepth + 1,
                             '--target', $t, 'latest', "$hl/a");
is($rc, 0, 'restore --overwrite onto a hard-linked file: exit 0') or diag($err);
is(GV::_slurp("$t/f"), "content of a/f", '... the file restored');
is(GV::_slurp("$t/other"), "not from the snapshot", '... its other name untouched');

# --- a damaged first copy of a group of hard links: the links made to it
# must not keep its partial content (it is removed; so are they, or they
# are restored whole).  Last: this damages the packs of the data above.
my $dmg = $gv->dir . '/dmg';
make_path($dmg);
my $body = GVClient::pseudo_bytes(3_000_000, 'dmg');
GVClient::_spit_bytes("$dmg/f", $body);
link "$dmg/f", "$dmg/g" or die "link: $!";
($rc, $out, $err) = $cl->run('backup', $dmg);
is($rc, 0, 'backup of a large hard-linked file') or diag($err);
GVClient::damage_packs($gv);
($t, $rc, $out, $err) = restore('latest', $dmg);
is($rc, 1, 'restore of the damaged file: exit 1') or diag($err);
like($err, qr{\Q$dmg\E/f: chunk \d+ (damaged|not available)}, '... the first copy named') or diag($err);
ok(!-e "$t$dmg/f", '... and not left behind');
ok(!-e "$t$dmg/g" || GV::_slurp("$t$dmg/g") eq $body, '... its link is not left with partial content')
    or diag(-s "$t$dmg/g");

done_testing;
