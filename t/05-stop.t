#!/usr/bin/perl
# SIGTERM / SIGINT: drain, children gone, pidfile removed, port closed,
# exit 0.  A second daemon with the same pidfile is refused.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use GV;

# --- SIGTERM with a session that finishes during the drain
{
    my $gv = GV->start(Workers => 2, DrainTimeout => 8, IdleTimeout => 60);
    my $s = $gv->status;
    my @pids = map { $_->{pid} } @{ $s->{workers} };
    my @kids = map { $_->{pid} } $gv->descendants;
    my $pidfile = $gv->pidfile;
    my $port = $gv->port('BackupServer');
    my $uiport = $gv->port('UI');
    ok(-e $pidfile, 'pidfile exists while running');

    my ($c, $h) = $gv->session;
    is($h->{type}, T_SERVER_HELLO, 'session open before SIGTERM');
    my $t0 = time;
    $gv->signal('TERM');
    sleep 0.5;
    ok($gv->alive, 'daemon still draining with a session open');
    ok(ping($c), 'the open session still answers PING during the drain');
    send_frame($c, T_BYE);
    my $bye = recv_frame($c, 5);
    is($bye->{type}, T_BYE, 'the open session finishes with BYE during the drain');
    my $st = $gv->wait_exit(8);
    my $dt = time - $t0;
    is($st, 0, sprintf('exit status 0 (after %.1f s; DrainTimeout 8)', $dt));
    ok($dt < 7, 'exited soon after the last session ended, not at the drain deadline');
    $gv->stop;    # sanitizer check, leftovers
    is_deeply([$gv->leftovers], [], 'no children left behind');
    ok(!(grep { GV::pid_alive($_) } @pids, @kids), "all children gone (@kids)");
    ok(!-e $pidfile, 'pidfile removed');
    ok(!IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 2),
       'BackupServer port refuses connections');
    ok(!IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $uiport, Timeout => 2),
       'UI port refuses connections');
    like($gv->log_text, qr/client said bye/, 'log: the drained session ended with bye');
}

# --- SIGTERM with a session that outlives DrainTimeout: it is cut
{
    my $gv = GV->start(Workers => 1, DrainTimeout => 2, IdleTimeout => 60);
    my ($c, $h) = $gv->session;
    is($h->{type}, T_SERVER_HELLO, 'session open before SIGTERM');
    my $lport = $c->sockport;
    my $t0 = time;
    $gv->signal('TERM');
    my $f = recv_frame($c, 10);
    my $dt = time - $t0;
    ok(($f->{type} // 0) == T_ERROR && $f->{code} == E_SHUTDOWN || $f->{eof},
       sprintf('silent session cut after %.1f s with ERROR 6 or EOF', $dt))
        or diag explain $f;
    diag("session cut with ERROR code $f->{code}: $f->{message}") if ($f->{type} // 0) == T_ERROR;
    ok($dt >= 1, 'not cut before the drain timeout');
    my $st = $gv->wait_exit(8);
    is($st, 0, sprintf('exit status 0 after the drain timeout (%.1f s)', time - $t0));
    like($gv->session_end($lport) // '', qr/server shutting down/,
         'log: session ended: server shutting down');
    $gv->stop;
    is_deeply([$gv->leftovers], [], 'no children left behind');
    ok(!-e $gv->pidfile, 'pidfile removed');
}

# --- a second SIGTERM hurries the drain
{
    my $gv = GV->start(Workers => 1, DrainTimeout => 60, IdleTimeout => 120);
    my ($c, $h) = $gv->session;
    is($h->{type}, T_SERVER_HELLO, 'session open before SIGTERM');
    $gv->signal('TERM');
    sleep 0.5;
    ok($gv->alive, 'first SIGTERM: draining (DrainTimeout 60)');
    my $t0 = time;
    $gv->signal('TERM');
    my $st = $gv->wait_exit(10);
    is($st, 0, sprintf('second SIGTERM: exit 0 after %.1f s, without waiting 60 s', time - $t0));
    my $f = recv_frame($c, 3);
    ok(($f->{type} // 0) == T_ERROR && $f->{code} == E_SHUTDOWN || $f->{eof},
       'the session is cut (ERROR 6 or EOF)') or diag explain $f;
    $gv->stop;
    is_deeply([$gv->leftovers], [], 'no children left behind');
}

# --- SIGINT
{
    my $gv = GV->start(Workers => 2);
    my $pidfile = $gv->pidfile;
    is($gv->stop(signal => 'INT'), 0, 'SIGINT: exit status 0');
    is_deeply([$gv->leftovers], [], 'no children left behind');
    ok(!-e $pidfile, 'pidfile removed');
}

# --- idle daemon: SIGTERM is quick
{
    my $gv = GV->start(Workers => 3, DrainTimeout => 20);
    my $t0 = time;
    is($gv->stop(timeout => 25), 0, 'idle daemon: SIGTERM exit 0');
    ok(time - $t0 < 5, sprintf('idle daemon stops without waiting for DrainTimeout (%.1f s)', time - $t0));
}

# --- a second daemon with the same PidFile
{
    my $first = GV->start(Workers => 2);
    my $pidfile = $first->pidfile;
    my $second = GV->spawn(Workers => 2, PidFile => $pidfile);
    my $st = $second->wait_exit(10);
    is($st, 1, 'second daemon with the same PidFile: exit 1');
    like($second->stderr_text, qr/already running/, 'it says "already running"');
    like($second->stderr_text, qr/\Q$pidfile\E|\b${\$first->pid}\b/,
         'and names the pidfile or the running pid');
    ok($first->alive, 'the first daemon is still running');
    ok($first->ready(2), 'the first daemon still serves status');
    is((GV::_slurp($pidfile) =~ /(\d+)/)[0], $first->pid, 'pidfile still names the first daemon');
    ok(!$second->connect(port => $second->port('BackupServer'), timeout => 1),
       'the second daemon left no listener behind');
    $second->stop;
    is($first->stop, 0, 'first daemon: exit 0');
}

# --- a stale pidfile (pid of a process that is gone) does not block a start
{
    my $dead = fork // die;
    if (!$dead) { POSIX::_exit(0) }
    waitpid($dead, 0);
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    chmod 0755, $dir;
    open my $fh, '>', "$dir/stale.pid" or die;
    print $fh "$dead\n";
    close $fh;
    my $gv = eval { GV->start(Workers => 1, PidFile => "$dir/stale.pid") };
    ok($gv, 'a stale pidfile does not stop the daemon from starting') or diag $@;
    if ($gv) {
        is((GV::_slurp("$dir/stale.pid") =~ /(\d+)/)[0], $gv->pid, 'pidfile rewritten');
        is($gv->stop, 0, 'exit 0');
    }
}

done_testing;
