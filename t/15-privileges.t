#!/usr/bin/perl
# Least privilege in the children (issue 15, point 8): every child runs
# with PR_SET_NO_NEW_PRIVS (NoNewPrivs: 1 in /proc/PID/status) and is not
# dumpable (PR_SET_DUMPABLE 0), so that another process of the same user
# cannot read its memory, environment or descriptors through /proc.
#
# Dumpability is seen through /proc/PID/environ, which a process of the
# same uid may read only while the target is dumpable.  A child that
# changes its uid becomes undumpable on its own (fs.suid_dumpable 0), and
# root reads anything: so, started as root, the test runs itself as
# "nobody" (setpriv(1)), and starts its daemon as that user, whose
# children keep the uid.  The supervisor, which stays dumpable, is the
# control: its environ must be readable.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Errno qw(EACCES EPERM);

BEGIN {
    if ($> == 0 && !$ENV{GV_T15_AS_USER} && defined getpwnam('nobody')) {
        my ($sp) = grep { -x } map { "$_/setpriv" } split(/:/, $ENV{PATH} // ''), '/usr/bin';
        if ($sp) {
            $ENV{GV_T15_AS_USER} = 'nobody';
            exec $sp, '--reuid=nobody', '--regid=' . (getpwnam('nobody'))[3],
                '--clear-groups', '--', $^X, (map { "-I$_" } @INC), $0, @ARGV;
            die "exec $sp: $!";
        }
    }
}
use GV;

sub status_field {
    my ($pid, $field) = @_;
    my ($v) = GV::_slurp("/proc/$pid/status") =~ /^\Q$field\E:\s*(.*)$/m;
    $v =~ s/\s+/ /g if defined $v;
    return $v;
}

# [title, pid] of each child, once one of each kind runs.
sub children {
    my ($gv, $workers) = @_;
    my %t;
    my @want = ('ui bridge', 'housekeeper', 'discovery', map { "worker $_" } 0 .. $workers - 1);
    wait_until(sub {
        %t = %{ $gv->titled };
        !grep { !$t{"gigavaultd: $_"} } @want;
    }, 10);
    return map { [$_, $t{"gigavaultd: $_"}] } @want;
}

my $gv = GV->start(Workers => 2);
my $uid = status_field($gv->pid, 'Uid');
diag("the test and its daemon run as uid " . (split ' ', $uid)[0]);

is(status_field($gv->pid, 'NoNewPrivs'), '0',
   'the supervisor has no NoNewPrivs (control: the field is read)');
for my $c (children($gv, 2)) {
    my ($name, $pid) = @$c;
    ok($pid, "$name runs") or next;
    is(status_field($pid, 'NoNewPrivs'), '1', "$name (pid $pid): NoNewPrivs: 1");
}

SKIP: {
    skip 'run as root without setpriv(1) or a user "nobody": root reads every '
        . '/proc/PID/environ, so dumpability cannot be seen', 16 if $> == 0;
    ok(open(my $fh, '<', "/proc/${\ $gv->pid}/environ"),
       'the supervisor\'s /proc/PID/environ is readable (control)') or diag("$!");
    for my $c (children($gv, 2)) {
        my ($name, $pid) = @$c;
        ok($pid, "$name runs") or next;
        is(status_field($pid, 'Uid'), $uid, "$name has the supervisor's uid");
        my $ok = open(my $e, '<', "/proc/$pid/environ");
        my $err = $!;
        ok(!$ok && ($err == EACCES || $err == EPERM),
           "$name (pid $pid) is not dumpable: its /proc/PID/environ is refused")
            or diag($ok ? 'it was readable' : "error: $err");
    }
}
is($gv->stop, 0, 'daemon stops');

done_testing;
