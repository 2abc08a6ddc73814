#!/usr/bin/perl
# gigavault-agent in discovery (Agent.Discovery = 1, the default) in
# network namespaces of the test's own (t/lib/GVNet.pm; never in the
# host's): a gigavaultd with discovery on lists the running agent among
# its peers with the client role, the agent's name, its id (StateDir/id)
# and UI port; after SIGTERM the agent's LEAVE removes it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use GV;
use GVNet;
use GVAgent;

my $net = GVNet->new;
$net->bridge('br0');
my $nss = $net->peer('s', br0 => '10.77.6.1/24');
my $nsa = $net->peer('a', br0 => '10.77.6.2/24');
my $gs = GV->spawn(-netns => $nss, GVNet::daemon_opts(GV::web_opts('Discovery.AnnounceInterval' => 2,
    'Discovery.PeerTimeout' => 60, Workers => 2, 'Discovery.Name' => 'srv')));
ok($gs->wait_ready(undef, 15), 'the server is ready in its namespace') or $gs->diag_logs;
# the agents among the peers are for an administrator's eyes only
$gs->add_admin('root', 'agents-pass');

# An agent that is not registered: discovery needs no registration (its
# polls fail, and say so in its log).
my $dir = $gs->dir . '/agent';
mkdir $dir;
GV::_spit("$dir/client.conf", <<"END");
Server = "10.77.6.1:32004"
Ports {
	UI = 32015
}
Agent {
	StateDir = "$dir/state"
	Name = "agent-a"
	PollInterval = 60
}
BackupSet "home" {
	Paths = {"$dir"}
	Schedule = "2099-01-01"
}
END
my $pid = fork // die "fork: $!";
if (!$pid) {
    POSIX::setpgid(0, 0);
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', "$dir/log" or POSIX::_exit(126);
    open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
    exec 'ip', 'netns', 'exec', $nsa, $GVAgent::AGENT, '-d', '-c', "$dir/client.conf"
        or POSIX::_exit(127);
}
END { kill 'KILL', -$pid if $pid }

sub peer_named {
    my ($gv, $name) = @_;
    my ($p) = grep { $_->{name} eq $name }
        @{ ($gv->peers_admin('root', 'agents-pass') // {})->{peers} || [] };
    return $p;
}

my $p = wait_until(sub { peer_named($gs, 'agent-a') }, 20, 0.1);
ok($p, 'the server lists the agent among its peers') or diag(GV::_slurp("$dir/log"));
(my $id = GV::_slurp("$dir/state/id") // '') =~ s/\s+//g;
is_deeply($p && $p->{roles}, ['client'], '... with the client role');
is($p && $p->{id}, $id, '... the id in its StateDir');
is($p && $p->{ports}{ui}, 32015, '... its UI port (Ports.UI)');
is($p && $p->{addresses}[0], '10.77.6.2', '... its address');

ok(kill('TERM', $pid), 'SIGTERM to the agent');
waitpid($pid, 0);
is($? >> 8, 0, 'it exits 0');
$pid = 0;
ok(wait_until(sub { !peer_named($gs, 'agent-a') }, 10, 0.1),
   'its LEAVE removes it from the server\'s peers') or diag(GV::_slurp("$dir/log"));

# Agent.AnswerProbes = 1: a scanning server (multicast off) finds the
# agent by its answer to a PROBE on 32006; without it (above) the agent
# leaves that port to a server on its machine.
my $nsc = $net->peer('c', br0 => '10.77.6.3/24');
GV::_spit("$dir/client2.conf", <<"END");
Server = "10.77.6.1:32004"
Ports {
	UI = 32015
}
Agent {
	StateDir = "$dir/state2"
	Name = "agent-p"
	PollInterval = 60
	AnswerProbes = 1
}
BackupSet "home" {
	Paths = {"$dir"}
	Schedule = "2099-01-01"
}
END
$pid = fork // die "fork: $!";
if (!$pid) {
    POSIX::setpgid(0, 0);
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', "$dir/log2" or POSIX::_exit(126);
    open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
    exec 'ip', 'netns', 'exec', $nsa, $GVAgent::AGENT, '-d', '-c', "$dir/client2.conf"
        or POSIX::_exit(127);
}
my $gc = GV->spawn(-netns => $nsc, GVNet::daemon_opts(GV::web_opts(Workers => 2,
    'Discovery.Name' => 'scanner', 'Discovery.Multicast' => 0,
    'Discovery.UDPScan' => 1, 'Discovery.ScanNetworks' => ['10.77.6.0/24'],
    'Discovery.ScanRate' => 200)));
ok($gc->wait_ready(undef, 15), 'a scanning server is ready') or $gc->diag_logs;
$gc->add_admin('root', 'agents-pass');
my $sp = wait_until(sub { my $e = peer_named($gc, 'agent-p');
    $e && $e->{source} eq 'scan' ? $e : undef }, 30, 0.2);
ok($sp, 'AnswerProbes = 1: a scanning server finds the agent by a PROBE')
    or diag(GV::_slurp("$dir/log2"));
is_deeply($sp && $sp->{roles}, ['client'], '... with the client role');
ok(kill('TERM', $pid), 'SIGTERM to the agent');
waitpid($pid, 0);
$pid = 0;
is($gc->stop, 0, 'the scanning server stops');

is($gs->stop, 0, 'the server stops');
done_testing;
