#!/usr/bin/perl
# HandshakeTimeout and IdleTimeout free a worker pinned by a silent client.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use GV;

my $HT = 2;
my $IT = 2;
my $gv = GV->start(Workers => 1, HandshakeTimeout => $HT, IdleTimeout => $IT);

sub dropped_ok {
    my ($f, $what) = @_;
    my $ok = ($f->{type} // 0) == T_ERROR ? $f->{code} == E_TIMEOUT : $f->{eof};
    ok($ok, "$what: ERROR code 5 or EOF") or diag explain $f;
}

# --- silent client before hello
{
    my $c = $gv->connect;
    ok($c, 'silent client connected');
    my $lport = $c->sockport;
    my $t0 = time;
    my $f = recv_frame($c, $HT + 3);
    my $dt = time - $t0;
    dropped_ok($f, sprintf('silent client dropped after %.1f s (HandshakeTimeout %d)', $dt, $HT));
    ok($dt < $HT + 3, 'within HandshakeTimeout + 3 s');
    ok($dt > 0.5, 'not dropped at once');
    ok(wait_closed($c, 2), 'connection closed') unless $f->{eof};
    like($gv->session_end($lport) // '', qr/handshake timeout/, 'log: session ended: handshake timeout');
    my ($d, $h) = $gv->session;
    is($h->{type}, T_SERVER_HELLO, 'the only worker is free again: new client gets hello');
    close $d;
}

# --- half a hello, then silence
{
    my $c = $gv->connect;
    my $lport = $c->sockport;
    GV::send_raw($c, substr(frame(T_CLIENT_HELLO, hello_payload()), 0, 11));
    my $t0 = time;
    my $f = recv_frame($c, $HT + 3);
    dropped_ok($f, sprintf('client stuck mid-hello dropped after %.1f s', time - $t0));
    like($gv->session_end($lport) // '', qr/handshake timeout|truncated/,
         'log: handshake timeout (or truncated frame)');
}

# --- a hello dribbled one byte at a time: the deadline counts from connect
{
    my $c = $gv->connect;
    my $lport = $c->sockport;
    my $bytes = frame(T_CLIENT_HELLO, hello_payload(software => 'slow' x 10));
    my $t0 = time;
    my ($sent, $f) = (0);
    while ($sent < length $bytes && time - $t0 < $HT + 4) {
        last unless GV::send_raw($c, substr($bytes, $sent, 1));
        $sent++;
        $f = recv_frame($c, 0.4);
        last unless $f->{timeout};
    }
    my $dt = time - $t0;
    ok($sent < length $bytes, sprintf('dribbling client cut after %d of %d bytes, %.1f s',
                                      $sent, length $bytes, $dt));
    ok($dt < $HT + 3, 'within HandshakeTimeout + 3 s, although bytes kept coming');
    $f = recv_frame($c, 2) if !$f || $f->{timeout};
    dropped_ok($f, 'dribbling client');
    like($gv->session_end($lport) // '', qr/handshake timeout/, 'log: handshake timeout');
}

# --- hello, then silence before AUTH: the handshake's deadline still runs
{
    my ($c, $h) = $gv->session;
    is($h->{type}, T_SERVER_HELLO, 'hello');
    my $lport = $c->sockport;
    my $t0 = time;
    my $f = recv_frame($c, $HT + 3);
    my $dt = time - $t0;
    dropped_ok($f, sprintf('silent after hello, not authenticated: dropped after %.1f s (HandshakeTimeout %d)', $dt, $HT));
    ok($dt < $HT + 3, 'within HandshakeTimeout + 3 s');
    like($gv->session_end($lport) // '', qr/handshake timeout \(not authenticated/,
         'log: session ended: handshake timeout (not authenticated)');
}

# --- hello, then PINGs before AUTH: keeping busy does not extend the handshake
{
    my ($c, $h) = $gv->session;
    my $lport = $c->sockport;
    my $t0 = time;
    my $pings = 0;
    while (time - $t0 < $HT + 4) {
        ping($c, "pre-auth$pings", 1) or last;
        $pings++;
        sleep 0.3;
    }
    my $dt = time - $t0;
    ok($dt < $HT + 3, sprintf('a client that pings but never authenticates is cut after %.1f s (%d PONGs)',
                              $dt, $pings));
    like($gv->session_end($lport) // '', qr/handshake timeout/, 'log: handshake timeout');
}

# --- hello, then PINGs without ever reading the PONGs: the replies back
# up, and the worker's sends before AUTH have HandshakeTimeout too
# (a daemon of its own, with an IdleTimeout far above HandshakeTimeout)
{
    my $g2 = GV->start(Workers => 1, HandshakeTimeout => $HT, IdleTimeout => 30);
    my ($c, $h) = $g2->session;
    my $lport = $c->sockport;
    my $t0 = time;
    my $kid = fork // die "fork: $!";
    if (!$kid) {
        my $f = frame(T_PING, 'p' x 64) x 2000;    # PINGs are at most 64 bytes
        GV::send_raw($c, $f) or last for 1 .. 200;
        sleep 30;
        exit 0;
    }
    my ($d, $hd) = $g2->session;    # waits for the only worker
    my $dt = time - $t0;
    is($hd && $hd->{type}, T_SERVER_HELLO,
       sprintf('a client that floods PINGs and never reads frees the only worker after %.1f s', $dt));
    ok($dt < $HT + 4, "... within HandshakeTimeout + 4 s");
    like($g2->session_end($lport) // '', qr/could not send PONG|handshake timeout/,
         'log: could not send PONG (or handshake timeout)');
    kill 'KILL', $kid;
    waitpid($kid, 0);
    close $c;
    is($g2->stop, 0, 'that daemon stops cleanly');
}

my (undef, $secret) = do {
    my ($c, $h) = $gv->session;
    GV::proto_register($c, $gv->add_client('idler'));
};

# --- authenticated, then silent: IdleTimeout
{
    my $c = $gv->login('idler', $secret);
    ok($c, 'logged in');
    my $lport = $c->sockport;
    my $t0 = time;
    my $f = recv_frame($c, $IT + 3);
    my $dt = time - $t0;
    dropped_ok($f, sprintf('silent session dropped after %.1f s (IdleTimeout %d)', $dt, $IT));
    ok($dt < $IT + 3, 'within IdleTimeout + 3 s');
    ok($dt > 0.5, 'not dropped at once');
    like($gv->session_end($lport) // '', qr/idle timeout/, 'log: session ended: idle timeout');
}

# --- an authenticated session that keeps talking is not dropped
{
    my $c = $gv->login('idler', $secret);
    my $t0 = time;
    my $pings = 0;
    my $okp = 1;
    while (time - $t0 < ($HT > $IT ? $HT : $IT) * 2 + 1) {
        $okp = ping($c, "keepalive$pings") or last;
        $pings++;
        sleep 0.5;
    }
    ok($okp, "active session survives ${\(($HT > $IT ? $HT : $IT) * 2 + 1)} s of PINGs ($pings PONGs)");
    send_frame($c, T_BYE);
    is(recv_frame($c, 3)->{type}, T_BYE, 'and ends with BYE');
}

# --- a frame started after AUTH but never finished
{
    my $c = $gv->login('idler', $secret);
    my $lport = $c->sockport;
    GV::send_raw($c, substr(frame(T_PING, 'x' x 20), 0, 12));
    my $t0 = time;
    my $f = recv_frame($c, $IT + 3);
    dropped_ok($f, sprintf('half a PING then silence: dropped after %.1f s', time - $t0));
    like($gv->session_end($lport) // '', qr/idle timeout|truncated/, 'log: idle timeout (or truncated)');
}

my ($d, $h) = $gv->session;
is($h->{type}, T_SERVER_HELLO, 'worker still serving at the end');
close $d;
unlike($gv->log_text, qr/killed by signal|exited with status/, 'the worker never died');
is($gv->stop, 0, 'SIGTERM: exit 0');
done_testing;
