#!/usr/bin/perl
# TLS errors are errors, not hangs, and never a silent downgrade:
#  - a plain client on the TLS port and a TLS client on the plain port
#    each get a clear message (and the server logs it);
#  - a TCP connection to the TLS port that sends nothing (or half a
#    ClientHello) is dropped after HandshakeTimeout, and the only worker
#    serves the next client;
#  - a pinned client refuses a server whose certificate is expired, or
#    whose key changed (tls init --force + SIGHUP);
#  - gigavault pin: a wrong fingerprint changes nothing, the right one
#    pins, and a client registered without SSL can pin and go TLS;
#  - a client with SSL on never falls back to plain against a server
#    with SSL off;
#  - client.conf Ports and SSL sections are checked with file:line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use GV;
use GVClient;
use GVTLS;

plan skip_all => 'needs the openssl command (Debian package openssl)'
    unless (GVTLS::openssl('version'))[0] == 0;

my ($rc, $out, $err);
my $HT = 2;

sub nocolons { (my $x = $_[0] // '') =~ s/://g; lc $x }
sub log_since { substr($_[0]->log_text, $_[1]) }
sub authenticated_since {
    my ($gv, $off, $name) = @_;
    return log_since($gv, $off) =~ /authenticated as client \Q$name\E$/m;
}

my $t = GVTLS->prepare;
my ($fp) = GVTLS::fingerprint(($t->ctl('tls', 'show'))[1]);
my $gv = $t->start(Workers => 1, HandshakeTimeout => $HT);
my ($sp, $bp) = ($gv->port('SSLServer'), $gv->port('BackupServer'));

my ($plain, $prc, undef, $perr) = GVTLS::client($gv, 'plain');
is($prc, 0, 'a plain client registers') or diag($perr);
my ($tc, $trc, $tout, $terr) = GVTLS::client($gv, 'tlsc', ssl => 1);
is($trc, 0, 'a TLS client registers') or diag($terr);
is(GVTLS::fingerprint($tout), $fp, '... pinning the key tls show prints');
my $state = $tc->dir . '/state.json';

# ------------------------------------------------------- wrong ports
{
    my $t0 = time;
    ($rc, $out, $err) = $plain->run('-s', "127.0.0.1:$sp", 'snapshots');
    isnt($rc, 0, 'a plain client on the TLS port fails');
    like($err, qr/this is the TLS port/, '... told "this is the TLS port"') or diag($err);
    like($err, qr/\b$bp\b/, '... and which port is the plain one');
    ok(time - $t0 < $HT + 1, '... at once, not after a timeout');

    my $off = length $gv->log_text;
    $t0 = time;
    ($rc, $out, $err) = $tc->run('--ssl', '-s', "127.0.0.1:$bp", 'snapshots');
    isnt($rc, 0, 'a TLS client (--ssl -s host:BACKUPPORT) on the plain port fails');
    like($err, qr/does not speak TLS/, '... told the peer does not speak TLS') or diag($err);
    ok(time - $t0 < $HT + 1, '... at once');
    ok(GV::wait_until(sub { log_since($gv, $off) =~ /TLS handshake on the plain port/ }, 5),
       'the server log names a TLS handshake on the plain port') or diag(log_since($gv, $off));

    my ($rc2, undef, undef, $e2) = GVTLS::client($gv, 'wrongport', args => ['--ssl'],
                                                 server => "127.0.0.1:$bp");
    isnt($rc2, 0, 'register --ssl on the plain port fails');
    like($e2, qr/does not speak TLS/, '... said so') or diag($e2);
}

# ------------------------------------------------- handshake timeouts
for my $case (['sends nothing', ''], ['sends half a ClientHello', "\x16\x03\x01\x00"]) {
    my ($what, $bytes) = @$case;
    my $off = length $gv->log_text;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $sp, Proto => 'tcp',
                                  Timeout => 5);
    ok($s, "raw TCP connection to the TLS port that $what") or next;
    GV::send_raw($s, $bytes) if length $bytes;
    my $t0 = time;
    my $closed = wait_closed($s, $HT + 4);
    my $dt = time - $t0;
    ok($closed, sprintf('... is closed by the server (after %.1f s)', $dt));
    ok($dt < $HT + 2, "... within HandshakeTimeout ($HT s) + 2 s");
    ok($dt > $HT - 1, '... not at once');
    ok(GV::wait_until(sub { log_since($gv, $off) =~ /TLS handshake timeout/ }, 5),
       '... the server logs "TLS handshake timeout"') or diag(log_since($gv, $off));
    close $s;
    ($rc, $out, $err) = $tc->run('snapshots');
    is($rc, 0, '... and the only worker serves the next client') or diag($err);
}

# ------------------------------------------------ an expired certificate
{
    my $good = GV::_slurp($t->cert);
    my $exp = $t->dir . '/expired.crt';
    GVTLS::expired_cert($t, $exp);
    like(GVTLS::x509_info_file($exp) // '', qr/notAfter=Jan  2 00:00:00 2020 GMT/,
         'openssl made a certificate that ended in 2020');
    is(GVTLS::pubkey_pin($exp), $fp, '... over the same key');
    GVClient::_spit_bytes($t->cert, GV::_slurp($exp));
    ($rc, $out, $err) = $t->ctl('tls', 'show');
    isnt($rc, 0, 'tls show: exit status says expired');
    like($out, qr/EXPIRED/, '... and so does its output');
    my $rl = GVTLS::reload_wait($gv);
    like($rl, qr/outside its validity period/, 'SIGHUP: the daemon warns about it') or diag($rl);
    my $off = length $gv->log_text;
    ($rc, $out, $err) = $tc->run('snapshots');
    isnt($rc, 0, 'the pinned client refuses an expired certificate');
    like($err, qr/validity period/, '... "outside its validity period"') or diag($err);
    ok(!authenticated_since($gv, $off, 'tlsc'), '... before authenticating');

    ($rc, $out, $err) = $t->ctl('tls', 'init', '--renew', '--name', 'localhost');
    is($rc, 0, 'tls init --renew replaces the expired certificate') or diag($err);
    GVTLS::reload_wait($gv);
    ($rc, $out, $err) = $tc->run('snapshots');
    is($rc, 0, '... and after SIGHUP the pinned client works again') or diag($err);
}

# ------------------------------------- a new key: refused, then pinned
my $state0 = GV::_slurp($state);
($rc, $out, $err) = $t->ctl('tls', 'init', '--force', '--name', 'localhost');
is($rc, 0, 'tls init --force') or diag($err);
my $fp2 = GVTLS::fingerprint($out);
ok($fp2 && $fp2 ne $fp, '... a new fingerprint');
GVTLS::reload_wait($gv);
{
    my $off = length $gv->log_text;
    ($rc, $out, $err) = $tc->run('snapshots');
    isnt($rc, 0, 'after --force and SIGHUP the pinned client refuses the server');
    like($err, qr/server certificate changed/, '... "server certificate changed"') or diag($err);
    like($err, qr/\Q@{[uc $fp]}\E.*\Q@{[uc $fp2]}\E/s, '... naming the pinned and the presented key');
    ok(!authenticated_since($gv, $off, 'tlsc'), '... and never authenticates');
    ($rc, $out, $err) = $tc->run('backup', $t->dir);
    isnt($rc, 0, 'backup refuses too');
    is(GV::_slurp($state), $state0, 'the state file is unchanged');
}

# gigavault pin
(my $wrong = $fp2) =~ s/^(..)/$1 eq '00' ? '01' : '00'/e;
($rc, $out, $err) = $tc->run('pin', '--fingerprint', $wrong);
isnt($rc, 0, 'pin --fingerprint WRONG exits nonzero');
like($err, qr/not pinned/, '... "not pinned"') or diag($err);
is(GV::_slurp($state), $state0, '... and does not change the state file');
($rc, $out, $err) = $tc->run('pin', '--fingerprint', 'nonsense');
isnt($rc, 0, 'pin --fingerprint nonsense exits nonzero');
is(GV::_slurp($state), $state0, '... state unchanged');
($rc, $out, $err) = $tc->run('pin');
isnt($rc, 0, 'pin without --fingerprint and without a terminal does not pin');
is(GV::_slurp($state), $state0, '... state unchanged');
is(GVTLS::fingerprint($out), $fp2, '... but shows the fingerprint to compare');

($rc, $out, $err) = $tc->run('pin', '--fingerprint', nocolons($fp2));
is($rc, 0, 'pin --fingerprint without colons pins') or diag($err);
GVClient::_spit_bytes($state, $state0);    # whatever the TODO did
chmod 0600, $state;

($rc, $out, $err) = $tc->run('pin', '--fingerprint', uc $fp2);
is($rc, 0, 'pin --fingerprint RIGHT (as tls init prints it) exits 0') or diag($err);
like($out, qr/pinned in/, '... "pinned in" the state file');
is((GVTLS::state($tc) || {})->{tls_pin}, nocolons($fp2), '... tls_pin is the new key');
($rc, $out, $err) = $tc->run('snapshots');
is($rc, 0, 'sessions work again') or diag($err);

# pin checks the server id: another server's key is not pinned.
{
    my $t2 = GVTLS->prepare;
    my $gv2 = $t2->start(Workers => 1);
    my $fpo = GVTLS::fingerprint(($t2->ctl('tls', 'show'))[1]);
    my $s0 = GV::_slurp($state);
    ($rc, $out, $err) = $tc->run('pin', '-s', '127.0.0.1:' . $gv2->port('SSLServer'),
                                 '--fingerprint', $fpo);
    isnt($rc, 0, 'pin against another server (its own right fingerprint) refuses');
    like($err, qr/server id changed/, '... the server id changed') or diag($err);
    is(GV::_slurp($state), $s0, '... state unchanged');
    is($gv2->stop, 0, 'the other daemon stops cleanly');
}

# A client registered without SSL pins and then goes TLS.
{
    ($rc, $out, $err) = $plain->run('--ssl', 'snapshots');
    isnt($rc, 0, 'a plain-registered client with --ssl and no pin refuses');
    like($err, qr/no server key is pinned/, '... saying no key is pinned') or diag($err);
    ($rc, $out, $err) = $plain->run('pin', '--fingerprint', $fp2);
    is($rc, 0, 'gigavault pin (plain-registered client) pins the key') or diag($err);
    my $off = length $gv->log_text;
    ($rc, $out, $err) = $plain->run('--ssl', 'snapshots');
    is($rc, 0, '... and --ssl sessions work') or diag($err);
    ok(log_since($gv, $off) =~ /session from (127\.0\.0\.1:\d+): TLSv1\.3 .*\n(?:.*\n)*?.*\1: authenticated as client plain$/m,
       '... over TLS');
    $off = length $gv->log_text;
    ($rc, $out, $err) = $plain->run('snapshots');
    is($rc, 0, '... and without --ssl too') or diag($err);
    ok(log_since($gv, $off) =~ /session from (127\.0\.0\.1:\d+): TLSv1\.3 .*\n(?:.*\n)*?.*\1: authenticated as client plain$/m,
       '... also over TLS: a pinned key means TLS from then on');
}

# ------------------------- SSL on in the client, off in the server: no fallback
{
    my $rl = GVTLS::reload_wait($gv, 'SSL.Enabled' => 0);
    like($rl, qr/reloaded /, 'SIGHUP with SSL.Enabled = 0');
    ok(GV::wait_until(sub {
        !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $sp, Proto => 'tcp',
                               Timeout => 1) }, 5),
       '... the TLS port is closed');
    my $off = length $gv->log_text;
    ($rc, $out, $err) = $tc->run('snapshots');
    isnt($rc, 0, 'a TLS client against a server with SSL off fails (its SSLServer port)');
    like($err, qr/\b$sp\b/, '... naming the port') or diag($err);
    ($rc, $out, $err) = $tc->run('-s', "127.0.0.1:$bp", 'snapshots');
    isnt($rc, 0, '... and on the plain port fails too');
    like($err, qr/TLS/, '... with a TLS error') or diag($err);
    ($rc, $out, $err) = $tc->run('-s', "127.0.0.1:$bp", 'backup', $t->dir);
    isnt($rc, 0, '... backup as well');
    ok(GV::wait_until(sub { log_since($gv, $off) =~ /SSL is not enabled on this server/ }, 5),
       'the server logs a TLS handshake on its plain port');
    ok(!authenticated_since($gv, $off, 'tlsc'), 'the server never authenticated the TLS client');

    my ($nc, $nrc, undef, $nerr) = GVTLS::client($gv, 'late', ssl => 1);
    isnt($nrc, 0, 'register with SSL on against a server with SSL off fails');
    ok(!-e $nc->dir . '/state.json', '... and writes no state');
    ($nc, $nrc, undef, $nerr) = GVTLS::client($gv, 'late2', ssl => 1, server => "127.0.0.1:$bp");
    isnt($nrc, 0, '... also on its plain port');
    like($nerr, qr/does not speak TLS/, '... the peer does not speak TLS') or diag($nerr);
    ok(!-e $nc->dir . '/state.json', '... no state');
    my $conf = GV::_slurp($nc->{conf});
    $conf =~ s/Enabled = 1/Enabled = 0/ or die;
    GVClient::_spit_bytes($nc->{conf}, $conf);
    ($rc, $out, $err) = $nc->run('register', '-s', '127.0.0.1', '--token', $nc->{token});
    is($rc, 0, 'the token was not spent: register without SSL works with it') or diag($err);
    ($rc, $out, $err) = $plain->run('snapshots');
    isnt($rc, 0, 'the client that pinned a key does not fall back to plain either');
    ($rc, $out, $err) = $nc->run('snapshots');
    is($rc, 0, 'a client registered without SSL still works on the plain port') or diag($err);
}
is($gv->stop, 0, 'daemon stops cleanly');

# --------------------------------------------- client.conf: Ports and SSL
{
    my $dir = GV::_scratch() . '/clientconf';
    mkdir $dir;
    my $n = 0;
    my $check = sub {
        my ($text, $re, $what) = @_;
        my $f = "$dir/c" . ++$n . '.conf';
        GVClient::_spit_bytes($f, $text);
        my ($r, $o, $e) = GVClient::run_cmd([$GVClient::CLIENT, '-c', $f, 'snapshots'], {}, 30);
        is($r, 2, "client.conf $what: exit 2");
        like($e, $re, '... with file:line') or diag($e);
    };
    $check->("Server = \"127.0.0.1\"\nPorts {\n\tSSLServer = 0\n}\n",
             qr/c1\.conf:3: SSLServer = 0 is out of range 1\.\.65535/, 'Ports.SSLServer = 0');
    $check->("Ports {\n\tBackupServer = 70000\n}\n",
             qr/c2\.conf:2: BackupServer = 70000 is out of range/, 'Ports.BackupServer = 70000');
    $check->("\nSSL {\n\tEnabled = 2\n}\n",
             qr/c3\.conf:3: Enabled = 2 is out of range 0\.\.1/, 'SSL.Enabled = 2');
    $check->("SSL {\n\tBogus = 1\n}\n", qr/c4\.conf:2: .*Bogus/, 'an unknown SSL option');
}

done_testing;
