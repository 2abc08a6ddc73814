#!/usr/bin/perl
# Enrollment and authentication on the backup port: a token from
# gigavaultctl registers once; AUTH/CHALLENGE/PROOF accepts the right
# secret only, refuses a disabled client (ERROR 7), and backup frames
# before AUTH_OK get ERROR 8.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

my $gv = GV->start(Workers => 2);

my $token = $gv->add_client('alice');
like($token, qr/^[0-9a-f]{32}$/, 'client add prints a 32-hex-digit token');

# register with the token
my ($c, $h) = $gv->session;
is($h->{type}, T_SERVER_HELLO, 'hello');
my ($name, $secret) = proto_register($c, $token);
is($name, 'alice', 'REGISTERED names the client');
is(length($secret // ''), 32, 'REGISTERED carries a 32-byte secret');

# the same session may authenticate right away
my $f = proto_auth($c, 'alice', $secret, $h->{id_raw});
is($f->{type}, T_AUTH_OK, 'AUTH with the new secret: AUTH_OK');
ok(ping($c, 'after-auth'), 'session still serves after AUTH_OK');
close $c;

# the token is used up
($c, $h) = $gv->session;
$f = proto_register($c, $token);
is($f->{type}, T_ERROR, 'second REGISTER with the same token refused');
is($f->{code}, E_AUTH, '... with ERROR 7');
like($f->{message}, qr/token/, "... saying why: '$f->{message}'");
ok(wait_closed($c), '... and the server closes');

# a token never issued
($c, $h) = $gv->session;
$f = proto_register($c, 'f' x 32);
is($f->{code}, E_AUTH, 'unknown token: ERROR 7');
close $c;

# a new session authenticates with the secret
$c = $gv->login('alice', $secret);
ok($c, 'login with the right secret') or diag explain $GV::LAST_LOGIN;
close $c if $c;

# wrong secret
$c = $gv->login('alice', "\0" x 32);
ok(!$c, 'wrong secret refused');
is($GV::LAST_LOGIN->{code}, E_AUTH, '... with ERROR 7');

# unknown client gets a challenge too, then ERROR 7
($c, $h) = $gv->session;
send_frame($c, T_AUTH, pack('n/a*', 'mallory'));
$f = recv_frame($c);
is($f->{type}, T_CHALLENGE, 'unknown client: still a CHALLENGE (no name oracle)');
send_frame($c, T_PROOF, "\1" x 32);
$f = recv_frame($c);
is($f->{code}, E_AUTH, 'unknown client: ERROR 7 after PROOF');
close $c;

# a name with bytes that must not reach the log raw
($c, $h) = $gv->session;
$f = proto_auth($c, "ev\e[31mil\n", "\0" x 32, $h->{id_raw});
is($f->{code}, E_AUTH, 'name with control bytes: ERROR 7');
close $c;

# proof of the wrong length
($c, $h) = $gv->session;
send_frame($c, T_AUTH, pack('n/a*', 'alice'));
recv_frame($c);
send_frame($c, T_PROOF, "x" x 31);
$f = recv_frame($c);
is($f->{code}, E_MALFORMED, 'PROOF of 31 bytes: ERROR 1');
close $c;

# PROOF without AUTH
($c, $h) = $gv->session;
send_frame($c, T_PROOF, "x" x 32);
$f = recv_frame($c);
is($f->{code}, E_UNKNOWN_TYPE, 'PROOF without AUTH: ERROR 3');
close $c;

# backup frames before AUTH_OK: ERROR 8, decided from the header
for my $t ([HAVE => T_HAVE], [PUT => T_PUT], [REFS => T_REFS],
           [COMMIT => T_COMMIT], [LIST => T_LIST], [GET => T_GET]) {
    ($c, $h) = $gv->session;
    # announce a big payload but send only the header: the server must
    # refuse without waiting for it
    GV::send_raw($c, pack('N n n', 60000, $t->[1], 0));
    $f = recv_frame($c, 5);
    is($f->{code}, E_NOT_AUTHED, "$t->[0] before AUTH_OK: ERROR 8 without reading the payload");
    close $c;
}

# disabled client
my ($st, $out, $err) = $gv->ctl('client', 'disable', 'alice');
is($st, 0, 'client disable: exit 0') or diag $err;
$c = $gv->login('alice', $secret);
ok(!$c, 'disabled client cannot log in');
is($GV::LAST_LOGIN->{code}, E_AUTH, '... ERROR 7');
like($GV::LAST_LOGIN->{message}, qr/disabled/, '... saying it is disabled');

# a disabled client's token cannot be used either
my $tok2 = $gv->add_client('bob');
$gv->ctl('client', 'disable', 'bob');
($c, $h) = $gv->session;
$f = proto_register($c, $tok2);
is($f->{code}, E_AUTH, 'REGISTER of a disabled client: ERROR 7');
close $c;
$gv->ctl('client', 'enable', 'bob');
($c, $h) = $gv->session;
my ($n2, $s2) = proto_register($c, $tok2);
is($n2, 'bob', 'after enable, the token still works');
close $c;

($st) = $gv->ctl('client', 'enable', 'alice');
is($st, 0, 'client enable: exit 0');
$c = $gv->login('alice', $secret);
ok($c, 're-enabled client logs in');
close $c if $c;

# removed client: its secret no longer works
($st) = $gv->ctl('client', 'remove', 'bob');
is($st, 0, 'client remove: exit 0');
ok(!$gv->login('bob', $s2), 'removed client cannot log in');

my $log = $gv->log_text;
like($log, qr/authentication failed/, 'failures are logged');
like($log, qr/claims client alice/, 'the log names the client and peer');
unlike($log, qr/\e/, 'no raw escape bytes in the log');
is($gv->stop, 0, 'clean stop');
done_testing;
