#!/usr/bin/perl
# gigavault discover (from the local daemon, and --direct by multicast)
# and -s auto, in network namespaces of the test's own: with one backup
# server in reach it is used; with several, register fails listing them;
# a registered client picks the server with its registered id (and
# status -s auto asks that server's UI bridge).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use GV;
use GVNet;
use GVClient;

my $net = GVNet->new;
$net->bridge('br0');
$net->bridge('br1');
my $nsa = $net->peer('a', br0 => '10.77.1.1/24');
my $nsb = $net->peer('b', br0 => '10.77.1.2/24');
my $nss = $net->peer('s', br1 => '10.77.2.1/24');
my %o = ('Discovery.AnnounceInterval' => 2, 'Discovery.TCPInterval' => 2, Workers => 2);
my $ga = GV->spawn(-netns => $nsa, GVNet::daemon_opts(%o, 'Discovery.Name' => 'srv-a'));
my $gb = GV->spawn(-netns => $nsb, GVNet::daemon_opts(%o, 'Discovery.Name' => 'srv-b'));
my $gs = GV->spawn(-netns => $nss, GVNet::daemon_opts(%o, 'Discovery.Name' => 'srv-solo'));
ok($_->wait_ready(undef, 15), 'daemon ready') for $ga, $gb, $gs;
ok(wait_until(sub { grep { $_->{name} eq 'srv-b' } @{ ($ga->peers // {})->{peers} || [] } }, 15, 0.1),
   'a knows b');
my $JSON = JSON::PP->new;

my $cl = GVClient->new($ga, 'alice', unregistered => 1);
my ($rc, $out, $err) = $cl->run('init');
is($rc, 0, 'init') or diag $err;

# --- discover through the local daemon
($rc, $out, $err) = $cl->run('discover', '--json');
is($rc, 0, 'discover --json') or diag $err;
my $d = eval { $JSON->decode($out) } // {};
my %by = map { $_->{name} => $_ } @{ $d->{peers} || [] };
is($by{'srv-a'}{source}, 'self', 'the local daemon is listed as self');
is($by{'srv-a'}{addresses}[0], '127.0.0.1', '... at the address asked');
is($by{'srv-b'}{source}, 'multicast', 'b, found by multicast');
is($by{'srv-b'}{addresses}[0], '10.77.1.2', "... at b's address");
ok(!$by{'srv-solo'}, 'the server on the other subnet is not listed');
($rc, $out, $err) = $cl->run('discover');
is($rc, 0, 'discover (text)');
like($out, qr/^srv-b\s+[0-9a-f]{12}\s+10\.77\.1\.2\s+32004\/32005 .*server multicast/m, 'a line per peer')
    or diag $out;

# --- discover --direct: our own query, answered by both daemons
($rc, $out, $err) = $cl->run('discover', '--direct', '--json', '--wait', 2);
is($rc, 0, 'discover --direct --json') or diag $err;
$d = eval { $JSON->decode($out) } // {};
my @names = sort map { $_->{name} } @{ $d->{peers} || [] };
is_deeply(\@names, ['srv-a', 'srv-b'], 'both daemons answered the multicast query') or diag $out;
($rc, $out, $err) = $cl->run('discover', '--wait', 'x');
is($rc, 2, 'a bad --wait: exit 2');

# --- register -s auto with two servers in reach: refused, with the list
my $token = $gb->add_client('alice');
($rc, $out, $err) = $cl->run('register', '-s', 'auto', '--token', $token);
is($rc, 2, 'register -s auto with two servers (no terminal): exit 2');
like($err, qr/2 backup servers found/, '... says how many');
like($err, qr/-s 10\.77\.1\.2:32004\s+\(srv-b, id [0-9a-f]{32}\)/, '... and lists b');
like($err, qr/-s 127\.0\.0\.1:32004\s+\(srv-a/, '... and a');

# --- registered with b: -s auto picks b by its id
($rc, $out, $err) = $cl->run('register', '-s', '10.77.1.2:32004', '--token', $token);
is($rc, 0, 'register with b by address') or diag $err;
my $src = $cl->dir . '/src';
mkdir $src;
GVClient::_spit_bytes("$src/f", "hello\n" x 100);
($rc, $out, $err) = $cl->run('-v', 'backup', '-s', 'auto', $src);
is($rc, 0, 'backup -s auto') or diag $err;
like($err, qr/-s auto: 10\.77\.1\.2:32004 \(srv-b\)/, '... chose b, the server with the registered id');
my @snaps = $cl->snapshots('-s', 'auto');
is(scalar @snaps, 1, 'snapshots -s auto: the snapshot is on b');
($rc, $out, $err) = $cl->run('status', '-s', 'auto');
is($rc, 0, 'status -s auto') or diag $err;
my $bid = $gb->status->{server_id};
like($out, qr/^server id:\s+\Q$bid\E$/m, "... asks b's UI bridge (its host, Ports.UI)") or diag $out;

# --- one server in reach: register -s auto uses it
my $cs = GVClient->new($gs, 'sam', unregistered => 1);
is(($cs->run('init'))[0], 0, 'init (solo)');
my $tok = $gs->add_client('sam');
($rc, $out, $err) = $cs->run('register', '-s', 'auto', '--token', $tok);
is($rc, 0, 'register -s auto with one server in reach') or diag $err;
like($out, qr/registered as sam with 127\.0\.0\.1:32004/, '... registered with it');

is($_->stop, 0, 'daemon stops cleanly') for $ga, $gb, $gs;
done_testing;
