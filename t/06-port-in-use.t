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

# A port of a service this version does not serve (Ports.UDPScan: the
# discovery child is not there yet) is validated but not opened, so a
# program holding it does not keep the daemon from starting.  When the
# discovery child binds UDPScan this test must expect exit status 1.
{
    my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'udp')
        or die "udp: $!";
    my $port = $busy->sockport;
    my $gv = GV->spawn(Workers => 1, UDPScan => $port);
    ok(!defined $gv->wait_exit(2), "Ports.UDPScan $port taken: the daemon keeps running");
    ok(GV::wait_until(sub { $gv->ready(1) }, 5, 0.05), '... and serves its pool');
    $gv->stop;
    close $busy;
}

done_testing;
