package GVNet;

# Network namespaces for the discovery tests: a hub namespace of the
# test's own holding bridges, and peer namespaces joined to them by veth
# pairs.  Nothing is created in the host's namespace (the veth pairs are
# made inside the hub and moved into the peers), and everything is
# removed at the end, also when the test dies or gets a signal (GV.pm
# turns INT/TERM/HUP and its watchdog into die; END runs).
#
#   my $net = GVNet->new;            # plan skip_all unless root and ip netns
#   $net->bridge('br0');             # a bridge in the hub
#   my $ns = $net->peer('a', br0 => '10.77.1.1/24', br1 => '10.77.2.1/24');
#   my $gv = GV->start(-netns => $ns, GVNet::daemon_opts(...));
#   my $sock = GVNet::in_netns($ns, sub { IO::Socket::INET->new(...) });
#   my ($rc, $out, $err) = $net->run($ns, @argv);
#
# Names carry the test's pid, so two runs can share a machine.

use strict;
use warnings;
use Config;
use Test::More ();
use POSIX ();

my @ALL;    # live GVNet objects, for END

# setns(2) numbers; CLONE_NEWNET.
my %SYS_SETNS = ('x86_64' => 308, 'aarch64' => 268, 'i386' => 346, 'i686' => 346);
use constant CLONE_NEWNET => 0x40000000;

sub _sys { my @c = @_; return system(@c) == 0 }

sub _q { my @c = @_; my $out = qx(@{[ join ' ', map { "'$_'" } @c ]} 2>&1); return ($? == 0, $out) }

# GVNet->new: a hub namespace, or plan skip_all with the reason.
sub new {
    my ($class) = @_;
    if ($> != 0) {
        Test::More::plan(skip_all => 'needs root to create network namespaces');
    }
    my ($arch) = $Config{archname} =~ /^([^-]+)/;
    if (!$SYS_SETNS{$arch}) {
        Test::More::plan(skip_all => "no setns number known for $arch");
    }
    my $self = bless { id => $$, peers => [], hub => "gvh$$", n => 0 }, $class;
    my ($ok, $out) = _q('ip', 'netns', 'add', $self->{hub});
    if (!$ok) {
        Test::More::plan(skip_all => "ip netns add failed: $out");
    }
    push @ALL, $self;
    $self->_ip($self->{hub}, qw(link set lo up));
    return $self;
}

sub hub { $_[0]{hub} }

sub _ip {
    my ($self, $ns, @args) = @_;
    my ($ok, $out) = _q('ip', '-n', $ns, @args);
    die "GVNet: ip -n $ns @args: $out" unless $ok;
    return $out;
}

# bridge($name): a bridge inside the hub (IGMP snooping off: the test's
# hub has no querier).
sub bridge {
    my ($self, $name) = @_;
    $self->_ip($self->{hub}, qw(link add), $name, qw(type bridge mcast_snooping 0));
    $self->_ip($self->{hub}, qw(link set), $name, 'up');
    return $name;
}

# peer($tag, bridge => 'addr/len', ...): a namespace with eth0, eth1, ...
# on those bridges.  Returns its name.
sub peer {
    my ($self, $tag, @links) = @_;
    my $ns = "gv$self->{id}$tag";
    my ($ok, $out) = _q('ip', 'netns', 'add', $ns);
    die "GVNet: ip netns add $ns: $out" unless $ok;
    push @{ $self->{peers} }, $ns;
    $self->_ip($ns, qw(link set lo up));
    my $i = 0;
    while (my ($br, $cidr) = splice(@links, 0, 2)) {
        my $hubside = 'v' . $self->{n}++;
        $self->_ip($self->{hub}, qw(link add), $hubside, qw(type veth peer name),
                   "eth$i", 'netns', $ns);
        $self->_ip($self->{hub}, qw(link set), $hubside, 'master', $br, 'up');
        $self->_ip($ns, qw(addr add), $cidr, 'dev', "eth$i");
        $self->_ip($ns, qw(link set), "eth$i", 'up');
        $i++;
    }
    return $ns;
}

# in_netns($ns, $code): run $code with this process in namespace $ns
# (sockets made there stay there), then come back.
sub in_netns {
    my ($ns, $code) = @_;
    my ($arch) = $Config{archname} =~ /^([^-]+)/;
    my $nr = $SYS_SETNS{$arch} or die "GVNet: setns on $arch";
    open my $home, '<', '/proc/self/ns/net' or die "GVNet: /proc/self/ns/net: $!";
    open my $there, '<', "/var/run/netns/$ns" or die "GVNet: $ns: $!";
    syscall($nr, fileno($there), CLONE_NEWNET) == 0 or die "GVNet: setns $ns: $!";
    my @r = eval { $code->() };
    my $err = $@;
    syscall($nr, fileno($home), CLONE_NEWNET) == 0 or die "GVNet: setns back: $!";
    die $err if $err;
    return wantarray ? @r : $r[0];
}

# The seed's default ports, the same on every peer (discovery expects its
# peers' Ports.UDPScan and Ports.Multicast to be its own), listening on
# every address of the namespace.
sub daemon_opts {
    my (%o) = @_;
    return (
        Listen => ['*'], BackupServer => 32004, SSLServer => 32007, UI => 32005,
        UDPScan => 32006, MAPI32Bit => 32008, WebConsole => 6060,
        WebConsoleSSL => 6061, Multicast => [6363, 6364],
        'Discovery.Multicast' => 1,
        %o,
    );
}

# run($ns, @argv) -> (exit status, stdout, stderr), with a timeout.
sub run {
    my ($self, $ns, $env, @argv) = @_;
    return GVClient::run_cmd(['ip', 'netns', 'exec', $ns, @argv], $env, 60);
}

sub cleanup {
    my ($self) = @_;
    return if $self->{done}++;
    for my $ns (@{ $self->{peers} }, $self->{hub}) {
        # Whatever still runs in there (GV.pm kills its daemons too).
        my ($ok, $pids) = _q('ip', 'netns', 'pids', $ns);
        kill 'KILL', grep { /^\d+$/ } split /\s+/, $pids if $ok;
    }
    for my $ns (@{ $self->{peers} }, $self->{hub}) {
        _q('ip', 'netns', 'del', $ns);
    }
}

sub DESTROY { local ($?, $@, $!); $_[0]->cleanup }

END {
    local ($?, $@, $!);
    $_->cleanup for @ALL;
}

1;
