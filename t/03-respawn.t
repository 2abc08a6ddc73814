#!/usr/bin/perl
# A worker killed with SIGKILL is replaced within 2 s; so is the UI bridge.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use GV;

my $gv = GV->start(Workers => 3);
my $s = $gv->status;
my @old = map { $_->{pid} } $gv->current_workers($s);
is(scalar @old, 3, '3 workers before');

my $victim = $old[1];
my $t0 = time;
ok(kill('KILL', $victim), "SIGKILL worker $victim");

my $new = wait_until(sub {
    my $s = $gv->ready(3) or return;
    my @p = map { $_->{pid} } $gv->current_workers($s);
    return (!grep { $_ == $victim } @p) ? $s : undef;
}, 2.5);
my $dt = time - $t0;
ok($new, sprintf('full pool again after %.2f s (limit 2 s)', $dt));
if ($new) {
    my @p = map { $_->{pid} } $gv->current_workers($new);
    my %old = map { $_ => 1 } @old;
    my @fresh = grep { !$old{$_} } @p;
    is(scalar @fresh, 1, 'exactly one new worker pid') or diag "old @old, now @p";
    ok(!(grep { $_ == $victim } @p), 'the killed pid is gone from status');
    for my $o (grep { $_ != $victim } @old) {
        ok((grep { $_ == $o } @p), "untouched worker $o still serving");
    }
}
ok(wait_until(sub { !GV::_proc_stat($victim) || GV::_proc_stat($victim)->{ppid} != $gv->pid }, 3),
   'the killed worker was reaped (no zombie)');
ok($gv->log_like(qr/\b$victim\b.*killed by signal 9|killed by signal 9.*\b$victim\b/, 3)
   || $gv->log_like(qr/killed by signal 9/, 0.1),
   'log says "killed by signal 9"');
like($gv->log_text, qr/\b$victim\b[^\n]*killed by signal 9|killed by signal 9[^\n]*\b$victim\b/,
     'that log line names the killed pid');

my ($c, $h) = $gv->session;
is($h->{type}, T_SERVER_HELLO, 'a new session gets SERVER_HELLO');
close $c;

# Kill a busy worker: its client sees the connection go, the rest serve on.
{
    my ($a, $ha) = $gv->session;
    my $busy = wait_until(sub {
        my $s = $gv->status or return;
        my ($w) = grep { ($_->{state} // '') eq 'busy' } @{ $s->{workers} };
        $w;
    }, 5);
    ok($busy, 'one worker busy with the session');
    if ($busy) {
        kill 'KILL', $busy->{pid};
        ok(wait_closed($a, 5), 'client of the killed worker sees the connection closed');
        ok($gv->wait_ready(3, 3), 'pool full again');
        my ($b, $hb) = $gv->session;
        is($hb->{type}, T_SERVER_HELLO, 'new session served');
        close $b;
    }
}

# Kill the non-worker children (UI bridge, discovery): status comes back.
{
    my %w = map { $_->{pid} => 1 } @{ ($gv->status // {})->{workers} || [] };
    my @others = grep { !$w{$_} } map { $_->{pid} }
                 grep { $_->{ppid} == $gv->pid && $_->{state} ne 'Z' } $gv->descendants;
    ok(@others >= 1, "non-worker children: @others");
    kill 'KILL', @others;
    my $t1 = time;
    my $back = wait_until(sub { $gv->ready(3) }, 5);
    ok($back, sprintf('UI bridge answers status again after %.2f s', time - $t1));
    my $n = () = $gv->log_text =~ /killed by signal 9/g;
    ok($n >= 2 + @others, "log has a 'killed by signal 9' line for every kill ($n)");
}

# The supervisor itself killed with SIGKILL: the children notice (their
# pipe to it closes) and go; nothing keeps serving on the ports.
{
    $gv->_remember_kids;
    my @kids = $gv->_live_kids;
    ok(@kids >= 4, 'children before killing the supervisor: ' . scalar @kids);
    kill 'KILL', $gv->pid;
    is($gv->wait_exit(5), 128 + 9, 'supervisor killed');
    my $t1 = time;
    ok(wait_until(sub { !$gv->_live_kids }, 5),
       sprintf('all children exit once the supervisor is gone (%.1f s)', time - $t1))
        or diag('still alive: ' . join(' ', $gv->_live_kids));
    ok(wait_until(sub { !$gv->connect(timeout => 1) }, 5),
       'BackupServer port refuses connections afterwards');
    $gv->stop;    # sanitizer check; kills leftovers
}
done_testing;
