#!/usr/bin/perl
# A child that sends the supervisor a message its kind may not send, or
# one that does not decode, is logged with the reason and restarted, and
# the message has no effect (the table in src/server/imsg.c).  The test
# speaks for each child: it takes a copy of the child's end of its
# socketpair with pidfd_getfd(2) (root and Linux 5.6 or later; skipped
# otherwise) and sends through it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use GV;

# The same numbers on every Linux architecture but alpha.
use constant { SYS_pidfd_open => 434, SYS_pidfd_getfd => 438 };

my $gv = GV->start(Workers => 2);

# The pid of the live child titled "gigavaultd: $role".
sub child { return $gv->titled->{"gigavaultd: $_[0]"} }

# The child's end of its socketpair: its one SOCK_SEQPACKET socket.
sub ctl_fd {
    my ($pid) = @_;
    my %seqpacket;
    for (split /\n/, GV::_slurp('/proc/net/unix')) {
        my @f = split ' ';
        $seqpacket{ $f[6] } = 1 if @f >= 7 && $f[4] eq '0005';
    }
    opendir my $d, "/proc/$pid/fd" or return;
    for my $fd (grep { /^\d+$/ } readdir $d) {
        my $l = readlink("/proc/$pid/fd/$fd") // '';
        return $fd if $l =~ /^socket:\[(\d+)\]$/ && $seqpacket{$1};
    }
    return;
}

# Send $bytes to the supervisor as child $pid; undef, or why not.
sub speak_as {
    my ($pid, $bytes) = @_;
    my $fd = ctl_fd($pid) // return 'its socketpair is not in /proc';
    my $pidfd = syscall(SYS_pidfd_open, $pid, 0);
    return "pidfd_open: $!" if $pidfd < 0;
    my $mine = syscall(SYS_pidfd_getfd, $pidfd, $fd + 0, 0);
    my $why = "pidfd_getfd: $!";
    POSIX::close($pidfd);
    return $why if $mine < 0;
    open(my $s, '+<&=', $mine) or return "fdopen: $!";
    $why = send($s, $bytes, 0) ? undef : "send: $!";
    close $s;
    return $why;
}

sub msg { my ($type, $body) = @_; $body //= ''; pack('N n n', 8 + length $body, $type, 0) . $body }

# [title, name in the log, message, what the log says of it]
my @cases = (
    [ 'discovery', 'discovery 0', msg(4), 'may not send SESSION_END' ],
    [ 'worker 0', 'worker 0', msg(5, pack('N', 1)), 'may not send STATUS_REQ' ],
    [ 'worker 1', 'worker 1', msg(2, "\0"), 'bad BUSY message (9 bytes, too short)' ],
    [ 'worker 0', 'worker 0', msg(3, 'x'), 'bad IDLE message (9 bytes, bytes left over)' ],
    [ 'ui bridge', 'uibridge 0', msg(9, "\x07"), 'bad HK_RUN message (9 bytes, unknown job)' ],
    [ 'housekeeper', 'housekeeper 0', msg(99), 'unknown message type 99' ],
    [ 'housekeeper', 'housekeeper 0', pack('N n n', 100, 1, 0),
      'message header does not match its length' ],
);

# The first case tells whether this machine lets the test speak for a child.
my $old = child($cases[0][0]);
my $why = $old ? speak_as($old, $cases[0][2]) : 'no discovery child';
plan skip_all => "cannot speak for a child: $why" if defined $why;

for my $i (0 .. $#cases) {
    my ($role, $name, $bytes, $says) = @{ $cases[$i] };
    if ($i > 0) {
        ok($old = child($role), "$role runs");
        $why = speak_as($old, $bytes);
        ok(!defined $why, "sent to the supervisor as $role") or diag($why);
    }
    ok($gv->log_like(qr/\Q$name (pid $old): $says; restarting it\E/, 5),
       "logged: $name (pid $old): $says; restarting it");
    ok(wait_until(sub { my $n = child($role); $n && $n != $old }, 5),
       "$role restarted with a new pid");
}

my $s = $gv->wait_ready(2, 5);
ok($s, 'the pool serves again');
is($s && $s->{sessions_served}, 0, 'the SESSION_END from discovery was not counted');
unlike($gv->log_text, qr/requested: starting it now/, 'the bad HK_RUN started no job');

is($gv->stop, 0, 'clean stop');
done_testing();
