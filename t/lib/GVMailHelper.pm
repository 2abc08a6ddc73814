package GVMailHelper;

# gigavault-mailhelper in tests: a helper for a GVDovecot (t/lib/
# GVDovecot.pm) with a mailhelper.conf, a secret and a log of its own,
# on 127.0.0.1 at a free port, in the foreground (-d -v) and in its own
# process group, which is killed at stop(), when the object goes away and
# at the end of the test, also when the test dies.
#
#   my $mh = GVMailHelper->start($dv);            # IMAP.Users: $dv->users
#   my $mh = GVMailHelper->start($dv, user_cmd => 1,     # doveadm user '*'
#                                helper => { MaxConnections => 1 });
#   $mh->port; $mh->secret_file; $mh->conf; $mh->log_text;
#   my ($rc, $out, $err) = $mh->gv_mh('mailboxes', 'alice');   # t/gv-mh
#   $mh->stop;
#
# t/gv-mh's commands and exit statuses are in t/gv-mh.c.

use strict;
use warnings;
use POSIX qw(:sys_wait_h setpgid _exit);
use IO::Socket::INET;
use File::Temp ();
use Time::HiRes qw(time sleep);
use Scalar::Util qw(weaken);
use Test::More ();
use GV;
use GVDovecot ();

our $BIN = $ENV{GV_MAILHELPER} || "$GV::BUILDDIR/src/gigavault-mailhelper";
our $GVMH = "$GV::BUILDDIR/t/gv-mh";
my %LIVE;

sub _value {
    my ($v) = @_;
    return '{' . join(', ', map { _value($_) } @$v) . '}' if ref $v eq 'ARRAY';
    return $v if $v =~ /^-?\d+$/;
    (my $q = $v) =~ s/(["\\])/\\$1/g;
    return qq("$q");
}

# The configuration text for %o: helper => {Helper options}, imap =>
# {IMAP options}, user_cmd => 1 (doveadm user '*' instead of Users).
sub conf_text {
    my ($self) = @_;
    my ($dv, $o) = @$self{qw(dv o)};
    my %helper = (Listen => ['127.0.0.1'], SecretFile => $self->{secret},
                  %{ $o->{helper} || {} });
    my %imap = (Host => $dv->host, Port => $dv->port,
                MasterUser => $dv->master_user,
                MasterPasswordFile => $dv->master_password_file,
                Timeout => 30,
                ($o->{user_cmd}
                    ? (UserListCommand => "$GVDovecot::DOVEADM -c " . $dv->conf . " user *")
                    : (Users => [ $dv->users ])),
                %{ $o->{imap} || {} });
    my $sec = sub {
        my ($name, $h) = @_;
        return "$name {\n" . join('', map { defined $h->{$_} ? "\t$_ = " . _value($h->{$_}) . "\n" : '' }
                                       sort keys %$h) . "}\n";
    };
    return "Ports {\n\tMAPI32Bit = $self->{port}\n}\n" . $sec->('Helper', \%helper) .
           $sec->('IMAP', \%imap) . ($o->{extra} // '');
}

# new($dv, %o): the files only (conf, secret); start() runs it.
sub new {
    my ($class, $dv, %o) = @_;
    my $self = bless { dv => $dv, o => \%o }, $class;
    my $dir = $self->{dir} = File::Temp::tempdir('gv-mh-XXXXXX', TMPDIR => 1,
                                                  CLEANUP => !$ENV{GV_KEEP});
    chmod 0755, $dir;
    $self->{port} = $o{port} // GV::free_ports(1);
    $self->{secret} = "$dir/mailhelper.secret";
    $self->{conf} = "$dir/mailhelper.conf";
    $self->{log} = "$dir/mailhelper.log";
    GVDovecot::_spit($self->{conf}, $self->conf_text);
    unless (-e $self->{secret}) {
        my ($rc, $out, $err) = GVDovecot::run([$BIN, '-k', '-c', $self->{conf}], 20);
        die "GVMailHelper: --new-secret failed: $err" if $rc != 0;
    }
    return $self;
}

sub start {
    my ($class, $dv, %o) = @_;
    my $self = ref $class ? $class : $class->new($dv, %o);
    my $pid = fork // die "GVMailHelper: fork: $!";
    if (!$pid) {
        setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log} or _exit(126);
        open STDERR, '>>', $self->{log} or _exit(126);
        $SIG{$_} = 'DEFAULT' for qw(PIPE ALRM INT TERM HUP);
        alarm 0;
        exec $BIN, '-d', '-v', '-c', $self->{conf} or
            print STDERR "GVMailHelper: exec $BIN: $!\n";
        _exit(127);
    }
    setpgid($pid, $pid);
    $self->{pid} = $pid;
    $LIVE{"$self"} = $self;
    weaken($LIVE{"$self"});
    my $ok = GV::wait_until(sub {
        return 'dead' if waitpid($pid, WNOHANG) == $pid;
        return $self->log_text =~ /listening on port/ ? 1 : 0;
    }, 10, 0.05);
    if (!$ok || $ok eq 'dead') {
        delete $self->{pid} if $ok;
        Test::More::diag("gigavault-mailhelper did not start:\n" . $self->log_text);
        $self->stop;
        die "GVMailHelper: gigavault-mailhelper did not start\n";
    }
    return $self;
}

sub dir         { $_[0]{dir} }
sub port        { $_[0]{port} }
sub conf        { $_[0]{conf} }
sub secret_file { $_[0]{secret} }
sub pid         { $_[0]{pid} }
sub log_text    { GVDovecot::_slurp($_[0]{log}) }
sub alive       { my $p = $_[0]{pid}; $p && waitpid($p, WNOHANG) == 0 }

# gv_mh(@args) -> (exit status, stdout, stderr); -s SECRET sets another
# secret file, stdin => BYTES feeds it.
sub gv_mh {
    my ($self, @args) = @_;
    my %o;
    while (@args && ref $args[-1] eq 'HASH') { %o = (%o, %{ pop @args }) }
    my @cmd = ($GVMH, '-p', $o{port} // $self->{port},
               '-s', $o{secret} // $self->{secret}, '-t', 60, @args);
    return GVDovecot::run(\@cmd, $o{timeout} // 120, $o{stdin});
}

# SIGTERM to the group, wait (SIGKILL after 10 s): the exit status.
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return $self->{exit};
    kill 'TERM', $pid;
    my $t = time + 10;
    my $st;
    while (time < $t) {
        if (waitpid($pid, WNOHANG) == $pid) { $st = $?; last }
        sleep 0.02;
    }
    if (!defined $st) {
        kill 'KILL', -$pid;
        waitpid($pid, 0);
        $st = $?;
    }
    # The children end with their connections; none may be left.
    $t = time + 5;
    sleep 0.02 while kill(0, -$pid) && time < $t;
    kill 'KILL', -$pid if kill(0, -$pid);
    delete $LIVE{"$self"};
    return $self->{exit} = $st;
}

sub DESTROY { local ($?, $!, $@); $_[0]->stop }
END { local $?; $_->stop for grep { defined } values %LIVE }

1;
