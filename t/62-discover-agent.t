#!/usr/bin/perl
# The agent in discovery (src/agent/announce.c, run alone by t/gv-announce)
# in network namespaces of the test's own (t/lib/GVNet.pm; never in the
# host's): a gigavaultd with discovery on lists it among its peers (UI
# bridge "peers") with the client role, its name, address and UI port;
# it answers a multicast QUERY (gigavault discover --direct) and a
# scanning server's PROBE; after SIGTERM its LEAVE removes it from the
# server's peers at once (PeerTimeout is a minute); a bad group is
# refused with its reason.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);
use GV;
use GVNet;
use GVClient;

my $ANNOUNCE = "$GV::BUILDDIR/t/gv-announce";
my $AGENT_ID = '0123456789abcdef0123456789abcdef';

my $net = GVNet->new;
$net->bridge('br0');
my $nss = $net->peer('s', br0 => '10.77.1.1/24');
my $nsa = $net->peer('a', br0 => '10.77.1.2/24');
my $nsc = $net->peer('c', br0 => '10.77.1.3/24');
my %o = ('Discovery.AnnounceInterval' => 2, 'Discovery.TCPInterval' => 2,
         'Discovery.PeerTimeout' => 60, Workers => 2);
my $gs = GV->spawn(-netns => $nss, GVNet::daemon_opts(GV::web_opts(%o, 'Discovery.Name' => 'srv')));
ok($gs->wait_ready(undef, 15), 'the server is ready in its namespace')
    or $gs->diag_logs;
# the agents among the peers are for an administrator's eyes only
$gs->add_admin('root', 'agents-pass');

# gv-announce in namespace $ns with @args: (pid, file of its output).
sub agent {
    my ($ns, @args) = @_;
    my $out = $gs->dir . "/announce.$ns.out";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        exec 'ip', 'netns', 'exec', $ns, $ANNOUNCE, @args or POSIX::_exit(127);
    }
    return ($pid, $out);
}

sub peer_named {
    my ($gv, $name) = @_;
    my ($p) = grep { $_->{name} eq $name }
        @{ ($gv->peers_admin('root', 'agents-pass') // {})->{peers} || [] };
    return $p;
}

# --- a bad group: refused with its reason, nothing sent
{
    my ($pid, $out) = agent($nsa, '-n', 'bad', '-g', '10.0.0.1');
    waitpid($pid, 0);
    is($? >> 8, 1, 'gv-announce with a unicast group: exit 1');
    like(GV::_slurp($out), qr/"10\.0\.0\.1" is not an IPv4 multicast group/,
         '... saying why');
}

# --- the server lists the agent, with the client role
my ($pid, $out) = agent($nsa, '-n', 'agent-a', '-i', $AGENT_ID, '-u', 32015,
                        '-I', 2);
my $t0 = time;
my $p = wait_until(sub { peer_named($gs, 'agent-a') }, 15, 0.1);
ok($p, 'the server lists the agent among its peers');
diag(sprintf('agent listed after %.2f s', time - $t0));
is(GV::_slurp($out), "announcing\n", 'gv-announce started');
is_deeply($p && $p->{roles}, ['client'], '... with the client role');
is($p && $p->{id}, $AGENT_ID, '... its id');
is($p && $p->{ports}{ui}, 32015, '... its UI port');
is($p && $p->{ports}{backup}, 32004, '... the backup port it uses');
is($p && $p->{addresses}[0], '10.77.1.2', '... its address');
is($p && $p->{source}, 'multicast', '... found by multicast');
my $seen = $p ? $p->{last_seen} : 0;
ok(wait_until(sub { my $q = peer_named($gs, 'agent-a'); $q && $q->{last_seen} > $seen }, 10, 0.2),
   'it announces again (every 2 s)');

# --- a multicast QUERY from the server's namespace is answered
my $cl = GVClient->new($gs, 'q', unregistered => 1);
my ($rc, $dout, $err) = $cl->run('discover', '--direct', '--json', '--wait', 2);
is($rc, 0, 'discover --direct') or diag($err);
my %by = map { $_->{name} => $_ } @{ (eval { JSON::PP->new->decode($dout) } // {})->{peers} || [] };
ok($by{'agent-a'}, 'the agent answered the QUERY') or diag($dout);
is_deeply($by{'agent-a'} && $by{'agent-a'}{roles}, ['client'], '... as a client');
is($by{'agent-a'} && $by{'agent-a'}{addresses}[0], '10.77.1.2', '... from its address');
ok($by{srv}, '(and the server answered too)');

# --- a scanning server (multicast off) finds it by its PROBE_REPLY
my $gc = GV->spawn(-netns => $nsc, GVNet::daemon_opts(GV::web_opts(%o, 'Discovery.Name' => 'scanner',
                   'Discovery.Multicast' => 0, 'Discovery.UDPScan' => 1,
                   'Discovery.ScanNetworks' => ['10.77.1.0/24'],
                   'Discovery.ScanRate' => 200)));
ok($gc->wait_ready(undef, 15), 'a scanning server is ready') or $gc->diag_logs;
$gc->add_admin('root', 'agents-pass');
my $sp = wait_until(sub { my $e = peer_named($gc, 'agent-a'); $e && $e->{source} eq 'scan' ? $e : undef }, 20, 0.2);
ok($sp, 'it finds the agent by scanning (the agent answered a PROBE)');
is_deeply($sp && $sp->{roles}, ['client'], '... with the client role');

# --- SIGTERM: LEAVE, and the server drops it at once
ok(kill('TERM', $pid), 'SIGTERM to gv-announce');
$t0 = time;
waitpid($pid, 0);
is($?, 0, 'gv-announce exits 0 after SIGTERM');
ok(wait_until(sub { !peer_named($gs, 'agent-a') }, 10, 0.1),
   'its LEAVE removes it from the server\'s peers (PeerTimeout is 60 s)');
diag(sprintf('agent gone from the peers %.2f s after SIGTERM', time - $t0));
ok($gs->ready, 'the server still serves status');

done_testing();
