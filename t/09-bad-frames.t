#!/usr/bin/perl
# Bad frames end only their own session, with the right ERROR code and log
# reason; another session and the workers are unaffected.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

my $MAX = 65536;
my $gv = GV->start(Workers => 2, MaxFrame => $MAX, IdleTimeout => 60, HandshakeTimeout => 5);
my $pid = $gv->pid;
my @workers = sort map { $_->{pid} } $gv->current_workers;
is(scalar @workers, 2, '2 workers');

# Session A: authenticated, so that HandshakeTimeout does not end it.
my (undef, $secret) = do {
    my ($c, $h) = $gv->session;
    GV::proto_register($c, $gv->add_client('alice'));
};
my $A = $gv->login('alice', $secret);
ok($A, 'good session A open (authenticated)');

my $HELLO = frame(T_CLIENT_HELLO, hello_payload());

# Each case: name, bytes to send (or code ref getting the socket), whether
# to say hello first, expected ERROR codes ([] = EOF acceptable only),
# expected log reason regex, and whether EOF without ERROR is acceptable.
my @cases = (
    { name => 'HTTP request instead of a hello', bytes => "GET / HTTP/1.0\r\n\r\n",
      codes => [1, 2, 3], reason => qr/frame too large|malformed|unknown frame type/, eof_ok => 1 },
    { name => 'header announcing MaxFrame+1 bytes (before hello)',
      bytes => pack('N n n', $MAX + 1, T_CLIENT_HELLO, 0),
      codes => [2], reason => qr/frame too large/ },
    { name => 'header announcing MaxFrame+1 bytes (after hello)', hello => 1,
      bytes => pack('N n n', $MAX + 1, T_PING, 0),
      codes => [2], reason => qr/frame too large/ },
    { name => 'header announcing 4 GiB-1 bytes', hello => 1,
      bytes => pack('N n n', 0xFFFFFFFF, T_PING, 0),
      codes => [2], reason => qr/frame too large/ },
    { name => 'unknown frame type 0x0052 after hello', hello => 1,
      bytes => frame(0x0052, ''), codes => [3], reason => qr/unknown frame type/ },
    { name => 'SERVER_HELLO sent by the client', hello => 1,
      bytes => frame(T_SERVER_HELLO, 'GVLT' . pack('n', 1) . ("\0" x 16) . pack('n/a*', 'x')),
      codes => [3], reason => qr/unknown frame type|unexpected frame type/ },
    { name => 'second CLIENT_HELLO', hello => 1,
      bytes => $HELLO, codes => [3], reason => qr/unknown frame type|unexpected frame type/ },
    { name => 'PING before hello', bytes => frame(T_PING, 'abc'),
      codes => [1, 3], reason => qr/unknown frame type|malformed/ },
    { name => 'truncated frame (header for 100 bytes, 10 sent, close)',
      bytes => pack('N n n', 100, T_CLIENT_HELLO, 0) . ('x' x 10), close => 1,
      reason => qr/truncated frame/ },
    { name => 'truncated header (5 bytes, close)',
      bytes => substr($HELLO, 0, 5), close => 1, reason => qr/truncated frame/ },
    { name => 'truncated frame after hello', hello => 1,
      bytes => pack('N n n', 30, T_PING, 0) . 'abc', close => 1, reason => qr/truncated frame/ },
    { name => 'hello with bad magic GVLX',
      bytes => frame(T_CLIENT_HELLO, hello_payload(magic => 'GVLX')),
      codes => [1], reason => qr/malformed/ },
    { name => 'hello with versions 6..7',
      bytes => frame(T_CLIENT_HELLO, hello_payload(min => 6, max => 7)),
      codes => [4], reason => qr/no common protocol version/ },
    { name => 'hello with nonzero flags',
      bytes => frame(T_CLIENT_HELLO, hello_payload(), 1),
      codes => [1], reason => qr/malformed/ },
    { name => 'PING with nonzero flags after hello', hello => 1,
      bytes => frame(T_PING, 'abc', 0x8000),
      codes => [1], reason => qr/malformed/ },
    { name => 'empty hello', bytes => frame(T_CLIENT_HELLO, ''),
      codes => [1], reason => qr/malformed/ },
    { name => 'hello whose string runs past the payload',
      bytes => frame(T_CLIENT_HELLO, 'GVLT' . pack('n n n', 1, 1, 200) . 'abc'),
      codes => [1], reason => qr/malformed/ },
    { name => 'hello with trailing garbage',
      bytes => frame(T_CLIENT_HELLO, hello_payload() . 'junk'),
      codes => [1], reason => qr/malformed/ },
    { name => 'hello with a 256-byte software string',
      bytes => frame(T_CLIENT_HELLO, hello_payload(software => 'x' x 256)),
      codes => [1], reason => qr/malformed/ },
    { name => 'PING with 65 bytes', hello => 1, bytes => frame(T_PING, 'p' x 65),
      codes => [1, 2], reason => qr/malformed|frame too large/ },
);

for my $case (@cases) {
    subtest $case->{name} => sub {
        my $c = $gv->connect;
        ok($c, 'connected') or return;
        my $lport = $c->sockport;
        if ($case->{hello}) {
            my $h = do_hello($c);
            is($h->{type}, T_SERVER_HELLO, 'hello first') or return;
        }
        GV::send_raw($c, $case->{bytes});
        if ($case->{close}) {
            close $c;
        } else {
            my $f = recv_frame($c, 5);
            if (($f->{type} // -1) == T_ERROR) {
                ok((grep { $_ == $f->{code} } @{ $case->{codes} }),
                   "ERROR code $f->{code} in (@{$case->{codes}}): '$f->{message}'");
                ok(length($f->{message} // '') > 0, 'ERROR carries a message');
            } else {
                ok($case->{eof_ok} && $f->{eof}, "got ERROR (@{$case->{codes}})")
                    or diag explain $f;
            }
            ok(wait_closed($c, 5), 'server closed the connection');
        }
        my $reason = $gv->session_end($lport, 15);
        like($reason // '(no session end line)', $case->{reason}, "log: session ended: $case->{reason}");
        ok(ping($A, "A-after-$lport"), 'session A still answers PING');
        my ($n, $h) = $gv->session;
        is($h->{type}, T_SERVER_HELLO, 'a new client gets hello');
        close $n if $n;
    };
}

# versions 0..1, 1..2, 1..4, 1..6 and 2..3 overlap with 1..5: the
# highest common one
for my $r ([0, 1, 1], [1, 2, 2], [1, 4, 4], [1, 6, 5], [2, 3, 3]) {
    my ($c, $h) = $gv->session(min => $r->[0], max => $r->[1]);
    is($h->{version}, $r->[2], "hello with versions $r->[0]..$r->[1] gets version $r->[2]")
        or diag explain $h;
    close $c if $c;
}

# an empty PING and a 64-byte PING are fine
ok(ping($A, ''), 'empty PING echoed');
ok(ping($A, 'z' x 64), '64-byte PING echoed');
send_frame($A, T_BYE);
is(recv_frame($A, 5)->{type}, T_BYE, 'session A ends with BYE');

is($gv->pid, $pid, 'daemon pid unchanged');
ok($gv->alive, 'daemon alive');
my $s = $gv->wait_ready(2, 5);
ok($s, 'still 2 workers');
is_deeply([sort map { $_->{pid} } $gv->current_workers($s)], \@workers, 'same worker pids: none crashed');
unlike($gv->log_text, qr/killed by signal/, 'no "killed by signal" in the log');
unlike($gv->log_text, qr/exited with status/, 'no "exited with status" in the log');
is($gv->stop, 0, 'SIGTERM: exit 0');
done_testing;
