#!/usr/bin/perl
# Crash safety: rounds of "start a backup, SIGKILL a random gigavaultd
# process (supervisor, a busy or idle worker, the UI bridge, the
# housekeeper) or the whole daemon at a random moment, restart if
# needed".  After every
# round every committed snapshot is still listed, the newest one restores
# identical to the data it was taken of, and at the end scrub finds the
# store clean.  Rounds: $GV_KILL_ROUNDS (20 here; `make check-long`
# runs 1000).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(sleep time);
use GV;
use GVClient;

my $ROUNDS = $ENV{GV_KILL_ROUNDS} || 20;
my $seed = $ENV{GV_KILL_SEED} || time;
srand($seed);
diag("kill loop: $ROUNDS rounds, seed $seed (GV_KILL_SEED to repeat)");
alarm(60 + 15 * $ROUNDS);

my $gv = GV->start(Workers => 3, DrainTimeout => 2);
my $cl = GVClient->new($gv, 'victim');
my $data = $gv->dir . '/data-src';
make_path($data);
GVClient::_spit_bytes("$data/f$_", GVClient::pseudo_bytes(3_000_000, "init$_")) for 1 .. 16;

my %killed;
my $committed = 0;
my ($restored_ok, $rounds_with_snapshot) = (0, 0);
for my $round (1 .. $ROUNDS) {
    # Change some files, so that every backup has something to send.
    GVClient::_spit_bytes("$data/f" . (1 + int rand 16),
                          GVClient::pseudo_bytes(3_000_000, "r$round-$_")) for 1 .. 8;
    my @before = $cl->snapshots;
    my $pid = $cl->spawn('backup', $data);
    sleep(rand 0.25);

    # Pick a victim among the daemon's processes.
    my $st = $gv->status;
    my %workers = map { $_->{pid} => $_ } @{ $st ? $st->{workers} : [] };
    my @busy = grep { $_->{state} eq 'busy' } values %workers;
    my @others = grep { !$workers{ $_->{pid} } } $gv->descendants;
    my @choices = (['supervisor', $gv->pid]);
    push @choices, (['busy worker', $busy[0]{pid}]) x 2 if @busy;
    push @choices, ['worker', (keys %workers)[0]] if %workers;
    push @choices, ['other child', $others[0]{pid}] if @others;
    push @choices, ['whole daemon', -$gv->pid];    # every process at once
    my ($what, $victim) = @{ $choices[int rand @choices] };
    kill 'KILL', $victim;
    $killed{$what}++;

    waitpid($pid, 0);
    my $client_rc = $? >> 8;
    if ($what eq 'supervisor' || $what eq 'whole daemon') {
        ok(GVClient::restart_daemon($gv), "round $round: daemon restarted after SIGKILL")
            or last;
    } else {
        ok(GV::wait_until(sub { $gv->ready }, 10), "round $round: pool whole again after killing the $what")
            or last;
    }
    my @after = $cl->snapshots;
    my %now = map { $_->{id} => 1 } @after;
    my @lost = grep { !$now{ $_->{id} } } @before;
    ok(!@lost, "round $round: no committed snapshot lost")
        or diag('lost: ' . join(' ', map { $_->{id} } @lost));
    if (@after > @before) {
        $rounds_with_snapshot++;
        my $t = $gv->dir . "/r$round";
        my ($rc, $out, $err) = $cl->run('restore', '--target', $t, $after[-1]{id});
        my @d = $rc == 0 ? GVClient::compare_trees($data, "$t$data") : ('restore failed');
        ok(!@d, "round $round: snapshot $after[-1]{id} restores identical") or diag($err, @d);
        remove_tree($t);
        $restored_ok++ unless @d;
    }
}
diag(sprintf('killed: %s; %d rounds committed a snapshot (all restored: %d)',
             join(', ', map { "$_ x$killed{$_}" } sort keys %killed), $rounds_with_snapshot,
             $restored_ok));

# A last backup must succeed and reuse what arrived before.
my ($rc, $out, $err) = $cl->run('backup', $data);
is($rc, 0, 'a backup after the kill loop succeeds') or diag($err);
# Scrub reads every pack: after 1000 rounds that is many gigabytes.
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $gv->conf, 'scrub'], {},
                                      60 + 3 * $ROUNDS);
is($rc, 0, 'scrub finds the store clean') or diag($out, $err);
diag("scrub: " . (split /\n/, $out)[-1]) if $out;
is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
