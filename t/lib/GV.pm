package GV;

# Shared helper for the gigavaultd test suite.
#
#   my $gv = GV->start(Workers => 3, HandshakeTimeout => 2);
#   my $s  = $gv->status;                 # decoded JSON hash from Ports.UI
#   my $c  = $gv->connect;                # socket to Ports.BackupServer
#   my $h  = $gv->hello($c);              # {type=>2, version=>1, server_id=>hex, ...}
#   $gv->reload(Workers => 6);            # rewrite config + SIGHUP
#   my $rc = $gv->stop;                   # SIGTERM, wait, sanitizer check
#
# Backup protocol (doc/protocol.md, "Backup and restore frames"):
#   my ($st, $out, $err) = $gv->ctl('client', 'list', '--json');
#   my $token = $gv->add_client('alice');          # via gigavaultctl
#   my ($name, $secret) = proto_register($sock, $token);
#   my $c = $gv->login('alice', $secret);          # connect+hello+auth, or undef
#   my @missing = proto_have($c, @ids);            # or dies on an ERROR
#   proto_put($c, $id, $bytes); proto_refs($c, @ids);
#   my $snap = proto_commit($c, 'set', time, $root, $meta);  # frame hash
#   my @snaps = proto_list_all($c, $set);          # [{id,set,time,...}]
#   my @got = proto_get($c, @ids);                 # frame hashes, BLOB/NOBLOB
#
# Overrides are flat option names (Workers, BackupServer, Level, ...) or
# "Section.Option" (e.g. "SSL.Enabled").  A value is rendered as a bare
# integer if it looks like one, a {list} if it is an array ref, raw text if
# it is a scalar ref (\'1x'), else a quoted string; undef drops the option.
#
# Every daemon is started in its own process group; the group and every
# descendant found in /proc are killed by DESTROY / END, so no test leaves
# a process behind, even when it dies.

use strict;
use warnings;
use Exporter 'import';
use File::Temp ();
use File::Spec;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use IO::Socket::INET;
use IO::Select;
use JSON::PP ();
use POSIX qw(:sys_wait_h setpgid _exit);
use Socket qw(SOL_SOCKET SO_ERROR);
use Errno qw(EINPROGRESS EWOULDBLOCK EAGAIN EINTR ECONNRESET);
use Time::HiRes qw(time sleep);
use Scalar::Util qw(weaken);
use Test::More ();
use Digest::SHA qw(hmac_sha256);

our @EXPORT = qw(
    run_check run_daemon make_conf conf_line free_ports wait_until
    frame send_frame recv_frame read_exact hello_payload do_hello ping
    wait_closed read_line
    T_CLIENT_HELLO T_SERVER_HELLO T_PING T_PONG T_BYE T_ERROR
    E_MALFORMED E_TOO_LARGE E_UNKNOWN_TYPE E_VERSION E_TIMEOUT E_SHUTDOWN
    T_REGISTER T_REGISTERED T_AUTH T_CHALLENGE T_PROOF T_AUTH_OK
    T_HAVE T_MISSING T_PUT T_REFS T_COMMIT T_COMMITTED
    T_LIST T_SNAPSHOTS T_GET T_BLOB T_NOBLOB T_FORGET T_FORGOTTEN
    E_AUTH E_NOT_AUTHED E_LIMIT E_INCOMPLETE E_STORAGE
    rand_id proto_register proto_auth proto_have proto_put proto_refs
    proto_commit proto_list proto_list_all proto_get ids_frame proto_forget
);

use constant {
    T_CLIENT_HELLO => 0x0001,
    T_SERVER_HELLO => 0x0002,
    T_PING         => 0x0003,
    T_PONG         => 0x0004,
    T_BYE          => 0x0005,
    T_ERROR        => 0x00FF,
    E_MALFORMED    => 1,
    E_TOO_LARGE    => 2,
    E_UNKNOWN_TYPE => 3,
    E_VERSION      => 4,
    E_TIMEOUT      => 5,
    E_SHUTDOWN     => 6,
    T_REGISTER     => 0x0010,
    T_REGISTERED   => 0x0011,
    T_AUTH         => 0x0012,
    T_CHALLENGE    => 0x0013,
    T_PROOF        => 0x0014,
    T_AUTH_OK      => 0x0015,
    T_HAVE         => 0x0020,
    T_MISSING      => 0x0021,
    T_PUT          => 0x0022,
    T_REFS         => 0x0023,
    T_COMMIT       => 0x0024,
    T_COMMITTED    => 0x0025,
    T_FORGET       => 0x0026,
    T_FORGOTTEN    => 0x0027,
    T_LIST         => 0x0030,
    T_SNAPSHOTS    => 0x0031,
    T_GET          => 0x0032,
    T_BLOB         => 0x0033,
    T_NOBLOB       => 0x0034,
    E_AUTH         => 7,
    E_NOT_AUTHED   => 8,
    E_LIMIT        => 9,
    E_INCOMPLETE   => 10,
    E_STORAGE      => 11,
};

$SIG{PIPE} = 'IGNORE';

# A watchdog: a hung test dies (and END cleans up) instead of hanging prove.
$SIG{ALRM} = sub { die "GV: test watchdog expired\n" };
alarm($ENV{GV_TEST_TIMEOUT} || 150);
for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { die "GV: caught SIG$sig\n" };
}

our $ROOT  = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)), '..', '..'));
our $SRCDIR   = $ENV{GV_SRCDIR}   || $ROOT;
our $BUILDDIR = $ENV{GV_BUILDDIR} || $ROOT;
our $BIN   = $ENV{GV_DAEMON} || "$BUILDDIR/src/gigavaultd";
our $CTL   = $ENV{GV_CTL} || "$BUILDDIR/src/gigavaultctl";

my @PORT_KEYS = qw(BackupServer SSLServer UI UDPScan MAPI32Bit WebConsole WebConsoleSSL);

# option -> section for the flat override names
my %SECTION = (
    (map { $_ => 'Server' } qw(Workers Listen DataDir User PidFile
        HandshakeTimeout IdleTimeout MaxFrame DrainTimeout
        MaxHandshakesPerAddress)),
    (map { $_ => 'Ports' } @PORT_KEYS, 'Multicast'),
    (map { $_ => 'Log' } qw(Level File Facility)),
    (map { $_ => 'SSL' } qw(Enabled Certificate Key)),
);
my @SECTIONS = qw(Server Ports SSL Log Discovery);
my %ORDER = (
    Server => [qw(Workers Listen DataDir User PidFile HandshakeTimeout
                  IdleTimeout MaxFrame DrainTimeout MaxHandshakesPerAddress)],
    Ports  => [@PORT_KEYS, 'Multicast'],
    SSL    => [qw(Enabled Certificate Key)],
    Log    => [qw(Level File Facility)],
);

my %LIVE;    # refaddr -> weak ref to live daemon objects (for END)
my $JSON = JSON::PP->new->utf8->canonical;

# ---------------------------------------------------------------- utilities

sub wait_until {
    my ($cond, $timeout, $step) = @_;
    $timeout //= 10;
    $step    //= 0.05;
    my $deadline = time + $timeout;
    while (1) {
        my $r = $cond->();
        return $r if $r;
        return undef if time >= $deadline;
        sleep $step;
    }
}

# Distinct free ports, free for both TCP and UDP on 127.0.0.1.
sub free_ports {
    my ($n) = @_;
    my (@socks, @ports, %seen);
    my $tries = 0;
    while (@ports < $n) {
        die "GV: cannot find free ports" if ++$tries > 1000;
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                      Proto => 'tcp', Listen => 1) or next;
        my $p = $s->sockport;
        next if $seen{$p}++;
        my $u = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                      Proto => 'udp');
        unless ($u) { push @socks, $s; next; }
        push @socks, $s, $u;
        push @ports, $p;
    }
    close $_ for @socks;
    return wantarray ? @ports : $ports[0];
}

sub _render_value {
    my ($v) = @_;
    return $$v if ref $v eq 'SCALAR';
    return '{' . join(', ', map { _render_value($_) } @$v) . '}' if ref $v eq 'ARRAY';
    return $v if $v =~ /^-?\d+$/;
    (my $q = $v) =~ s/(["\\])/\\$1/g;
    return qq("$q");
}

sub _split_key {
    my ($k) = @_;
    return split /\./, $k, 2 if $k =~ /\./;
    my $sec = $SECTION{$k} or die "GV: unknown override '$k' (use Section.Option)";
    return ($sec, $k);
}

sub _apply {
    my ($cfg, %o) = @_;
    for my $k (sort keys %o) {
        next if $k =~ /^-/;    # reserved for helper options
        my ($sec, $opt) = _split_key($k);
        $cfg->{$sec}{$opt} = $o{$k};
    }
    return $cfg;
}

sub _render {
    my ($cfg, $extra) = @_;
    my $t = "# generated by t/lib/GV.pm\n";
    my @secs = (@SECTIONS, grep { my $s = $_; !grep { $_ eq $s } @SECTIONS } sort keys %$cfg);
    for my $sec (@secs) {
        my $h = $cfg->{$sec} or next;
        my @keys = @{ $ORDER{$sec} || [] };
        my %known = map { $_ => 1 } @keys;
        push @keys, grep { !$known{$_} } sort keys %$h;
        my @lines = map { "\t$_ = " . _render_value($h->{$_}) . "\n" }
                    grep { exists $h->{$_} && defined $h->{$_} } @keys;
        $t .= "$sec {\n" . join('', @lines) . "}\n";
    }
    $t .= $extra if defined $extra;
    return $t;
}

sub _default_cfg {
    my ($dir, $ports) = @_;
    my %p = %$ports;
    return {
        Server => {
            Workers          => 4,
            Listen           => ['127.0.0.1'],
            DataDir          => "$dir/data",
            User             => ($> == 0 ? 'nobody' : ''),
            PidFile          => "$dir/gigavaultd.pid",
            HandshakeTimeout => 5,
            IdleTimeout      => 30,
            DrainTimeout     => 3,
        },
        Ports => {
            (map { $_ => $p{$_} } @PORT_KEYS),
            Multicast => [ $p{Multicast1}, $p{Multicast2} ],
        },
        SSL => { Enabled => 0 },
        Log => { Level => 'debug', File => "$dir/gigavaultd.log" },
        # Multicast discovery is on by default and would send datagrams
        # out of the host's interfaces: off unless a test (in a network
        # namespace of its own, t/lib/GVNet.pm) turns it on.
        Discovery => { Multicast => 0 },
    };
}

my $SCRATCH;
sub _scratch {
    $SCRATCH //= do {
        my $d = File::Temp::tempdir('gv-check-XXXXXX', TMPDIR => 1,
                                    CLEANUP => !$ENV{GV_KEEP});
        chmod 0755, $d;
        $d;
    };
}

# make_conf(%overrides): a complete, valid config text (for -n checks); the
# ports default to fixed numbers (they are not bound by -n).
sub make_conf {
    my (%o) = @_;
    my $dir = delete $o{-dir} // _scratch();
    my $n = 40101;
    my %ports = map { $_ => $n++ } @PORT_KEYS, qw(Multicast1 Multicast2);
    return _render(_apply(_default_cfg($dir, \%ports), %o), delete $o{-extra});
}

# conf_line($text, qr/.../ or 'Option'): 1-based line of the first match.
sub conf_line {
    my ($text, $what) = @_;
    my $re = ref $what ? $what : qr/^\s*\Q$what\E\s*=/;
    my $i = 0;
    for my $l (split /\n/, $text) {
        $i++;
        return $i if $l =~ $re;
    }
    return undef;
}

sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    my $t = <$fh>;
    return $t // '';
}

sub _spit {
    my ($f, $t) = @_;
    my $tmp = "$f.tmp$$";
    open my $fh, '>', $tmp or die "GV: $tmp: $!";
    print $fh $t;
    close $fh or die "GV: $tmp: $!";
    chmod 0644, $tmp;
    rename $tmp, $f or die "GV: rename $tmp: $!";
}

# run_daemon(\@args, timeout) -> (exit status, stdout, stderr)
# exit status: exit code, or 128+signal, or -1 if it had to be killed.
sub run_daemon {
    my ($args, $timeout) = @_;
    $timeout //= 10;
    my $dir = _scratch();
    my ($out, $err) = ("$dir/run.$$.out", "$dir/run.$$.err");
    my $pid = fork // die "GV: fork: $!";
    if (!$pid) {
        setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or _exit(126);
        open STDERR, '>', $err or _exit(126);
        exec { $BIN } $BIN, @$args or
        print STDERR "GV: exec $BIN: $!\n";
        _exit(127);
    }
    setpgid($pid, $pid);
    my $st;
    my $deadline = time + $timeout;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $st = _decode_status($?); last }
        if (time > $deadline) {
            kill 'KILL', -$pid;
            kill 'KILL', $pid;
            waitpid($pid, 0);
            $st = -1;
            last;
        }
        sleep 0.02;
    }
    my @r = ($st, _slurp($out), _slurp($err));
    unlink $out, $err;
    return @r;
}

# run_check($conf_text) -> (exit status, stderr, config file path)
my $CHECK_N = 0;
sub run_check {
    my ($text) = @_;
    my $file = _scratch() . "/check-" . ++$CHECK_N . ".conf";
    _spit($file, $text);
    my ($st, $out, $err) = run_daemon(['-n', '-f', $file], 20);
    return ($st, $err, $file);
}

sub _decode_status {
    my ($raw) = @_;
    return WEXITSTATUS($raw) if WIFEXITED($raw);
    return 128 + WTERMSIG($raw) if WIFSIGNALED($raw);
    return -1;
}

# ------------------------------------------------------------- /proc helpers

sub _proc_stat {
    my ($pid) = @_;
    my $s = _slurp("/proc/$pid/stat");
    return unless length $s;
    my $r = rindex($s, ')');
    my @f = split ' ', substr($s, $r + 2);
    # f[0]=state f[1]=ppid f[2]=pgrp ... f[19]=starttime
    return { pid => $pid, state => $f[0], ppid => $f[1], pgrp => $f[2],
             start => $f[19] };
}

sub _all_procs {
    opendir my $d, '/proc' or return ();
    return grep { $_ } map { _proc_stat($_) } grep { /^\d+$/ } readdir $d;
}

# pid_alive($pid): exists and is not a zombie.
sub pid_alive {
    my ($pid) = @_;
    my $st = _proc_stat($pid) or return 0;
    return $st->{state} ne 'Z';
}

# ------------------------------------------------------------------ daemon

sub spawn {
    my ($class, %o) = @_;
    my $self = bless {}, $class;
    my $dir = File::Temp::tempdir('gv-test-XXXXXX', TMPDIR => 1,
                                  CLEANUP => !$ENV{GV_KEEP});
    chmod 0755, $dir or die "GV: chmod $dir: $!";
    $self->{dir} = $dir;
    mkdir "$dir/san";
    chmod 01777, "$dir/san";
    my @p = free_ports(9);
    my %ports;
    @ports{@PORT_KEYS, qw(Multicast1 Multicast2)} = @p;
    $self->{extra} = delete $o{-extra};
    my $args = delete $o{-args} || [];
    # -netns => NAME: run under "ip netns exec NAME" (t/lib/GVNet.pm); the
    # helpers below then open their sockets inside that namespace.
    $self->{netns} = delete $o{-netns};
    my @wrap = $self->{netns} ? ('ip', 'netns', 'exec', $self->{netns}) : ();
    $self->{cfg} = _apply(_default_cfg($dir, \%ports), %o);
    $self->{conf} = "$dir/gigavault.conf";
    $self->write_conf;
    $self->{stderr} = "$dir/stderr";
    $self->{stdout} = "$dir/stdout";

    my $pid = fork // die "GV: fork: $!";
    if (!$pid) {
        setpgid(0, 0);
        $ENV{ASAN_OPTIONS}  = "log_path=$dir/san/asan:detect_leaks=1";
        $ENV{UBSAN_OPTIONS} = "log_path=$dir/san/ubsan:print_stacktrace=1:halt_on_error=1";
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $self->{stdout} or _exit(126);
        open STDERR, '>', $self->{stderr} or _exit(126);
        $SIG{$_} = 'DEFAULT' for qw(PIPE ALRM INT TERM HUP);
        alarm 0;
        exec { $wrap[0] // $BIN } @wrap, $BIN, "-d", @$args, "-f", $self->{conf} or
        print STDERR "GV: exec $BIN: $!\n";
        _exit(127);
    }
    setpgid($pid, $pid);
    $self->{pid} = $pid;
    $self->{started} = time;
    $LIVE{"$self"} = $self;
    weaken($LIVE{"$self"});
    return $self;
}

sub start {
    my ($class, %o) = @_;
    my $self = $class->spawn(%o);
    my $ok = wait_until(sub {
        return 'dead' unless $self->alive;
        return $self->ready;
    }, $ENV{GV_START_TIMEOUT} || 10, 0.05);
    if (!$ok || $ok eq 'dead') {
        my $why = !$ok ? 'not ready within 10 s' : 'exited with status ' . $self->exit_status;
        Test::More::diag("gigavaultd $why");
        $self->diag_logs;
        die "GV: gigavaultd failed to start ($why)\n";
    }
    return $self;
}

sub dir     { $_[0]{dir} }
sub pid     { $_[0]{pid} }
sub conf    { $_[0]{conf} }
sub cfg     { $_[0]{cfg} }
sub port    { $_[0]{cfg}{Ports}{ $_[1] // 'BackupServer' } }
sub pidfile { $_[0]{cfg}{Server}{PidFile} }
sub logfile { $_[0]{cfg}{Log}{File} }
sub workers_cfg { $_[0]{cfg}{Server}{Workers} }

sub conf_text {
    my ($self) = @_;
    return _render($self->{cfg}, $self->{extra});
}

# write_conf(%overrides): apply overrides and write; write_conf_text($t): raw.
sub write_conf {
    my ($self, %o) = @_;
    _apply($self->{cfg}, %o);
    _spit($self->{conf}, $self->conf_text);
}

sub write_conf_text {
    my ($self, $text) = @_;
    _spit($self->{conf}, $text);
}

sub reload {
    my ($self, %o) = @_;
    $self->write_conf(%o);
    kill 'HUP', $self->{pid};
}

sub reload_text {
    my ($self, $text) = @_;
    $self->write_conf_text($text);
    kill 'HUP', $self->{pid};
}

sub signal { kill $_[1], $_[0]{pid} }

sub log_text    { _slurp($_[1] // $_[0]->logfile) }
sub stderr_text { _slurp($_[0]{stderr}) }

sub log_like {
    my ($self, $re, $timeout) = @_;
    return wait_until(sub { $self->log_text =~ $re }, $timeout // 5);
}

# session_end($local_port, $timeout): the reason logged for that session.
sub session_end {
    my ($self, $lport, $timeout) = @_;
    my $reason;
    wait_until(sub {
        ($reason) = $self->log_text =~ /session from 127\.0\.0\.1:\Q$lport\E\b.*?ended: ([^\n]*)/;
        defined $reason;
    }, $timeout // 5);
    return $reason;
}

sub diag_logs {
    my ($self, $n) = @_;
    $n //= 40;
    for my $f ([stderr => $self->{stderr}], [log => $self->logfile]) {
        my @l = split /\n/, _slurp($f->[1]);
        @l = @l[-$n .. -1] if @l > $n;
        Test::More::diag("--- $f->[0] ($f->[1]), last " . scalar(@l) . " lines:");
        Test::More::diag("  $_") for @l;
    }
}

sub alive {
    my ($self) = @_;
    return 0 if defined $self->{exit};
    my $r = waitpid($self->{pid}, WNOHANG);
    if ($r == $self->{pid}) {
        $self->{exit_raw} = $?;
        $self->{exit} = _decode_status($?);
        delete $LIVE{"$self"};
        return 0;
    }
    return 1;
}

sub exit_status { $_[0]->alive; $_[0]{exit} }

# wait_exit($timeout): exit status or undef if still running.
sub wait_exit {
    my ($self, $timeout) = @_;
    wait_until(sub { !$self->alive }, $timeout // 10, 0.02);
    return $self->{exit};
}

# Descendants of the supervisor (by ppid chain) plus its process group.
sub descendants {
    my ($self) = @_;
    my @all = _all_procs();
    my %kids;
    push @{ $kids{$_->{ppid}} }, $_ for @all;
    my @out;
    my @todo = ($self->{pid});
    my %seen;
    while (@todo) {
        my $p = shift @todo;
        for my $k (@{ $kids{$p} || [] }) {
            next if $seen{$k->{pid}}++;
            push @out, $k;
            push @todo, $k->{pid};
        }
    }
    for my $pr (@all) {
        next if $pr->{pid} == $self->{pid} || $seen{$pr->{pid}};
        if ($pr->{pgrp} == $self->{pid}) { $seen{$pr->{pid}}++; push @out, $pr }
    }
    return grep { $_->{state} ne 'Z' || $_->{ppid} == $self->{pid} } @out;
}

# proc_title($pid): what ps shows for $pid (/proc/PID/cmdline without the
# NULs after it): "gigavaultd: worker 3", ...
sub proc_title {
    my ($pid) = @_;
    (my $t = _slurp("/proc/$pid/cmdline")) =~ s/\0+\z//;
    return $t;
}

# $gv->titled: {title => pid} of the supervisor's live children.
sub titled {
    my ($self) = @_;
    return { map { proc_title($_->{pid}) => $_->{pid} }
             grep { $_->{ppid} == $self->{pid} && $_->{state} ne 'Z' } $self->descendants };
}

sub _remember_kids {
    my ($self) = @_;
    for my $k ($self->descendants) {
        $self->{kids}{ $k->{pid} } = $k->{start};
    }
}

# Remembered children still alive (same pid and start time, not a zombie).
sub _live_kids {
    my ($self) = @_;
    my @l;
    for my $pid (keys %{ $self->{kids} || {} }) {
        my $st = _proc_stat($pid) or next;
        next if $st->{state} eq 'Z';
        next unless $st->{start} == $self->{kids}{$pid};
        push @l, $pid;
    }
    return sort { $a <=> $b } @l;
}

sub _kill_all {
    my ($self) = @_;
    return unless $self->{pid};
    $self->_remember_kids if $self->alive;
    kill 'KILL', -$self->{pid};
    kill 'KILL', $self->{pid} if $self->alive;
    kill 'KILL', $_ for $self->_live_kids;
    if ($self->alive) {
        waitpid($self->{pid}, 0);
        $self->{exit_raw} = $?;
        $self->{exit} = _decode_status($?);
    }
    delete $LIVE{"$self"};
}

# stop(signal => 'TERM', timeout => N): signal the supervisor, wait for it,
# wait for its children, kill whatever is left (recorded in ->leftovers),
# check for sanitizer reports.  Returns the exit status (-1 if it had to be
# killed).
sub stop {
    my ($self, %o) = @_;
    my $sig = $o{signal} // 'TERM';
    my $timeout = $o{timeout} // (($self->{cfg}{Server}{DrainTimeout} // 30) + 10);
    if ($self->alive) {
        $self->_remember_kids;
        kill $sig, $self->{pid};
        my $st = $self->wait_exit($timeout);
        if (!defined $st) {
            Test::More::diag("gigavaultd did not exit within ${timeout}s of SIG$sig; killing it");
            $self->_remember_kids;
            $self->_kill_all;
            $self->{exit} = -1;
        }
    }
    # children may take a moment to go after the supervisor
    wait_until(sub { !$self->_live_kids }, 3);
    $self->{leftovers} = [ $self->_live_kids ];
    kill 'KILL', -$self->{pid};
    kill 'KILL', $_ for @{ $self->{leftovers} };
    $self->check_sanitizers;
    return $self->{exit};
}

sub leftovers { @{ $_[0]{leftovers} || [] } }

sub sanitizer_reports {
    my ($self) = @_;
    opendir my $d, "$self->{dir}/san" or return ();
    return map { "$self->{dir}/san/$_" } sort grep { /^(asan|ubsan)/ } readdir $d;
}

sub check_sanitizers {
    my ($self) = @_;
    my @r = $self->sanitizer_reports;
    Test::More::ok(!@r, 'no sanitizer reports') or do {
        for my $f (@r) {
            Test::More::diag("=== $f");
            Test::More::diag(_slurp($f));
        }
    };
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@, $!);
    $self->_kill_all if $self->{pid} && !defined $self->{exit};
}

END {
    local ($?, $@, $!);
    my $tb = Test::More->builder;
    for my $k (keys %LIVE) {
        my $self = $LIVE{$k} or next;
        if (!$tb->is_passing) {
            Test::More::diag("test failed; logs of gigavaultd pid $self->{pid}:");
            $self->diag_logs;
        }
        $self->_kill_all;
    }
}

# ---------------------------------------------------------------- status

sub netns { $_[0]{netns} }

# _here($code): run $code (which opens a socket) in the daemon's namespace.
sub _here {
    my ($self, $code) = @_;
    return $code->() unless $self->{netns};
    require GVNet;
    return GVNet::in_netns($self->{netns}, $code);
}

sub ui_connect {
    my ($self) = @_;
    return $self->_here(sub {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->port('UI'),
                              Proto => 'tcp', Timeout => 5);
    });
}

# read_line($sock, $timeout): one \n-terminated line (without \n), or undef
# on EOF/timeout ($GV::LAST_READ says which).
our $LAST_READ = '';
sub read_line {
    my ($sock, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    my $buf = \${*$sock}{gv_linebuf};
    $$buf //= '';
    while (1) {
        if ((my $i = index($$buf, "\n")) >= 0) {
            my $l = substr($$buf, 0, $i + 1, '');
            chomp $l;
            $LAST_READ = 'ok';
            return $l;
        }
        my $left = $deadline - time;
        if ($left <= 0) { $LAST_READ = 'timeout'; return undef }
        my $sel = IO::Select->new($sock);
        next unless $sel->can_read($left);
        my $n = sysread($sock, $$buf, 65536, length $$buf);
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN;
            $LAST_READ = "error: $!";
            return undef;
        }
        if ($n == 0) { $LAST_READ = 'eof'; return undef }
    }
}

# ui_request($sock, $req (hash or raw line), $timeout) -> (decoded, raw)
sub ui_request {
    my ($self, $sock, $req, $timeout) = @_;
    my $line = ref $req ? $JSON->encode($req) : $req;
    $line .= "\n" unless $line =~ /\n\z/;
    _write_all($sock, $line) or return;
    my $raw = read_line($sock, $timeout // 5);
    return unless defined $raw;
    my $d = eval { $JSON->decode($raw) };
    return ($d, $raw);
}

sub status_raw {
    my ($self) = @_;
    my $s = $self->ui_connect or return;
    my ($d, $raw) = $self->ui_request($s, '{"request":"status"}', 5);
    close $s;
    return ($d, $raw);
}

# peers(): the bridge's "peers" reply (self, peers, counters), or undef.
sub peers {
    my ($self) = @_;
    my $s = $self->ui_connect or return;
    my ($d) = $self->ui_request($s, '{"request":"peers"}', 5);
    close $s;
    return ref $d eq 'HASH' && !exists $d->{error} ? $d : undef;
}

sub status {
    my ($self) = @_;
    my ($d) = $self->status_raw;
    return unless ref $d eq 'HASH' && !exists $d->{error};
    for my $w (@{ $d->{workers} || [] }) {
        $self->{seen_workers}{ $w->{pid} } = 1 if $w->{pid};
    }
    return $d;
}

sub current_workers {
    my ($self, $s) = @_;
    $s //= $self->status or return;
    return grep { !$_->{retiring} } @{ $s->{workers} || [] };
}

# ready($n): status if current workers == pool_size (== $n if given) and all
# of them are idle or busy.
sub ready {
    my ($self, $n) = @_;
    my $s = $self->status or return;
    return if defined $n && ($s->{pool_size} // -1) != $n;
    my @cur = $self->current_workers($s);
    return unless @cur == ($s->{pool_size} // -1);
    return if grep { ($_->{state} // '') !~ /^(idle|busy)$/ } @cur;
    # Store.Backend = s3: an active server is ready once its lease child
    # has got the bucket's lease, or found who holds it (gigavaultd(8),
    # ONE WRITER PER BUCKET).
    my $st = $s->{store};
    return if $st && ($st->{lease} // '') eq 'waiting' &&
        ($st->{lease_detail} // '') !~ /held by/;
    return $s;
}

sub wait_ready {
    my ($self, $n, $timeout) = @_;
    return wait_until(sub { $self->ready($n) }, $timeout // 10);
}

# ---------------------------------------------------------------- sessions

sub connect {
    my ($self, %o) = @_;
    my $port = $o{port} // $self->port('BackupServer');
    return $self->_here(sub {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                              Proto => 'tcp', Timeout => $o{timeout} // 5);
    });
}

sub _write_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($sock, $data, length($data) - $off, $off);
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;
            return 0;
        }
        $off += $n;
    }
    return 1;
}

sub frame {
    my ($type, $payload, $flags) = @_;
    $payload //= '';
    return pack('N n n', length $payload, $type, $flags // 0) . $payload;
}

sub send_frame {
    my ($sock, $type, $payload, $flags) = @_;
    return _write_all($sock, frame($type, $payload, $flags));
}

sub send_raw { _write_all($_[0], $_[1]) }

# read_exact($sock, $n, $deadline) -> ($data, 'ok'|'eof'|'timeout'|'error: ...')
sub read_exact {
    my ($sock, $n, $deadline) = @_;
    my $buf = '';
    my $sel = IO::Select->new($sock);
    while (length $buf < $n) {
        my $left = $deadline - time;
        return ($buf, 'timeout') if $left <= 0;
        next unless $sel->can_read($left);
        my $r = sysread($sock, $buf, $n - length $buf, length $buf);
        if (!defined $r) {
            next if $! == EINTR || $! == EAGAIN;
            return ($buf, $! == ECONNRESET ? 'eof' : "error: $!");
        }
        return ($buf, 'eof') if $r == 0;
    }
    return ($buf, 'ok');
}

# recv_frame($sock, $timeout) -> {type, flags, len, payload, (parsed fields)}
#   or {eof=>1} / {timeout=>1} / {error=>msg}; partial => bytes read.
sub recv_frame {
    my ($sock, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    my ($h, $st) = read_exact($sock, 8, $deadline);
    return _fail($st, length $h) unless $st eq 'ok';
    my ($len, $type, $flags) = unpack('N n n', $h);
    my $f = { len => $len, type => $type, flags => $flags };
    if ($len > 16 * 1024 * 1024) { $f->{error} = "absurd length $len"; return $f }
    my ($p, $st2) = read_exact($sock, $len, $deadline);
    if ($st2 ne 'ok') { my $r = _fail($st2, 8 + length $p); $r->{header} = $f; return $r }
    $f->{payload} = $p;
    if ($type == T_SERVER_HELLO && $len >= 24) {
        my ($magic, $ver, $id, $sw) = unpack('a4 n a16 n/a*', $p);
        @$f{qw(magic version id_raw server_id software)} = ($magic, $ver, $id, unpack('H*', $id), $sw);
    } elsif ($type == T_ERROR && $len >= 2) {
        my ($code, $msg) = unpack('n n/a*', $p);
        @$f{qw(code message)} = ($code, $msg);
    } else {
        _parse_backup_frame($f);
    }
    return $f;
}

sub _fail {
    my ($st, $got) = @_;
    return { eof => 1, partial => $got } if $st eq 'eof';
    return { timeout => 1, partial => $got } if $st eq 'timeout';
    return { error => $st, partial => $got };
}

sub hello_payload {
    my (%o) = @_;
    return ($o{magic} // 'GVLT') . pack('n n n/a*', $o{min} // 1, $o{max} // 1,
                                        $o{software} // 'gv-test/0.1');
}

# do_hello($sock, %o) -> response frame hash (see recv_frame)
sub do_hello {
    my ($sock, %o) = @_;
    send_frame($sock, T_CLIENT_HELLO, hello_payload(%o), $o{flags})
        or return { error => "write: $!" };
    return recv_frame($sock, $o{timeout} // 5);
}

sub hello { my $self = shift; return do_hello(@_) }

# ping($sock, $data, $timeout): true if a PONG echoing $data came back.
sub ping {
    my ($sock, $data, $timeout) = @_;
    $data //= 'ping-' . int(rand 1e9);
    send_frame($sock, T_PING, $data) or return 0;
    my $f = recv_frame($sock, $timeout // 5);
    return ($f->{type} // -1) == T_PONG && $f->{payload} eq $data;
}

# wait_closed($sock, $timeout): true once the peer closed (EOF or reset);
# any frames received before are returned in list context.
sub wait_closed {
    my ($sock, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    my $sel = IO::Select->new($sock);
    while (1) {
        my $left = $deadline - time;
        return 0 if $left <= 0;
        next unless $sel->can_read($left);
        my $buf;
        my $r = sysread($sock, $buf, 65536);
        return 1 if !defined $r && $! != EINTR && $! != EAGAIN;
        return 1 if defined $r && $r == 0;
    }
}

# a fresh client: connect + hello; returns ($sock, $hello_frame)
sub session {
    my ($self, %o) = @_;
    my $s = $self->connect(%o) or return;
    my $h = do_hello($s, %o);
    return ($s, $h);
}

# ------------------------------------------------------- backup protocol

sub _parse_backup_frame {
    my ($f) = @_;
    my ($t, $p) = ($f->{type}, $f->{payload});
    if ($t == T_REGISTERED && length $p >= 34) {
        my ($name, $rest) = unpack('n/a* a*', $p);
        @$f{qw(name secret)} = ($name, $rest);
    } elsif ($t == T_CHALLENGE) {
        $f->{nonce} = $p;
    } elsif ($t == T_MISSING && length $p >= 4) {
        my $n = unpack('N', $p);
        $f->{count} = $n;
        $f->{ids} = [ unpack("x4 (a32)$n", $p) ] if length $p == 4 + 32 * $n;
    } elsif ($t == T_FORGOTTEN && length $p >= 4) {
        my $n = unpack('N', $p);
        $f->{count} = $n;
        $f->{results} = { unpack("x4 (Q> C)$n", $p) } if length $p == 4 + 9 * $n;
    } elsif ($t == T_COMMITTED && length $p == 8) {
        $f->{snapshot} = unpack('Q>', $p);
    } elsif ($t == T_SNAPSHOTS && length $p >= 4) {
        my $n = unpack('N', $p);
        my $off = 4;
        my @e;
        for (1 .. $n) {
            my ($id, $set) = unpack("x$off Q> n/a*", $p);
            $off += 8 + 2 + length $set;
            my ($time, $root, $meta, $blobs, $bytes) =
                unpack("x$off Q> a32 a32 Q> Q>", $p);
            $off += 8 + 32 + 32 + 8 + 8;
            push @e, { id => $id, set => $set, time => $time, root => $root,
                       meta => $meta, blobs => $blobs, bytes => $bytes };
        }
        $f->{count} = $n;
        $f->{entries} = \@e;
        $f->{trailing} = length($p) - $off;
    } elsif (($t == T_BLOB || $t == T_NOBLOB) && length $p >= 32) {
        $f->{id} = substr($p, 0, 32);
        $f->{blob} = substr($p, 32) if $t == T_BLOB;
    }
}

# rand_id(): 32 random bytes (a blob id the server treats as opaque).
sub rand_id { pack('C*', map { int rand 256 } 1 .. 32) }

# ids_frame($type, @ids): a HAVE, REFS or GET frame.
sub ids_frame {
    my ($type, @ids) = @_;
    return frame($type, pack('N', scalar @ids) . join('', @ids));
}

sub _expect {
    my ($f, $type, $what) = @_;
    return $f if ($f->{type} // -1) == $type;
    my $got = defined $f->{code} ? "ERROR $f->{code} ($f->{message})" :
              defined $f->{type} ? sprintf('frame type 0x%04x', $f->{type}) :
              $f->{eof} ? 'EOF' : $f->{timeout} ? 'timeout' : ($f->{error} // '?');
    die "GV: $what: expected " . sprintf('0x%04x', $type) . ", got $got\n";
}

# proto_register($sock, $token) -> ($name, $secret), or the frame hash
# (ERROR, EOF) in scalar context when it failed.
sub proto_register {
    my ($sock, $token) = @_;
    send_frame($sock, T_REGISTER, pack('n/a*', $token));
    my $f = recv_frame($sock, 10);
    return $f unless ($f->{type} // -1) == T_REGISTERED;
    return ($f->{name}, $f->{secret});
}

# proto_auth($sock, $name, $secret, $server_id_raw, %o) -> last frame
# (AUTH_OK or ERROR).  $o{proof} overrides the computed proof.
sub proto_auth {
    my ($sock, $name, $secret, $sid, %o) = @_;
    send_frame($sock, T_AUTH, pack('n/a*', $name));
    my $f = recv_frame($sock, 10);
    return $f unless ($f->{type} // -1) == T_CHALLENGE;
    my $proof = $o{proof} //
        hmac_sha256('gigavault-auth-1' . $sid . $f->{nonce} . $name, $secret);
    send_frame($sock, T_PROOF, $proof);
    return recv_frame($sock, 10);
}

# $gv->login($name, $secret): a socket after hello and AUTH_OK, else undef
# (with the last frame in $GV::LAST_LOGIN).
our $LAST_LOGIN;
sub login {
    my ($self, $name, $secret) = @_;
    my ($s, $h) = $self->session;
    return unless $s && ($h->{type} // -1) == T_SERVER_HELLO;
    $LAST_LOGIN = proto_auth($s, $name, $secret, $h->{id_raw});
    return unless ($LAST_LOGIN->{type} // -1) == T_AUTH_OK;
    return $s;
}

# proto_have($sock, @ids) -> the ids the server lacks; dies on anything
# but MISSING.  Batches of at most 4096.
sub proto_have {
    my ($sock, @ids) = @_;
    my @missing;
    while (my @b = splice(@ids, 0, 4096)) {
        send_frame($sock, T_HAVE, pack('N', scalar @b) . join('', @b));
        my $f = _expect(recv_frame($sock, 20), T_MISSING, 'HAVE');
        push @missing, @{ $f->{ids} || [] };
    }
    return @missing;
}

sub proto_put {
    my ($sock, $id, $bytes) = @_;
    return send_frame($sock, T_PUT, $id . $bytes);
}

sub proto_refs {
    my ($sock, @ids) = @_;
    while (my @b = splice(@ids, 0, 4096)) {
        send_frame($sock, T_REFS, pack('N', scalar @b) . join('', @b)) or return 0;
    }
    return 1;
}

# proto_commit($sock, $set, $time, $root, $meta) -> frame (COMMITTED with
# {snapshot}, or ERROR).
sub proto_commit {
    my ($sock, $set, $time, $root, $meta) = @_;
    send_frame($sock, T_COMMIT, pack('n/a* Q> a32 a32', $set, $time, $root, $meta));
    return recv_frame($sock, 30);
}

# proto_forget($sock, @snapshot_ids) -> FORGOTTEN frame with
# {results}{id} = 0 removed, 1 refused by policy, 2 no such snapshot (or
# the ERROR frame).
sub proto_forget {
    my ($sock, @ids) = @_;
    send_frame($sock, T_FORGET, pack('N (Q>)*', scalar @ids, @ids));
    return recv_frame($sock, 20);
}

# proto_list($sock, $set, $after) -> SNAPSHOTS frame (or ERROR).
sub proto_list {
    my ($sock, $set, $after) = @_;
    send_frame($sock, T_LIST, pack('n/a* Q>', $set // '', $after // 0));
    return recv_frame($sock, 10);
}

# proto_list_all($sock, $set) -> every entry, paging by "after"; dies on
# an ERROR.
sub proto_list_all {
    my ($sock, $set) = @_;
    my ($after, @all) = (0);
    for (1 .. 100000) {
        my $f = _expect(proto_list($sock, $set, $after), T_SNAPSHOTS, 'LIST');
        last if $f->{count} == 0;
        push @all, @{ $f->{entries} };
        $after = $all[-1]{id};
    }
    return @all;
}

# proto_get($sock, @ids) -> one frame hash per id (BLOB or NOBLOB), or
# fewer when an ERROR/EOF came (that frame is the last element).
sub proto_get {
    my ($sock, @ids) = @_;
    my @out;
    while (my @b = splice(@ids, 0, 4096)) {
        send_frame($sock, T_GET, pack('N', scalar @b) . join('', @b));
        for (@b) {
            my $f = recv_frame($sock, 20);
            push @out, $f;
            return @out unless ($f->{type} // -1) == T_BLOB || ($f->{type} // -1) == T_NOBLOB;
        }
    }
    return @out;
}

# $gv->ctl(@args) -> (exit status, stdout, stderr): gigavaultctl against
# this daemon's config.
sub ctl {
    my ($self, @args) = @_;
    local $BIN = $CTL;
    return run_daemon(['-f', $self->{conf}, @args], 30);
}

# $gv->add_client($name) -> enrollment token (dies when ctl fails).
sub add_client {
    my ($self, $name) = @_;
    my ($st, $out, $err) = $self->ctl('client', 'add', $name);
    die "GV: gigavaultctl client add $name: exit $st: $err" if $st != 0;
    chomp $out;
    return $out;
}


# ------------------------------------------------------------ web console
#
#   my $gv = GV->start(GV::web_opts(Workers => 2));  # WebConsole.Root = $SRCDIR/www
#   $gv->add_admin('admin', 'pass word');            # gigavaultctl admin add (stdin)
#   $gv->wait_web;                                   # HTTP and HTTPS ports answer
#   my $r = $gv->web(POST => '/api/clients', json => {name => 'x'},
#                    cookie => $sid, csrf => $token, ssl => 1);
#   # $r: {status, headers => {lc name => [values]}, body, json (decoded or
#   #      undef), time (seconds), rc (curl's exit status), err (its stderr)}
#   GV::hdr($r, 'content-type')                     # first value, or undef
#   my ($sid) = GV::session_cookie($r);             # gv_session from Set-Cookie
#
# Requests go through curl (-k for the self-signed certificate, --path-as-is
# so that dot segments reach the server as written); only 127.0.0.1.

our $CURL = $ENV{GV_CURL} || 'curl';

# web_opts(%o): overrides that serve the source tree's www/.
sub web_opts {
    my (%o) = @_;
    return ('WebConsole.Root' => "$SRCDIR/www", %o);
}

sub web_port { $_[0]->port($_[1] ? 'WebConsoleSSL' : 'WebConsole') }

sub web_base {
    my ($self, $ssl) = @_;
    return sprintf('%s://127.0.0.1:%d', $ssl ? 'https' : 'http', $self->web_port($ssl));
}

# _run_input(\@argv, $stdin_text, $timeout) -> (exit status, stdout, stderr)
my $RUN_N = 0;
sub _run_input {
    my ($argv, $input, $timeout) = @_;
    my $dir = _scratch();
    my $n = ++$RUN_N;
    my ($in, $out, $err) = map { "$dir/run.$$.$n.$_" } qw(in out err);
    _spit($in, $input // '');
    my $pid = fork // die "GV: fork: $!";
    if (!$pid) {
        open STDIN, '<', $in or _exit(126);
        open STDOUT, '>', $out or _exit(126);
        open STDERR, '>', $err or _exit(126);
        $SIG{$_} = 'DEFAULT' for qw(PIPE ALRM INT TERM HUP);
        alarm 0;
        exec { $argv->[0] } @$argv or print STDERR "GV: exec $argv->[0]: $!\n";
        _exit(127);
    }
    my $st;
    my $deadline = time + ($timeout // 30);
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $st = _decode_status($?); last }
        if (time > $deadline) { kill 'KILL', $pid; waitpid($pid, 0); $st = -1; last }
        sleep 0.01;
    }
    my @r = ($st, _slurp($out), _slurp($err));
    unlink $in, $out, $err;
    return @r;
}

# $gv->ctl_input($stdin_text, @args): gigavaultctl with that standard input.
sub ctl_input {
    my ($self, $input, @args) = @_;
    return _run_input([$CTL, '-f', $self->{conf}, @args], $input, 30);
}

# $gv->add_admin($name, $password): dies when gigavaultctl fails.
sub add_admin {
    my ($self, $name, $password) = @_;
    my ($st, $out, $err) = $self->ctl_input("$password\n", 'admin', 'add', $name);
    die "GV: gigavaultctl admin add $name: exit $st: $err$out" if $st != 0;
    return 1;
}

# web($method, $path, %o): one request; see above.  %o: ssl, cookie, csrf,
# json (encoded as the body, Content-Type application/json), body (raw),
# type (Content-Type; '' sends none), headers ({name => value}), timeout
# (seconds, 15 unless given).
sub web {
    my ($self, $method, $path, %o) = @_;
    my $dir = _scratch();
    my $n = ++$RUN_N;
    my ($hf, $bf, $df) = map { "$dir/web.$$.$n.$_" } qw(h b d);
    my @a = ($CURL, '-sS', '-k', '--path-as-is', '--max-time', $o{timeout} // 15,
             '-D', $hf, '-o', $bf, '-w', '%{http_code}', '-H', 'Expect:');
    push @a, $method eq 'HEAD' ? ('--head') : ('-X', $method) unless $method eq 'GET';
    my $body = $o{body};
    my $type = $o{type};
    if (exists $o{json}) {
        $body = ref $o{json} ? $JSON->encode($o{json}) : $o{json};
        $type //= 'application/json';
    }
    if (defined $body) {
        _spit($df, $body);
        push @a, '--data-binary', "\@$df";
        $type //= 'application/json';
    }
    push @a, '-H', (length($type) ? "Content-Type: $type" : 'Content-Type:') if defined $type;
    push @a, '-H', "Cookie: gv_session=$o{cookie}" if defined $o{cookie};
    push @a, '-H', "X-CSRF-Token: $o{csrf}" if defined $o{csrf};
    for my $k (sort keys %{ $o{headers} || {} }) {
        push @a, '-H', "$k: $o{headers}{$k}";
    }
    push @a, $self->web_base($o{ssl}) . $path;
    # a daemon in a namespace of its own: curl runs there too
    unshift @a, 'ip', 'netns', 'exec', $self->{netns} if $self->{netns};
    my $t0 = time;
    my ($rc, $out, $err) = _run_input(\@a, '', ($o{timeout} // 15) + 5);
    my $r = { rc => $rc, err => $err, time => time - $t0, headers => {},
              status => ($out =~ /^(\d{3})/ ? $1 + 0 : 0) };
    my @blocks = split /\r?\n\r?\n/, _slurp($hf);
    @blocks = grep { /^HTTP\// } @blocks;
    my $last = $blocks[-1] // '';
    for my $l (split /\r?\n/, $last) {
        next unless $l =~ /^([^:\s]+):\s*(.*?)\s*$/;
        push @{ $r->{headers}{ lc $1 } }, $2;
    }
    $r->{status_line} = ($last =~ /^(HTTP\/\S+ [^\r\n]*)/)[0] // '';
    # (with --head curl writes the headers where the body would go)
    $r->{body} = $method eq 'HEAD' ? '' : _slurp($bf);
    $r->{json} = eval { JSON::PP->new->utf8->allow_nonref->decode($r->{body}) }
        if length $r->{body};
    unlink $hf, $bf, $df;
    return $r;
}

# peers_admin($user, $password): the bridge's "peers" as a logged-in
# administrator has it, with the machines that run an agent (the public
# answer leaves them out), through the console's GET /api/peers: the
# daemon started with web_opts, $user added with add_admin.  undef when
# it cannot be had.
sub peers_admin {
    my ($self, $user, $password) = @_;
    my $cookie = $self->{admin_cookie}{$user};
    unless (defined $cookie) {
        my $r = $self->web(POST => '/api/login', json => { user => $user, password => $password });
        ($cookie) = session_cookie($r);
        return unless defined $cookie;
        $self->{admin_cookie}{$user} = $cookie;
    }
    my $r = $self->web(GET => '/api/peers', cookie => $cookie);
    return $r->{status} == 200 && ref $r->{json} eq 'HASH' ? $r->{json} : undef;
}

# hdr($r, $name): the first value of header $name (any case), or undef;
# in list context every value.
sub hdr {
    my ($r, $name) = @_;
    my $v = $r->{headers}{ lc $name } || [];
    return wantarray ? @$v : $v->[0];
}

# session_cookie($r) -> ($value, $whole_set_cookie_line) of gv_session.
sub session_cookie {
    my ($r) = @_;
    for my $c (hdr($r, 'set-cookie')) {
        return ($1, $c) if $c =~ /^\s*gv_session=([^;]*)/;
    }
    return;
}

# wait_web($timeout): both web ports give an HTTP answer to /api/hello.
sub wait_web {
    my ($self, $timeout) = @_;
    return wait_until(sub {
        $self->web(GET => '/api/hello', timeout => 3)->{status} &&
        $self->web(GET => '/api/hello', ssl => 1, timeout => 3)->{status};
    }, $timeout // 15, 0.1);
}

1;
