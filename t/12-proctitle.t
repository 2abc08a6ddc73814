#!/usr/bin/perl
# ps shows each process's role: /proc/PID/cmdline of the supervisor is
# "gigavaultd: supervisor -f FILE", of its children "gigavaultd: worker
# N", "ui bridge", "housekeeper", "discovery" and "acceptor"; a respawned child takes
# its title again; /proc/PID/comm stays "gigavaultd" (pgrep, pkill and
# killall match it).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

my $gv = GV->start(Workers => 3);

is(GV::proc_title($gv->pid), 'gigavaultd: supervisor -f ' . $gv->conf,
   'supervisor: "gigavaultd: supervisor -f FILE"');

my @want = sort map { "gigavaultd: $_" }
    ('ui bridge', 'housekeeper', 'discovery', 'acceptor', map { "worker $_" } 0 .. 2);
my %got;
ok(wait_until(sub { %got = %{ $gv->titled }; join("\n", sort keys %got) eq join("\n", @want) }, 5),
   'one child under each title: ' . join(', ', @want))
    or diag(explain([sort keys %got]));
for my $pid ($gv->pid, values %got) {
    is(GV::_slurp("/proc/$pid/comm"), "gigavaultd\n", "pid $pid: comm is still gigavaultd");
}

my $victim = $got{'gigavaultd: worker 1'};
ok($victim && kill('KILL', $victim), 'SIGKILL worker 1');
ok(wait_until(sub { ($gv->titled->{'gigavaultd: worker 1'} // $victim) != $victim }, 5),
   'the worker respawned in slot 1 is "gigavaultd: worker 1"');

SKIP: {
    my $ps = `ps -o args= -p ${\ $gv->pid} 2>/dev/null`;
    skip 'no ps(1) here', 1 if $? != 0 || $ps eq '';
    like($ps, qr/^gigavaultd: supervisor -f \Q${\ $gv->conf}\E\s*$/, 'ps -o args shows the title');
}

is($gv->stop, 0, 'clean stop');
done_testing();
