#!/usr/bin/perl
# gigavault-agent's UI port on an address that is not loopback, in a
# network namespace of the test's own (t/lib/GVNet.pm): it needs the
# token, and a SIGHUP to a configuration without UITokenFile (and with a
# loopback UIListen, which takes a restart) is refused: the old
# configuration and its token stay while that address is bound.  With
# IPv6 off in the namespace, the default UIListen (127.0.0.1 and ::1)
# starts on 127.0.0.1 alone; a UIListen that names ::1 does not start.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use GV;
use GVNet;
use GVAgent;

my $net = GVNet->new;
$net->bridge('br0');
my $ns = $net->peer('u', br0 => '10.77.8.2/24');
my $dir = File::Temp::tempdir('gv-agent-uitoken.XXXXXX', TMPDIR => 1, CLEANUP => 1);
GV::_spit("$dir/token", "tok-0123456789abcdef\n");
chmod 0600, "$dir/token";
my $conf = sub {
    my ($listen, $token) = @_;
    GV::_spit("$dir/client.conf", <<"END");
Server = "10.77.8.1:32004"
Ports {
	UI = 32015
}
Agent {
	StateDir = "$dir/state"
	Name = "agent-u"
	PollInterval = 600
	Discovery = 0
	UIListen = {"$listen"}
@{[ $token ? qq(\tUITokenFile = "$dir/token"\n) : '' ]}}
END
};
$conf->('10.77.8.2', 1);

my $pid = fork // die "fork: $!";
if (!$pid) {
    POSIX::setpgid(0, 0);
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', "$dir/log" or POSIX::_exit(126);
    open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
    exec 'ip', 'netns', 'exec', $ns, $GVAgent::AGENT, '-d', '-v', '-c', "$dir/client.conf"
        or POSIX::_exit(127);
}
END { kill 'KILL', -$pid if $pid }

# One request line to 10.77.8.2:32015 in the namespace: the reply.
sub ask {
    my ($line) = @_;
    return GVNet::in_netns($ns, sub {
        my $s = IO::Socket::INET->new(PeerAddr => '10.77.8.2', PeerPort => 32015,
                                      Proto => 'tcp', Timeout => 5) or return undef;
        print $s "$line\n";
        my $r = <$s>;
        return defined $r ? JSON::PP->new->decode($r) : undef;
    });
}

ok(GV::wait_until(sub { my $r = ask('{"request":"hello"}'); $r && $r->{agent} }, 15, 0.1),
   'the agent answers on 10.77.8.2') or diag(GV::_slurp("$dir/log"));
is(ask('{"request":"jobs"}')->{code}, 401, 'without the token: 401');
ok(ask('{"request":"jobs","token":"tok-0123456789abcdef"}')->{jobs}, 'with it: answered');

$conf->('127.0.0.1', 0);
kill 'HUP', $pid;
ok(GV::wait_until(sub { (GV::_slurp("$dir/log") // '') =~ /SIGHUP: .*10\.77\.8\.2.*old configuration stays/ }, 10, 0.1),
   'SIGHUP without UITokenFile while 10.77.8.2 is bound: refused, logged')
    or diag(GV::_slurp("$dir/log"));
is(ask('{"request":"jobs"}')->{code}, 401, 'a request without the token is still refused');

ok(kill('TERM', $pid), 'SIGTERM');
waitpid($pid, 0);
is($? >> 8, 0, 'the agent exits 0');
$pid = 0;

# ------------------------------------------------- IPv6 off: the default

my ($ok6) = $net->run($ns, {}, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1',
                      'net.ipv6.conf.lo.disable_ipv6=1');
is($ok6, 0, 'IPv6 off in the namespace');
my $plain = sub {
    my ($listen) = @_;
    GV::_spit("$dir/client.conf", <<"END");
Server = "10.77.8.1:32004"
Ports {
	UI = 32016
}
Agent {
	StateDir = "$dir/state"
	Name = "agent-u"
	PollInterval = 600
	Discovery = 0
@{[ $listen ? qq(\tUIListen = {$listen}\n) : '' ]}}
END
};
$plain->(undef);
$pid = fork // die "fork: $!";
if (!$pid) {
    POSIX::setpgid(0, 0);
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', "$dir/log2" or POSIX::_exit(126);
    open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
    exec 'ip', 'netns', 'exec', $ns, $GVAgent::AGENT, '-d', '-c', "$dir/client.conf"
        or POSIX::_exit(127);
}
my $hello = sub {
    GVNet::in_netns($ns, sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => 32016,
                                      Proto => 'tcp', Timeout => 5) or return undef;
        print $s qq({"request":"hello"}\n);
        my $r = <$s>;
        return defined $r ? JSON::PP->new->decode($r) : undef;
    });
};
ok(GV::wait_until(sub { my $r = $hello->(); $r && $r->{agent} }, 15, 0.1),
   'the default UIListen without IPv6: the agent starts on 127.0.0.1')
    or diag(GV::_slurp("$dir/log2"));
like(GV::_slurp("$dir/log2") // '', qr/UIListen ::1 port 32016: .*default UIListen/,
     '... and says that ::1 is not there');
kill 'TERM', $pid;
waitpid($pid, 0);
$pid = 0;

$plain->('"127.0.0.1", "::1"');
my ($rc, $out, $err) = $net->run($ns, {}, $GVAgent::AGENT, '-d', '-c', "$dir/client.conf");
isnt($rc, 0, 'a UIListen that names ::1 without IPv6: the agent does not start');
like($err, qr/UIListen ::1 port 32016/, '... and says why');
done_testing;
