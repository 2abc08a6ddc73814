#!/usr/bin/perl
# t/92-lease.t - src/server/lease.c against a real radosgw (a single-node
# Ceph from t/lib/GVCeph.pm), through contenders run as t/gv-lease:
# of two that start at once, one holds the lease and the other waits,
# naming it; the waiter takes it only when the holder, killed with
# SIGKILL, has not renewed it for the duration (measured here from the
# holder's last renewal); a holder whose lease another wrote finds out
# at its next renewal (412) and says it lost it; a holder stopped
# (SIGSTOP) for longer than the duration, when it runs again, says it
# lost it without writing; a holder stopped cleanly marks the lease
# released and a waiter takes it without waiting out the duration.
# Skips only when ceph-mon, ceph-osd or radosgw is missing.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use GV qw(wait_until);
use GVCeph;
use POSIX ();

GVCeph::skip_unless_ceph();
my $bin = ($ENV{GV_BUILDDIR} // '.') . '/t/gv-lease';
die "$bin is not built (make check)" unless -x $bin;

my $ceph = GVCeph->start;
my $tmp = $ceph->tmp;
my $D = 6;	# the lease's duration, seconds

my %kids;	# name => pid, killed in END
END {
	local $?;
	kill 'KILL', $_ for values %kids;
	waitpid($_, 0) for values %kids;
}

my ($rc, $o, $e) = $ceph->s3('leases', 'mkbucket');
is($rc, 0, 'bucket made') or diag($e);

sub slurp {
	open(my $f, '<', $_[0]) or return '';
	local $/;
	my $d = <$f>;
	close $f;
	return $d // '';
}

sub gvlease {
	my ($id, @args) = @_;
	return ($bin, '-e', $ceph->endpoint, '-r', $ceph->region, '-b',
	    'leases', '-k', $ceph->cred_file, '-p', 'gv/', '-i', $id, '-d',
	    $D, @args);
}

# A contender holding the lease until SIGTERM; its lines in $tmp/NAME.
sub contender {
	my ($id) = @_;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open(STDOUT, '>', "$tmp/$id.out") or POSIX::_exit(126);
		open(STDERR, '>', "$tmp/$id.err") or POSIX::_exit(126);
		exec(gvlease($id, 'hold', 0)) or POSIX::_exit(127);
	}
	$kids{$id} = $pid;
	return $pid;
}

sub out { slurp("$tmp/$_[0].out") }
sub held { out($_[0]) =~ /^held (\d+) (\w+) ([\d.]+)$/m ? ($1, $2, $3) : () }

# The exit status of contender id, once it exited (undef on timeout).
sub exited {
	my ($id, $secs) = @_;
	my $st;
	wait_until(sub {
		my $r = waitpid($kids{$id}, POSIX::WNOHANG());
		$st = $? >> 8 if $r == $kids{$id};
		return $r != 0;
	}, $secs);
	delete $kids{$id} if defined $st;
	return $st;
}

# Two at once: one holds, the other waits and names it.
contender('aaaa');
contender('bbbb');
ok(wait_until(sub { held('aaaa') || held('bbbb') }, 60),
    'of two contenders started at once, one holds the lease') or
    diag(out('aaaa') . out('bbbb') . slurp("$tmp/aaaa.err") .
    slurp("$tmp/bbbb.err"));
my ($win, $lose) = held('aaaa') ? ('aaaa', 'bbbb') : ('bbbb', 'aaaa');
ok(wait_until(sub { out($lose) =~ /^waiting $win 1 /m }, 30),
    "  the other ($lose) waits, naming the holder ($win) and generation 1")
    or diag(out($lose));
# Several renewals later, still one holder.
ok(wait_until(sub { (() = out($win) =~ /^renewed /mg) >= 3 }, 60),
    '  the holder renews it (3 renewals)') or diag(out($win));
ok(!held($lose), '  the other still does not hold it') or diag(out($lose));
($rc, $o) = $ceph->s3('leases', 'getmem', 'gv/lease', 4096, "$tmp/doc");
like(slurp("$tmp/doc"), qr/"holder":"$win"/, '  the object names the holder');

# SIGKILL the holder: the waiter takes it only after the duration has
# passed since the holder's last renewal.
kill 'KILL', $kids{$win};
my $killed = time;
waitpid($kids{$win}, 0);
delete $kids{$win};
my @ren = out($win) =~ /^(?:held \d+ \w+|renewed \d+) ([\d.]+)$/mg;
my $last = $ren[-1];
ok(wait_until(sub { held($lose) }, 60), "$lose takes the lease after " .
    "$win was killed") or diag(out($lose) . slurp("$tmp/$lose.err"));
my ($gen, $how, $t) = held($lose);
is($how, 'expired', '  as expired');
is($gen, 2, '  generation 2');
cmp_ok($t - $last, '>=', $D, sprintf('  not before the duration (%d s) ' .
    'after the last renewal: %.1f s after it', $D, $t - $last));
diag(sprintf('take-over after SIGKILL: %.1f s (duration %d s)',
    $t - $killed, $D));

# A holder whose lease another wrote: lost at its next renewal (412).
my @steal = gvlease('cccc', 'steal');
$o = `@steal 2>&1`;
is($? >> 8, 0, 'another server overwrites the lease without a condition');
my $st = exited($lose, 30);
is($st, 4, "  $lose exits as lost");
like(out($lose), qr/^lost gv\/lease: written by another server \(412 on renewal\) /m,
    '  saying it was written by another server (412)') or diag(out($lose));

# The stolen lease is not renewed: dddd takes it when it expires.
contender('dddd');
ok(wait_until(sub { held('dddd') }, 60), 'dddd takes the unrenewed lease')
    or diag(out('dddd'));
like(out('dddd'), qr/^waiting cccc 1000 /m, '  having waited on cccc');
is((held('dddd'))[1], 'expired', '  as expired');
# SIGSTOP the holder past the duration; eeee takes it meanwhile.
contender('eeee');
ok(wait_until(sub { out('eeee') =~ /^waiting dddd / }, 30),
    'eeee waits on dddd');
kill 'STOP', $kids{dddd};
ok(wait_until(sub { held('eeee') }, 60), '  dddd stopped: eeee takes it')
    or diag(out('eeee'));
kill 'CONT', $kids{dddd};
$st = exited('dddd', 30);
is($st, 4, '  dddd, running again, exits as lost');
like(out('dddd'), qr/^lost gv\/lease: not renewed within $D s /m,
    '  saying it was not renewed within the duration') or diag(out('dddd'));
($rc, $o) = $ceph->s3('leases', 'getmem', 'gv/lease', 4096, "$tmp/doc");
like(slurp("$tmp/doc"), qr/"holder":"eeee"/, '  the object names eeee');

# A clean stop releases it; a waiter takes it at once (as released).
contender('ffff');
ok(wait_until(sub { out('ffff') =~ /^waiting eeee / }, 30),
    'ffff waits on eeee');
kill 'TERM', $kids{eeee};
$st = exited('eeee', 30);
is($st, 0, 'eeee stopped with SIGTERM: exits 0');
like(out('eeee'), qr/^released /m, '  having released the lease');
ok(wait_until(sub { held('ffff') }, 60), '  ffff takes it') or
    diag(out('ffff'));
is((held('ffff'))[1], 'released', '  as released (without waiting out ' .
    'the duration)');
kill 'TERM', $kids{ffff};
is(exited('ffff', 30), 0, 'ffff releases it too');
($rc, $o) = $ceph->s3('leases', 'getmem', 'gv/lease', 4096, "$tmp/doc");
like(slurp("$tmp/doc"), qr/"holder":"ffff".*"released":true/,
    'the object says released');

$ceph->stop;
ok(!$ceph->procs, 'no Ceph process left');
done_testing();
