package GVClient;

# The client side of end-to-end tests: a registered `gigavault` client of
# a test daemon (GV.pm), and helpers to build and compare file trees.
#
#   my $gv = GV->start(Workers => 2);
#   my $cl = GVClient->new($gv, 'alice');         # ctl add, init, register
#   my ($rc, $out, $err) = $cl->run('backup', $dir);
#   GVClient::make_tree($dir);                     # every file type
#   my @diff = GVClient::compare_trees($a, $b);    # () when identical

use strict;
use warnings;
use File::Path qw(make_path);
use Digest::SHA;
use POSIX qw(mkfifo);
use Time::HiRes ();
use GV;

our $CLIENT = $ENV{GV_CLIENT} || "$GV::BUILDDIR/src/gigavault";
our $CTL    = $ENV{GV_CTL}    || "$GV::BUILDDIR/src/gigavaultctl";
our $PASS   = 'correct horse battery staple';

# run_cmd(\@argv, \%env, $timeout) -> (exit status, stdout, stderr)
sub run_cmd {
    my ($argv, $env, $timeout) = @_;
    my $dir = GV::_scratch();
    my ($out, $err) = ("$dir/cmd.$$.out", "$dir/cmd.$$.err");
    my $pid = fork // die "GVClient: fork: $!";
    if (!$pid) {
        %ENV = (%ENV, %{ $env || {} });
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        exec { $argv->[0] } @$argv or POSIX::_exit(127);
    }
    my $deadline = time + ($timeout // 120);
    my $st;
    while (1) {
        my $r = waitpid($pid, POSIX::WNOHANG());
        if ($r == $pid) { $st = GV::_decode_status($?); last }
        if (time > $deadline) { kill 'KILL', $pid; waitpid($pid, 0); $st = -1; last }
        Time::HiRes::sleep(0.01);
    }
    my @r = ($st, GV::_slurp($out), GV::_slurp($err));
    unlink $out, $err;
    return @r;
}

# ctl($gv, @args): gigavaultctl against the test daemon's config.
sub ctl {
    my ($gv, @args) = @_;
    return run_cmd([$CTL, '-f', $gv->conf, @args], {}, 30);
}

# A new client NAME of daemon $gv: added with gigavaultctl, its key file
# made with `gigavault init`, registered with the token.
sub new {
    my ($class, $gv, $name, %o) = @_;
    my $dir = $gv->dir . "/client-$name";
    make_path($dir);
    my $self = bless { gv => $gv, name => $name, dir => $dir,
                       conf => "$dir/client.conf" }, $class;
    open my $fh, '>', $self->{conf} or die "GVClient: $self->{conf}: $!";
    printf $fh qq(Server = "127.0.0.1:%d"\nKeyFile = "%s/key"\nStateFile = "%s/state.json"\n),
        $gv->port('BackupServer'), $dir, $dir;
    close $fh;
    return $self if $o{unregistered};
    my ($rc, $out, $err) = ctl($gv, 'client', 'add', $name);
    die "GVClient: gigavaultctl client add $name: $rc $err" if $rc != 0;
    ($self->{token}) = $out =~ /\b([0-9a-f]{32,})\b/
        or die "GVClient: no token in: $out";
    ($rc, $out, $err) = $self->run('init');
    die "GVClient: init: $rc $err" if $rc != 0;
    ($rc, $out, $err) = $self->run('register', '-s', '127.0.0.1:' . $gv->port('BackupServer'),
                                   '--token', $self->{token});
    die "GVClient: register: $rc $err" if $rc != 0;
    return $self;
}

sub dir  { $_[0]{dir} }
sub name { $_[0]{name} }

# run(@args) -> (exit status, stdout, stderr)
sub run {
    my ($self, @args) = @_;
    # A client of a daemon in a namespace (GV->start(-netns)) runs there.
    my $ns = $self->{gv}->can('netns') && $self->{gv}->netns;
    return run_cmd([($ns ? ('ip', 'netns', 'exec', $ns) : ()), $CLIENT, '-c', $self->{conf}, @args],
                   { GIGAVAULT_PASSPHRASE => $PASS }, 300);
}

# spawn(@args) -> pid of a client running in the background
sub spawn {
    my ($self, @args) = @_;
    my $pid = fork // die;
    if (!$pid) {
        $ENV{GIGAVAULT_PASSPHRASE} = $PASS;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$self->{dir}/spawn.out";
        open STDERR, '>', "$self->{dir}/spawn.err";
        exec $CLIENT, '-c', $self->{conf}, @args or POSIX::_exit(127);
    }
    return $pid;
}

# Snapshot ids of this client, oldest first (via `snapshots --json`).
sub snapshots {
    my ($self, @args) = @_;
    my ($rc, $out, $err) = $self->run('snapshots', '--json', @args);
    return if $rc != 0;
    my $d = eval { JSON::PP->new->decode($out) } or return;
    my $list = ref $d eq 'HASH' ? $d->{snapshots} : $d;
    return @{ $list || [] };
}

# Bytes the daemon received in sessions that ended after log offset $from.
sub bytes_in_since {
    my ($gv, $from) = @_;
    my $log = substr(GV::_slurp($gv->logfile), $from);
    my $sum = 0;
    $sum += $1 while $log =~ /ended: .*?; (\d+) bytes in/g;
    return $sum;
}

sub log_size { length GV::_slurp($_[0]->logfile) }

# restart_daemon($gv): after the supervisor was killed, wait until every
# process of its group is gone, then start gigavaultd again with the same
# config and data (as an init system would), and wait until it serves.
sub restart_daemon {
    my ($gv, $timeout) = @_;
    my $old = $gv->{pid};
    waitpid($old, 0);       # the killed supervisor (our child)
    GV::wait_until(sub { !grep { $_->{pgrp} == $old && $_->{state} ne 'Z' } GV::_all_procs() },
                   $timeout // 30) or return;
    my $pid = fork // die "GVClient: fork: $!";
    if (!$pid) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $gv->{stdout};
        open STDERR, '>>', $gv->{stderr};
        $SIG{$_} = 'DEFAULT' for qw(PIPE ALRM INT TERM HUP);
        alarm 0;
        exec { $GV::BIN } $GV::BIN, '-d', '-f', $gv->conf or POSIX::_exit(127);
    }
    POSIX::setpgid($pid, $pid);
    $gv->{pid} = $pid;
    delete $gv->{exit};
    return GV::wait_until(sub { $gv->ready }, $timeout // 30);
}

# ---------------------------------------------------------------- trees

sub _spit_bytes {
    my ($f, $bytes) = @_;
    open my $fh, '>:raw', $f or die "GVClient: $f: $!";
    print $fh $bytes;
    close $fh;
}

# Deterministic pseudo-random bytes (seeded), fast enough for megabytes.
sub pseudo_bytes {
    my ($n, $seed) = @_;
    my $out = '';
    my $block = Digest::SHA::sha512("seed $seed");
    while (length $out < $n) {
        $block = Digest::SHA::sha512($block);
        $out .= $block x 1;
    }
    return substr($out, 0, $n);
}

# make_tree($dir): a tree with every kind of entry backup must keep.
sub make_tree {
    my ($d) = @_;
    make_path("$d/sub/deeper", "$d/empty-dir", "$d/modes");
    _spit_bytes("$d/small.txt", "hello, world\n");
    _spit_bytes("$d/empty", '');
    _spit_bytes("$d/sub/random-3m.bin", pseudo_bytes(3 * 1024 * 1024 + 17, 1));
    _spit_bytes("$d/sub/deeper/text.txt", ("a line of text that compresses well\n" x 20000));
    _spit_bytes("$d/sub/deeper/name with spaces & ütf-8", "odd name\n");
    _spit_bytes("$d/hard1", "linked content\n");
    link("$d/hard1", "$d/sub/hard2") or die "link: $!";
    symlink('small.txt', "$d/rel-link") or die;
    symlink('/etc/hostname', "$d/abs-link") or die;
    symlink('does/not/exist', "$d/dangling") or die;
    mkfifo("$d/fifo", 0640) or die "mkfifo: $!";
    _spit_bytes("$d/modes/exec", "#!/bin/sh\n");
    chmod 0751, "$d/modes/exec";
    _spit_bytes("$d/modes/private", "secret\n");
    chmod 0600, "$d/modes/private";
    chmod 02750, "$d/modes";
    if ($> == 0) {
        chown 1234, 5678, "$d/modes/private";
        POSIX::lchown(4321, 8765, "$d/rel-link") if POSIX->can('lchown');
    }
    # Distinct times with nanoseconds, on files, dirs and symlinks.
    my $t = 1_600_000_000;
    for my $f (qw(small.txt empty sub/random-3m.bin hard1 fifo modes/exec)) {
        Time::HiRes::utime($t + 0.123456789, $t + 0.987654321, "$d/$f");
        $t += 1000;
    }
    for my $f (qw(sub/deeper empty-dir modes sub)) {
        Time::HiRes::utime($t + 0.5, $t + 0.25, "$d/$f");
        $t += 1000;
    }
    system('touch', '-h', '-d', '@1500000000.123456789', "$d/rel-link") == 0 or die;
}

# describe($dir): relative path -> "type|mode|uid|gid|size|mtime|target|sha"
# plus the hard-link groups.
sub describe {
    my ($d) = @_;
    my %e;
    my %by_inode;
    open my $fh, '-|', 'find', $d, '-mindepth', '1', '-printf',
        '%P\0%y\0%m\0%U\0%G\0%s\0%T@\0%l\0%i\0%n\0'
        or die "find: $!";
    local $/ = "\0";
    my @f = map { chomp; $_ } <$fh>;
    close $fh;
    while (my ($p, $y, $m, $u, $g, $s, $t, $l, $i, $n) = splice(@f, 0, 10)) {
        my $sha = '';
        if ($y eq 'f') {
            my $ctx = Digest::SHA->new(256);
            $ctx->addfile("$d/$p", 'b');
            $sha = $ctx->hexdigest;
        }
        $s = '' if $y eq 'd';          # directory sizes are file system details
        $e{$p} = join '|', $y, $m, $u, $g, $s, $t, $l, $sha;
        push @{ $by_inode{$i} }, $p if $y eq 'f' && $n > 1;
    }
    my @groups = sort map { join ',', sort @$_ } grep { @$_ > 1 } values %by_inode;
    return (\%e, \@groups);
}

# compare_trees($a, $b): list of human-readable differences.
sub compare_trees {
    my ($a, $b) = @_;
    my ($ea, $ga) = describe($a);
    my ($eb, $gb) = describe($b);
    my @d;
    for my $p (sort keys %$ea) {
        if (!exists $eb->{$p}) { push @d, "missing: $p"; next }
        push @d, "differs: $p\n   want $ea->{$p}\n   got  $eb->{$p}" if $ea->{$p} ne $eb->{$p};
    }
    push @d, map { "extra: $_" } grep { !exists $ea->{$_} } sort keys %$eb;
    push @d, "hard links: want [@$ga] got [@$gb]" if "@$ga" ne "@$gb";
    return @d;
}

# damage_packs($gv): flip 5 bytes in the middle of every pack of more
# than 1 MB in $gv's DataDir (data chunks there no longer open).
# damage_packs($gv) -> the packs damaged: flips five bytes in the middle
# of every pack over 1 MB (data chunks) in the daemon's DataDir.
sub damage_packs {
    my ($gv) = @_;
    my @packs = grep { -s $_ > 1_000_000 } glob($gv->dir . '/data/packs/*');
    for my $pack (@packs) {
        open my $fh, '+<:raw', $pack or die "$pack: $!";
        my $size = -s $pack;
        for my $off (map { int($size * $_ / 10) } 3 .. 7) {
            seek $fh, $off, 0;
            read $fh, my $b, 1;
            seek $fh, $off, 0;
            print $fh chr(ord($b) ^ 0xff);
        }
        close $fh;
    }
    return @packs;
}

1;
