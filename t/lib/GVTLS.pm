package GVTLS;

# TLS helpers for the test suite (t/50-tls.t, t/51-tls-errors.t), on top
# of GV.pm and GVClient.pm.
#
#   my $t  = GVTLS->prepare;                 # key + cert made by `tls init`
#   my ($rc, $out, $err) = $t->ctl('tls', 'show');
#   my $gv = $t->start(Workers => 1);        # gigavaultd with SSL.Enabled = 1
#   my ($cl, $rc, $out, $err) = GVTLS::client($gv, 'alice', ssl => 1);
#   my ($rc, $out, $err) = GVTLS::s_client($port, '-tls1_2');
#   my $fp = GVTLS::fingerprint($out);       # "ab:cd:..." from ctl or client
#
# The server's certificate, key and DataDir live in a temporary directory
# made before the daemon starts, so `gigavaultctl tls init` runs against a
# config file of the same paths (the daemon's own config names them too).

use strict;
use warnings;
use File::Temp ();
use File::Path qw(make_path);
use Time::HiRes qw(time sleep);
use Digest::SHA ();
use JSON::PP ();
use IO::Socket::INET;
use GV;
use GVClient;

our $OPENSSL = $ENV{GV_OPENSSL} || 'openssl';

# GVTLS->prepare(%o): a directory with a config for gigavaultctl; unless
# $o{init} is 0, `tls init --name localhost` has been run in it (dies when
# it fails).  Overrides in $o{conf} go into that config too.
sub prepare {
    my ($class, %o) = @_;
    my $d = File::Temp::tempdir('gv-tls-XXXXXX', TMPDIR => 1,
                                CLEANUP => !$ENV{GV_KEEP});
    chmod 0755, $d;
    my $self = bless {
        dir  => $d,
        cert => "$d/server.crt",
        key  => "$d/server.key",
        data => "$d/data",
        conf => "$d/ctl.conf",
    }, $class;
    $self->{ssl} = {
        'SSL.Certificate' => $self->{cert},
        'SSL.Key'         => $self->{key},
        DataDir           => $self->{data},
        %{ $o{conf} || {} },
    };
    $self->write_conf;
    if ($o{init} // 1) {
        my ($rc, $out, $err) = $self->ctl('tls', 'init', '--name', 'localhost');
        die "GVTLS: tls init: exit $rc: $err" if $rc != 0;
        $self->{init_out} = $out;
    }
    return $self;
}

sub dir  { $_[0]{dir} }
sub cert { $_[0]{cert} }
sub key  { $_[0]{key} }
sub data { $_[0]{data} }
sub conf { $_[0]{conf} }
sub init_out { $_[0]{init_out} }
sub overrides { %{ $_[0]{ssl} } }

# write_conf(%more): the config gigavaultctl reads (and -n checks).
sub write_conf {
    my ($self, %more) = @_;
    my $text = GV::make_conf(-dir => $self->{dir}, 'SSL.Enabled' => 1,
                             %{ $self->{ssl} }, %more);
    GVClient::_spit_bytes($self->{conf}, $text);
    return $text;
}

# ctl(@args): gigavaultctl -f the prepared config.
sub ctl {
    my ($self, @args) = @_;
    return GVClient::run_cmd([$GVClient::CTL, '-f', $self->{conf}, @args], {}, 30);
}

# start(%o): GV->start with SSL on and these files.
sub start {
    my ($self, %o) = @_;
    return GV->start('SSL.Enabled' => 1, %{ $self->{ssl} }, %o);
}

# "ab:cd:..." (32 bytes, hex with colons) from the output of tls init,
# tls show, register or pin.
sub fingerprint {
    my ($text) = @_;
    return undef unless defined $text;
    my ($fp) = $text =~ /\b((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})\b/;
    return defined $fp ? lc $fp : undef;
}

sub slurp { GV::_slurp($_[0]) }

# client($gv, $name, %o) -> ($cl, register's rc, out, err)
#   ssl => 1: SSL { Enabled = 1 } in client.conf
#   server => "127.0.0.1[:PORT]" (default "127.0.0.1": the port follows
#     from SSL and the Ports section, which names both of $gv's ports)
#   register => 0: only write client.conf (and init the key file)
#   args => [...]: extra arguments for register (e.g. '--ssl')
#   ssl_conf => "text": more lines in its SSL section (e.g. CAFile)
#   conf => "text": appended to client.conf
sub client {
    my ($gv, $name, %o) = @_;
    my $cl = GVClient->new($gv, $name, unregistered => 1);
    my $dir = $cl->dir;
    my $server = $o{server} // '127.0.0.1';
    my $text = sprintf(qq(Server = "%s"\nKeyFile = "%s/key"\nStateFile = "%s/state.json"\n)
                       . qq(Ports {\n\tBackupServer = %d\n\tSSLServer = %d\n}\n)
                       . qq(SSL {\n\tEnabled = %d\n%s}\n),
                       $server, $dir, $dir, $gv->port('BackupServer'),
                       $gv->port('SSLServer'), $o{ssl} ? 1 : 0,
                       defined $o{ssl_conf} ? "\t$o{ssl_conf}\n" : '');
    $text .= $o{conf} if defined $o{conf};
    GVClient::_spit_bytes($cl->{conf}, $text);
    my ($rc, $out, $err) = GVClient::ctl($gv, 'client', 'add', $name);
    die "GVTLS: gigavaultctl client add $name: $rc $err" if $rc != 0;
    ($cl->{token}) = $out =~ /\b([0-9a-f]{32,})\b/
        or die "GVTLS: no token in: $out";
    ($rc, $out, $err) = $cl->run('init');
    die "GVTLS: init: $rc $err" if $rc != 0;
    return ($cl, 0, '', '') if defined $o{register} && !$o{register};
    ($rc, $out, $err) = $cl->run('register', @{ $o{args} || [] }, '-s', $server,
                                 '--token', $cl->{token});
    return ($cl, $rc, $out, $err);
}

# state($cl): the client's state file, decoded (undef when unreadable).
sub state {
    my ($cl) = @_;
    my $t = GV::_slurp($cl->dir . '/state.json');
    return eval { JSON::PP->new->decode($t) };
}

# s_client($port, @opts) -> (exit status, stdout, stderr): openssl s_client
# -brief against 127.0.0.1:$port, stdin closed.
sub s_client {
    my ($port, @opts) = @_;
    return GVClient::run_cmd([$OPENSSL, 's_client', '-connect', "127.0.0.1:$port",
                              '-brief', @opts], {}, 20);
}

# The certificate the server at $port presents, as `openssl x509 -noout
# -serial -enddate -fingerprint -sha256` text (undef when none came).
sub peer_cert_info {
    my ($port) = @_;
    my ($rc, $out, $err) = GVClient::run_cmd(
        [$OPENSSL, 's_client', '-connect', "127.0.0.1:$port", '-showcerts'], {}, 20);
    my ($pem) = $out =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/s
        or return undef;
    return x509_info_pem($pem);
}

# x509 text of a PEM certificate (string) or file (x509_info_file).
sub x509_info_pem {
    my ($pem) = @_;
    my $d = GV::_scratch();
    my $f = "$d/peer.$$.pem";
    GVClient::_spit_bytes($f, "$pem\n");
    my $r = x509_info_file($f);
    unlink $f;
    return $r;
}

sub x509_info_file {
    my ($f) = @_;
    my ($rc, $out) = GVClient::run_cmd([$OPENSSL, 'x509', '-in', $f, '-noout',
                                        '-serial', '-enddate', '-subject'], {}, 20);
    return $rc == 0 ? $out : undef;
}

# reload_wait($gv, %overrides): rewrite the config, SIGHUP, and wait until
# the supervisor logged the outcome ("reloaded" or "reload failed") and
# the pool is the new generation only (no retiring worker left), so the
# next connection meets the new configuration.  Returns the log lines of
# this reload.
sub reload_wait {
    my ($gv, %o) = @_;
    my $re = qr/^.*(?:reloaded |reload failed).*$/m;
    my $before = () = $gv->log_text =~ /$re/g;
    my $off = length $gv->log_text;
    $gv->reload(%o);
    GV::wait_until(sub { my $n = () = $gv->log_text =~ /$re/g; $n > $before }, 10)
        or Test::More::diag('GVTLS: no reload logged within 10 s');
    GV::wait_until(sub {
        my $s = $gv->ready or return 0;
        return !grep { $_->{retiring} } @{ $s->{workers} || [] };
    }, 15) or Test::More::diag('GVTLS: the old generation did not go within 15 s');
    return substr($gv->log_text, $off);
}

# expired_cert($t, $out): a certificate for the key of $t, CN localhost,
# valid only 2020-01-01 .. 2020-01-02, written to $out (a file): made with
# `openssl ca -selfsign`, which takes explicit dates (OpenSSL 3.0's req
# and x509 do not).  Dies when openssl fails.
sub expired_cert {
    my ($self, $out) = @_;
    my $d = "$self->{dir}/expired-ca";
    make_path("$d/new");
    GVClient::_spit_bytes("$d/index.txt", '');
    GVClient::_spit_bytes("$d/serial", "01\n");
    GVClient::_spit_bytes("$d/ca.cnf", <<"CNF");
[ ca ]
default_ca = gvca
[ gvca ]
database = $d/index.txt
new_certs_dir = $d/new
serial = $d/serial
default_md = sha256
policy = gvpolicy
unique_subject = no
[ gvpolicy ]
commonName = supplied
CNF
    my ($rc, $o, $e) = openssl('req', '-new', '-key', $self->{key}, '-subj', '/CN=localhost',
                               '-out', "$d/req.csr");
    die "GVTLS: openssl req: $e" if $rc != 0;
    ($rc, $o, $e) = openssl('ca', '-batch', '-config', "$d/ca.cnf", '-selfsign',
                            '-keyfile', $self->{key}, '-in', "$d/req.csr", '-out', $out,
                            '-startdate', '20200101000000Z', '-enddate', '20200102000000Z',
                            '-notext');
    die "GVTLS: openssl ca: $e" if $rc != 0;
    return $out;
}

# pubkey_pin($file): SHA-256 of the DER public key of a PEM key or
# certificate, computed with openssl (independently of gigavault), as
# "ab:cd:...".
sub pubkey_pin {
    my ($file) = @_;
    my $d = GV::_scratch();
    my $der = "$d/pub.$$.der";
    my $is_cert = GV::_slurp($file) =~ /BEGIN CERTIFICATE/;
    my ($rc, $o, $e);
    if ($is_cert) {
        my $pem = "$d/pub.$$.pem";
        ($rc, $o, $e) = openssl('x509', '-in', $file, '-noout', '-pubkey', '-out', $pem);
        ($rc, $o, $e) = openssl('pkey', '-pubin', '-in', $pem, '-outform', 'DER', '-out', $der)
            if $rc == 0;
        unlink $pem;
    } else {
        ($rc, $o, $e) = openssl('pkey', '-in', $file, '-pubout', '-outform', 'DER', '-out', $der);
    }
    return undef if $rc != 0;
    my $h = Digest::SHA::sha256_hex(GV::_slurp($der));
    unlink $der;
    return join ':', $h =~ /(..)/g;
}

# openssl(@args) -> (exit status, stdout, stderr)
sub openssl {
    my (@args) = @_;
    return GVClient::run_cmd([$OPENSSL, @args], {}, 30);
}

# wait_listening($port, $timeout): true once 127.0.0.1:$port accepts.
sub wait_listening {
    my ($port, $timeout) = @_;
    return GV::wait_until(sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                      Proto => 'tcp', Timeout => 1) or return 0;
        close $s;
        1;
    }, $timeout // 10);
}

1;
