#!/usr/bin/perl
# A port that is already taken at start: exit 1, stderr names the config key
# and the port, nothing left behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use GV;

for my $key (qw(BackupServer UI)) {
    my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Proto => 'tcp', Listen => 5)
        or die "listen: $!";
    my $port = $busy->sockport;
    my $gv = GV->spawn(Workers => 2, $key => $port);
    my $st = $gv->wait_exit(10);
    is($st, 1, "Ports.$key $port taken: exit status 1");
    my $err = $gv->stderr_text;
    like($err, qr/Ports\.\Q$key\E/, "stderr names Ports.$key");
    like($err, qr/\b$port\b/, "stderr names port $port");
    like($err, qr/in use/i, 'stderr says the address is in use');
    like($err, qr/^gigavaultd: /m, 'message starts with "gigavaultd: "');
    ok(!-e $gv->pidfile, 'no pidfile left');
    ok(!(grep { $_->{pgrp} == $gv->pid && $_->{state} ne "Z" } GV::_all_procs()), "no process left in the daemon's process group");
    $gv->stop;
    is_deeply([$gv->leftovers], [], 'no children left behind');
    # the port is still ours
    ok(IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 2),
       'the occupying listener is untouched');
    close $busy;
    note("stderr: $err");
}

# Ports.UDPScan is bound by the supervisor for the discovery child (UDP):
# a program holding it keeps the daemon from starting, like a TCP port.
{
    my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'udp')
        or die "udp: $!";
    my $port = $busy->sockport;
    my $gv = GV->spawn(Workers => 1, UDPScan => $port);
    is($gv->wait_exit(10), 1, "Ports.UDPScan $port taken: exit status 1");
    like($gv->stderr_text, qr/Ports\.UDPScan \(UDP $port\)/, 'stderr names Ports.UDPScan and UDP');
    $gv->stop;
    close $busy;
}

done_testing;
