package GVDovecot;

# A real Dovecot (Debian's dovecot-imapd) for the mail tests, run as root
# with a configuration written into the test's own directory: IMAP on
# 127.0.0.1 at a free port, plain logins (ssl = no), a passwd-file of
# test users, a master user (a passwd-file with master = yes, separator
# "*"), Maildirs under the test directory, base_dir, state_dir and the
# log there too (never /run/dovecot).  Mail belongs to the system user
# "dovecot" (Dovecot refuses uid 0 for mail); the login processes run as
# "dovenull".  The master's process group is killed at stop(), when the
# object goes away and at the end of the test, also when the test dies.
#
#   use GVDovecot;                          # skip_all without Dovecot
#   my $dv = GVDovecot->start(users => [qw(alice bob)]);
#   $dv->host; $dv->port;                   # 127.0.0.1, the IMAP port
#   GVDovecot->start(tls => 1)              # STARTTLS, and IMAPS on
#   $dv->imaps_port; $dv->ca_file;          # another port; its CA (PEM)
#   $dv->users;                             # (alice, bob)
#   $dv->password('alice');                 # the user's own password
#   $dv->master_user; $dv->master_password; $dv->master_password_file;
#   $dv->append('alice', 'Work/Projects', $bytes,
#               flags => '\Seen $Label1', date => $unix, tz => '+0100');
#       # -> the new UID (APPENDUID); creates the folder when missing
#   $dv->create('alice', 'Work/Old');
#   my $made = $dv->populate('bob', n => 300);  # nested folders, attachments,
#       # one message in two folders: [{mailbox, uid, bytes, flags, date}]
#   $dv->maildir_put('alice', 'Bulk', \@messages, date => $unix);
#       # files straight into the Maildir: fast, for 10,000 messages
#   my ($rc, $out, $err) = $dv->doveadm('expunge', '-u', 'alice',
#                                       'mailbox', 'INBOX', 'uid', 3);
#   my @m = $dv->messages('alice', 'INBOX');  # [{uid,flags,date,size}]
#   my $bytes = $dv->fetch('alice', 'INBOX', $uid);
#   my $mime = GVDovecot::make_message(%o);   # test messages (below)
#   $dv->restart;                           # same port and mail; sessions break
#   $dv->stop;
#
# The IMAP client here is the few commands the tests need (LOGIN, CREATE,
# APPEND with a synchronizing literal, EXAMINE, UID FETCH), enough to fill
# and read mailboxes; the helper under test uses libetpan.

use strict;
use warnings;
use File::Temp ();
use File::Path qw(make_path);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h setpgid _exit strftime);
use Time::HiRes qw(time sleep);
use Time::Local qw(timegm);
use Scalar::Util qw(weaken);
use Test::More ();
use GV;

our $DOVECOT = $ENV{GV_DOVECOT} || '/usr/sbin/dovecot';
our $DOVEADM = $ENV{GV_DOVEADM} || '/usr/bin/doveadm';
my %LIVE;

# Skip the whole test file (Test::More's skip_all) unless Dovecot can run
# here: the binaries and root.  Called by import, so "use GVDovecot;" is
# enough.
sub import {
    my $why;
    if (!-x $DOVECOT || !-x $DOVEADM) {
        $why = "Dovecot is not installed ($DOVECOT, $DOVEADM; Debian " .
               "package dovecot-imapd, sh tools/deps --test)";
    } elsif ($> != 0) {
        $why = 'Dovecot is started as root (it drops to its own users)';
    } elsif (!defined getpwnam('dovecot') || !defined getpwnam('dovenull')) {
        $why = 'the users dovecot and dovenull are missing (reinstall ' .
               'dovecot-core)';
    }
    Test::More::plan(skip_all => $why) if defined $why;
}

sub _spit {
    my ($f, $t, $mode) = @_;
    open my $fh, '>', $f or die "GVDovecot: $f: $!";
    print $fh $t;
    close $fh or die "GVDovecot: $f: $!";
    chmod $mode // 0644, $f;
}

sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    my $t = <$fh>;
    return $t // '';
}

# start(users => [names], master_user => NAME, port => N): Dovecot ready
# to take logins, or dies with its log.
sub start {
    my ($class, %o) = @_;
    my $self = bless {}, $class;
    my $dir = File::Temp::tempdir('gv-dovecot-XXXXXX', TMPDIR => 1,
                                  CLEANUP => !$ENV{GV_KEEP});
    chmod 0755, $dir or die "GVDovecot: chmod $dir: $!";
    $self->{dir} = $dir;
    $self->{host} = '127.0.0.1';
    $self->{port} = $o{port} // GV::free_ports(1);
    $self->{users} = [ @{ $o{users} || [qw(alice bob)] } ];
    $self->{master} = $o{master_user} // 'gvmaster';
    $self->{master_pw} = 'master-' . int(rand(1e9));
    my ($uid, $gid) = (getpwnam('dovecot'))[2, 3];
    make_path("$dir/base", "$dir/state", "$dir/log");
    mkdir "$dir/mail" or die "GVDovecot: $dir/mail: $!";
    chown $uid, $gid, "$dir/mail";
    _spit("$dir/passwd", join('', map { "${_}:{PLAIN}pw-${_}:::::\n" }
                                  @{ $self->{users} }), 0600);
    _spit("$dir/master-users", "$self->{master}:{PLAIN}$self->{master_pw}\n",
          0600);
    _spit("$dir/master.password", "$self->{master_pw}\n", 0600);
    my $ssl = "ssl = no\n";
    my $imaps = "    port = 0\n";
    if ($o{tls}) {
        # A CA of the test's own and a certificate for 127.0.0.1 and
        # localhost that it signed; STARTTLS on the IMAP port, IMAPS on
        # another.
        $self->{imaps_port} = GV::free_ports(1);
        $self->{ca} = "$dir/ca.pem";
        _tls_files($dir);
        $ssl = "ssl = yes\nssl_cert = <$dir/server.pem\nssl_key = <$dir/server.key\n" .
               "ssl_min_protocol = TLSv1.2\n";
        $imaps = "    address = 127.0.0.1\n    port = $self->{imaps_port}\n";
    }
    $self->{conf} = "$dir/dovecot.conf";
    _spit($self->{conf}, <<"EOF");
# Written by t/lib/GVDovecot.pm for one test.
protocols = imap
listen = 127.0.0.1
base_dir = $dir/base
state_dir = $dir/state
log_path = $dir/log/dovecot.log
info_log_path = $dir/log/dovecot.log
${ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
default_internal_user = root
default_internal_group = root
default_login_user = dovenull
first_valid_uid = 1
mail_uid = $uid
mail_gid = $gid
mail_location = maildir:$dir/mail/%u/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $self->{port}
  }
  inet_listener imaps {
$imaps  }
}
passdb {
  driver = passwd-file
  args = $dir/master-users
  master = yes
}
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = passwd-file
  args = $dir/passwd
  default_fields = uid=$uid gid=$gid home=$dir/mail/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Trash {
    special_use = \\Trash
  }
}
EOF
    $self->_run_master;
    return $self;
}

# Start the master with the configuration written (start(), restart()),
# and wait until a login works; dies with the log when it does not.
sub _run_master {
    my ($self) = @_;
    my $dir = $self->{dir};
    my $pid = fork // die "GVDovecot: fork: $!";
    if (!$pid) {
        setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/log/stdout" or _exit(126);
        open STDERR, '>>', "$dir/log/stderr" or _exit(126);
        $SIG{$_} = 'DEFAULT' for qw(PIPE ALRM INT TERM HUP);
        alarm 0;
        exec $DOVECOT, '-F', '-c', $self->{conf} or
            print STDERR "GVDovecot: exec $DOVECOT: $!\n";
        _exit(127);
    }
    setpgid($pid, $pid);
    $self->{pid} = $pid;
    $LIVE{"$self"} = $self;
    weaken($LIVE{"$self"});
    # Ready when a login works (the login processes start on demand).
    my $ok = GV::wait_until(sub {
        return 'dead' if waitpid($pid, WNOHANG) == $pid;
        my $c = eval { $self->_imap($self->{users}[0]) };
        return 0 unless $c;
        $c->logout;
        return 1;
    }, 20, 0.1);
    if (!$ok || $ok eq 'dead') {
        delete $self->{pid} if $ok;
        Test::More::diag("dovecot did not start:\n" .
            _slurp("$dir/log/stderr") . _slurp("$dir/log/dovecot.log"));
        $self->stop;
        die "GVDovecot: dovecot did not start\n";
    }
}

# restart(): stop and start again, same port, users and mail (every
# IMAP session of a client breaks).
sub restart {
    my ($self) = @_;
    $self->stop;
    $self->_run_master;
}

# openssl(1) makes ca.pem (a CA) and server.pem/server.key (signed by
# it, for IP 127.0.0.1 and DNS localhost) in $dir; other-ca.pem is a CA
# that signed nothing here.
sub _tls_files {
    my ($dir) = @_;
    my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes');
    for my $cmd (
        ['req', '-x509', @ec, '-keyout', "$dir/ca.key", '-out', "$dir/ca.pem",
         '-days', '2', '-subj', '/CN=GigaVault test CA'],
        ['req', '-x509', @ec, '-keyout', "$dir/other-ca.key", '-out', "$dir/other-ca.pem",
         '-days', '2', '-subj', '/CN=Another CA'],
        ['req', @ec, '-keyout', "$dir/server.key", '-out', "$dir/server.csr",
         '-subj', '/CN=localhost'],
        ['x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.pem",
         '-CAkey', "$dir/ca.key", '-CAcreateserial', '-out', "$dir/server.pem",
         '-days', '2', '-extfile', "$dir/san.ext"]) {
        _spit("$dir/san.ext", "subjectAltName = IP:127.0.0.1, DNS:localhost\n");
        my ($rc, $out, $err) = run(['openssl', @$cmd], 60);
        die "GVDovecot: openssl @$cmd: $err" if $rc != 0;
    }
    chmod 0600, "$dir/server.key";
}

sub dir             { $_[0]{dir} }
sub imaps_port      { $_[0]{imaps_port} }
sub ca_file         { $_[0]{ca} }
sub other_ca_file   { "$_[0]{dir}/other-ca.pem" }
sub host            { $_[0]{host} }
sub port            { $_[0]{port} }
sub conf            { $_[0]{conf} }
sub users           { @{ $_[0]{users} } }
sub password        { "pw-$_[1]" }
sub master_user     { $_[0]{master} }
sub master_password { $_[0]{master_pw} }
sub master_password_file { "$_[0]{dir}/master.password" }
sub log_text        { _slurp("$_[0]{dir}/log/dovecot.log") }
sub maildir         { "$_[0]{dir}/mail/$_[1]/Maildir" }

# Stop: SIGTERM to the master's process group, wait for it (SIGKILL to
# the group after 10 s).  Idempotent.
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', -$pid;
    my $t = time + 10;
    while (time < $t) {
        last if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    if (kill(0, $pid) || kill(0, -$pid)) {
        kill 'KILL', -$pid;
        waitpid($pid, 0);
    }
    # Dovecot's children (auth, imap, log) leave with the master; wait
    # until none of the group is left.
    $t = time + 5;
    sleep 0.05 while kill(0, -$pid) && time < $t;
    kill 'KILL', -$pid if kill(0, -$pid);
    delete $LIVE{"$self"};
}

sub DESTROY { local ($?, $!, $@); $_[0]->stop }
END { local $?; $_->stop for grep { defined } values %LIVE }

# doveadm(@args) -> (exit status, stdout, stderr), with this Dovecot's
# configuration.
sub doveadm {
    my ($self, @args) = @_;
    return run([$DOVEADM, '-c', $self->{conf}, @args], 60);
}

# run([argv], timeout, stdin bytes) -> (exit status, stdout, stderr): a
# command without a shell, in its own process group (killed at the
# timeout: status -1).
sub run {
    my ($argv, $timeout, $in) = @_;
    my $d = File::Temp::tempdir('gv-run-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    _spit("$d/in", $in // '');
    my $pid = fork // die "GVDovecot: fork: $!";
    if (!$pid) {
        setpgid(0, 0);
        open STDIN, '<', "$d/in";
        open STDOUT, '>', "$d/out" or _exit(126);
        open STDERR, '>', "$d/err" or _exit(126);
        $SIG{$_} = 'DEFAULT' for qw(PIPE ALRM INT TERM HUP);
        alarm 0;
        exec { $argv->[0] } @$argv or print STDERR "exec $argv->[0]: $!\n";
        _exit(127);
    }
    setpgid($pid, $pid);
    my $st;
    my $deadline = time + ($timeout // 60);
    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $st = $? & 127 ? 128 + ($? & 127) : $? >> 8;
            last;
        }
        if (time > $deadline) {
            kill 'KILL', -$pid;
            waitpid($pid, 0);
            $st = -1;
            last;
        }
        sleep 0.01;
    }
    return ($st, _slurp("$d/out"), _slurp("$d/err"));
}

# ------------------------------------------------------------ messages

# make_message(%o): a test message, CRLF line ends (what IMAP returns):
# from, to, subject, date (Unix), body, attach => bytes (a multipart/mixed
# message with a base64 attachment), id (Message-ID, unique by default).
my $SEQ = 0;
sub make_message {
    my (%o) = @_;
    $SEQ++;
    my $date = strftime('%a, %d %b %Y %H:%M:%S +0000', gmtime($o{date} // 1700000000));
    my $id = $o{id} // sprintf('<%d.%d.%d@gv.test>', $$, $SEQ, int(rand(1e9)));
    my $h = "From: " . ($o{from} // 'Alice <alice@gv.test>') . "\r\n" .
            "To: " . ($o{to} // 'Bob <bob@gv.test>') . "\r\n" .
            "Subject: " . ($o{subject} // "test message $SEQ") . "\r\n" .
            "Date: $date\r\nMessage-ID: $id\r\nMIME-Version: 1.0\r\n";
    my $body = $o{body} // "Hello,\r\n\r\nthis is test message $SEQ.\r\n";
    $body =~ s/(?<!\r)\n/\r\n/g;
    return "${h}Content-Type: text/plain; charset=us-ascii\r\n\r\n$body"
        unless defined $o{attach};
    require MIME::Base64;
    my $b = "gv-boundary-$SEQ";
    my $att = MIME::Base64::encode_base64($o{attach}, "\r\n");
    return "${h}Content-Type: multipart/mixed; boundary=\"$b\"\r\n\r\n" .
           "This is a multi-part message in MIME format.\r\n" .
           "--$b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n$body" .
           "--$b\r\nContent-Type: application/octet-stream\r\n" .
           "Content-Transfer-Encoding: base64\r\n" .
           "Content-Disposition: attachment; filename=\"data-$SEQ.bin\"\r\n\r\n" .
           "$att--$b--\r\n";
}

# An IMAP date-time for $unix at offset $tz ("+0100").
sub imap_date {
    my ($unix, $tz) = @_;
    $tz //= '+0000';
    my ($s, $hh, $mm) = $tz =~ /^([+-])(\d\d)(\d\d)$/ or die "bad tz $tz";
    my $off = ($hh * 60 + $mm) * 60 * ($s eq '-' ? -1 : 1);
    return strftime('%d-%b-%Y %H:%M:%S', gmtime($unix + $off)) . " $tz";
}

# Parse an IMAP date-time into Unix seconds and the offset in minutes.
my %MON = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
           Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
sub parse_imap_date {
    my ($d) = @_;
    my ($dd, $mon, $y, $H, $M, $S, $sg, $zh, $zm) =
        $d =~ /^\s*(\d+)-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/
        or die "GVDovecot: bad date-time \"$d\"";
    my $tz = ($zh * 60 + $zm) * ($sg eq '-' ? -1 : 1);
    return (timegm($S, $M, $H, $dd, $MON{$mon}, $y) - $tz * 60, $tz);
}

sub append {
    my ($self, $user, $mbox, $bytes, %o) = @_;
    my $c = $self->_imap($user);
    my $uid = $c->append($mbox, $bytes, %o);
    $c->logout;
    return $uid;
}

sub create {
    my ($self, $user, $mbox) = @_;
    my $c = $self->_imap($user);
    $c->cmd("CREATE " . _q($mbox));
    $c->logout;
}

# messages($user, $mbox): [{uid, flags ("\Seen x", \Recent left out),
# date (Unix), tz (minutes), size}] in UID order.
sub messages {
    my ($self, $user, $mbox) = @_;
    my $c = $self->_imap($user);
    $c->cmd("EXAMINE " . _q($mbox));
    my @r;
    for my $l ($c->cmd('UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)')) {
        next unless $l =~ /^\* \d+ FETCH \((.*)\)$/;
        my $f = $1;
        my %m;
        ($m{uid}) = $f =~ /\bUID (\d+)/;
        ($m{size}) = $f =~ /\bRFC822\.SIZE (\d+)/;
        my ($fl) = $f =~ /\bFLAGS \(([^)]*)\)/;
        $m{flags} = join ' ', grep { $_ ne '\\Recent' } split ' ', $fl // '';
        my ($d) = $f =~ /\bINTERNALDATE "([^"]+)"/;
        @m{qw(date tz)} = parse_imap_date($d);
        push @r, \%m;
    }
    $c->logout;
    return sort { $a->{uid} <=> $b->{uid} } @r;
}

# fetch($user, $mbox, $uid): the message's bytes (BODY.PEEK[]), or undef.
sub fetch {
    my ($self, $user, $mbox, $uid) = @_;
    my $c = $self->_imap($user);
    $c->cmd("EXAMINE " . _q($mbox));
    my $b = $c->fetch_body($uid);
    $c->logout;
    return $b;
}

# populate($user, n => 300): a mailbox tree for backup tests, appended
# over one IMAP connection: INBOX, Sent (\Sent), Work, Work/Projects,
# Work/Projects/2026 (nested), Archive; every fifth message multipart
# with a binary attachment, flags from none to "\Seen \Flagged $Label1",
# internal dates an hour apart at offsets +0200 and -0500, and the same
# message (bytes and Message-ID) in INBOX and Archive.  Returns
# [{mailbox, uid, bytes, flags, date}] of every message, in order.
sub populate {
    my ($self, $user, %o) = @_;
    my $n = $o{n} // 300;
    my @boxes = ('INBOX', 'Sent', 'Work', 'Work/Projects', 'Work/Projects/2026');
    my @flags = ('', '\\Seen', '\\Seen \\Answered', '\\Flagged $Label1',
                 '\\Seen \\Flagged $Label1', '\\Draft');
    my $c = $self->_imap($user);
    my @made;
    for my $k (0 .. $n - 1) {
        my $mb = $boxes[$k % @boxes];
        my $date = ($o{date} // 1600000000) + $k * 3600;
        my $m = make_message(subject => "$user $mb $k", date => $date,
                             $k % 5 == 4 ? (attach => join('', map { chr(($_ * 31 + $k) % 256) } 1 .. 2000 + 97 * $k % 5000)) : ());
        my $f = $flags[$k % @flags];
        my $uid = $c->append($mb, $m, flags => $f, date => $date,
                             tz => $k % 2 ? '+0200' : '-0500');
        push @made, { mailbox => $mb, uid => $uid, bytes => $m, flags => $f, date => $date };
    }
    my $twin = make_message(subject => "$user twin", id => "<twin-$user\@gv.test>");
    for my $mb ('INBOX', 'Archive') {
        my $uid = $c->append($mb, $twin, date => 1650000000);
        push @made, { mailbox => $mb, uid => $uid, bytes => $twin, flags => '', date => 1650000000 };
    }
    $c->logout;
    return \@made;
}

# maildir_put($user, $mbox, \@messages, date => $unix, flags => 'S'):
# each message a file in the Maildir's cur/ (mtime: the internal date),
# for many messages at once.  Dovecot gives them UIDs when it next looks.
sub maildir_put {
    my ($self, $user, $mbox, $msgs, %o) = @_;
    my $base = $self->maildir($user);
    my $d = $mbox eq 'INBOX' ? $base : "$base/." . join('.', split m{/}, $mbox);
    my ($uid, $gid) = (getpwnam('dovecot'))[2, 3];
    for my $sub ('', map { "/$_" } qw(cur new tmp)) {
        my @parts = split m{/}, "$d$sub";
        for my $i (1 .. $#parts) {
            my $p = join '/', @parts[0 .. $i];
            next if $p eq '' || -d $p;
            mkdir $p, 0700 or die "GVDovecot: $p: $!";
            chown $uid, $gid, $p if index($p, "$self->{dir}/mail/") == 0;
        }
    }
    my $date = $o{date} // 1700000000;
    my $flags = $o{flags} // '';
    my $n = 0;
    for my $m (@$msgs) {
        (my $lf = $m) =~ s/\r\n/\n/g;     # Maildir keeps LF line ends
        my $f = sprintf('%s/cur/%d.M%08dP%d_%d.gvtest,S=%d:2,%s', $d, $date,
                        $n, $$, $n, length($lf), $flags);
        open my $fh, '>', $f or die "GVDovecot: $f: $!";
        print $fh $lf;
        close $fh or die "GVDovecot: $f: $!";
        chown $uid, $gid, $f;
        utime $date, $date, $f;
        $n++;
    }
    return $n;
}

# -------------------------------------------------------- the IMAP client

sub _q {
    my ($s) = @_;
    (my $q = $s) =~ s/(["\\])/\\$1/g;
    return qq("$q");
}

sub _imap {
    my ($self, $user) = @_;
    return GVDovecot::IMAP->login($self->{host}, $self->{port},
                                  "$user*$self->{master}", $self->{master_pw});
}

package GVDovecot::IMAP;

use strict;
use warnings;
use IO::Socket::INET;

sub login {
    my ($class, $host, $port, $user, $pw) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
        or die "GVDovecot: connect $host:$port: $!\n";
    my $self = bless { s => $s, tag => 0 }, $class;
    my $greet = $self->_line;
    die "GVDovecot: greeting: $greet\n" unless $greet =~ /^\* OK/;
    $self->cmd('LOGIN ' . GVDovecot::_q($user) . ' ' . GVDovecot::_q($pw));
    return $self;
}

sub _line {
    my ($self) = @_;
    local $/ = "\r\n";
    my $l = readline($self->{s});
    die "GVDovecot: IMAP connection closed\n" unless defined $l;
    $l =~ s/\r\n$//;
    return $l;
}

# cmd($text): the untagged lines of the answer; dies unless OK.  Literals
# in answers are read and kept in $self->{literals}.
sub cmd {
    my ($self, $text, $literal) = @_;
    my $tag = 'g' . ++$self->{tag};
    my $s = $self->{s};
    if (defined $literal) {
        print $s "$tag $text {" . length($literal) . "}\r\n";
        my $l = $self->_line;
        die "GVDovecot: $text: $l\n" unless $l =~ /^\+/;
        print $s $literal, "\r\n";
    } else {
        print $s "$tag $text\r\n";
    }
    my @lines;
    $self->{literals} = [];
    while (1) {
        my $l = $self->_line;
        while ($l =~ /\{(\d+)\}$/) {
            my $n = $1;
            my $buf = '';
            while (length($buf) < $n) {
                my $r = read($s, $buf, $n - length($buf), length($buf));
                die "GVDovecot: short literal\n" unless $r;
            }
            push @{ $self->{literals} }, $buf;
            $l .= "<literal>" . $self->_line;
        }
        if ($l =~ /^\Q$tag\E (OK|NO|BAD)(.*)$/) {
            die "GVDovecot: $text: $1$2\n" unless $1 eq 'OK';
            $self->{last} = $2;
            return @lines;
        }
        push @lines, $l;
    }
}

sub append {
    my ($self, $mbox, $bytes, %o) = @_;
    my $q = GVDovecot::_q($mbox);
    # CREATE fails when it exists already; that is fine.
    eval { $self->cmd("CREATE $q") } if $mbox ne 'INBOX';
    my $f = defined $o{flags} ? " ($o{flags})" : '';
    my $d = defined $o{date} ? ' "' . GVDovecot::imap_date($o{date}, $o{tz}) . '"' : '';
    $self->cmd("APPEND $q$f$d", $bytes);
    my ($uid) = ($self->{last} // '') =~ /APPENDUID \d+ (\d+)/;
    return $uid;
}

sub fetch_body {
    my ($self, $uid) = @_;
    my @l = $self->cmd("UID FETCH $uid (BODY.PEEK[])");
    return @{ $self->{literals} } ? $self->{literals}[0] : undef;
}

sub logout {
    my ($self) = @_;
    eval { $self->cmd('LOGOUT') };
    close $self->{s};
}

1;
