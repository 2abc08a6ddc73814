package GVAgent;

# gigavault-agent in tests: an agent of a GVClient (t/lib/GVClient.pm)
# with a client.conf of its own (the client's key, state and server, a
# free UI port, its jobs), its own StateDir, PollInterval 1 and
# discovery off.  Its process group is killed when the object goes away
# and at the end of the test, also when the test dies.
#
#   my $ag = GVAgent->start($cl, sets => { web => { Paths => [$dir],
#                                                   Schedule => '*:*:0/2' } });
#   my $r = $ag->ask(request => 'jobs');          # decoded JSON reply
#   my @h = $ag->history('web');                   # newest first
#   my ($rc, $out, $err) = $ag->cli('status');     # gigavault agent status
#   my $st = $ag->stop;                            # SIGTERM, exit status
#
# start(..., env => { NAME => VALUE }) adds to the agent's environment;
# ports => { NAME => PORT } to its Ports section.

use strict;
use warnings;
use IO::Socket::INET;
use JSON::PP ();
use POSIX qw(:sys_wait_h setpgid _exit);
use Time::HiRes qw(time sleep);
use Scalar::Util qw(weaken);
use GV;
use GVClient;

our $AGENT = $ENV{GV_AGENT} || "$GV::BUILDDIR/src/gigavault-agent";
my %LIVE;

sub _value {
    my ($v) = @_;
    return '{' . join(', ', map { qq("$_") } @$v) . '}' if ref $v eq 'ARRAY';
    return $v if $v =~ /^-?\d+$/;
    (my $q = $v) =~ s/(["\\])/\\$1/g;
    return qq("$q");
}

# The agent's client.conf for client $cl with %o (sets, agent: options of
# the Agent section, extra: more text).
sub conf_text {
    my ($self) = @_;
    my ($cl, $o) = @$self{qw(cl o)};
    my $d = $cl->dir;
    my $t = sprintf(qq(Server = "127.0.0.1:%d"\nKeyFile = "%s/key"\nStateFile = "%s/state.json"\n),
                    $self->{gv}->port('BackupServer'), $d, $d);
    $t .= "Ports {\n\tBackupServer = " . $self->{gv}->port('BackupServer') .
          "\n\tUI = $self->{port}\n" .
          join('', map { "\t$_ = $o->{ports}{$_}\n" } sort keys %{ $o->{ports} || {} }) . "}\n";
    my %agent = (StateDir => $self->{state}, PollInterval => 1, Discovery => 0,
                 PassphraseFile => $self->{passfile}, Name => 'agent-' . $cl->name,
                 %{ $o->{agent} || {} });
    $t .= "Agent {\n" . join('', map { defined $agent{$_} ? "\t$_ = " . _value($agent{$_}) . "\n" : '' }
                                     sort keys %agent) . "}\n";
    for my $s (sort keys %{ $o->{sets} || {} }) {
        my $so = $o->{sets}{$s};
        $t .= qq(BackupSet "$s" {\n) . join('', map { "\t$_ = " . _value($so->{$_}) . "\n" }
                                                 sort keys %$so) . "}\n";
    }
    $t .= $o->{extra} // '';
    return $t;
}

sub write_conf {
    my ($self, %o) = @_;
    $self->{o} = { %{ $self->{o} }, %o } if %o;
    GV::_spit($self->{conf}, $self->conf_text);
}

# new($cl, %o): the files only; start() runs it.
sub new {
    my ($class, $cl, %o) = @_;
    my $gv = $cl->{gv};
    my $self = bless { cl => $cl, gv => $gv, o => \%o }, $class;
    my $dir = $cl->dir;
    $self->{dir} = $dir;
    $self->{state} = $o{state} // "$dir/agent-state";
    $self->{passfile} = "$dir/passphrase";
    $self->{conf} = "$dir/agent.conf";
    $self->{log} = "$dir/agent.log";
    $self->{port} = $o{port} // GV::free_ports(1);
    GV::_spit($self->{passfile}, "$GVClient::PASS\n");
    chmod 0600, $self->{passfile};
    $self->write_conf;
    return $self;
}

sub start {
    my ($class, $cl, %o) = @_;
    my $self = ref $class ? $class : $class->new($cl, %o);
    $self->spawn;
    my $ok = GV::wait_until(sub {
        return 'dead' unless $self->alive;
        my $r = eval { $self->ask(request => 'hello') };
        return $r && $r->{agent} ? 1 : 0;
    }, 15, 0.05);
    if (!$ok || $ok eq 'dead') {
        Test::More::diag("gigavault-agent did not start:\n" . $self->log_text);
        die "GVAgent: gigavault-agent failed to start\n";
    }
    return $self;
}

sub spawn {
    my ($self) = @_;
    delete $self->{exit};
    my $pid = fork // die "GVAgent: fork: $!";
    if (!$pid) {
        setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log} or _exit(126);
        open STDERR, '>>', $self->{log} or _exit(126);
        $SIG{$_} = 'DEFAULT' for qw(PIPE ALRM INT TERM HUP);
        alarm 0;
        delete $ENV{GIGAVAULT_PASSPHRASE};
        $ENV{$_} = $self->{o}{env}{$_} for keys %{ $self->{o}{env} || {} };
        exec $AGENT, '-d', '-v', '-c', $self->{conf} or _exit(127);
    }
    setpgid($pid, $pid);
    $self->{pid} = $pid;
    $LIVE{"$self"} = $self;
    weaken($LIVE{"$self"});
    return $self;
}

sub pid      { $_[0]{pid} }
sub port     { $_[0]{port} }
sub conf     { $_[0]{conf} }
sub statedir { $_[0]{state} }
sub log_text { GV::_slurp($_[0]{log}) // '' }

sub alive {
    my ($self) = @_;
    return 0 if defined $self->{exit} || !$self->{pid};
    my $r = waitpid($self->{pid}, WNOHANG);
    if ($r == $self->{pid}) {
        $self->{exit} = GV::_decode_status($?);
        delete $LIVE{"$self"};
        return 0;
    }
    return 1;
}

# One request line to the UI port; the decoded reply (dies on no answer).
sub ask_line {
    my ($self, $line) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port},
                                  Proto => 'tcp', Timeout => 5) or die "GVAgent: connect: $!\n";
    print $s "$line\n";
    $s->timeout(10);
    my $reply = <$s>;
    close $s;
    die "GVAgent: no answer to $line\n" unless defined $reply;
    return JSON::PP->new->decode($reply);
}

# ask(%request): with the token, when the test set one ($ag->{token}).
sub ask {
    my ($self, %req) = @_;
    $req{token} //= $self->{token} if defined $self->{token};
    return $self->ask_line(JSON::PP->new->canonical->encode(\%req));
}

# The history, newest first (of set, when given).
sub history {
    my ($self, $set) = @_;
    my $r = $self->ask(request => 'history', limit => 200, (defined $set ? (set => $set) : ()));
    return @{ $r->{history} || [] };
}

# The job called set in the jobs reply.
sub job {
    my ($self, $set) = @_;
    my ($j) = grep { $_->{set} eq $set } @{ $self->ask(request => 'jobs')->{jobs} || [] };
    return $j;
}

# gigavault -c CONF agent --ui 127.0.0.1 @args -> (rc, out, err)
sub cli {
    my ($self, @args) = @_;
    return GVClient::run_cmd([$GVClient::CLIENT, '-c', $self->{conf}, 'agent', @args], {}, 30);
}

# Wait until the history of set has n runs (more than `after` given).
sub wait_runs {
    my ($self, $set, $n, $timeout) = @_;
    my @h;
    GV::wait_until(sub { @h = $self->history($set); @h >= $n }, $timeout // 30, 0.1);
    return @h;
}

sub signal { kill $_[1], $_[0]{pid} }

# Live processes that run this agent's code: the agent, its runs and
# polls (forked, so their command line is the agent's).
sub processes {
    my ($self) = @_;
    my @p;
    for my $pr (GV::_all_procs()) {
        next if $pr->{state} eq 'Z';
        my $cmd = GV::_slurp("/proc/$pr->{pid}/cmdline") // '';
        push @p, $pr->{pid} if index($cmd, "\0$self->{conf}") >= 0 && $cmd =~ /gigavault-agent/;
    }
    return @p;
}

# SIGTERM and wait (at most $timeout s); the exit status, undef if still there.
sub stop {
    my ($self, $timeout) = @_;
    return $self->{exit} unless $self->alive;
    kill 'TERM', $self->{pid};
    GV::wait_until(sub { !$self->alive }, $timeout // 20, 0.05);
    $self->_kill if $self->alive;
    return $self->{exit};
}

# Every process below the agent: its runs and polls lead sessions of
# their own, so the agent's process group does not hold them.
sub descendants {
    my ($self) = @_;
    my %kids;
    push @{ $kids{$_->{ppid}} }, $_ for GV::_all_procs();
    my @out;
    my @todo = ($self->{pid});
    while (@todo) {
        for my $k (@{ $kids{ shift @todo } || [] }) {
            push @out, $k;
            push @todo, $k->{pid};
        }
    }
    return grep { $_->{state} ne 'Z' } @out;
}

sub _kill {
    my ($self) = @_;
    return unless $self->{pid};
    my @d = $self->alive ? $self->descendants : ();
    kill 'KILL', -$_->{pgrp}, $_->{pid} for grep { $_->{pgrp} > 1 } @d;
    kill 'KILL', -$self->{pid};
    if ($self->alive) {
        kill 'KILL', $self->{pid};
        waitpid($self->{pid}, 0);
        $self->{exit} //= -1;
    }
    delete $LIVE{"$self"};
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->_kill if $self->{pid} && !defined $self->{exit};
    kill 'KILL', -$self->{pid} if $self->{pid};
}

END {
    local ($?, $!, $@);
    $_ && $_->_kill for values %LIVE;
}

1;
