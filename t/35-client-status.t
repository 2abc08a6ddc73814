#!/usr/bin/perl
# gigavault status: a daemon's UI bridge "status" reply for a person
# (server id, one line per worker, a busy worker's peer) and as JSON;
# the server found from -s (port defaulting to Ports.UI), or from Server
# in client.conf with its Ports.UI; errors in one line with exit 2: a
# closed port, an {"error":...} reply, a reply that is not a status, a
# bridge that never answers.  And gigavault discover --ui, which asks
# the bridge through the same code.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use GV;
use GVClient;

my $gv = GV->start(Workers => 2);
ok($gv->wait_ready(2), 'daemon ready') or $gv->diag_logs;
my $id = $gv->status->{server_id};
my $ui = $gv->port('UI');
my $cl = GVClient->new($gv, 'st');
my $JSON = JSON::PP->new;
my ($rc, $out, $err);

# --- -s HOST:PORT, text
($rc, $out, $err) = $cl->run('status', '-s', "127.0.0.1:$ui");
is($rc, 0, 'status -s 127.0.0.1:UI') or diag $err;
like($out, qr/^server id:\s+\Q$id\E$/m, '... names the server id');
like($out, qr/^version:\s+\d+\.\d+\.\d+$/m, '... the version');
like($out, qr/^uptime:\s+\d+ (s|min)$/m, '... the uptime, for a person');
like($out, qr/^pool size:\s+2$/m, '... the pool size');
like($out, qr/^sessions served:\s+\d+$/m, '... the sessions served');
my $nw = () = $out =~ /^  \d+\s+(?:idle|busy|starting)\s/mg;
is($nw, 2, '... and a line for each of the 2 workers') or diag $out;
is($err, '', '... and nothing on stderr');

# --- --json: the reply as it is
($rc, $out, $err) = $cl->run('status', '--json', '-s', "127.0.0.1:$ui");
is($rc, 0, 'status --json') or diag $err;
my $j = eval { $JSON->decode($out) };
is(ref $j, 'HASH', '... is a JSON object') or diag $out;
is($j->{server_id}, $id, "... with the daemon's server_id");
is(scalar @{ $j->{workers} || [] }, 2, '... and its workers');
like($out, qr/\n  "/, '... pretty-printed');

# --- a busy worker shows its peer
my ($s) = $gv->session;
ok(wait_until(sub { grep { $_->{state} eq 'busy' } @{ $gv->status->{workers} } }, 10),
   'a session makes a worker busy');
($rc, $out, $err) = $cl->run('status', '-s', "127.0.0.1:$ui");
like($out, qr/^  \d+\s+busy\s+127\.0\.0\.1:\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+ s ago\)$/m,
     '... shown with its peer and since when') or diag $out;
close $s;

# --- a host name; the port from -s defaults to Ports.UI of client.conf
($rc, $out, $err) = $cl->run('status', '-s', "localhost:$ui");
is($rc, 0, 'status -s localhost:PORT (a host name)') or diag $err;
like($out, qr/^server id:\s+\Q$id\E$/m, '... reaches the daemon');
open my $fh, '>>', "$cl->{conf}" or die;
print $fh "Ports {\n\tUI = $ui\n}\n";
close $fh;
($rc, $out, $err) = $cl->run('status', '-s', '127.0.0.1');
is($rc, 0, 'status -s HOST: the port is Ports.UI') or diag $err;
like($out, qr/^server id:\s+\Q$id\E$/m, '... of client.conf');

# --- without -s: Server's host (its port is the backup port) and Ports.UI
($rc, $out, $err) = $cl->run('status');
is($rc, 0, 'status without -s: Server with Ports.UI') or diag $err;
like($out, qr/^server id:\s+\Q$id\E$/m, '... the daemon');

# --- no Server either: the registered server's host
my $conf2 = $cl->dir . '/noserver.conf';
GVClient::_spit_bytes($conf2, sprintf(qq(StateFile = "%s/state.json"\nPorts {\n\tUI = %d\n}\n),
                                      $cl->dir, $ui));
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', $conf2, 'status'], {}, 30);
is($rc, 0, 'status without -s nor Server: the registered server') or diag $err;
like($out, qr/^server id:\s+\Q$id\E$/m, '... the daemon');
GVClient::_spit_bytes($conf2, sprintf(qq(StateFile = "%s/none.json"\n), $cl->dir));
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', $conf2, 'status'], {}, 30);
is($rc, 2, '... and none registered: exit 2');
like($err, qr/no server to ask: use -s HOST\[:PORT\]/, '... said so');
GVClient::_spit_bytes($conf2, "Ports {\n\tUI = 0\n}\n");
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', $conf2, 'status'], {}, 30);
like($err, qr/noserver\.conf:2: UI = 0 is out of range 1\.\.65535/, 'Ports.UI is checked');

# --- errors: one line, exit 2 (as for every command that fails)
my $closed = free_ports(1);
($rc, $out, $err) = $cl->run('status', '-s', "127.0.0.1:$closed");
is($rc, 2, 'a closed port: exit 2');
is($err, "gigavault: no UI bridge answers on 127.0.0.1:$closed: Connection refused\n",
   '... said in one line');
is($out, '', '... nothing on stdout');
($rc, $out, $err) = $cl->run('status', '-s', 'host:0');
is($rc, 2, 'a bad -s: exit 2');
($rc, $out, $err) = $cl->run('status', 'extra');
is($rc, 2, 'an extra argument: exit 2');
like($err, qr/usage: gigavault status/, '... with the usage');

# A fake bridge that answers each request with $reply (undef: never).
sub fake_bridge {
    my ($reply) = @_;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 5, Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my $pid = fork // die;
    if (!$pid) {
        while (my $c = $l->accept) {
            my $line = <$c>;
            if (defined $reply) { print $c $reply; close $c; }
            else { sleep 60 }
        }
        POSIX::_exit(0);
    }
    my $port = $l->sockport;
    close $l;
    return ($pid, $port);
}
my @fakes;
my ($pid, $port) = fake_bridge(qq({"error":"unknown request"}\n));
push @fakes, $pid;
($rc, $out, $err) = $cl->run('status', '-s', "127.0.0.1:$port");
is($rc, 2, 'an {"error":...} reply: exit 2');
like($err, qr/^gigavault: 127\.0\.0\.1:\d+: the UI bridge answered with an error: unknown request\n\z/,
     '... printed as an error');
($pid, $port) = fake_bridge(qq({"self":{},"peers":[]}\n));
push @fakes, $pid;
($rc, $out, $err) = $cl->run('status', '-s', "127.0.0.1:$port");
is($rc, 2, 'a reply that is not a status: exit 2');
like($err, qr/not a status reply/, '... said so');
($pid, $port) = fake_bridge("HTTP/1.0 400 Bad Request\r\n\r\n");
push @fakes, $pid;
($rc, $out, $err) = $cl->run('status', '-s', "127.0.0.1:$port");
is($rc, 2, 'not JSON at all: exit 2');
like($err, qr/not a JSON object/, '... said so');
# Spans for a person, and every worker state, from a reply we write.
my $now = time;
my $reply = $JSON->encode({ server_id => 'ab' x 16, version => '9.9.9', uptime => 3 * 86400 + 4 * 3600 + 59,
    pool_size => 1, sessions_served => 7, workers => [
        { pid => 11, state => 'starting', peer => undef, since => $now - 720 },
        { pid => 12, state => 'busy', peer => '[::1]:50412', since => $now - 2 * 3600 - 300, retiring => JSON::PP::true },
        { pid => 13, state => "idle\e[2J", peer => undef, since => $now - 86400 } ] });
($pid, $port) = fake_bridge("$reply\n");
push @fakes, $pid;
($rc, $out, $err) = $cl->run('status', '-s', "127.0.0.1:$port");
is($rc, 0, 'a status we wrote') or diag $err;
like($out, qr/^uptime:\s+3 d 4 h$/m, '... uptime "3 d 4 h"');
like($out, qr/^sessions served:\s+7$/m, '... sessions served');
like($out, qr/^  11\s+starting\s+-\s+\S+ \S+ \(12 min ago\)$/m, '... a starting worker, 12 min');
like($out, qr/^  12\s+busy\s+\[::1\]:50412\s+\S+ \S+ \(2 h 5 min ago\)  retiring$/m,
     '... a retiring busy worker with an IPv6 peer');
like($out, qr/^  13\s+idle\?\[2J\s+-\s+\S+ \S+ \(1 d ago\)$/m, '... control characters made harmless');
($rc, $out, $err) = $cl->run('status', '--json', '-s', "127.0.0.1:$port");
is_deeply($JSON->decode($out), $JSON->decode($reply), '... --json prints it as it is');

($pid, $port) = fake_bridge(undef);
push @fakes, $pid;
my $t0 = Time::HiRes::time();
($rc, $out, $err) = $cl->run('status', '-s', "127.0.0.1:$port");
my $took = Time::HiRes::time() - $t0;
is($rc, 2, 'a bridge that never answers: exit 2');
like($err, qr/127\.0\.0\.1:\d+: no answer \(timed out\)/, '... said so');
ok($took >= 9 && $took < 20, sprintf('... after 10 s (%.1f s)', $took));
kill 'KILL', @fakes;
waitpid($_, 0) for @fakes;

# --- discover --ui asks the same bridge through the same code
($rc, $out, $err) = $cl->run('discover', '--json', '--ui', "localhost:$ui");
is($rc, 0, 'discover --ui localhost:PORT') or diag $err;
my $d = eval { $JSON->decode($out) } // {};
is($d->{peers}[0]{source}, 'self', '... lists the daemon as self');
is($d->{peers}[0]{id}, $id, '... with its id');
is($d->{peers}[0]{addresses}[0], 'localhost', '... at the address asked');
($rc, $out, $err) = $cl->run('discover', '--ui', "127.0.0.1:$closed");
is($rc, 2, 'discover --ui to a closed port: exit 2');
like($err, qr/no UI bridge answers on 127\.0\.0\.1:$closed: Connection refused/, '... said so');

is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
