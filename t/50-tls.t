#!/usr/bin/perl
# TLS on Ports.SSLServer, what works:
#  - gigavaultctl tls init / tls show: key (0600) and certificate where
#    SSL.Key and SSL.Certificate say, the SHA-256 pin of the public key,
#    no silent replacement, --renew keeps the key, --force replaces it;
#    gigavaultd -n names a missing or mismatched file with file:line;
#  - with SSL on, a plain client on Ports.BackupServer and a TLS client
#    on Ports.SSLServer both register, back up and restore; register
#    pins the key `tls show` prints;
#  - what openssl s_client sees: TLS 1.3, TLS 1.2 with AEAD ciphers only,
#    TLS 1.1 refused (logged, the only worker free again);
#  - tls init --renew + SIGHUP: the new certificate is served and the
#    pinned client keeps working without pinning again;
#  - SSL.VerifyClient: register over TLS brings a client certificate;
#    without it (or over the plain port) no authentication.
# Errors (wrong port, timeouts, a changed or expired key, no fallback to
# plain, gigavault pin) are in 51-tls-errors.t.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use GV;
use GVClient;
use GVTLS;

plan skip_all => 'needs the openssl command (Debian package openssl)'
    unless (GVTLS::openssl('version'))[0] == 0;

my ($rc, $out, $err);
my $JSON = JSON::PP->new;

sub mode_of { (stat $_[0])[2] & 07777 }
sub nocolons { (my $x = $_[0] // '') =~ s/://g; lc $x }

# The peers (127.0.0.1:PORT) of the sessions that authenticated as $name,
# and of those that spoke TLS, from the daemon's log.
# A client's sessions, each named "PEER#N" (the Nth session from that
# address: ephemeral ports are reused), and the sessions that ran TLS.
sub sessions {
    my ($gv) = @_;
    my (%n, %tls, %auth);
    for (split /\n/, $gv->log_text) {
        if (/session from (127\.0\.0\.1:\d+) started/) { $n{$1}++ }
        elsif (/session from (127\.0\.0\.1:\d+): TLSv1\.[23] /) { $tls{"$1#" . ($n{$1} // 0)} = 1 }
        elsif (/(127\.0\.0\.1:\d+): authenticated as client (\S+)$/) {
            push @{ $auth{$2} }, "$1#" . ($n{$1} // 0);
        }
    }
    return (\%tls, \%auth);
}
sub auth_peers {
    my ($gv, $name) = @_;
    my (undef, $auth) = sessions($gv);
    return @{ $auth->{$name} // [] };
}
sub tls_peers {
    my ($gv) = @_;
    my ($tls) = sessions($gv);
    return $tls;
}

# ------------------------------------------------ 1. tls init / tls show
my $t = GVTLS->prepare(init => 0);
($rc, $out, $err) = $t->ctl('tls', 'init', '--name', 'localhost');
is($rc, 0, 'tls init exits 0') or diag($err);
ok(-f $t->key, 'tls init writes the key where SSL.Key says');
ok(-f $t->cert, '... and the certificate where SSL.Certificate says');
is(sprintf('%04o', mode_of($t->key)), '0600', 'the key is mode 0600');
like(GV::_slurp($t->cert), qr/^-----BEGIN CERTIFICATE-----/, 'the certificate is PEM');
my $fp = GVTLS::fingerprint($out);
ok($fp, 'tls init prints a fingerprint') or diag($out);
like($out, qr/SHA-256/, '... named SHA-256');
is($fp, GVTLS::pubkey_pin($t->key), '... the SHA-256 of the public key (as openssl computes it)');
is(GVTLS::pubkey_pin($t->cert), $fp, '... which is the key in the certificate');
ok(-f $t->data . '/tls/client-ca.crt' && -f $t->data . '/tls/client-ca.key',
   'the first tls init makes the client authority in DataDir/tls');
like(GVTLS::x509_info_file($t->cert) // '', qr/subject=CN ?= ?localhost/, '--name is the subject');

($rc, $out, $err) = $t->ctl('tls', 'show');
is($rc, 0, 'tls show exits 0') or diag($err);
is(GVTLS::fingerprint($out), $fp, 'tls show prints the same fingerprint');
($rc, $out, $err) = $t->ctl('tls', 'show', '--json');
my $j = eval { $JSON->decode($out) } || {};
is(lc($j->{fingerprint} // ''), $fp, 'tls show --json: the same fingerprint');
ok(defined $j->{expired} && !$j->{expired}, '... not expired');
like($j->{not_after} // '', qr/^\d{4}-\d\d-\d\dT/, '... with its end of validity');

my ($cert0, $key0) = (GV::_slurp($t->cert), GV::_slurp($t->key));
($rc, $out, $err) = $t->ctl('tls', 'init', '--name', 'localhost');
isnt($rc, 0, 'a second tls init without --renew or --force refuses');
like($err, qr/exists/, '... saying the file exists');
ok(GV::_slurp($t->cert) eq $cert0 && GV::_slurp($t->key) eq $key0, '... and changes neither file');

($rc, $out, $err) = $t->ctl('tls', 'init', '--renew', '--name', 'localhost');
is($rc, 0, 'tls init --renew exits 0') or diag($err);
is(GVTLS::fingerprint($out), $fp, '--renew keeps the key: same fingerprint');
is(GV::_slurp($t->key), $key0, '... the key file is untouched');
my $cert1 = GV::_slurp($t->cert);
isnt($cert1, $cert0, '... and the certificate is a new one');
is(GVTLS::pubkey_pin($t->cert), $fp, '... over the same key');

($rc, $out, $err) = $t->ctl('tls', 'init', '--renew', '--force');
isnt($rc, 0, '--renew with --force is refused');
is(GV::_slurp($t->cert), $cert1, '... changing nothing');

($rc, $out, $err) = $t->ctl('tls', 'init', '--force', '--name', 'localhost');
is($rc, 0, 'tls init --force exits 0') or diag($err);
my $fp2 = GVTLS::fingerprint($out);
ok($fp2 && $fp2 ne $fp, '--force makes a new key: another fingerprint');
isnt(GV::_slurp($t->key), $key0, '... a new key file');
is(sprintf('%04o', mode_of($t->key)), '0600', '... again mode 0600');
($rc, $out, $err) = $t->ctl('tls', 'show');
is(GVTLS::fingerprint($out), $fp2, 'tls show prints the new fingerprint');

# gigavaultd -n: missing and mismatched files, with file:line
{
    my $text = $t->write_conf('SSL.Certificate' => $t->dir . '/missing.crt');
    my ($st, $e, $file) = GV::run_check($text);
    my $line = GV::conf_line($text, 'Certificate');
    is($st, 2, 'gigavaultd -n, SSL on, certificate missing: exit 2');
    like($e, qr/\Q$file\E:$line: .*missing\.crt/, '... file:line of SSL.Certificate, naming the file');
    like($e, qr/gigavaultctl tls init/, '... and how to make one');

    SKIP: {
        # The default is under the configured sysconfdir (src/common/paths.h).
        my ($cd) = GV::_slurp("$GV::BUILDDIR/src/common/paths.h") =~ /GV_CONFDIR\s+"([^"]+)"/;
        skip "$cd/server.crt exists here", 2 if -e "$cd/server.crt";
        $text = $t->write_conf('SSL.Certificate' => undef);
        ($st, $e, $file) = GV::run_check($text);
        $line = GV::conf_line($text, 'Enabled');
        is($st, 2, 'SSL on, the default certificate missing: exit 2');
        like($e, qr/\Q$file\E:$line: .*gigavaultctl tls init/, '... file:line of SSL.Enabled, naming tls init');
    }

    my $other = $t->dir . '/other.key';
    my ($orc, undef, $oerr) = GVTLS::openssl('ecparam', '-name', 'prime256v1', '-genkey',
                                             '-noout', '-out', $other);
    is($orc, 0, 'openssl makes another key') or diag($oerr);
    $text = $t->write_conf('SSL.Key' => $other);
    ($st, $e, $file) = GV::run_check($text);
    is($st, 2, 'a key that does not match the certificate: exit 2');
    like($e, qr/\Q$file\E:\d+: SSL: .*\Q$other\E.*(does not belong|match)/,
         '... with file:line and a clear message') or diag($e);

    $text = $t->write_conf;
    ($st, $e) = GV::run_check($text);
    is($st, 0, 'the matching pair checks fine') or diag($e);
}

# ------------------------- 2. both ports: plain and TLS clients, end to end
my $gv = $t->start(Workers => 3, HandshakeTimeout => 2);
my ($sp, $bp) = ($gv->port('SSLServer'), $gv->port('BackupServer'));
ok(GVTLS::wait_listening($sp, 5), 'SSL on: the daemon listens on Ports.SSLServer');

my ($plain, $prc, $pout, $perr) = GVTLS::client($gv, 'plain');
is($prc, 0, 'a plain client registers on Ports.BackupServer') or diag($perr);
unlike($pout, qr/fingerprint/, '... no fingerprint for a plain registration');
ok(!exists((GVTLS::state($plain) || {})->{tls_pin}), '... and no tls_pin in its state');

my ($tc, $trc, $tout, $terr) = GVTLS::client($gv, 'tlsc', ssl => 1);
is($trc, 0, 'a TLS client (SSL.Enabled in client.conf) registers on Ports.SSLServer')
    or diag($terr);
is(GVTLS::fingerprint($tout), $fp2, '... it prints the fingerprint tls show prints') or diag($tout);
my $st = GVTLS::state($tc) || {};
is($st->{tls_pin}, nocolons($fp2), '... and keeps it as tls_pin in its state file');
ok(!-e $tc->dir . '/client.crt', '... no client certificate without VerifyClient');
ok(!-e $tc->dir . '/client.key', '... and no client key left behind');
like($gv->log_text, qr/registered client tlsc/, 'the daemon logs the registration');

my $src = $gv->dir . '/src';
make_path($src);
GVClient::make_tree($src);
for my $c ([$plain, 'plain'], [$tc, 'TLS']) {
    my ($cl, $what) = @$c;
    ($rc, $out, $err) = $cl->run('backup', $src);
    is($rc, 0, "$what client: backup exits 0") or diag($err);
    my $target = $gv->dir . '/restore-' . $cl->name;
    ($rc, $out, $err) = $cl->run('restore', '--target', $target, 'latest');
    is($rc, 0, "$what client: restore exits 0") or diag($err);
    my @diff = GVClient::compare_trees($src, "$target$src");
    is(scalar @diff, 0, "$what client: the restored tree is identical") or diag(join "\n", @diff);
}
{
    my $tls = tls_peers($gv);
    my @tp = auth_peers($gv, 'tlsc');
    my @pp = auth_peers($gv, 'plain');
    ok(@tp >= 2, 'the TLS client authenticated (backup, restore)');
    is(scalar(grep { !$tls->{$_} } @tp), 0, '... every one of its sessions over TLS')
        or diag("not TLS: @{[grep { !$tls->{$_} } @tp]}");
    ok(@pp >= 2, 'the plain client authenticated');
    is(scalar(grep { $tls->{$_} } @pp), 0, '... none of its sessions over TLS');
}

# --ssl on the command line instead of SSL.Enabled
{
    my ($fc, $frc, $fout, $ferr) = GVTLS::client($gv, 'flag', args => ['--ssl']);
    is($frc, 0, 'register --ssl (SSL off in client.conf) works') or diag($ferr);
    is(GVTLS::fingerprint($fout), $fp2, '... over TLS: it pins the key');
    ($rc, $out, $err) = $fc->run('--ssl', 'snapshots');
    is($rc, 0, 'gigavault --ssl snapshots works') or diag($err);
    my $tls = tls_peers($gv);
    my @fp = auth_peers($gv, 'flag');
    ok(@fp && $tls->{ $fp[-1] }, '... over TLS');
}
is($gv->stop, 0, 'daemon stops cleanly');

# ---------------------------------- 3. openssl s_client, Workers = 1
$gv = $t->start(Workers => 1, HandshakeTimeout => 2);
$sp = $gv->port('SSLServer');
my ($one, $orc, $oout, $oerr) = GVTLS::client($gv, 'one', ssl => 1);
is($orc, 0, 'a TLS client registers with the one-worker daemon') or diag($oerr);

($rc, $out, $err) = GVTLS::s_client($sp);
diag("openssl s_client -connect 127.0.0.1:PORT -brief </dev/null:\n$out$err");
is($rc, 0, 's_client connects') or diag($err);
like($err, qr/^CONNECTION ESTABLISHED$/m, '... CONNECTION ESTABLISHED');
like($err, qr/^Protocol version: TLSv1\.3$/m, '... TLSv1.3 by default');
like($err, qr/^Peer certificate: CN ?= ?localhost$/m, '... the certificate of tls init');

($rc, $out, $err) = GVTLS::s_client($sp, '-tls1_2');
diag("openssl s_client -tls1_2 ... -brief:\n$out$err");
is($rc, 0, 's_client -tls1_2 connects') or diag($err);
like($err, qr/^Protocol version: TLSv1\.2$/m, '... TLSv1.2');
like($err, qr/^Ciphersuite: \S*(GCM|CHACHA20)\S*$/m, '... with an AEAD cipher (GCM or CHACHA20)');
($rc, $out, $err) = GVTLS::s_client($sp, '-tls1_2', '-cipher', 'AES128-SHA:ECDHE-ECDSA-AES128-SHA');
isnt($rc, 0, 's_client -tls1_2 offering only CBC ciphers is refused');

my $logoff = length $gv->log_text;
($rc, $out, $err) = GVTLS::s_client($sp, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0');
isnt($rc, 0, 's_client -tls1_1 is refused') or diag($err);
unlike($err, qr/^CONNECTION ESTABLISHED/m, '... no connection established');
ok(GV::wait_until(sub { substr($gv->log_text, $logoff) =~ /TLS handshake failed: .*(1\.2|protocol)/ }, 5),
   '... and the server logs it') or diag(substr($gv->log_text, $logoff));
($rc, $out, $err) = $one->run('snapshots');
is($rc, 0, 'the only worker serves the next client') or diag($err);

# ------------------------ 5. tls init --renew --days 5, SIGHUP, still pinned
my $before = GVTLS::peer_cert_info($sp) // '';
like($before, qr/notAfter=/, 'the served certificate, before') or diag($before);
my $state0 = GV::_slurp($one->dir . '/state.json');
($rc, $out, $err) = $t->ctl('tls', 'init', '--renew', '--days', '5', '--name', 'localhost');
is($rc, 0, 'tls init --renew --days 5') or diag($err);
is(GVTLS::fingerprint($out), $fp2, '... same key');
my $want = GVTLS::x509_info_file($t->cert) // '';
my $rl = GVTLS::reload_wait($gv);
like($rl, qr/reloaded /, 'SIGHUP reloads') or diag($rl);
my $after = GVTLS::peer_cert_info($sp) // '';
is($after, $want, 'after SIGHUP the daemon serves the renewed certificate (serial, notAfter)')
    or diag("before:\n$before\nafter:\n$after");
isnt($after, $before, '... not the old one');
{
    my ($na) = $after =~ /notAfter=(.*)/;
    my ($rc2, $epoch) = GVClient::run_cmd(['date', '-u', '-d', $na // 'x', '+%s'], {}, 10);
    chomp $epoch;
    my $days = $rc2 == 0 ? ($epoch - time) / 86400 : -1;
    ok($days > 4.9 && $days <= 5.01, sprintf('... valid for 5 days (%.2f)', $days));
}
($rc, $out, $err) = $one->run('snapshots');
is($rc, 0, 'the pinned client keeps working without pinning again') or diag($err);
is(GV::_slurp($one->dir . '/state.json'), $state0, '... its state file unchanged');

# ------------------- SSL.CAFile: the chain and the name instead of the pin
($rc, $out, $err) = $t->ctl('tls', 'init', '--force', '--name', '127.0.0.1');
is($rc, 0, 'tls init --force --name 127.0.0.1') or diag($err);
my $fp3 = GVTLS::fingerprint($out);
like(GVTLS::x509_info_file($t->cert) // '', qr/subject=CN ?= ?127\.0\.0\.1/, '... the certificate names the address');
GVTLS::reload_wait($gv);
my $cafile = $gv->dir . '/trusted.crt';
GVClient::_spit_bytes($cafile, GV::_slurp($t->cert));
my ($ca, $carc, $caout, $caerr) = GVTLS::client($gv, 'cafile', ssl => 1,
                                                ssl_conf => qq(CAFile = "$cafile"));
is($carc, 0, 'a client with SSL.CAFile (the server certificate) registers') or diag($caerr);
is(GVTLS::fingerprint($caout), $fp3, '... and pins the key too');
($rc, $out, $err) = $ca->run('snapshots');
is($rc, 0, '... sessions verify the chain and the IP name') or diag($err);
($rc, $out, $err) = $t->ctl('tls', 'init', '--renew', '--name', 'wrong.example');
is($rc, 0, 'tls init --renew --name wrong.example (same key, another name)') or diag($err);
GVTLS::reload_wait($gv);
($rc, $out, $err) = $ca->run('snapshots');
isnt($rc, 0, 'the CAFile client refuses a certificate that does not name the server');
like($err, qr/certificate verify failed/, '... certificate verify failed') or diag($err);
my $foreign = GVTLS->prepare;
GVClient::_spit_bytes($cafile, GV::_slurp($foreign->cert));
($rc, $out, $err) = $ca->run('snapshots');
isnt($rc, 0, 'a CAFile that did not issue the server certificate: refused');
like($err, qr/certificate verify failed/, '... certificate verify failed') or diag($err);
is($gv->stop, 0, 'daemon stops cleanly');

# --------------------------------------------------- 7. SSL.VerifyClient
my $tv = GVTLS->prepare;
ok(-f $tv->data . '/tls/client-ca.crt', 'tls init made DataDir/tls/client-ca.crt');
$gv = $tv->start(Workers => 2, HandshakeTimeout => 2, 'SSL.VerifyClient' => 1);
my ($vc, $vrc, $vout, $verr) = GVTLS::client($gv, 'vc', ssl => 1);
is($vrc, 0, 'VerifyClient: register over TLS') or diag($verr);
my $ccert = $vc->dir . '/client.crt';
ok(-f $ccert, '... writes client.crt next to client.conf');
like($vout, qr/client certificate .*client\.crt.* issued/, '... and says so');
ok(-f $vc->dir . '/client.key', '... with its key, client.key');
is(sprintf('%04o', mode_of($vc->dir . '/client.key')), '0600', '... mode 0600');
{
    my ($r2, $o2, $e2) = GVTLS::openssl('verify', '-CAfile', $tv->data . '/tls/client-ca.crt', $ccert);
    is($r2, 0, '... the certificate verifies against the client authority') or diag($o2 . $e2);
    like(GVTLS::x509_info_file($ccert) // '', qr/subject=CN ?= ?vc$/m, '... issued to the client name');
    is(GVTLS::pubkey_pin($ccert), GVTLS::pubkey_pin($vc->dir . '/client.key'), '... for the key it made');
}
like($gv->log_text, qr/issued a client certificate to vc/, 'the daemon logs the issue');
my $vsrc = $gv->dir . '/vsrc';
make_path("$vsrc/d");
GVClient::_spit_bytes("$vsrc/d/f", GVClient::pseudo_bytes(300_000, 'vc'));
($rc, $out, $err) = $vc->run('backup', $vsrc);
is($rc, 0, 'VerifyClient: backup with the certificate works') or diag($err);
($rc, $out, $err) = $vc->run('restore', '--target', $gv->dir . '/vrestore', 'latest');
is($rc, 0, '... and restore') or diag($err);
is(scalar(GVClient::compare_trees($vsrc, $gv->dir . "/vrestore$vsrc")), 0, '... identical');

rename $ccert, "$ccert.away" or die;
($rc, $out, $err) = $vc->run('snapshots');
isnt($rc, 0, 'without its certificate file the client cannot authenticate');
like($err, qr/client certificate/, '... and the message names the client certificate') or diag($err);
rename "$ccert.away", $ccert or die;
($rc, $out, $err) = $vc->run('snapshots');
is($rc, 0, 'with the certificate back it works again') or diag($err);

my ($v2, $v2rc, undef, $v2err) = GVTLS::client($gv, 'vc2', ssl => 1);
is($v2rc, 0, 'a second client registers') or diag($v2err);
for my $f (qw(client.crt client.key)) {
    GVClient::_spit_bytes($vc->dir . "/$f.own", GV::_slurp($vc->dir . "/$f"));
    GVClient::_spit_bytes($vc->dir . "/$f", GV::_slurp($v2->dir . "/$f"));
}
chmod 0600, $vc->dir . '/client.key';
($rc, $out, $err) = $vc->run('snapshots');
isnt($rc, 0, "another client's certificate does not authenticate vc");
like($err, qr/client certificate/, '... said so') or diag($err);

my ($r3, undef, $e3) = GVTLS::openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', $vc->dir . '/client.key',
    '-out', $ccert, '-subj', '/CN=vc', '-days', '1');
is($r3, 0, 'openssl makes a self-signed certificate for CN=vc') or diag($e3);
my $off7 = length $gv->log_text;
($rc, $out, $err) = $vc->run('snapshots');
isnt($rc, 0, 'a certificate the client authority did not issue is refused');
ok(GV::wait_until(sub { substr($gv->log_text, $off7) =~ /TLS handshake failed: certificate verify failed/ }, 5),
   '... the server logs why');
like($err, qr/refused our certificate/, '... and the client says its certificate was refused') or diag($err);

my ($pv, $pvrc, undef, $pverr) = GVTLS::client($gv, 'plainvc');
is($pvrc, 0, 'VerifyClient: a plain client can still register') or diag($pverr);
ok(!-e $pv->dir . '/client.crt', '... but gets no certificate');
($rc, $out, $err) = $pv->run('snapshots');
isnt($rc, 0, '... and cannot authenticate over the plain port');
like($err, qr/client certificate/, '... told it needs a client certificate') or diag($err);
{
    my @p = auth_peers($gv, 'plainvc');
    is(scalar @p, 0, 'the daemon never logged it authenticated');
}
# The way forward for it: a new token for the same client, then register
# again over TLS (which issues the certificate).
{
    my ($r1, $o1, $e1) = GVClient::ctl($gv, 'client', 'token', 'nosuchclient');
    is($r1, 1, 'client token for an unknown client: exit 1');
    like($e1, qr/no client named/, '... says so') or diag($e1);
    ($r1, $o1, $e1) = GVClient::ctl($gv, 'client', 'add', 'plainvc');
    like($e1, qr/client token plainvc/, 'client add of an existing name points at client token') or diag($e1);
    ($r1, $o1, $e1) = GVClient::ctl($gv, 'client', 'token', 'plainvc');
    is($r1, 0, 'client token plainvc: a new token') or diag($e1);
    my ($tok) = $o1 =~ /\b([0-9a-f]{32})\b/;
    ok(defined $tok, '... printed');
    unlink $pv->dir . '/state.json' or die;
    ($rc, $out, $err) = $pv->run('--ssl', 'register', '-s', '127.0.0.1', '--token', $tok);
    is($rc, 0, '... plainvc registers again over TLS') or diag($err);
    ok(-f $pv->dir . '/client.crt', '... and gets its certificate');
    ($rc, $out, $err) = $pv->run('snapshots');
    is($rc, 0, '... and now authenticates') or diag($err);
}
is($gv->stop, 0, 'daemon stops cleanly');

done_testing;
