#!/usr/bin/perl
# The store at scale (issue 14), a long test for `make check-long`:
#  - a tree of 2,000,000 tiny unique files (directories of 1000) backs
#    up with the client's peak RSS under 256 MiB; it lists whole; a
#    sample of paths restores by path, byte for byte, and nothing else
#    with them; after 100 files change, an incremental backs up; the
#    first snapshot is forgotten and the server prunes; then a full
#    `gigavault verify` of the remaining snapshot finds no damage and the
#    sample (with the changed files) restores again;
#  - one directory of 1,000,000 entries backs up, lists, restores whole
#    by its path and file by file, and an incremental after one of its
#    files changed sends a small part of what the full backup sent.
# Skipped unless GV_LONG=1 (make check-long sets it), so `make check`
# is not slowed down.  GV_LONG_FILES and GV_LONG_DIR_ENTRIES override the
# two sizes (0 leaves a part out); GV_LONG_SEED repeats a sample.  The
# trees go to /dev/shm when it is a tmpfs with room, else to the scratch
# directory; the daemon's DataDir is in the scratch directory.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path remove_tree);
use File::Temp ();
use File::Find ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use JSON::PP;
use GV;
use GVClient;

plan skip_all => 'a long test: set GV_LONG=1, or run make check-long'
    unless $ENV{GV_LONG};

my $N     = $ENV{GV_LONG_FILES} // 2_000_000;
my $NDIR  = $ENV{GV_LONG_DIR_ENTRIES} // 1_000_000;
my $RSS_MAX = 256 * 1024;	# KiB
my $seed  = $ENV{GV_LONG_SEED} || int(time);
srand($seed);
# Hours, not GV.pm's minutes: each step of a 2 M-file run takes minutes.
alarm($ENV{GV_TEST_TIMEOUT} || 6 * 3600);
my $STEP = 3 * 3600;	# the longest a single command may take

diag("long scale test: $N files in directories of 1000, one directory of $NDIR; seed $seed");

# The trees: in a tmpfs when there is room for a tree and its restore.
# The 2 M tree alone, then the 1 M directory and its restore: about
# 4 KiB of tmpfs a file, and a margin.
my $need = 4096 * 1.1 * ($N > 2 * $NDIR ? $N : 2 * $NDIR) + (1 << 30);
my $base;
if (-d '/dev/shm' && `stat -f -c %T /dev/shm 2>/dev/null` =~ /^tmpfs/ &&
    (`df -Pk /dev/shm` =~ /\n\S+\s+\d+\s+\d+\s+(\d+)/) && $1 * 1024 > $need) {
    $base = File::Temp::tempdir('gv-long-XXXXXX', DIR => '/dev/shm', CLEANUP => !$ENV{GV_KEEP});
} else {
    $base = File::Temp::tempdir('gv-long-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{GV_KEEP});
}
chmod 0755, $base;
diag("trees in $base");

my $gv = GV->start(Workers => 3, IdleTimeout => 600, 'Prune.Interval' => 0,
                   'Prune.GraceSeconds' => 0, 'Scrub.Interval' => 0, Level => 'info');
my $cl = GVClient->new($gv, 'big');
my $TIME = -x '/usr/bin/time' ? '/usr/bin/time' : undef;

# client(TIMEOUT, OUTFILE, ARGS...) -> (exit status, stdout, stderr,
# peak RSS in KiB, seconds).  Stdout goes to OUTFILE when given (and is
# then not read back: a listing of millions of lines).  The peak RSS is
# GNU time's, or without it the last VmHWM seen while the client ran.
sub client {
    my ($timeout, $outfile, @args) = @_;
    my $d = $cl->dir;
    my ($of, $ef, $tf) = ($outfile // "$d/long.out", "$d/long.err", "$d/long.time");
    unlink $tf;
    my @argv = ($GVClient::CLIENT, '-c', "$d/client.conf", @args);
    unshift @argv, $TIME, '-f', '%M', '-o', $tf if $TIME;
    my $t0 = time;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $ENV{GIGAVAULT_PASSPHRASE} = $GVClient::PASS;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $of or POSIX::_exit(126);
        open STDERR, '>', $ef or POSIX::_exit(126);
        exec { $argv[0] } @argv or POSIX::_exit(127);
    }
    my ($st, $hwm, $deadline) = (undef, 0, time + $timeout);
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $st = GV::_decode_status($?); last }
        if (!$TIME && open my $fh, '<', "/proc/$pid/status") {
            while (<$fh>) { $hwm = $1 if /^VmHWM:\s+(\d+)/ && $1 > $hwm }
        }
        if (time > $deadline) { kill 'KILL', $pid; waitpid($pid, 0); $st = -1; last }
        sleep($TIME ? 0.2 : 0.02);
    }
    my $secs = time - $t0;
    if ($TIME) {
        my @l = split /\n/, GV::_slurp($tf) // '';
        $hwm = $l[-1] =~ /^(\d+)$/ ? $1 : 0 if @l;
    }
    return ($st, defined $outfile ? undef : GV::_slurp($of), GV::_slurp($ef), $hwm, $secs);
}

sub ctl_long {
    return GVClient::run_cmd([$GVClient::CTL, '-f', $gv->conf, @_], {}, $STEP);
}

# The daemon's bytes_in over all the days `gigavaultctl stats` shows.
sub bytes_in {
    my ($st, $out) = ctl_long('stats', '--days', '3', '--json');
    return undef if $st != 0;
    my $j = eval { JSON::PP->new->decode($out) } or return undef;
    my $sum = 0;
    my $walk;
    $walk = sub {
        my ($o) = @_;
        if (ref $o eq 'HASH') {
            for my $k (keys %$o) {
                if ($k eq 'bytes_in' && !ref $o->{$k}) { $sum += $o->{$k} } else { $walk->($o->{$k}) }
            }
        } elsif (ref $o eq 'ARRAY') {
            $walk->($_) for @$o;
        }
    };
    $walk->($j);
    return $sum;
}

sub spit { open my $fh, '>', $_[0] or die "$_[0]: $!"; print $fh $_[1]; close $fh or die "$_[0]: $!" }
sub slurp { open my $fh, '<', $_[0] or return undef; local $/; my $s = <$fh>; return $s }

# count_lines(FILE, RE) -> lines of FILE that match RE
sub count_lines {
    my ($f, $re) = @_;
    open my $fh, '<', $f or return -1;
    my $n = 0;
    while (<$fh>) { $n++ if /$re/ }
    return $n;
}

# files_under(DIR) -> the regular files below DIR
sub files_under {
    my @f;
    File::Find::find({ wanted => sub { push @f, $File::Find::name if -f $_ }, no_chdir => 1 }, $_[0]);
    return @f;
}

my $MiB = sub { sprintf '%.1f MiB', $_[0] / 1024 };

# ------------------------------------------------ N files, dirs of 1000
SKIP: {
    skip 'GV_LONG_FILES=0', 1 unless $N;
    my $tree = "$base/tree";
    my $path = sub { sprintf '%s/d%05d/f%07d', $tree, int($_[0] / 1000), $_[0] };
    my %content;	# index -> contents, for the files changed
    my $body = sub { $content{$_[0]} // "long $seed file $_[0]\n" };
    my $t0 = time;
    mkdir $tree or die "mkdir $tree: $!";
    for my $i (0 .. $N - 1) {
        if ($i % 1000 == 0) { mkdir sprintf('%s/d%05d', $tree, $i / 1000) or die "mkdir: $!" }
        spit($path->($i), $body->($i));
    }
    diag(sprintf 'made %d files in %.0f s', $N, time - $t0);

    my $b0 = bytes_in();
    my ($rc, $out, $err, $rss, $s) = client($STEP, undef, 'backup', $tree);
    is($rc, 0, "backup of $N files: exit 0") or diag($err);
    my $b1 = bytes_in();
    diag(sprintf 'full backup of %d files: %.1f s, client peak RSS %s', $N, $s, $MiB->($rss));
    ok($rss > 0 && $rss < $RSS_MAX, "client peak RSS under 256 MiB (${\ $MiB->($rss)})");
    my @snaps = $cl->snapshots;
    is(scalar @snaps, 1, 'one snapshot listed');

    # the listing has every file and every directory
    my $lsf = $cl->dir . '/ls.out';
    ($rc, undef, $err, $rss, $s) = client($STEP, $lsf, 'ls', 'latest', $tree);
    is($rc, 0, 'ls of the snapshot: exit 0') or diag($err);
    is(count_lines($lsf, qr{/d\d{5}/f\d{7}$}), $N, "ls lists the $N files");
    is(count_lines($lsf, qr{/d\d{5}$}), int(($N + 999) / 1000), '... and their directories');
    diag(sprintf 'ls: %.1f s, client peak RSS %s', $s, $MiB->($rss));
    unlink $lsf;

    # a sample, restored by path: those files and nothing else
    my %pick = map { $_ => 1 } (0, $N - 1, int($N / 2), map { int rand $N } 1 .. 60);
    $pick{999} = $pick{1000} = 1 if $N > 1000;
    my @sample = sort { $a <=> $b } keys %pick;
    my $restore_sample = sub {
        my ($what) = @_;
        my $target = "$base/restore-$what";
        remove_tree($target);
        my ($rc, undef, $err, $rss, $s) = client($STEP, undef, 'restore', '--target', $target,
                                                 'latest', map { $path->($_) } @sample);
        is($rc, 0, "$what: restore of " . @sample . ' paths: exit 0') or diag($err);
        my @bad = grep { (slurp($target . $path->($_)) // "\0missing") ne $body->($_) } @sample;
        is("@bad", '', "$what: each restored file is identical");
        my @got = files_under($target);
        is(scalar @got, scalar @sample, "$what: and nothing else was restored");
        diag(sprintf '%s: restore by path %.1f s, client peak RSS %s', $what, $s, $MiB->($rss));
        remove_tree($target);
    };
    $restore_sample->('first snapshot');

    # 100 files change (some of them in the sample), an incremental
    my @changed = map { int($_ * $N / 100) } 0 .. 99;
    for my $i (@changed) {
        $content{$i} = "long $seed file $i, changed\n";
        spit($path->($i), $content{$i});
    }
    $pick{$_} = 1 for @changed[0 .. 9];
    @sample = sort { $a <=> $b } keys %pick;
    my $b2 = bytes_in();
    ($rc, $out, $err, $rss, $s) = client($STEP, undef, 'backup', $tree);
    is($rc, 0, 'incremental backup after 100 changes: exit 0') or diag($err);
    my $b3 = bytes_in();
    diag(sprintf 'incremental backup: %.1f s, client peak RSS %s', $s, $MiB->($rss));
    ok($rss > 0 && $rss < $RSS_MAX, "client peak RSS under 256 MiB (${\ $MiB->($rss)})");
    SKIP: {
        skip 'gigavaultctl stats --json gives no bytes_in', 1
            unless defined $b0 && defined $b1 && defined $b2 && defined $b3;
        my ($full, $incr) = ($b1 - $b0, $b3 - $b2);
        diag(sprintf 'sent: full backup %d bytes, incremental %d (%.3f%%)', $full, $incr,
             $full ? 100 * $incr / $full : 0);
        # the issue's goal (under 1 %) is for a tree of a million files or
        # more, where 100 changed files are under 0.01 % of them
        skip 'fewer than 1,000,000 files: the 1 % goal is for large trees', 1 if $N < 1_000_000;
        ok($incr < $full / 100, 'the incremental sent under 1 % of the full backup');
    }
    @snaps = $cl->snapshots;
    is(scalar @snaps, 2, 'two snapshots listed');

    # forget the first snapshot, prune
    my ($st, $o, $e) = ctl_long('client', 'allow-forget', 'big');
    is($st, 0, 'allow-forget: exit 0') or diag($e);
    ($rc, $out, $err) = client($STEP, undef, 'forget', $snaps[0]{id});
    is($rc, 0, "forget snapshot $snaps[0]{id}: exit 0") or diag($err);
    my @left = $cl->snapshots;
    is_deeply([map { $_->{id} } @left], [$snaps[1]{id}], 'the second snapshot is left');
    my $t1 = time;
    ($st, $o, $e) = ctl_long('prune', '--json');
    is($st, 0, 'prune: exit 0') or diag($e);
    my $pj = eval { JSON::PP->new->decode($o) } // {};
    ok(($pj->{blobs_freed} // 0) > 0, 'prune freed the blobs only the forgotten snapshot had')
        or diag($o);
    diag(sprintf 'prune: %.1f s, %s blobs freed, %s packs removed, %s rewritten', time - $t1,
         map { $pj->{$_} // '?' } qw(blobs_freed packs_removed packs_rewritten));

    # a full verify of what is left, then the sample again
    ($rc, $out, $err, $rss, $s) = client($STEP, undef, 'verify', 'latest');
    is($rc, 0, 'full verify after the prune: exit 0') or diag($err);
    like($out, qr/no damage found/, '... no damage found') or diag($out);
    diag(sprintf 'verify: %.1f s, client peak RSS %s: %s', $s, $MiB->($rss), $out =~ s/\n+\z//r);
    $restore_sample->('after the prune');
    remove_tree($tree);
}

# ------------------------------------------- one directory of NDIR entries
SKIP: {
    skip 'GV_LONG_DIR_ENTRIES=0', 1 unless $NDIR;
    my $big = "$base/big";
    mkdir $big or die "mkdir $big: $!";
    my $path = sub { sprintf '%s/e%07d', $big, $_[0] };
    my $body = sub { "long $seed entry $_[0]\n" };
    my $t0 = time;
    spit($path->($_), $body->($_)) for 0 .. $NDIR - 1;
    diag(sprintf 'made one directory of %d entries in %.0f s', $NDIR, time - $t0);

    my $b0 = bytes_in();
    my ($rc, $out, $err, $rss, $s) = client($STEP, undef, 'backup', '--set', 'bigdir', $big);
    is($rc, 0, "backup of one directory of $NDIR entries: exit 0") or diag($err);
    my $b1 = bytes_in();
    diag(sprintf 'full backup: %.1f s, client peak RSS %s', $s, $MiB->($rss));
    ok($rss > 0 && $rss < $RSS_MAX, "client peak RSS under 256 MiB (${\ $MiB->($rss)})");

    my $lsf = $cl->dir . '/ls.out';
    ($rc, undef, $err) = client($STEP, $lsf, 'ls', '--set', 'bigdir', 'latest', $big);
    is($rc, 0, 'ls of the directory: exit 0') or diag($err);
    is(count_lines($lsf, qr{/big/e\d{7}$}), $NDIR, "ls lists its $NDIR entries");
    unlink $lsf;

    # the directory, restored whole by its path
    my $target = "$base/restore-big";
    ($rc, undef, $err, $rss, $s) = client($STEP, undef, 'restore', '--set', 'bigdir',
                                          '--target', $target, 'latest', $big);
    is($rc, 0, 'restore of the directory by its path: exit 0') or diag($err);
    diag(sprintf 'restore: %.1f s, client peak RSS %s', $s, $MiB->($rss));
    my ($n, @bad) = (0);
    if (opendir my $dh, "$target$big") {
        while (defined(my $e = readdir $dh)) {
            next if $e eq '.' || $e eq '..';
            $n++;
            my $i = $e =~ /^e(\d{7})$/ ? $1 + 0 : -1;
            push @bad, $e if $i < 0 || $i >= $NDIR ||
                (slurp("$target$big/$e") // '') ne $body->($i);
        }
    }
    is($n, $NDIR, "$NDIR entries restored");
    is(scalar @bad, 0, '... each identical') or diag("differ: @bad[0 .. ($#bad < 9 ? $#bad : 9)]");
    remove_tree($target);

    # some of its files, by path
    my @sample = sort { $a <=> $b } keys %{{ map { $_ => 1 } 0, $NDIR - 1, map { int rand $NDIR } 1 .. 20 }};
    ($rc, undef, $err) = client($STEP, undef, 'restore', '--set', 'bigdir', '--target', $target,
                                'latest', map { $path->($_) } @sample);
    is($rc, 0, 'restore of ' . @sample . ' of its files by path: exit 0') or diag($err);
    @bad = grep { (slurp($target . $path->($_)) // "\0") ne $body->($_) } @sample;
    is("@bad", '', '... each identical');
    is(scalar(my @f = files_under($target)), scalar @sample, '... and nothing else');
    remove_tree($target);

    # one file changes: the incremental sends a small part of the full
    spit($path->(int($NDIR / 2)), "long $seed entry, changed\n");
    my $b2 = bytes_in();
    ($rc, $out, $err, $rss, $s) = client($STEP, undef, 'backup', '--set', 'bigdir', $big);
    is($rc, 0, 'incremental after one file changed: exit 0') or diag($err);
    my $b3 = bytes_in();
    SKIP: {
        skip 'gigavaultctl stats --json gives no bytes_in', 1
            unless defined $b0 && defined $b1 && defined $b2 && defined $b3;
        my ($full, $incr) = ($b1 - $b0, $b3 - $b2);
        diag(sprintf 'incremental: %.1f s, sent %d bytes, the full backup %d', $s, $incr, $full);
        ok($incr < $full / 10, 'the incremental sent under a tenth of the full backup');
    }
    remove_tree($big);
}

is($gv->stop, 0, 'gigavaultd stops cleanly');
done_testing;
