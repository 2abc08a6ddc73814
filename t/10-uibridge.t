#!/usr/bin/perl
# The JSON-lines UI bridge on Ports.UI, and SIGUSR1 log reopening.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use IO::Socket::IP;
use Time::HiRes qw(time sleep);
use GV;

my $IT = 4;
my $gv = GV->start(Workers => 3, IdleTimeout => $IT);
my $t_start = time;

# --- status: fields and types
my ($s, $raw) = $gv->status_raw;
ok(ref $s eq 'HASH', 'status is a JSON object') or diag $raw;
like($raw, qr/^\{.*\}$/, 'one line');
like($s->{server_id}, qr/^[0-9a-f]{32}$/, 'server_id: 32 hex digits');
ok(defined $s->{version} && !ref $s->{version}, "version is a string ($s->{version})");
like($raw, qr/"version"\s*:\s*"\d+\.\d+\.\d+[^"]*"/, 'version is a JSON string x.y.z');
for my $k (qw(uptime pool_size sessions_served)) {
    like($raw, qr/"$k"\s*:\s*\d+[,}]/, "$k is a JSON integer");
}
cmp_ok($s->{uptime}, '>=', 0, 'uptime >= 0');
cmp_ok($s->{uptime}, '<=', 30, 'uptime small after start');
is($s->{pool_size}, 3, 'pool_size 3');
is($s->{sessions_served}, 0, 'sessions_served 0 at start');
is(ref $s->{workers}, 'ARRAY', 'workers is an array');
is(scalar @{ $s->{workers} }, 3, '3 workers');
for my $w (@{ $s->{workers} }) {
    like($w->{pid}, qr/^\d+$/, "worker pid $w->{pid} is an integer");
    like($w->{state}, qr/^(starting|idle|busy)$/, "state '$w->{state}'");
    ok(!defined $w->{peer}, 'idle worker: peer is null') if $w->{state} eq 'idle';
    like($w->{since}, qr/^\d+$/, 'since is an integer');
    ok(abs($w->{since} - time) < 60, 'since is a recent Unix time');
}
like($raw, qr/"peer"\s*:\s*null/, 'peer is JSON null when idle');
like($raw, qr/"since"\s*:\s*\d+[,}]/, 'since is a JSON number');

# uptime grows
sleep 1.2;
my $s2 = $gv->status;
cmp_ok($s2->{uptime}, '>=', $s->{uptime} + 1, 'uptime grows');

# --- one session open: exactly one busy worker with the client's address
my ($c, $h) = $gv->session;
is($h->{type}, T_SERVER_HELLO, 'session open');
my $lport = $c->sockport;
my $busy = wait_until(sub {
    my $s = $gv->status or return;
    my @b = grep { $_->{state} eq 'busy' } @{ $s->{workers} };
    @b == 1 ? $b[0] : undef;
}, 5);
ok($busy, 'exactly one worker is busy');
is($busy && $busy->{peer}, "127.0.0.1:$lport", 'its peer is the client address');
ok($busy && abs($busy->{since} - time) < 5, 'its since is the time it became busy');
my $served = $gv->status->{sessions_served};
send_frame($c, T_BYE);
is(recv_frame($c, 5)->{type}, T_BYE, 'BYE');
close $c;
ok(wait_until(sub {
    my $s = $gv->status or return;
    !grep { $_->{state} ne 'idle' } @{ $s->{workers} };
}, 5), 'after BYE every worker is idle again');
ok(wait_until(sub { ($gv->status // {})->{sessions_served} // 0 > $served }, 5),
   'sessions_served grew');

# --- errors on one connection; the connection stays usable
{
    my $u = $gv->ui_connect;
    ok($u, 'UI connection');
    my ($r, $l) = $gv->ui_request($u, 'this is not json');
    ok(ref $r eq 'HASH' && defined $r->{error}, "non-JSON line -> error ($l)");
    ($r, $l) = $gv->ui_request($u, '[1,2,3]');
    ok(ref $r eq 'HASH' && defined $r->{error}, "JSON array -> error ($l)");
    ($r, $l) = $gv->ui_request($u, '{"id":1}');
    ok(ref $r eq 'HASH' && defined $r->{error}, "object without request -> error ($l)");
    is($r && $r->{id}, 1, '... with the id echoed');
    ($r, $l) = $gv->ui_request($u, '{"request":42}');
    ok(ref $r eq 'HASH' && defined $r->{error}, "non-string request -> error ($l)");
    ($r, $l) = $gv->ui_request($u, '{"request":"frobnicate"}');
    ok(ref $r eq 'HASH' && defined $r->{error}, "unknown request -> error ($l)");
    ($r, $l) = $gv->ui_request($u, '{"request":"frobnicate","id":"x-7"}');
    ok(ref $r eq 'HASH' && defined $r->{error}, 'unknown request with id -> error');
    is($r && $r->{id}, 'x-7', 'string id echoed in the error');
    ($r, $l) = $gv->ui_request($u, '{"request":"status","id":17}');
    ok(ref $r eq 'HASH' && $r->{server_id}, 'same connection still answers status');
    is($r && $r->{id}, 17, 'numeric id echoed in the status reply');
    ($r, $l) = $gv->ui_request($u, '{"request":"status","id":{"a":[1,2]}}');
    is_deeply($r && $r->{id}, { a => [1, 2] }, 'structured id echoed as is');

    # pipelined requests: replies in order
    GV::send_raw($u, qq({"request":"status","id":1}\n{"request":"nope","id":2}\n{"request":"status","id":3}\n));
    my @ids;
    for (1 .. 3) {
        my $line = read_line($u, 5);
        my $d = defined $line ? eval { decode_json($line) } : undef;
        push @ids, $d ? $d->{id} : undef;
    }
    is_deeply(\@ids, [1, 2, 3], 'three pipelined requests answered in order');

    # a request split over several writes
    GV::send_raw($u, '{"requ');
    sleep 0.2;
    GV::send_raw($u, 'est":"status","id":"split"}' . "\n");
    my $line = read_line($u, 5);
    my $d = defined $line ? eval { decode_json($line) } : undef;
    is($d && $d->{id}, 'split', 'a request split over two writes is answered');

    # a 70000-byte line
    GV::send_raw($u, '{"request":"status","pad":"' . ('x' x 70000) . "\"}\n");
    $line = read_line($u, 5);
    my $why = $GV::LAST_READ;
    $d = defined $line ? eval { decode_json($line) } : undef;
    is($d && $d->{error}, 'line too long', '70000-byte line -> {"error":"line too long"}')
        or diag("read: $why; line: " . substr($line // '', 0, 200));
    ok(wait_closed($u, 5), 'and the connection is closed');
}

# a line of exactly 65536 bytes including the newline is accepted
{
    my $u = $gv->ui_connect;
    my $head = '{"request":"status","pad":"';
    my $tail = "\"}\n";
    my $line = $head . ('y' x (65536 - length($head) - length($tail))) . $tail;
    is(length $line, 65536, 'built a 65536-byte line');
    my ($r, $l) = $gv->ui_request($u, $line);
    ok($r && $r->{server_id}, 'a 65536-byte line is accepted (limit includes the newline)')
        or diag('got: ' . substr($l // $GV::LAST_READ, 0, 200));
    close $u;
}

# --- at most 64 bridge connections
{
    my @held;
    for my $i (1 .. 64) {
        my $u = $gv->ui_connect or last;
        my ($r) = $gv->ui_request($u, '{"request":"status"}', 5);
        last unless $r && $r->{server_id};
        push @held, $u;
    }
    is(scalar @held, 64, '64 bridge connections served at once');
    my $extra = $gv->ui_connect;
    if ($extra) {
        GV::send_raw($extra, qq({"request":"status"}\n));
        my $l = read_line($extra, 3);
        ok(!defined $l, 'the 65th connection is closed without a reply')
            or diag("65th got: $l");
        is($GV::LAST_READ =~ /^(eof|error)/ ? 'closed' : $GV::LAST_READ, 'closed', '... at once');
    } else {
        pass('the 65th connection is refused');
        pass('... at once');
    }
    close $_ for @held;
    ok(wait_until(sub { $gv->status }, 5), 'after closing them, status works again');
}

# --- an idle bridge connection is closed after IdleTimeout
{
    my $u = $gv->ui_connect;
    my $t0 = time;
    ok(wait_closed($u, $IT + 3), sprintf('idle bridge connection closed (after %.1f s, IdleTimeout %d)',
                                         time - $t0, $IT));
}

# --- SIGUSR1 reopens the log file
{
    my $log = $gv->logfile;
    ok(-s $log, 'log file has content');
    rename $log, "$log.1" or die "rename: $!";
    $gv->signal('USR1');
    # The supervisor says so in the new file after telling every child.
    ok(wait_until(sub { -e $log && $gv->log_text($log) =~ /log file reopened/ }, 5),
       'SIGUSR1 after renaming: the log file is created anew');
    # a session after the reopen: its end line must land in the new file
    my ($c, $h) = $gv->session;
    is($h->{type}, T_SERVER_HELLO, 'session after SIGUSR1');
    my $lp = $c->sockport;
    send_frame($c, T_BYE);
    recv_frame($c, 5);
    close $c;
    my $in_new = wait_until(sub { $gv->log_text($log) =~ /session from 127\.0\.0\.1:$lp\b/ }, 5);
    ok($in_new, 'the worker logs the new session into the new file');
    unlike($gv->log_text("$log.1"), qr/session from 127\.0\.0\.1:$lp\b/,
           'and not into the renamed one');
    # the supervisor logs there too: reload
    $gv->reload;
    ok(wait_until(sub { $gv->log_text($log) =~ /reload|SIGHUP/i }, 5),
       'the supervisor logs into the new file too');
    ok($gv->wait_ready(3, 10), 'still 3 workers after the reload');
    # and a worker started after the reopen
    my ($w) = $gv->current_workers;
    kill 'KILL', $w->{pid};
    ok(wait_until(sub { $gv->log_text($log) =~ /killed by signal 9/ }, 5),
       'worker death logged in the new file');
}

is($gv->stop, 0, 'SIGTERM: exit 0');

# --- IPv6 peers are written [addr]:port
SKIP: {
    my $probe = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1);
    skip 'no IPv6 loopback', 4 unless $probe;
    close $probe;
    my $g6 = GV->start(Workers => 1, Listen => ['127.0.0.1', '::1']);
    my $c6 = IO::Socket::IP->new(PeerHost => '::1', PeerPort => $g6->port('BackupServer'),
                                 Timeout => 5);
    ok($c6, 'connected over IPv6') or skip 'no IPv6 connection', 3;
    my $h6 = do_hello($c6);
    is($h6->{type}, T_SERVER_HELLO, 'hello over IPv6');
    my $lp = $c6->sockport;
    my $w = wait_until(sub {
        my $s = $g6->status or return;
        (grep { ($_->{state} // '') eq 'busy' } @{ $s->{workers} })[0];
    }, 5);
    is($w && $w->{peer}, "[::1]:$lp", 'status peer of an IPv6 client is "[::1]:port"');
    send_frame($c6, T_BYE);
    recv_frame($c6, 5);
    ok(wait_until(sub { $g6->log_text =~ /session from \[::1\]:$lp ended: [^\n]*client said bye/ }, 5),
       'log: session from [::1]:port ended: client said bye');
    is($g6->stop, 0, 'exit 0');
}
done_testing;
