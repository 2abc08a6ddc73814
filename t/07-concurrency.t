#!/usr/bin/perl
# 200 clients at once against 4 workers: every one is greeted.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_ERROR);
use Errno qw(EINPROGRESS EAGAIN EWOULDBLOCK EINTR);
use Time::HiRes qw(time);
use GV;

my $N = $ENV{GV_CLIENTS} || 200;
# 200 connections from one address before any sends its hello: more than
# the default Server.MaxHandshakesPerAddress (32) lets the acceptor hold.
my $gv = GV->start(Workers => 4, HandshakeTimeout => 20, IdleTimeout => 20,
                   MaxHandshakesPerAddress => 256);
my $before = $gv->status->{sessions_served};
my @pids_before = sort map { $_->{pid} } $gv->current_workers;
my $port = $gv->port('BackupServer');
my $msg = frame(T_CLIENT_HELLO, hello_payload(software => 'gv-concurrency')) . frame(T_BYE);

# open all sockets first (non-blocking connects, so a short listen backlog
# only slows us down instead of blocking the loop)
my $t0 = time;
my (%c, @socks);
for my $i (1 .. $N) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Blocking => 0);
    if (!$s) { fail("socket $i: $!"); next }
    $c{"$s"} = { i => $i, sock => $s, state => 'connecting', buf => '' };
    push @socks, $s;
}
is(scalar @socks, $N, "$N sockets opened");

my $wsel = IO::Select->new(@socks);
my $rsel = IO::Select->new();
my ($greeted, $byes, $last_greet, $failed) = (0, 0, 0, 0);
my $deadline = time + 40;
while (($wsel->count || $rsel->count) && time < $deadline) {
    my ($r, $w) = IO::Select->select($rsel, $wsel, undef, 1);
    for my $s (@{ $w || [] }) {
        my $st = $c{"$s"};
        $wsel->remove($s);
        my $err = unpack('i', getsockopt($s, SOL_SOCKET, SO_ERROR) // pack('i', -1));
        if ($err) { $st->{state} = "connect error $err"; $failed++; next }
        my $n = syswrite($s, $msg);
        if (!defined $n || $n != length $msg) {
            $st->{state} = 'write error ' . ($! // 'short');
            $failed++;
            next;
        }
        $st->{state} = 'sent';
        $rsel->add($s);
    }
    for my $s (@{ $r || [] }) {
        my $st = $c{"$s"};
        my $n = sysread($s, $st->{buf}, 4096, length $st->{buf});
        next if !defined $n && ($! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR);
        while (length $st->{buf} >= 8) {
            my ($len, $type) = unpack('N n', $st->{buf});
            last if length $st->{buf} < 8 + $len;
            substr($st->{buf}, 0, 8 + $len, '');
            if ($type == T_SERVER_HELLO && $st->{state} eq 'sent') {
                $st->{state} = 'greeted';
                $greeted++;
                $last_greet = time;
            } elsif ($type == T_BYE && $st->{state} eq 'greeted') {
                $st->{state} = 'bye';
                $byes++;
            } else {
                $st->{state} = "unexpected frame type $type";
            }
        }
        if (!$n) {    # EOF or error
            $rsel->remove($s);
            $st->{closed} = 1;
        }
    }
}
is($greeted, $N, "all $N clients got SERVER_HELLO");
is($byes, $N, "all $N clients got BYE");
is($failed, 0, 'no connect/write failures');
my %why;
$why{ $_->{state} }++ for grep { $_->{state} ne 'bye' } values %c;
is_deeply(\%why, {}, 'no client in another state') or diag explain \%why;
diag(sprintf('%d clients: last greeting %.3f s after the first connect', $N, $last_greet - $t0))
    if $last_greet;
my $closed = grep { $_->{closed} } values %c;
is($closed, $N, 'the server closed every connection after BYE');
close $_ for @socks;

my $s = wait_until(sub {
    my $s = $gv->status or return;
    $s->{sessions_served} - $before >= $N ? $s : undef;
}, 10);
ok($s, "sessions_served grew by >= $N")
    or diag('sessions_served: ' . ($gv->status // {})->{sessions_served} . " (before: $before)");
ok($gv->wait_ready(4, 5), 'pool of 4 idle/busy workers afterwards');
ok(wait_until(sub { my $s = $gv->status; $s && !grep { $_->{state} ne 'idle' } @{ $s->{workers} } }, 5),
   'all workers back to idle');
is_deeply([sort map { $_->{pid} } $gv->current_workers], \@pids_before, 'same worker pids (none crashed)');
my $byelines = () = $gv->log_text =~ /ended: [^\n]*client said bye/g;
is($byelines, $N, "log: $N sessions 'ended: client said bye'");
unlike($gv->log_text, qr/killed by signal|exited with status/, 'no worker died');

is($gv->stop, 0, 'SIGTERM: exit 0');
done_testing;
