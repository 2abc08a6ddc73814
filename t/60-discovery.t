#!/usr/bin/perl
# Peer discovery in network namespaces of the test's own (t/lib/GVNet.pm):
# three daemons on one bridge find each other by multicast; a daemon on a
# second subnet is learned by TCP discovery through a peer on both; a
# daemon with multicast off is found by nobody while nobody scans (and no
# probe leaves a peer that does not scan), then by a peer that scans;
# malformed, oversized, foreign and flooding datagrams are dropped and
# counted and the daemon keeps working; peers age out after they stop.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use GV;
use GVNet;

my $net = GVNet->new;
$net->bridge('br0');
$net->bridge('br1');
my %ns = (
    a => $net->peer('a', br0 => '10.77.1.1/24'),
    b => $net->peer('b', br0 => '10.77.1.2/24', br1 => '10.77.2.2/24'),
    c => $net->peer('c', br0 => '10.77.1.3/24'),
    d => $net->peer('d', br0 => '10.77.1.4/24'),
    f => $net->peer('f', br1 => '10.77.2.10/24'),
);
my $TIMEOUT = 8;
my %common = ('Discovery.AnnounceInterval' => 2, 'Discovery.PeerTimeout' => $TIMEOUT,
              'Discovery.TCPInterval' => 2, Workers => 2);
my %gv;
my $t0 = time;
for my $p (qw(a b c f)) {
    $gv{$p} = GV->spawn(-netns => $ns{$p},
                        GVNet::daemon_opts(%common, 'Discovery.Name' => "peer-$p",
                                           ($p eq 'b' ? ('Discovery.MaxPeers' => 64) : ())));
}
$gv{d} = GV->spawn(-netns => $ns{d},
                   GVNet::daemon_opts(%common, 'Discovery.Name' => 'peer-d',
                                      'Discovery.Multicast' => 0,
                                      'Discovery.Peers' => ['10.77.1.2']));
for my $p (sort keys %gv) {
    ok($gv{$p}->wait_ready(undef, 15), "daemon $p ready in its namespace")
        or $gv{$p}->diag_logs;
}

sub peers_of {
    my ($p) = @_;
    my $r = $gv{$p}->peers or return {};
    return { map { $_->{name} => $_ } @{ $r->{peers} } };
}
sub counters { ($gv{$_[0]}->peers // {})->{counters} // {} }

# --- three peers on one bridge, by multicast
my $found = wait_until(sub {
    for my $p (qw(a b c)) {
        my $k = peers_of($p);
        for my $q (grep { $_ ne $p } qw(a b c)) {
            return 0 unless $k->{"peer-$q"} && $k->{"peer-$q"}{source} eq 'multicast';
        }
    }
    1;
}, 20, 0.1);
my $took = time - $t0;
ok($found, 'a, b and c know each other by multicast');
diag(sprintf('multicast discovery of three peers: %.2f s from the first spawn', $took));
{
    my $k = peers_of('a');
    my $b = $k->{'peer-b'};
    is_deeply($b->{addresses}[0], '10.77.1.2', "a has b's address from the datagram");
    is($b->{ports}{backup}, 32004, "... its backup port");
    is($b->{ports}{ui}, 32005, '... its UI port');
    is_deeply($b->{roles}, ['server'], '... its role');
    ok(!$b->{tls}, '... and TLS off');
    like($b->{id}, qr/^[0-9a-f]{32}$/, '... its id');
    is($b->{id}, $gv{b}->status->{server_id}, "... which is b's server id");
    ok($b->{first_seen} <= $b->{last_seen}, 'first_seen <= last_seen');
    my $self = $gv{a}->peers->{self};
    is($self->{name}, 'peer-a', 'self entry: name from Discovery.Name');
    ok(!$k->{'peer-a'}, 'a does not list itself');
    cmp_ok(counters('a')->{drop_own}, '>', 0, 'a dropped its own echo (and counted it)');
}

# --- f on the second subnet: b hears it by multicast, a and c by TCP via b
ok(wait_until(sub { (((peers_of('b')->{'peer-f'} // {})->{source}) // '') eq 'multicast' }, 15, 0.2),
   'b (on both subnets) finds f by multicast');
for my $p (qw(a c)) {
    my $f = wait_until(sub { my $e = peers_of($p)->{'peer-f'}; $e && $e->{source} eq 'tcp' ? $e : undef }, 20, 0.2);
    ok($f, "$p learns f by TCP discovery");
    is($f && $f->{via_name}, 'peer-b', '... from b');
    is($f && $f->{addresses}[0], '10.77.2.10', "... with f's address");
    is($f && $f->{hops}, 1, '... one hop away');
}
ok(wait_until(sub { (((peers_of('f')->{'peer-a'} // {})->{source}) // '') eq 'tcp' }, 20, 0.2),
   'f learns a by TCP discovery through b');

# --- d (multicast off) while nobody scans: found by nobody, no probe sent
sleep 3;
for my $p (qw(a b c f)) {
    ok(!peers_of($p)->{'peer-d'}, "$p does not know d (multicast off, no scan)");
}
for my $p (sort keys %gv) {
    my $c = counters($p);
    is($c->{tx_probe}, 0, "$p sent no probe (scanning off)");
    is($c->{rx_probe}, 0, "$p received no probe");
}
is(counters('d')->{tx_announce} // 0, 0, 'd announced nothing (multicast off)');
# d lists b in Discovery.Peers: it asks b over TCP and learns the rest
# from b's list, while nobody learns d (asking tells nothing of the asker).
{
    my $sb = wait_until(sub { my $e = peers_of('d')->{'peer-b'}; $e && $e->{source} eq 'static' ? $e : undef }, 15, 0.2);
    ok($sb, 'd reaches b, its static peer (Discovery.Peers), over TCP');
    is($sb && $sb->{addresses}[0], '10.77.1.2', '... at the configured address');
    my $sa = wait_until(sub { my $e = peers_of('d')->{'peer-a'}; $e && $e->{source} eq 'tcp' ? $e : undef }, 15, 0.2);
    ok($sa, "... and learns a from b's list");
    # (then d asks a itself, so the row may since say hops 0, no via)
    cmp_ok(counters('d')->{tcp_learned} // 0, '>=', 1, '... counted as learned from a list');
    ok(!peers_of('b')->{'peer-d'}, 'b still does not know d');
}

# --- malformed, oversized, foreign datagrams to b; b keeps working
{
    my $before = counters('b');
    my $u = GVNet::in_netns($ns{a}, sub { IO::Socket::INET->new(Proto => 'udp') }) or die "udp: $!";
    my $to = Socket::pack_sockaddr_in(32006, Socket::inet_aton('10.77.1.2'));
    my $mto = Socket::pack_sockaddr_in(6363, Socket::inet_aton('10.77.1.2'));
    my $name = 'evil';
    my $good = sub {
        my (%o) = @_;
        return 'GVDS' . pack('C C n a16 C C n n n n n N C/a*', $o{version} // 1, $o{type} // 1, 0,
                             $o{id} // GV::rand_id(), 1, 0, 32004, 0, $o{ui} // 0, 0, 0, 0,
                             $o{name} // $name);
    };
    my @bad = ('', 'G', 'GVDS', "GVDS\x01", 'junk' x 10, substr($good->(), 0, 40),
               $good->() . 'x', $good->(type => 0), $good->(type => 99), $good->(name => "a\nb"));
    send($u, $_, 0, $to) for @bad;
    send($u, 'x' x 1400, 0, $to);
    send($u, 'x' x 65000, 0, $to);
    send($u, $good->(version => 2), 0, $to);
    my $bid = pack('H*', $gv{b}->status->{server_id});
    send($u, $good->(id => $bid, type => 1), 0, $to);
    my $ok = wait_until(sub {
        my $c = counters('b');
        ($c->{drop_malformed} // 0) >= $before->{drop_malformed} + @bad &&
        ($c->{drop_oversize} // 0) >= $before->{drop_oversize} + 2 &&
        ($c->{drop_version} // 0) >= $before->{drop_version} + 1;
    }, 10, 0.2);
    ok($ok, 'b dropped and counted malformed, oversized and version-2 datagrams')
        or diag explain counters('b');
    ok(!peers_of('b')->{evil}, 'none of them became a peer');
    # Forged claims from a's address: an announcement and a LEAVE with c's
    # id, an ANSWER nobody asked for, a PROBE_REPLY while b does not scan,
    # an announcement on the scan port.
    my $cid = pack('H*', $gv{c}->status->{server_id});
    my $qto = Socket::pack_sockaddr_in(6364, Socket::inet_aton('10.77.1.2'));
    my $claim0 = counters('b')->{drop_claim} // 0;
    # Keep the forgery fresher than c's own announcements (every 2 s).
    for (1 .. 10) { send($u, $good->(id => $cid, name => 'peer-c', ui => 1), 0, $mto); sleep 0.1 }
    my $crow = peers_of('b')->{'peer-c'};
    is($crow && $crow->{addresses}[0], '10.77.1.3', "a forged announcement does not move c's row to another address");
    is($crow && $crow->{ports}{ui}, 32005, "... nor change c's UI port");
    for (1 .. 5) { send($u, $good->(id => $cid, name => 'peer-c', type => 6), 0, $mto) }
    sleep 0.7;
    ok(peers_of('b')->{'peer-c'}, "a forged LEAVE does not remove c from b's table");
    send($u, $good->(type => 3, name => 'unasked'), 0, $qto);
    send($u, $good->(type => 5, name => 'unasked2'), 0, $to);
    send($u, $good->(type => 1, name => 'wrongport'), 0, $to);
    ok(wait_until(sub { (counters('b')->{drop_claim} // 0) >= $claim0 + 18 }, 10, 0.2),
       'forged claims are dropped and counted (drop_claim)') or diag explain counters('b');
    ok(!peers_of('b')->{$_}, "no peer '$_' was added") for qw(unasked unasked2 wrongport);
    # A flood of valid announcements with forged ids: the table stays bounded.
    for (1 .. 300) { send($u, $good->(name => "forged-$_"), 0, $mto) }
    for (1 .. 300) { send($u, $good->(name => "forged-p$_", type => 4), 0, $to) }
    ok(wait_until(sub { (counters('b')->{drop_full} // 0) > 0 }, 10, 0.2),
       'a flood of forged peers fills MaxPeers and the rest is dropped (counted)');
    my $n = scalar keys %{ peers_of('b') };
    cmp_ok($n, '<=', 64, "b keeps at most MaxPeers = 64 peers ($n)");
    cmp_ok(counters('b')->{drop_rate} // 0, '>', 0, 'answers to the probe flood were rate limited');
    ok($gv{b}->ready, 'b still serves status');
    my ($s, $h) = $gv{b}->session;
    is($h->{type}, T_SERVER_HELLO, 'b still serves sessions');
    ok($gv{b}->alive, 'b is alive');
    my $drops = () = $gv{b}->log_text =~ /dropped a/g;
    cmp_ok($drops, '<=', 20, "drops are not logged line by line ($drops lines)");
}

# --- c scans 10.77.1.0/24 and finds d; others still send no probe
{
    $gv{c}->reload(%common, 'Discovery.UDPScan' => 1, 'Discovery.ScanNetworks' => ['10.77.1.0/24'],
                   'Discovery.ScanRate' => 200);
    my $d = wait_until(sub { my $e = peers_of('c')->{'peer-d'}; $e && $e->{source} eq 'scan' ? $e : undef }, 20, 0.2);
    ok($d, 'c finds d by scanning');
    is($d && $d->{addresses}[0], '10.77.1.4', "... at d's address");
    my $c = wait_until(sub { my $c = counters('c'); $c->{scans} ? $c : undef }, 10, 0.2) // {};
    is($c->{scan_last_probes}, 254, 'a /24 scan sends 254 probes');
    diag(sprintf('scan of a /24 at 200 probes/s: %d probes in %d ms, %d answers',
                 $c->{scan_last_probes} // -1, $c->{scan_last_ms} // -1, $c->{scan_last_found} // -1));
    cmp_ok(counters('d')->{rx_probe}, '>=', 1, 'd received the probe');
    for my $p (qw(a b d f)) {
        is(counters($p)->{tx_probe}, 0, "$p (not scanning) still sent no probe");
    }
}

# --- f stops without a word (SIGKILL): b and a forget it after PeerTimeout
{
    my $t = time;
    $gv{f}->_kill_all;
    ok(wait_until(sub { !peers_of('b')->{'peer-f'} && !peers_of('a')->{'peer-f'} }, 3 * $TIMEOUT, 0.25),
       "b and a forget f after it stopped (PeerTimeout $TIMEOUT s)");
    diag(sprintf('f aged out after %.1f s', time - $t));
    ok(wait_until(sub { (counters('b')->{expired} // 0) >= 1 }, 5, 0.1), 'b counted an expired peer');
    # c stops cleanly: it says so, and its peers drop it at once.  b's
    # discovery child is held stopped meanwhile, so b's peer list (served
    # by its UI bridge from the catalog) still names c: a, which asks b
    # every TCPInterval, must not take c back from that stale list.
    my $bdisc = $gv{b}->titled->{'gigavaultd: discovery'};
    ok($bdisc && kill('STOP', $bdisc), "b's discovery child held stopped");
    $t = time;
    is($gv{c}->stop, 0, 'c stops cleanly');
    ok(wait_until(sub { !peers_of('a')->{'peer-c'} }, $TIMEOUT, 0.1), 'a drops c when it leaves');
    ok(peers_of('b')->{'peer-c'}, "b's list still names c");
    my $back = wait_until(sub { peers_of('a')->{'peer-c'} }, 3 * 2 + 1, 0.2);
    ok(!$back, "a does not take c back from b's stale list")
        or diag(explain($back));
    kill 'CONT', $bdisc if $bdisc;
    ok(wait_until(sub { !peers_of('b')->{'peer-c'} }, $TIMEOUT, 0.1), 'b drops c too once it runs again');
}

for my $p (qw(a b d)) {
    is($gv{$p}->stop, 0, "$p stops cleanly");
}
done_testing;
