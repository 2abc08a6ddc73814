#!/usr/bin/perl
# The acceptor hands complete connections to workers fairly (issue 15,
# point 4, and the review after it).  30 connections from 127.0.0.2 send
# a whole hello and then nothing (each then holds the only worker until
# HandshakeTimeout, since it never authenticates); a client from
# 127.0.0.1 that comes after all of them is not served after all of
# them: it jumps ahead of the ones still waiting in the acceptor.  The
# order is read from the log ("session from ... started"), not timed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use GV;

plan skip_all => 'cannot bind 127.0.0.2 (loopback is not 127.0.0.0/8 here)'
    unless IO::Socket::INET->new(LocalAddr => '127.0.0.2', Proto => 'udp');

my $N = 30;
my $gv = GV->start(Workers => 1, HandshakeTimeout => 1, MaxHandshakesPerAddress => 100);
my $port = $gv->port('BackupServer');

my @stall;
for (1 .. $N) {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.2', PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp', Timeout => 5) or last;
    send_frame($s, T_CLIENT_HELLO, hello_payload());
    push @stall, $s;
}
is(scalar @stall, $N, "$N connections from 127.0.0.2 sent a hello, then nothing");
sleep 0.5;

my $t0 = time;
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
                              Timeout => 5);
send_frame($c, T_CLIENT_HELLO, hello_payload());
my $f = recv_frame($c, 2 * $N + 10);
is($f->{type}, T_SERVER_HELLO, sprintf('the client from 127.0.0.1 is served (after %.1f s)',
                                       time - $t0));
my $mine = $c->sockport;
close $c;

# Wait until every stalled connection has had its session, then read the order.
ok(GV::wait_until(sub { (() = $gv->log_text =~ /session from 127\.0\.0\.2:\d+ started/g) >= $N },
                  2 * $N + 10), "all $N stalled connections got their session");
my @order = $gv->log_text =~ /session from (127\.0\.0\.[12]):\d+ started/g;
my ($at) = grep { $order[$_] eq '127.0.0.1' } 0 .. $#order;
ok(defined $at, 'the client\'s session is in the log');
my $after = defined $at ? grep({ $_ eq '127.0.0.2' } @order[$at + 1 .. $#order]) : 0;
cmp_ok($after, '>', 0, "it started before $after of the $N stalled connections "
       . '(in arrival order it would have waited for all of them)');
like($gv->log_text, qr/127\.0\.0\.2:\d+ ended: handshake timeout \(not authenticated/,
     'the stalled sessions end with "handshake timeout (not authenticated ...)"');
close $_ for @stall;
is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
