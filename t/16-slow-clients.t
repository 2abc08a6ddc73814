#!/usr/bin/perl
# Slow and hostile connections do not starve real clients (issue 15,
# point 4).  N connections from 127.0.0.2 on each of the backup port, the
# TLS port and the web console's port send one byte every 5 seconds
# (none completes its hello or request head while the test runs), the
# pool has 8 workers; a real client from 127.0.0.1 still gets its
# SERVER_HELLO on the backup port, registers over TLS and gets GET
# /api/hello from the console.  The latencies, without and with the slow
# connections, are reported with diag() (the test asserts only that the
# client is served well within HandshakeTimeout).  Then the per-address
# limit: with Server.MaxHandshakesPerAddress = 4, the fifth pending
# connection from one address is closed at once, on the backup port, the
# UI bridge port and the console port, while another address still gets
# in; a killed acceptor is replaced.  Last, HandshakeTimeout on the UI
# bridge and the console.
#
# GV_SLOW_N sets N (default 50); t/long-slow-clients.t runs this with
# N = 200 for make check-long.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use IO::Select;
use POSIX qw(_exit);
use GV;
use GVClient;
use GVTLS;

my $N = $ENV{GV_SLOW_N} // 50;
my $HT = 120;    # longer than the test: no slow connection times out

plan skip_all => 'needs the openssl command (Debian package openssl)'
    unless (GVTLS::openssl('version'))[0] == 0;
plan skip_all => 'cannot bind 127.0.0.2 (loopback is not 127.0.0.0/8 here)'
    unless IO::Socket::INET->new(LocalAddr => '127.0.0.2', Proto => 'udp');

my $t = GVTLS->prepare;
my $gv = $t->start(GV::web_opts(Workers => 8, HandshakeTimeout => $HT,
                                IdleTimeout => $HT,
                                MaxHandshakesPerAddress => 3 * $N + 10));
my %port = (plain => $gv->port('BackupServer'), tls => $gv->port('SSLServer'),
            console => $gv->web_port(0));

# A TLS client, registered over TLS once so that later runs only time
# the session (TOFU pin kept in its state).
my ($tc, $rc, $out, $err) = GVTLS::client($gv, 'tlsreal', ssl => 1);
is($rc, 0, 'TLS client registered') or diag $err;

# --- the three measurements
sub plain_hello {
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{plain},
                                  Proto => 'tcp', Timeout => 5) or return;
    send_frame($s, T_CLIENT_HELLO, hello_payload());
    my $f = recv_frame($s, $HT / 2);
    close $s;
    return ($f->{type} // 0) == T_SERVER_HELLO ? time - $t0 : undef;
}

sub tls_session {
    my $t0 = time;
    my ($rc, $out, $err) = $tc->run('snapshots');
    return $rc == 0 ? time - $t0 : do { diag "snapshots over TLS: $err"; undef };
}

sub console_get {
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{console},
                                  Proto => 'tcp', Timeout => 5) or return;
    print $s "GET /api/hello HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    my $sel = IO::Select->new($s);
    my $buf = '';
    while (time - $t0 < $HT / 2 && $sel->can_read($HT / 2)) {
        my $k = sysread($s, $buf, 4096, length $buf);
        last unless $k;
    }
    close $s;
    return $buf =~ m{^HTTP/1\.[01] 200 } ? time - $t0 : undef;
}

my %lat;
sub measure {
    my ($label) = @_;
    for my $what (['plain', \&plain_hello], ['tls', \&tls_session], ['console', \&console_get]) {
        my ($name, $f) = @$what;
        my $dt = $f->();
        ok(defined $dt && $dt < $HT / 4, "$label: a real client is served on the $name port")
            or next;
        $lat{$label}{$name} = $dt;
        diag(sprintf('%s: %s port served in %.3f s', $label, $name, $dt));
    }
}

measure('0 slow connections');

# --- the slow connections, held and fed by a child process
my %script = (
    # a CLIENT_HELLO header announcing 200 bytes: 208 bytes to complete
    plain   => pack('N n n', 200, T_CLIENT_HELLO, 0) . ('s' x 200),
    # a TLS handshake record of 512 bytes
    tls     => "\x16\x03\x01\x02\x00" . ("\x01" x 512),
    # a request head that never ends
    console => "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " . ('a' x 1000),
);
pipe(my $rd, my $wr) or die "pipe: $!";
my $feeder = fork // die "fork: $!";
if (!$feeder) {
    close $rd;
    my @conns;
    for my $kind (qw(plain tls console)) {
        for (1 .. $N) {
            my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.2', PeerAddr => '127.0.0.1',
                                          PeerPort => $port{$kind}, Proto => 'tcp', Timeout => 5);
            push @conns, [$s, $kind] if $s;
        }
    }
    syswrite($wr, scalar(@conns) . "\n");
    my $parent = getppid;
    for (my $i = 0; getppid == $parent; $i++) {
        for my $c (@conns) {
            next unless $c->[0];
            my $byte = substr($script{ $c->[1] }, $i, 1);
            $c->[0] = undef unless length $byte
                && defined syswrite($c->[0], $byte);
        }
        for (1 .. 50) { last if getppid != $parent; sleep 0.1 }
    }
    _exit(0);
}
close $wr;
my $opened = <$rd> // 0;
chomp $opened;
is($opened, 3 * $N, "$N slow connections from 127.0.0.2 open on each of the three ports");
sleep 6;    # every one has sent a byte or two
measure("$N slow connections");

# The slow connections still held: none was cut.
unlike($gv->log_text, qr/connection from 127\.0\.0\.2 closed/,
       'no slow connection was refused (the limits are above N here)');
kill 'KILL', $feeder;
waitpid $feeder, 0;
is($gv->stop, 0, 'clean stop');

# --- the per-address limit
{
    my $LIM = 4;
    my $g = GV->start(GV::web_opts(Workers => 2, HandshakeTimeout => 30,
                                   MaxHandshakesPerAddress => $LIM));
    for my $svc (['backup', $g->port('BackupServer')], ['UI bridge', $g->port('UI')],
                 ['console', $g->web_port(0)]) {
        my ($name, $p) = @$svc;
        my @held = map {
            IO::Socket::INET->new(LocalAddr => '127.0.0.2', PeerAddr => '127.0.0.1',
                                  PeerPort => $p, Proto => 'tcp', Timeout => 5)
        } 1 .. $LIM;
        is(scalar(grep { $_ } @held), $LIM, "$name: $LIM silent connections from 127.0.0.2");
        sleep 0.5;    # the server has seen them
        my $extra = IO::Socket::INET->new(LocalAddr => '127.0.0.2', PeerAddr => '127.0.0.1',
                                          PeerPort => $p, Proto => 'tcp', Timeout => 5);
        ok(GV::wait_closed($extra, 5), "$name: the fifth from 127.0.0.2 is closed at once");
        my $other = IO::Socket::INET->new(LocalAddr => '127.0.0.3', PeerAddr => '127.0.0.1',
                                          PeerPort => $p, Proto => 'tcp', Timeout => 5);
        if ($name eq 'backup') {
            send_frame($other, T_CLIENT_HELLO, hello_payload());
            is((recv_frame($other, 10)->{type} // 0), T_SERVER_HELLO,
               "$name: a client from 127.0.0.3 still gets its SERVER_HELLO");
        } elsif ($name eq 'console') {
            print $other "GET /api/hello HTTP/1.0\r\n\r\n";
            my ($line) = (GV::read_exact($other, 12, time + 10))[0];
            like($line // '', qr{^HTTP/1\.[01] 200}, "$name: a client from 127.0.0.3 still gets its answer");
        } else {
            print $other qq({"request":"status"}\n);
            my ($line) = (GV::read_exact($other, 1, time + 10))[0];
            is($line, '{', "$name: a client from 127.0.0.3 still gets its answer");
        }
        close $_ for grep { $_ } @held, $extra, $other;
    }
    like($g->log_text, qr/127\.0\.0\.2 closed: .*MaxHandshakesPerAddress/,
         'the refusal is logged, naming the option');

    # The acceptor killed: the supervisor starts another (the listeners
    # stay open in the supervisor) and sessions are served again.
    my $acc = $g->titled->{'gigavaultd: acceptor'};
    ok($acc && kill('KILL', $acc), 'SIGKILL the acceptor');
    ok(wait_until(sub { my $p = $g->titled->{'gigavaultd: acceptor'}; $p && $p != $acc }, 10),
       'a new acceptor runs');
    my ($s, $h) = $g->session;
    is($h->{type} // 0, T_SERVER_HELLO, 'a session after the respawn gets its SERVER_HELLO');
    close $s if $s;
    is($g->stop, 0, 'clean stop');
}

# --- HandshakeTimeout on the UI bridge and the console: a connection
# that trickles its first line or request head is closed when it is due.
{
    my $HT2 = 2;
    my $g = GV->start(GV::web_opts(Workers => 2, HandshakeTimeout => $HT2, IdleTimeout => 60));
    for my $svc (['UI bridge', $g->port('UI'), '{"request":"status"' . (' ' x 100)],
                 ['console', $g->web_port(0), "GET / HTTP/1.1\r\nX-Slow: " . ('a' x 100)]) {
        my ($name, $p, $bytes) = @$svc;
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $p,
                                      Proto => 'tcp', Timeout => 5);
        my $t0 = time;
        my $closed = 0;
        for my $i (0 .. length($bytes) - 1) {
            last if time - $t0 > $HT2 + 5;
            last unless GV::send_raw($s, substr($bytes, $i, 1));
            if (GV::wait_closed($s, 0.3)) { $closed = 1; last }
        }
        my $dt = time - $t0;
        ok($closed && $dt < $HT2 + 4,
           sprintf('%s: a connection trickling its first %s is closed after %.1f s (HandshakeTimeout %d)',
                   $name, $name eq 'console' ? 'request head' : 'line', $dt, $HT2));
    }
    is($g->stop, 0, 'clean stop');
}

done_testing();
