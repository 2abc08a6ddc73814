#!/usr/bin/perl
# Metadata beyond stat(2), as root: extended attributes of every
# namespace (user.*, trusted.*, security.*, on files, directories, a
# symlink and a FIFO), POSIX ACLs (access and default), a file
# capability, and the inode flags immutable, append-only and nodump
# (an immutable directory too) survive a backup (--include-nodump, since
# nodump files are left out by default) and a restore: getfattr,
# getfacl, getcap and lsattr say the same before and after.  A restore
# onto a file system without xattrs or inode flags (a ramfs mounted in
# a mount namespace of the test's own) restores the contents, names what
# it could not set, and exits 1.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use POSIX qw(mkfifo);
use GV;
use GVClient;

plan skip_all => 'needs root (trusted.* xattrs, capabilities, chattr +i)' if $> != 0;
for my $t (qw(getfattr setfattr getfacl setfacl getcap setcap lsattr chattr unshare)) {
    plan skip_all => "needs $t (Debian: attr, acl, libcap2-bin, e2fsprogs, util-linux)"
        if system("command -v $t >/dev/null 2>&1") != 0;
}

# run a shell command; its output (dies on failure unless $may_fail)
sub sh {
    my ($cmd, $may_fail) = @_;
    my $out = `$cmd 2>&1`;
    die "$cmd: $out" if $? != 0 && !$may_fail;
    return $out;
}

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'meta');
my $src = $gv->dir . '/src';
make_path("$src/dir/sub", "$src/acl/inherit", "$src/frozen");
my @cleanup = ($src);
END {
    local $?;	# keep the test's exit status
    system("chattr -R -i -a '$_' >/dev/null 2>&1") for grep { -e } @cleanup;
}

# --- what the file system of the temp directory takes
my $fs = sh("stat -f -c %T '$src'");
chomp $fs;
diag("temp directory on $fs");
GVClient::_spit_bytes("$src/probe", "x");
my %can;
for my $f (qw(i a d)) {
    $can{$f} = system("chattr +$f '$src/probe' 2>/dev/null") == 0;
    system("chattr -$f '$src/probe' 2>/dev/null");
}
$can{user} = system("setfattr -n user.probe -v 1 '$src/probe' 2>/dev/null") == 0;
$can{acl} = system("setfacl -m u:nobody:r '$src/probe' 2>/dev/null") == 0;
unlink "$src/probe";
plan skip_all => "the temp directory's file system ($fs) has no user xattrs or ACLs"
    unless $can{user} && $can{acl};
for (qw(i a d)) {
    diag("chattr +$_ is not supported on $fs: that flag is not tested") unless $can{$_};
}

# --- the tree
GVClient::_spit_bytes("$src/plain", "no metadata beyond stat, for now\n");
GVClient::_spit_bytes("$src/bare", "no metadata beyond stat\n");
GVClient::_spit_bytes("$src/xattrs", "xattrs of every namespace\n");
sh("setfattr -n user.comment -v 'hello world' '$src/xattrs'");
sh("setfattr -n user.empty '$src/xattrs'");
sh("setfattr -n user.bin -v 0x00ff00fe '$src/xattrs'");
sh("setfattr -n trusted.secret -v t1 '$src/xattrs'");
sh("setfattr -n security.label -v s1 '$src/xattrs'");
GVClient::_spit_bytes("$src/big-xattr", "a 60000-byte xattr value (if the fs takes it)\n");
system("setfattr -n user.big -v 0x" . ('ab' x 60000) . " '$src/big-xattr' 2>/dev/null");
sh("setfattr -n user.dir -v d '$src/dir'");
sh("setfattr -n trusted.dir -v td '$src/dir/sub'");
symlink('plain', "$src/link") or die;
sh("setfattr -h -n trusted.link -v l '$src/link'");
mkfifo("$src/fifo", 0644) or die;
sh("setfattr -n trusted.fifo -v f '$src/fifo'");
GVClient::_spit_bytes("$src/acl/file", "with an access ACL\n");
sh("setfacl -m u:nobody:rw,g:daemon:r,m:rw '$src/acl/file'");
sh("setfacl -d -m u:nobody:rx,g::r '$src/acl'");
sh("setfacl -m u:nobody:rwx '$src/acl'");
GVClient::_spit_bytes("$src/acl/inherit/x", "inherited\n");
GVClient::_spit_bytes("$src/ping", "#!/bin/sh\necho cap\n");
chmod 0755, "$src/ping";
sh("setcap cap_net_raw+ep '$src/ping'");
GVClient::_spit_bytes("$src/nodump", "nodump\n");
GVClient::_spit_bytes("$src/append", "append-only\n");
GVClient::_spit_bytes("$src/frozen/inside", "in an immutable directory\n");
GVClient::_spit_bytes("$src/frozen/linked", "hard-linked, immutable\n");
link("$src/frozen/linked", "$src/linked-too") or die;
sh("chattr +d '$src/nodump'") if $can{d};
sh("chattr +a '$src/append'") if $can{a};
sh("chattr +i '$src/frozen/inside' '$src/frozen/linked'") if $can{i};
sh("chattr +i '$src/frozen'") if $can{i};

# The views compared: every xattr (raw, so ACLs and capabilities too),
# ACLs, capabilities, and flags, of everything under a directory.
sub views {
    my ($top) = @_;
    my %v;
    $v{getfattr} = sh("cd '$top' && getfattr -R -h -d -m - -e hex . | grep -v '^\$'");
    $v{getfacl}  = sh("cd '$top' && getfacl -R -P -p . 2>/dev/null");
    $v{getcap}   = sh("cd '$top' && getcap -r . 2>/dev/null", 1);
    $v{lsattr}   = sh("cd '$top' && find . \\( -type f -o -type d \\) -print0 | sort -z | "
        . "xargs -0 lsattr -d");
    return \%v;
}
my $before = views($src);
like($before->{getfattr}, qr/trusted\.link/, '(setup) the symlink has its xattr');
like($before->{getcap}, qr/ping.*cap_net_raw[=+]ep/, '(setup) ping has its capability');
like($before->{getfacl}, qr/default:user:nobody:r-x/, '(setup) the default ACL is there');

my ($rc, $out, $err) = $cl->run('backup', '--include-nodump', $src);
is($rc, 0, 'backup exits 0') or diag($err);

# --- unchanged backups again: the same pages (the same bytes).  The
# first backup read the symlink, whose access time moved (relatime);
# the second and third see the same.  What may still change is outside
# $src: /tmp and the test directory (other programs' files), the root.
my $new;
for my $i (1, 2) {
    ($rc, $out, $err) = $cl->run('-v', 'backup', '--include-nodump', $src);
    is($rc, 0, 'backup again exits 0') or diag($err);
    ($new) = $err =~ /sent (\d+) new blobs/;
}
like($err, qr/\((\d+) unchanged\)/, 'the files are unchanged') or diag($err);
ok(defined $new && $new <= 4, "nothing changed: no page of \$src sent again "
    . "(xattrs encoded the same way, xattrs and flags of the parent): "
    . ($new // '?') . ' new blobs (the root, /tmp, the test directory, the '
    . 'snapshot)') or diag($err);

# --- an xattr set on an unchanged file: its change time moved, it is read
sh("setfattr -n user.later -v 1 '$src/plain'");
sh("setfacl -m u:nobody:r '$src/nodump'");
($rc, $out, $err) = $cl->run('backup', '--include-nodump', $src);
is($rc, 0, 'backup after xattrs changed exits 0') or diag($err);
$before = views($src);
like($before->{getfattr}, qr/user\.later/, '(setup) the new xattr is there');

my $target = $gv->dir . '/restore';
push @cleanup, $target;
($rc, $out, $err) = $cl->run('restore', '--target', $target, 'latest');
is($rc, 0, 'restore exits 0') or diag($err);
my $after = views("$target$src");
for my $k (qw(getfattr getfacl getcap lsattr)) {
    is($after->{$k}, $before->{$k}, "$k: the same after the restore");
}
is(GV::_slurp("$target$src/frozen/inside"), "in an immutable directory\n",
    'the immutable directory got its entries before its flag');
is((stat "$target$src/linked-too")[1], (stat "$target$src/frozen/linked")[1],
    'an immutable file is hard-linked again (its flag set last)');
is((stat "$target$src/ping")[2] & 07777, 0755, 'the capability file keeps its mode');

# --- a restore where xattrs and flags cannot be set: a ramfs
my $ram = $gv->dir . '/ram';
make_path($ram);
my $cmd = join ' ', map { "'$_'" } $GVClient::CLIENT, '-c', $cl->{conf},
    'restore', '--target', "$ram/r", 'latest';
my $script = $gv->dir . '/ramfs.sh';
GVClient::_spit_bytes($script, "mount -t ramfs none '$ram' || exit 9\n"
    . "GIGAVAULT_PASSPHRASE='$GVClient::PASS' $cmd\n"
    . "echo \"RC=\$?\"\n"
    . "cmp '$src/xattrs' '$ram/r$src/xattrs' && "
    . "cmp '$src/frozen/inside' '$ram/r$src/frozen/inside' && echo SAME\n");
my $res = sh("unshare -m --propagation private sh '$script' 2>&1", 1);
my ($nrc) = $res =~ /RC=(\d+)/;
is($nrc, 1, 'restore onto a file system without xattrs: exit 1') or diag($res);
like($res, qr/SAME/, '... the contents are restored');
like($res, qr{\Q$src\E/xattrs: cannot set extended attributes [^\n]*trusted\.secret[^\n]*user\.comment},
    '... and each file is named with the xattrs it could not set');
like($res, qr{\Q$src\E/frozen: cannot set inode flags}, '... and the flags')
    if $can{i};
unlike($res, qr{/bare:}, '... a file with nothing to set is not named');
ok(!grep({ m{^\Q$ram\E } } split /\n/, sh('cat /proc/mounts')),
    'the ramfs went with its namespace');

# --- a target whose directory gives new files an ACL and flags: the
# restored files have what the snapshot says, not what they inherited
{
    my $inh = $gv->dir . '/inherit-src';
    make_path("$inh/a", "$inh/b");
    GVClient::_spit_bytes("$inh/a/f", "hi\n");
    link("$inh/a/f", "$inh/b/g") or die;
    sh("setfacl -d -m u:nobody:rwx '$inh/a' '$inh/b'");
    my ($irc, undef, $ierr) = $cl->run('backup', '--set', 'inherit', $inh);
    is($irc, 0, 'a tree with default ACLs and a hard link: backed up') or diag($ierr);
    my $it = $gv->dir . '/inherit-target';
    make_path($it);
    sh("setfacl -d -m u:daemon:rwx '$it'");
    sh("chattr +d '$it'") if $can{d};
    ($irc, undef, $ierr) = $cl->run('restore', '--set', 'inherit', '--target', $it, 'latest');
    is($irc, 0, '... restored into a directory with a default ACL' . ($can{d} ? ' and nodump' : ''))
        or diag($ierr);
    is(sh("getfacl -c -P '$it$inh/a/f' '$it$inh/b/g' | grep -c '^user:[^:]' ", 1) =~ s/\s+//gr, '0',
       '... the hard-linked file has no ACL it did not have (none inherited)');
    is(sh("cd '$inh' && getfacl -R -P -p . 2>/dev/null"), sh("cd '$it$inh' && getfacl -R -P -p . 2>/dev/null"),
       '... and the ACLs of the tree are the source\'s');
    SKIP: {
        skip 'no nodump flag on this file system', 1 unless $can{d};
        unlike(sh("lsattr -d '$it$inh' '$it$inh/a' '$it$inh/a/f'"), qr/^\S*d\S*\s/m,
               '... nor the nodump flag of the target');
    }
    system("chattr -d '$it' 2>/dev/null");
}

# --- entries deeper than PATH_MAX: a symlink and a FIFO at the bottom
# of 25 directories of 200-byte names keep their xattrs (read and set
# relative to their directory, never by full path)
{
    my $deep = $gv->dir . '/deep';
    my $name = 'd' x 200;
    make_path($deep);
    my $walk = sub {    # chdir to the bottom, one component at a time
        my ($top) = @_;
        chdir $top or die "chdir $top: $!";
        for (1 .. 25) { mkdir $name unless -d $name; chdir $name or die "chdir: $!" }
    };
    $walk->($deep);
    symlink('nowhere', 'lnk') or die;
    sh("setfattr -h -n trusted.deep -v down-here lnk");
    sh("mkfifo ff && setfattr -n trusted.deep -v fifo ff");
    chdir '/' or die;
    my ($drc, undef, $derr) = $cl->run('backup', '--set', 'deep', $deep);
    is($drc, 0, 'a tree deeper than PATH_MAX: exit 0') or diag($derr);
    unlike($derr, qr/not read/, '... every xattr read');
    my $dt = $gv->dir . '/deep-restore';
    ($drc, undef, $derr) = $cl->run('restore', '--set', 'deep', '--target', $dt, 'latest');
    is($drc, 0, '... restored: exit 0') or diag($derr);
    $walk->("$dt$deep");
    like(sh("getfattr -h -n trusted.deep --only-values lnk", 1), qr/^down-here$/,
         '... the symlink at the bottom has its xattr');
    like(sh("getfattr -n trusted.deep --only-values ff", 1), qr/^fifo$/,
         '... and the FIFO');
    chdir '/' or die;
}

done_testing();
