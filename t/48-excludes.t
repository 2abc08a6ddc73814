#!/usr/bin/perl
# Choosing what a backup saves (gigavault(1), backup and PATTERNS):
# --exclude in each form (anchored, unanchored, ** at the start and in
# the middle, dirs/, an escape), --exclude-file, --exclude-caches (a
# valid CACHEDIR.TAG only), --exclude-if-present, files and directories
# with the nodump flag (skipped where the file system has no flags),
# -v naming what is left out, a BackupSet of client.conf that needs no
# PATH, -x across a tmpfs the test mounts in a mount namespace of the
# client's own (so it goes away with the client, also on failure), and
# "backup / -x" saving no /proc, /sys or /dev content.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use GV;
use GVClient;

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'sel');
my ($rc, $out, $err);
my $src = $gv->dir . '/src';

sub spit { my ($f, $t) = @_; GVClient::_spit_bytes($f, $t // "$f\n") }

# Every path of snapshot latest of set below $top, relative to $top.
sub listing {
    my ($set, $top) = @_;
    my ($rc, $out, $err) = $cl->run('ls', '--json', '--set', $set, 'latest', $top);
    return ("ls failed: $err") if $rc != 0;
    my $l = eval { JSON::PP->new->decode($out) } || [];
    return sort map { (my $p = $_->{path}) =~ s{^\Q$top\E/}{}; $p } @$l;
}

sub has { my ($l, $p) = @_; scalar grep { $_ eq $p } @$l }

make_path(map { "$src/$_" } qw(sub node_modules/pkg deep/x/node_modules var/log/old
    tmp other cache badcache private nodumpdir/inner keepdir));
spit("$src/$_") for qw(keep.txt a.o sub/b.o sub/c.txt sub/anchored anchored
    node_modules/pkg/index.js deep/x/node_modules/y deep/x/z var/log/a.log
    var/log/old/b.log var/log/a.txt var/top.log tmp/t other/tmp star* starx
    cache/blob badcache/blob private/secret private/.nobackup nodump.bin
    nodumpdir/inner/f keepdir/f);
spit("$src/cache/CACHEDIR.TAG",
     "Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n");
spit("$src/badcache/CACHEDIR.TAG", "Signature: not the right one\n");

# --- patterns
my @pat = ('--exclude', '*.o',                      # unanchored
           '--exclude', "$src/anchored",            # anchored
           '--exclude', '**/node_modules',          # ** at the start
           '--exclude', "$src/var/**/*.log",        # ** in the middle
           '--exclude', 'tmp/',                     # directories only
           '--exclude', 'star\*');                  # an escape
($rc, $out, $err) = $cl->run('backup', '--set', 'pat', @pat, $src);
is($rc, 0, 'backup with patterns: exit 0') or diag($err);
like($out, qr/^snapshot \d+ saved: .*excluded, 0 problems/m,
     '... the summary counts what was excluded, and no problem') or diag($out);
my @l = listing('pat', $src);
ok(!has(\@l, 'a.o') && !has(\@l, 'sub/b.o'), '*.o: left out at any depth');
ok(has(\@l, 'sub/c.txt') && has(\@l, 'keep.txt'), '... the rest is saved');
ok(!has(\@l, 'anchored') && has(\@l, 'sub/anchored'),
   'an anchored pattern leaves out that path only');
ok(!grep({ m{(^|/)node_modules(/|$)} } @l), '**/node_modules: none at any depth, nothing below');
ok(has(\@l, 'deep/x/z'), '... its siblings are saved');
ok(!has(\@l, 'var/log/a.log') && !has(\@l, 'var/log/old/b.log') && !has(\@l, 'var/top.log'),
   "$src/var/**/*.log: .log files at every depth below var");
ok(has(\@l, 'var/log/a.txt') && has(\@l, 'var/log/old'), '... others are saved');
ok(!has(\@l, 'tmp') && !has(\@l, 'tmp/t'), 'tmp/: the directory is left out');
ok(has(\@l, 'other/tmp'), '... a file called tmp is not');
ok(!has(\@l, 'star*') && has(\@l, 'starx'), 'star\* matches the name "star*" only');

($rc, $out, $err) = $cl->run('-v', 'backup', '--set', 'pat', @pat, $src);
is($rc, 0, 'again with -v') or diag($err);
like($err, qr{^excluded \Q$src\E/a\.o \(pattern\)$}m, '-v names each excluded entry');
like($err, qr{^excluded \Q$src\E/tmp \(pattern\)$}m, '... directories too');

($rc, $out, $err) = $cl->run('backup', '--set', 'pat', '--exclude', 'a[bc', $src);
is($rc, 2, 'a bad pattern: exit 2');
like($err, qr/--exclude "a\[bc": an unterminated class/, '... named with the reason');

# --- exclude file
my $xf = $cl->dir . '/excludes';
spit($xf, "# build products\n*.o\n\n# and caches\n$src/cache/   \n**/node_modules\n");
($rc, $out, $err) = $cl->run('backup', '--set', 'xf', '--exclude-file', $xf, $src);
is($rc, 0, '--exclude-file: exit 0') or diag($err);
@l = listing('xf', $src);
ok(!has(\@l, 'a.o') && !has(\@l, 'cache') && !has(\@l, 'node_modules'),
   '... its patterns (trailing spaces cut, comments skipped) apply');
ok(has(\@l, 'badcache/blob') && has(\@l, 'keep.txt'), '... the rest is saved');
spit($xf, "*.o\n[bad\n");
($rc, $out, $err) = $cl->run('backup', '--set', 'xf', '--exclude-file', $xf, $src);
is($rc, 2, 'a bad line in the exclude file: exit 2');
like($err, qr/\Q$xf\E:2: an unterminated class/, '... named with file and line');
($rc, $out, $err) = $cl->run('backup', '--set', 'xf', '--exclude-file', "$xf.none", $src);
is($rc, 2, 'a missing exclude file: exit 2');
like($err, qr/\Q$xf\E\.none: No such file/, '... named');

# --- caches and if-present
($rc, $out, $err) = $cl->run('-v', 'backup', '--set', 'tags', '--exclude-caches',
                             '--exclude-if-present', '.nobackup', $src);
is($rc, 0, '--exclude-caches --exclude-if-present: exit 0') or diag($err);
@l = listing('tags', $src);
ok(has(\@l, 'cache') && has(\@l, 'cache/CACHEDIR.TAG') && !has(\@l, 'cache/blob'),
   'a cache directory: kept with its CACHEDIR.TAG, nothing else');
ok(has(\@l, 'badcache/blob') && has(\@l, 'badcache/CACHEDIR.TAG'),
   'a CACHEDIR.TAG without the signature: everything kept');
ok(has(\@l, 'private') && has(\@l, 'private/.nobackup') && !has(\@l, 'private/secret'),
   '--exclude-if-present: the directory and its tag kept, nothing else');
like($err, qr{^excluded \Q$src\E/cache \(a cache directory: only its CACHEDIR.TAG is kept\)$}m,
     '-v names the cache directory');
like($err, qr{^excluded \Q$src\E/private \(\.nobackup is present: only it is kept\)$}m,
     '... and the tagged one');
($rc, $out, $err) = $cl->run('backup', '--set', 'tags', '--exclude-if-present', 'a/b', $src);
is($rc, 2, '--exclude-if-present with a slash: exit 2');

# --- nodump
SKIP: {
    my $ok = system("chattr +d '$src/nodump.bin' '$src/nodumpdir' 2>/dev/null") == 0
        && `lsattr -d '$src/nodump.bin' 2>/dev/null` =~ /^\S*d\S*\s/;
    skip 'no chattr(1), or this file system keeps no nodump flag', 10 unless $ok;
    ($rc, $out, $err) = $cl->run('-v', 'backup', '--set', 'nd', $src);
    is($rc, 0, 'nodump: exit 0') or diag($err);
    @l = listing('nd', $src);
    ok(!has(\@l, 'nodump.bin'), 'a file flagged nodump is left out by default');
    ok(!has(\@l, 'nodumpdir') && !has(\@l, 'nodumpdir/inner/f'), '... a directory too, with its content');
    like($err, qr{^excluded \Q$src\E/nodump\.bin \(nodump flag\)$}m, '... named with -v');
    ($rc, $out, $err) = $cl->run('backup', '--set', 'nd', '--include-nodump', $src);
    is($rc, 0, '--include-nodump: exit 0') or diag($err);
    @l = listing('nd', $src);
    ok(has(\@l, 'nodump.bin') && has(\@l, 'nodumpdir/inner/f'), '... saves them');
    # The next backup would reuse it unchanged from that parent, unread:
    # it knows the flag from the parent's node (when snapshots keep inode
    # flags, which a restore shows).
    my $t = $gv->dir . '/nd-restore';
    ($rc, $out, $err) = $cl->run('restore', '--set', 'nd', '--target', $t, 'latest', "$src/nodump.bin");
    SKIP: {
        skip 'this build keeps no inode flags in a snapshot', 1
            unless $rc == 0 && `lsattr '$t$src/nodump.bin' 2>/dev/null` =~ /^\S*d\S*\s/;
        ($rc, $out, $err) = $cl->run('backup', '--set', 'nd', $src);
        @l = listing('nd', $src);
        ok(!has(\@l, 'nodump.bin'), 'left out again after a parent that saved it');
    }
    # A PATH named on the command line is saved whatever its flag.
    ($rc, $out, $err) = $cl->run('backup', '--set', 'ndtop', "$src/nodumpdir", "$src/nodump.bin");
    is($rc, 0, 'nodump PATHs named on the command line: exit 0') or diag($err);
    @l = listing('ndtop', "$src/nodumpdir");
    ok(has(\@l, 'inner/f'), '... the directory is saved, with its content') or diag(explain(\@l));
    ($rc, $out) = $cl->run('ls', '--set', 'ndtop', 'latest', "$src/nodump.bin");
    like($out, qr{nodump\.bin$}m, '... and the file');
    system("chattr -d '$src/nodump.bin' '$src/nodumpdir'");
}

# --- a BackupSet in client.conf
my $conf = GV::_slurp($cl->{conf});
open my $fh, '>>', $cl->{conf} or die;
print $fh <<"CONF";
BackupSet "web" {
    Paths = {"$src/sub", "$src/var", "$src/cache", "$src/private"}
    Exclude = {"*.o"}
    ExcludeFile = {"web-excludes"}
    ExcludeCaches = 1
    ExcludeIfPresent = {".nobackup"}
}
CONF
close $fh;
spit($cl->dir . '/web-excludes', "# relative to client.conf's directory\n*.log\n");
($rc, $out, $err) = $cl->run('backup', '--set', 'web');
is($rc, 0, 'backup --set web: no PATH needed') or diag($err);
@l = listing('web', $src);
ok(has(\@l, 'sub/c.txt') && !has(\@l, 'sub/b.o'), '... its Paths and Exclude');
ok(has(\@l, 'var/log/a.txt') && !has(\@l, 'var/log/a.log'), '... its ExcludeFile (relative to the config)');
ok(has(\@l, 'cache/CACHEDIR.TAG') && !has(\@l, 'cache/blob'), '... ExcludeCaches');
ok(has(\@l, 'private/.nobackup') && !has(\@l, 'private/secret'), '... ExcludeIfPresent');
ok(!has(\@l, 'keep.txt'), '... and only its paths');
($rc, $out, $err) = $cl->run('backup', '--set', 'web', '--exclude', '*.txt', "$src/sub", "$src/keepdir");
is($rc, 0, 'command-line PATHs and excludes with the set') or diag($err);
@l = listing('web', $src);
ok(has(\@l, 'keepdir/f') && !has(\@l, 'var'), '... its PATHs replace the set\'s');
ok(!has(\@l, 'sub/c.txt') && !has(\@l, 'sub/b.o') && has(\@l, 'sub/anchored'),
   '... its excludes add to the set\'s');
{
    my $withset = GV::_slurp($cl->{conf});
    spit($cl->{conf}, "Set = \"web\"\n" . $withset);
    my $before = scalar $cl->snapshots('--set', 'web');
    ($rc, $out, $err) = $cl->run('backup');
    is($rc, 0, 'Set = "web": "gigavault backup" alone') or diag($err);
    is(scalar $cl->snapshots('--set', 'web'), $before + 1, '... saves a snapshot of set web');
    spit($cl->{conf}, $withset);
}
($rc, $out, $err) = $cl->run('backup', '--set', 'other');
is($rc, 2, 'no PATH and no BackupSet for the set: exit 2');
like($err, qr/usage: gigavault backup/, '... usage');

my $at = 2 + ($conf =~ tr/\n//);    # the line of the option below
for my $bad (["BackupSet \"w\" {\n Exclude = {\"[x\"}\n}\n", qr/:$at: Exclude "\[x": an unterminated class/],
             ["BackupSet \"w\" {\n Paths = {\"rel/path\"}\n}\n", qr/:$at: Paths "rel\/path" is not an absolute path/],
             ["BackupSet \"w\" {\n ExcludeIfPresent = {\"a/b\"}\n}\n", qr/:$at: ExcludeIfPresent "a\/b" is not a file name/],
             ["BackupSet \"bad name\" {\n}\n", qr/BackupSet "bad name"/],
             ["BackupSet \"w\" {\n}\nBackupSet \"w\" {\n}\n", qr/duplicate title 'w'/],
             ["BackupSet \"w\" {\n OneFileSystem = 2\n}\n", qr/:$at: OneFileSystem = 2 is out of range/]) {
    spit($cl->{conf}, $conf . $bad->[0]);
    ($rc, $out, $err) = $cl->run('snapshots');
    is($rc, 2, 'bad BackupSet refused: ' . (split /\n/, $bad->[0])[1]);
    like($err, $bad->[1], '... with the reason') or diag($err);
}
spit($cl->{conf}, $conf);

# --- -x across a tmpfs mounted by the test, in a mount namespace of the
# client's own: the mount goes away with the client, whatever happens.
SKIP: {
    skip 'needs root and unshare(1) for a mount namespace', 11
        if $> != 0 || system('unshare -m --propagation private true 2>/dev/null') != 0;
    my $mp = "$src/mnt";
    make_path("$mp/under");
    spit("$mp/under/hidden", "on the disk, under the mount point\n");
    my @ns = ('unshare', '-m', '--propagation', 'private', 'sh', '-c',
              'mount -t tmpfs -o size=1m gvtest "$0" && mkdir "$0/d" && echo in-tmpfs > "$0/d/f" && exec "$@"',
              $mp, $GVClient::CLIENT, '-c', $cl->{conf});
    my $env = { GIGAVAULT_PASSPHRASE => $GVClient::PASS };
    ($rc, $out, $err) = GVClient::run_cmd([@ns, 'backup', '--set', 'fs', $src], $env, 120);
    is($rc, 0, 'without -x: exit 0') or diag($err);
    @l = listing('fs', $src);
    ok(has(\@l, 'mnt/d/f'), '... the tmpfs content is saved (the mount is real)');
    ok(!has(\@l, 'mnt/under'), '... and what it covers is not seen');
    ($rc, $out, $err) = GVClient::run_cmd([@ns, '-v', 'backup', '--set', 'fs', '-x', $src], $env, 120);
    is($rc, 0, 'with -x: exit 0') or diag($err);
    @l = listing('fs', $src);
    ok(has(\@l, 'mnt'), '... the mount point is kept');
    ok(!grep({ m{^mnt/} } @l), '... as an empty directory') or diag(join ' ', grep { m{^mnt} } @l);
    ok(has(\@l, 'keep.txt'), '... the rest of the PATH is saved');
    like($err, qr{^excluded \Q$mp\E \(another file system: kept as an empty directory\)$}m,
         '... -v names the mount point');
    ($rc, $out, $err) = GVClient::run_cmd([@ns, 'backup', '--set', 'fs2', '-x', $mp], $env, 120);
    @l = listing('fs2', $mp);
    ok($rc == 0 && has(\@l, 'd/f'), 'a PATH that is a mount point itself is saved with -x')
        or diag("$rc $err @l");
    ($rc, $out, $err) = GVClient::run_cmd([@ns, 'backup', '--set', 'fs3', '-x', $src, $mp], $env, 120);
    @l = listing('fs3', $src);
    ok($rc == 0 && has(\@l, 'mnt/d/f') && has(\@l, 'keep.txt'),
       'a mount point below a PATH, named as a PATH too, is crossed with -x') or diag("$rc $err");
    is(scalar(grep { m{gvtest} } split /\n/, GV::_slurp('/proc/self/mountinfo')), 0,
       'no tmpfs left mounted here');
}

# --- backup / -x: the top-level entries but dev, proc, sys (and srv)
# left out by patterns; /proc, /sys and /dev are mount points on Linux.
{
    my @x = ('--exclude', '/[!dps]*', '--exclude', '/?[!ery]*', '--exclude', '/srv');
    ($rc, $out, $err) = $cl->run('backup', '--set', 'root', '-x', @x, '/');
    ok($rc == 0 || $rc == 1, 'backup / -x with patterns') or diag($err);
    my ($rc2, $o2) = $cl->run('ls', '--json', '--set', 'root', 'latest', '/');
    my $dec = eval { JSON::PP->new->decode($o2) } || [];
    my @all = map { $_->{path} } @$dec;
    my $rootdev = (lstat '/')[0];
    my $mounts = 0;
    for my $m ('/proc', '/sys', '/dev') {
        next unless -d $m && (lstat $m)[0] != $rootdev;
        $mounts++;
        ok(has(\@all, $m), "$m is kept");
        is(scalar(grep { m{^\Q$m\E/} } @all), 0, "... with no content");
    }
    ok($mounts >= 1, "at least /proc is a mount point here ($mounts of 3)");
}

is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
