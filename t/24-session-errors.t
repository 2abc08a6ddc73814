#!/usr/bin/perl
# Review findings on the session code: frame type and per-type length are
# judged from the header before any payload is read; after an ERROR the
# server drains the client's input so that the ERROR arrives instead of a
# reset; the client's software string is logged without control bytes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use IO::Select;
use GV;

my $gv = GV->start(Workers => 2, IdleTimeout => 60, MaxFrame => 1 << 20);

# header only, payload never sent: the answer must not wait for it
for my $case ([ 'PING announcing 60000 bytes', T_PING, E_MALFORMED ],
              [ 'unknown type 0x0777 announcing 60000 bytes', 0x0777, E_UNKNOWN_TYPE ],
              [ 'MISSING (server-to-client type) announcing 60000 bytes', T_MISSING, E_UNKNOWN_TYPE ]) {
    my ($c, $h) = $gv->session;
    my $t0 = time;
    GV::send_raw($c, pack('N n n', 60000, $case->[1], 0));
    my $f = recv_frame($c, 10);
    is($f->{code}, $case->[2], "$case->[0]: ERROR $case->[2]");
    cmp_ok(time - $t0, '<', 5, '... at once, without waiting for the payload');
    ok(wait_closed($c, 5), '... and closed');
}

# an ERROR while the client is still sending a lot: the ERROR arrives
for my $i (1 .. 5) {
    my ($c, $h) = $gv->session;
    my $junk = 'j' x 200_000;
    GV::send_raw($c, pack('N n n', 0x10000, 0x0666, 0) . $junk);
    my $f = recv_frame($c, 10);
    is($f->{code}, E_UNKNOWN_TYPE, "round $i: ERROR read although 200 KB were still arriving")
        or diag explain $f;
    # then an orderly end (FIN), not a reset that could have destroyed
    # the ERROR in flight
    my $sel = IO::Select->new($c);
    my ($n, $err) = (-1, '');
    if ($sel->can_read(5)) {
        $n = sysread($c, my $buf, 100);
        $err = "$!" unless defined $n;
    }
    is($n, 0, "round $i: then EOF, not a reset") or diag "read: $err";
    close $c;
}

# control bytes in the software string do not reach the log
{
    my ($c, $h) = $gv->session(software => "evil\e]0;pwned\a\x01\x7f\xff");
    is($h->{type}, T_SERVER_HELLO, 'hello with control bytes in the software string');
    ok(ping($c, 'x'), 'session works');
    close $c;
    ok($gv->log_like(qr/client "evil\?\]0;pwned\?\?\?\?"/, 5), 'logged with ? for each control byte');
    unlike($gv->log_text, qr/[\x00-\x08\x0b-\x1f\x7f]/, 'no control bytes in the log');
}

is($gv->stop, 0, 'clean stop');
done_testing;
