#!/usr/bin/perl
# The console's users (doc/webconsole.md, "Administrators"), through the
# HTTP API, the UI bridge and gigavaultctl:
#  - roles: an admins file from before roles keeps everyone an
#    administrator; gigavaultctl admin add/role/list with --role; the
#    session says the role;
#  - a read-only operator's write is refused with 403 for EVERY request
#    of uiapi.c's requests[] with write=1 (the rows are read from the
#    source, so a request added later is covered), over the UI bridge
#    (logged in by the peer-login challenge) and over HTTP; its reads
#    answer;
#  - the Administrators requests: list, add, role, password (own with the
#    current one; another's as an administrator only), remove; the last
#    administrator cannot be demoted or removed; CSRF on each;
#  - the console certificate's subjectAltNames (WebConsole.CertNames and
#    the defaults), checked by openssl and curl verifying the name.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use JSON::PP ();
use GV;
use GVClient;

plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
plan skip_all => 'needs python3 (hashlib.scrypt for the bridge login)'
    unless system('python3 -c "import hashlib; hashlib.scrypt" 2>/dev/null') == 0;
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my $J = JSON::PP->new->canonical;

sub rdesc {
    my ($r) = @_;
    return sprintf('got %s, body: %s', $r->{status}, substr($r->{body} // '', 0, 300));
}

sub status_is {
    my ($r, $want, $name) = @_;
    return is($r->{status}, $want, $name) || diag(rdesc($r)) && 0;
}

# log in over HTTP: (cookie, csrf, session JSON)
sub login {
    my ($gv, $user, $pw) = @_;
    my $r = $gv->web(POST => '/api/login', json => { user => $user, password => $pw });
    my ($cookie) = GV::session_cookie($r);
    return ($cookie, $r->{json}{csrf}, $r->{json}, $r);
}

# the UI bridge's peer login: challenge, scrypt, HMAC proof -> token
sub bridge_login {
    my ($gv, $sock, $user, $pw, @code) = @_;
    my ($ch) = $gv->ui_request($sock, { request => 'login_challenge', user => $user });
    return unless $ch && $ch->{nonce};
    my $py = <<'PY';
import hashlib, hmac, sys
pw, salt, n, r, p, nonce, sid = sys.argv[1:8]
key = hashlib.scrypt(pw.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                     p=int(p), maxmem=256 * 1024 * 1024, dklen=32)
print(hmac.new(key, (nonce + sid).encode(), hashlib.sha256).hexdigest())
PY
    open my $fh, '-|', 'python3', '-c', $py, $pw, @{$ch}{qw(salt N r p nonce server_id)}
        or return;
    my $proof = <$fh>;
    close $fh;
    chomp $proof;
    my ($l) = $gv->ui_request($sock, { request => 'login', user => $user,
                                       nonce => $ch->{nonce}, proof => $proof, @code }, 10);
    return wantarray ? ($l && $l->{token}, $l) : $l && $l->{token};
}

# the rows of uiapi.c's requests[]: [name, level, write] (write 0, 1 or
# QUEUES: a read for the roles that writes the catalog)
sub request_rows {
    my $src = GV::_slurp("$GV::SRCDIR/src/server/uiapi.c");
    my ($table) = $src =~ /\}\s*requests\[\]\s*=\s*\{(.*?)\n\};/s
        or return;
    my @rows;
    while ($table =~ /\{\s*"([a-z_]+)",\s*(UI_[A-Z]+),\s*([01]|QUEUES),\s*\w+\s*\}/g) {
        push @rows, [$1, $2, $3];
    }
    return @rows;
}


# RFC 6238 (SHA-1, 6 digits, 30 s) of a base32 secret at Unix time $t,
# computed by Python's hmac, not by the daemon's liboath
sub totp_code {
    my ($b32, $t) = @_;
    my $py = 'import base64,hmac,hashlib,struct,sys
s=sys.argv[1]; s+="="*(-len(s)%8)
k=base64.b32decode(s); c=int(sys.argv[2])//30
h=hmac.new(k,struct.pack(">Q",c),hashlib.sha1).digest(); o=h[-1]&15
print("%06d"%((struct.unpack(">I",h[o:o+4])[0]&0x7fffffff)%1000000))';
    open my $fh, '-|', 'python3', '-c', $py, $b32, int($t) or return '';
    my $c = <$fh>;
    close $fh;
    chomp $c;
    return $c;
}

my $tmp = File::Temp::tempdir('gv-admins-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{GV_KEEP});

my $gv = GV->start(GV::web_opts(Workers => 1));
ok($gv->wait_web(15), 'the console answers') or do { $gv->diag_logs; done_testing; exit };
my $admins = $gv->cfg->{Server}{DataDir} . '/admins';

# ------------------------------------------------------------ the file and gigavaultctl
{
    # a new user's line has every field and its random id
    $gv->add_admin('root1', 'root1-password');
    my $line = GV::_slurp($admins);
    like($line, qr/^root1:scrypt:\d+:\d+:\d+:[0-9a-f]{32}:[0-9a-f]{64}:\d+:admin::0:[0-9a-f]{16}\n\z/,
         'a new administrator is written with every field and its id (12 fields)');
    my ($st, $out, $err) = $gv->ctl_input("oper1-password\n", 'admin', 'add', '--role=operator', 'oper1');
    is($st, 0, 'gigavaultctl admin add --role=operator') or diag $err;
    like(GV::_slurp($admins), qr/^oper1:scrypt:.*:\d+:operator::0:[0-9a-f]{16}$/m, '... written with the role');
    ($st, $out, $err) = $gv->ctl('admin', 'list', '--json');
    my $l = eval { $J->decode($out) } || [];
    is_deeply([map { "$_->{name}=$_->{role}" } @$l], ['root1=admin', 'oper1=operator'],
              'admin list --json shows the roles');
    ($st, $out, $err) = $gv->ctl('admin', 'list');
    like($out, qr/^oper1\s+operator\s+password set/m, 'admin list shows the roles');
    ($st, $out, $err) = $gv->ctl('admin', 'role', '--role=operator', 'root1');
    isnt($st, 0, 'admin role: the last administrator cannot be demoted');
    like($err, qr/last administrator/, '... and says why');
    ($st, $out, $err) = $gv->ctl('admin', 'remove', 'root1');
    isnt($st, 0, 'admin remove: nor removed while an operator remains');
    ($st, $out, $err) = $gv->ctl('admin', 'role', '--role=boss', 'oper1');
    isnt($st, 0, 'admin role --role=boss is refused');
    ($st, $out, $err) = $gv->ctl_input("x\n", 'admin', 'passwd', '--role=admin', 'oper1');
    isnt($st, 0, 'admin passwd with a short password is refused');
}

# ------------------------------------------------------------ sessions
my ($acookie, $acsrf, $asess) = login($gv, 'root1', 'root1-password');
ok($acookie, 'the administrator logs in');
is($asess->{role}, 'admin', '... the session says role "admin"');
my ($ocookie, $ocsrf, $osess) = login($gv, 'oper1', 'oper1-password');
ok($ocookie, 'the operator logs in');
is($osess->{role}, 'operator', '... the session says role "operator"');
{
    my $r = $gv->web(GET => '/api/session', cookie => $ocookie);
    is($r->{json}{role}, 'operator', 'GET /api/session says the role');
}

# ------------------------------------------------------------ every write refused to an operator
my @rows = request_rows();
my @writes = grep { $_->[2] eq '1' && $_->[1] ne 'UI_SELF' } @rows;
ok(@rows >= 20 && (grep { $_->[0] eq 'client_add' } @writes) &&
   (grep { $_->[0] eq 'admin_add' } @writes),
   sprintf('uiapi.c\'s requests[] read: %d rows, %d writes', scalar @rows, scalar @writes))
    or diag('rows: ' . join(' ', map { $_->[0] } @rows));
{
    my $u = $gv->ui_connect;
    my $otok = bridge_login($gv, $u, 'oper1', 'oper1-password');
    ok($otok, 'the operator logs in over the UI bridge (challenge and proof)');
    my @bad;
    for my $w (@writes) {
        my ($d) = $gv->ui_request($u, { request => $w->[0], token => $otok, id => $w->[0] }, 10);
        push @bad, "$w->[0]: " . ($d ? $J->encode($d) : 'no answer')
            unless $d && ($d->{code} // 0) == 403 && ($d->{error} // '') =~ /read-only operator/;
    }
    ok(!@bad, sprintf('bridge: each of the %d write requests is refused to the operator with 403',
                      scalar @writes)) or diag(join "\n", @bad);
    # client_browse queues a request (QUEUES: the lease applies) but is
    # a read for the roles; client_answer only reads
    my %w = map { $_->[0] => $_->[2] } @rows;
    ok(($w{client_browse} // '') eq 'QUEUES' && ($w{client_answer} // '') eq '0',
       'client_browse is a QUEUES row, client_answer a read') or diag(explain(\%w));
    my ($b) = $gv->ui_request($u, { request => 'client_browse', token => $otok,
                                    name => 'nobody', snapshot => 1 }, 10);
    is($b && $b->{code}, 404, 'bridge: the operator may browse (404: no such client, not 403)')
        or diag($J->encode($b // {}));
    my @reads = grep { $_->[2] ne '1' && $_->[1] eq 'UI_ADMIN' } @rows;
    my ($d) = $gv->ui_request($u, { request => 'clients', token => $otok }, 10);
    ok($d && !defined $d->{code} && ref $d->{clients} eq 'ARRAY',
       'bridge: the operator reads clients') or diag($J->encode($d // {}));
    ($d) = $gv->ui_request($u, { request => 'admins', token => $otok }, 10);
    is($d && $d->{code}, 403, 'bridge: the operator may not list the administrators (UI_MANAGE)');
    my $atok = bridge_login($gv, $u, 'root1', 'root1-password');
    ($d) = $gv->ui_request($u, { request => 'client_add', name => 'bridge-made',
                                 token => $atok }, 10);
    ok($d && ($d->{code} // 0) == 201 && $d->{token}, 'bridge: the administrator adds a client (201)')
        or diag($J->encode($d // {}));
    close $u;
}
{
    my $r = $gv->web(POST => '/api/clients', json => { name => 'op-client' },
                     cookie => $ocookie, csrf => $ocsrf);
    status_is($r, 403, 'HTTP: the operator\'s POST /api/clients is 403');
    like($r->{json}{error} // '', qr/administrator role/, '... with a clear error');
    $r = $gv->web(POST => '/api/housekeeping/prune', json => {}, cookie => $ocookie, csrf => $ocsrf);
    status_is($r, 403, 'HTTP: the operator\'s prune start is 403');
    $r = $gv->web(DELETE => '/api/clients/bridge-made', cookie => $ocookie, csrf => $ocsrf);
    status_is($r, 403, 'HTTP: the operator\'s client removal is 403');
    $r = $gv->web(GET => '/api/clients', cookie => $ocookie);
    status_is($r, 200, 'HTTP: the operator reads the clients');
    ok((grep { $_->{name} eq 'bridge-made' } @{ $r->{json}{clients} || [] }),
       '... the client is still there');
    $r = $gv->web(GET => '/api/dashboard', cookie => $ocookie);
    status_is($r, 200, 'HTTP: the operator reads the dashboard');
    $r = $gv->web(POST => '/api/clients', json => { name => 'adm-client' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 201, 'HTTP: the administrator adds a client');
}

# ------------------------------------------------------------ the Administrators requests
{
    my $r = $gv->web(GET => '/api/admins', cookie => $acookie);
    status_is($r, 200, 'GET /api/admins as an administrator');
    is_deeply([map { "$_->{name}=$_->{role}" . ($_->{you} ? '*' : '') } @{ $r->{json}{admins} || [] }],
              ['root1=admin*', 'oper1=operator'], '... lists both, with roles, "you" marked');
    $r = $gv->web(GET => '/api/admins', cookie => $ocookie);
    status_is($r, 403, 'GET /api/admins as an operator: 403');

    $r = $gv->web(POST => '/api/admins', json => { name => 'new2', password => 'new2-password',
                                                   role => 'operator' }, cookie => $acookie);
    status_is($r, 403, 'POST /api/admins without the CSRF token: 403');
    $r = $gv->web(POST => '/api/admins', json => { name => 'new2', password => 'new2-password',
                                                   role => 'operator' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 201, 'POST /api/admins adds an operator');
    is(eval { $J->decode(($gv->ctl('admin', 'list', '--json'))[1]) }->[2]{role}, 'operator',
       '... gigavaultctl admin list shows it');
    $r = $gv->web(POST => '/api/admins', json => { name => 'new2', password => 'new2-password' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 409, '... twice: 409');
    $r = $gv->web(POST => '/api/admins', json => { name => 'new3', password => 'short' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 400, 'a short password: 400');
    $r = $gv->web(POST => '/api/admins', json => { name => 'new3', password => 'new3-password',
                                                   role => 'root' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 400, 'an unknown role: 400');
    $r = $gv->web(POST => '/api/admins', json => { name => '-x', password => 'new3-password' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 400, 'a bad name: 400');
    $r = $gv->web(POST => '/api/admins', json => { name => 'op2', password => 'op2-password' },
                  cookie => $ocookie, csrf => $ocsrf);
    status_is($r, 403, 'the operator cannot add users: 403');

    # roles
    $r = $gv->web(POST => '/api/admins/root1/role', json => { role => 'operator' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 409, 'demoting the last administrator: 409');
    like($r->{json}{error} // '', qr/last administrator/, '... says why');
    $r = $gv->web(DELETE => '/api/admins/root1', cookie => $acookie, csrf => $acsrf);
    status_is($r, 409, 'removing oneself: 409');
    $r = $gv->web(POST => '/api/admins/new2/role', json => { role => 'admin' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'new2 made an administrator');
    my ($c2, $x2, $s2) = login($gv, 'new2', 'new2-password');
    is($s2->{role}, 'admin', '... and logs in as one');
    $r = $gv->web(POST => '/api/admins/new2/role', json => { role => 'operator' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'new2 made an operator again');
    $r = $gv->web(GET => '/api/dashboard', cookie => $c2);
    status_is($r, 401, '... which ended its sessions');
    $r = $gv->web(POST => '/api/admins/nobody/role', json => { role => 'admin' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 404, 'the role of an unknown name: 404');

    # passwords
    $r = $gv->web(POST => '/api/account/password', json => { password => 'oper1-new-pass',
                                                             current => 'wrong-password' },
                  cookie => $ocookie, csrf => $ocsrf);
    status_is($r, 403, 'own password with a wrong current one: 403');
    $r = $gv->web(POST => '/api/account/password', json => { password => 'oper1-new-pass' },
                  cookie => $ocookie, csrf => $ocsrf);
    status_is($r, 400, 'own password without the current one: 400');
    $r = $gv->web(POST => '/api/account/password', json => { password => 'oper1-new-pass',
                                                             current => 'oper1-password' },
                  cookie => $ocookie);
    status_is($r, 403, 'own password without the CSRF token: 403');
    $r = $gv->web(POST => '/api/account/password', json => { password => 'oper1-new-pass',
                                                             current => 'oper1-password' },
                  cookie => $ocookie, csrf => $ocsrf);
    status_is($r, 200, 'the operator changes the own password');
    ok(!(login($gv, 'oper1', 'oper1-password'))[0] && (login($gv, 'oper1', 'oper1-new-pass'))[0],
       '... the new one logs in, the old one not');
    $r = $gv->web(POST => '/api/admins/root1/password', json => { password => 'taken-over' },
                  cookie => $ocookie, csrf => $ocsrf);
    status_is($r, 403, 'the operator cannot set another\'s password');
    $r = $gv->web(POST => '/api/admins/oper1/password', json => { password => 'set-by-root' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'the administrator sets the operator\'s password');
    $r = $gv->web(GET => '/api/dashboard', cookie => $ocookie);
    status_is($r, 401, '... which ends the operator\'s sessions');
    ok((login($gv, 'oper1', 'set-by-root'))[0], '... and the new password logs in');

    # remove
    $r = $gv->web(DELETE => '/api/admins/new2', cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'DELETE /api/admins/new2');
    $r = $gv->web(DELETE => '/api/admins/new2', cookie => $acookie, csrf => $acsrf);
    status_is($r, 404, '... twice: 404');
    unlike(GV::_slurp($admins), qr/^new2:/m, '... gone from the file');
}

# ------------------------------------------------------------ TOTP
{
    my $r = $gv->web(GET => '/api/account', cookie => $acookie);
    status_is($r, 200, 'GET /api/account');
    ok($r->{json}{user} eq 'root1' && $r->{json}{role} eq 'admin' && !$r->{json}{totp},
       '... root1, admin, no TOTP yet');
    $r = $gv->web(POST => '/api/account/totp', json => {}, cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'TOTP enrolment begins');
    my $b32 = $r->{json}{secret} // '';
    like($b32, qr/^[A-Z2-7]{32}$/, '... a base32 secret of 160 bits');
    like($r->{json}{uri} // '', qr{^otpauth://totp/GigaVault:root1\?secret=\Q$b32\E&issuer=GigaVault&algorithm=SHA1&digits=6&period=30$},
         '... and the otpauth:// URI');
    $r = $gv->web(GET => '/api/account', cookie => $acookie);
    ok(!$r->{json}{totp} && $r->{json}{totp_pending}, '... not in force before its first code');
    ok((login($gv, 'root1', 'root1-password'))[0], '... so a login needs no code yet');
    $r = $gv->web(POST => '/api/account/totp/confirm', json => { code => '12345', current => 'root1-password' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 400, 'confirming with a bad code: 400');
    my $t0 = time;
    my $c0 = totp_code($b32, $t0);
    like($c0, qr/^\d{6}$/, "the test computes the code ($c0)");
    $r = $gv->web(POST => '/api/account/totp/confirm', json => { code => $c0 },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 400, 'confirming without the password: 400 (a session left open is not enough)');
    $r = $gv->web(POST => '/api/account/totp/confirm', json => { code => $c0, current => 'nope-nope' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 403, '... with a wrong password: 403');
    $r = $gv->web(GET => '/api/account', cookie => $acookie);
    ok(!$r->{json}{totp}, '... and TOTP stays off');
    $r = $gv->web(POST => '/api/account/totp/confirm', json => { code => $c0, current => 'root1-password' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'confirming with the right code and the password turns TOTP on');
    like((($gv->ctl('admin', 'list'))[1]), qr/^root1\s+admin\s+password set .*, TOTP$/m,
         'gigavaultctl admin list says TOTP');

    my (undef, undef, $j, $lr) = login($gv, 'root1', 'root1-password');
    status_is($lr, 401, 'the right password without a code: 401');
    ok($j->{totp}, '... with "totp":true (the page asks for the code)');
    $lr = $gv->web(POST => '/api/login', json => { user => 'root1', password => 'root1-password', code => $c0 });
    status_is($lr, 401, 'the code used to confirm is not taken again');
    like($lr->{json}{error} // '', qr/wrong or used code/, '... "wrong or used code"');
    my $c1 = totp_code($b32, time + 30);
    $lr = $gv->web(POST => '/api/login', json => { user => 'root1', password => 'root1-password', code => $c1 });
    status_is($lr, 200, 'the password and a fresh code log in');
    is($lr->{json}{role}, 'admin', '... as the administrator');
    $lr = $gv->web(POST => '/api/login', json => { user => 'root1', password => 'root1-password', code => $c1 });
    status_is($lr, 401, 'the same code a second time: refused (a code is not accepted twice)');
    $lr = $gv->web(POST => '/api/login', json => { user => 'root1', password => 'wrong-password', code => $c1 });
    status_is($lr, 401, 'a wrong password with a code: 401');
    ok(!$lr->{json}{totp} && ($lr->{json}{error} // '') eq 'wrong name or password',
       '... the usual answer, nothing about TOTP');
    $lr = $gv->web(POST => '/api/login', json => { user => 'nobody-here', password => 'root1-password' });
    ok($lr->{status} == 401 && !$lr->{json}{totp} && ($lr->{json}{error} // '') eq 'wrong name or password',
       'an unknown name: the same answer as a wrong password');
    {
        my $u = $gv->ui_connect;
        my ($bt, $bl) = bridge_login($gv, $u, 'root1', 'root1-password');
        ok(!$bt && ($bl->{code} // 0) == 401 && $bl->{totp},
           'a bridge (peer) login without the code is refused with "totp":true')
            or diag($J->encode($bl // {}));
        ($bt, $bl) = bridge_login($gv, $u, 'root1', 'root1-password', code => $c1);
        ok(!$bt && ($bl->{code} // 0) == 401 && !$bl->{totp},
           '... and with a used code, refused as a wrong password');
        ($bt) = bridge_login($gv, $u, 'root1', 'wrong-password');
        ok(!$bt, '... a wrong password without a code: refused');
        close $u;
    }
    $r = $gv->web(POST => '/api/account/totp/disable', json => { current => 'nope-nope' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 403, 'turning TOTP off with a wrong password: 403');
    $r = $gv->web(POST => '/api/account/totp/disable', json => { current => 'root1-password' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'turning TOTP off with the password');
    ok((login($gv, 'root1', 'root1-password'))[0], '... and the password alone logs in again');

    # locked out: gigavaultctl admin totp --disable
    $r = $gv->web(POST => '/api/account/totp', json => {}, cookie => $acookie, csrf => $acsrf);
    $b32 = $r->{json}{secret} // '';
    $r = $gv->web(POST => '/api/account/totp/confirm', json => { code => totp_code($b32, time), current => 'root1-password' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'TOTP on again');
    ok(!(login($gv, 'root1', 'root1-password'))[0], '... a login needs the code');
    my ($st, $out, $err) = $gv->ctl('admin', 'totp', 'root1');
    isnt($st, 0, 'gigavaultctl admin totp without --disable is refused');
    ($st, $out, $err) = $gv->ctl('admin', 'totp', '--disable', 'root1');
    is($st, 0, 'gigavaultctl admin totp --disable root1') or diag $err;
    ok((login($gv, 'root1', 'root1-password'))[0], '... the password alone logs in again');
}

# ------------------------------------------------------------ API tokens
{
    my $r = $gv->web(POST => '/api/account/tokens', json => { label => 'nightly script', scope => 'full' },
                     cookie => $acookie, csrf => $acsrf);
    status_is($r, 400, 'making a token without the password: 400 (it outlives the session)');
    $r = $gv->web(POST => '/api/account/tokens', json => { label => 'nightly script', scope => 'full',
                                                          current => 'wrong-password' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 403, '... with a wrong password: 403');
    $r = $gv->web(POST => '/api/account/tokens', json => { label => 'nightly script', scope => 'full',
                                                          current => 'root1-password' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 201, 'the administrator makes a full API token');
    my $full = $r->{json}{token} // '';
    like($full, qr/^gvt_[0-9a-f]{64}$/, '... shown once (gvt_ and 64 hex digits)');
    is($r->{json}{scope}, 'full', '... scope full');
    my $fid = $r->{json}{id};
    unlike(GV::_slurp($gv->cfg->{Server}{DataDir} . '/apitokens'), qr/\Q@{[substr($full, 4)]}\E/,
           '... and only its hash is stored');
    $r = $gv->web(POST => '/api/account/tokens', json => { label => 'monitoring', current => 'root1-password' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 201, 'and a read-only one (the default scope)');
    my $read = $r->{json}{token} // '';
    is($r->{json}{scope}, 'read', '... scope read');
    $r = $gv->web(POST => '/api/account/tokens', json => { label => 'x', current => 'root1-password' },
                  cookie => $acookie);
    status_is($r, 403, 'making a token without the CSRF token: 403');

    my %B = (headers => { Authorization => "Bearer $full" });
    my %R = (headers => { Authorization => "Bearer $read" });
    $r = $gv->web(GET => '/api/clients', %B);
    status_is($r, 200, 'GET /api/clients with the full token (no cookie, no CSRF)');
    $r = $gv->web(POST => '/api/clients', json => { name => 'by-token' }, %B);
    status_is($r, 201, 'POST /api/clients with the full token: no CSRF needed');
    $r = $gv->web(GET => '/api/clients', %R);
    status_is($r, 200, 'GET /api/clients with the read-only token');
    $r = $gv->web(POST => '/api/clients', json => { name => 'by-read-token' }, %R);
    status_is($r, 403, 'POST /api/clients with the read-only token: 403');
    $r = $gv->web(POST => '/api/housekeeping/scrub', json => {}, %R);
    status_is($r, 403, 'starting a scrub with the read-only token: 403');
    $r = $gv->web(POST => '/api/account/tokens', json => { scope => 'full', current => 'root1-password' }, %B);
    status_is($r, 403, 'a token cannot make tokens (an account change needs a login)');
    $r = $gv->web(POST => '/api/account/password', json => { password => 'via-token-pw', current => 'root1-password' }, %B);
    status_is($r, 403, '... nor change the password');
    $r = $gv->web(GET => '/api/clients', headers => { Authorization => 'Bearer gvt_' . ('0' x 64) });
    status_is($r, 401, 'an unknown token: 401');
    $r = $gv->web(GET => '/api/clients', headers => { Authorization => 'Basic cm9vdDE6eA==' });
    status_is($r, 401, 'Authorization other than Bearer: 401');

    $r = $gv->web(GET => '/api/account/tokens', cookie => $acookie);
    status_is($r, 200, 'GET /api/account/tokens');
    my %t = map { $_->{label} => $_ } @{ $r->{json}{tokens} || [] };
    ok($t{'nightly script'} && $t{monitoring} && !exists $t{'nightly script'}{token},
       '... lists both by label, without the tokens themselves');
    ok(($t{'nightly script'}{last_used} // 0) > 0, '... the used one has a last use');
    is($t{'nightly script'}{scope}, 'full', '... and its scope');

    $r = $gv->web(DELETE => "/api/account/tokens/$fid", cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'revoking the full token');
    $r = $gv->web(GET => '/api/clients', %B);
    status_is($r, 401, 'the revoked token: 401');
    $r = $gv->web(DELETE => "/api/account/tokens/$fid", cookie => $acookie, csrf => $acsrf);
    status_is($r, 404, 'revoking it twice: 404');

    # an operator's tokens are read-only
    my ($oc, $ox) = login($gv, 'oper1', 'set-by-root');
    $r = $gv->web(POST => '/api/account/tokens', json => { scope => 'full', current => 'set-by-root' },
                  cookie => $oc, csrf => $ox);
    status_is($r, 403, 'an operator cannot make a full token');
    $r = $gv->web(POST => '/api/account/tokens', json => { label => 'op', current => 'set-by-root' },
                  cookie => $oc, csrf => $ox);
    status_is($r, 201, 'an operator makes a read-only token');
    my $ot = $r->{json}{token};
    $r = $gv->web(GET => '/api/account/tokens', cookie => $oc);
    is(scalar @{ $r->{json}{tokens} || [] }, 1, '... and sees only its own tokens');
    $r = $gv->web(DELETE => "/api/account/tokens/" . (split /_/, $read)[1] =~ s/^(.{16}).*/$1/r,
                  cookie => $oc, csrf => $ox);
    status_is($r, 404, '... and cannot revoke another\'s');
    $r = $gv->web(GET => '/api/dashboard', headers => { Authorization => "Bearer $ot" });
    status_is($r, 200, 'the operator\'s token reads');

    # an administrator's reset of a password ends that user's tokens
    $r = $gv->web(POST => '/api/admins/oper1/password', json => { password => 'reset-by-root' },
                  cookie => $acookie, csrf => $acsrf);
    status_is($r, 200, 'the administrator sets the operator\'s password again');
    $r = $gv->web(GET => '/api/dashboard', headers => { Authorization => "Bearer $ot" });
    status_is($r, 401, '... which revokes the operator\'s token');

    # gigavaultctl admin remove revokes too, and a name added anew gets
    # none of its former user's tokens
    my ($st, $out, $err) = $gv->ctl_input("bob-password\n", 'admin', 'add', 'bob');
    is($st, 0, 'gigavaultctl admin add bob') or diag $err;
    my ($bc, $bx) = login($gv, 'bob', 'bob-password');
    $r = $gv->web(POST => '/api/account/tokens', json => { scope => 'full', current => 'bob-password' },
                  cookie => $bc, csrf => $bx);
    status_is($r, 201, 'bob makes a full token');
    my $bt = $r->{json}{token} // '';
    $r = $gv->web(GET => '/api/clients', headers => { Authorization => "Bearer $bt" });
    status_is($r, 200, '... which works');
    # an open session follows gigavaultctl's changes at its next request
    ($st, $out, $err) = $gv->ctl('admin', 'role', '--role=operator', 'bob');
    is($st, 0, 'gigavaultctl admin role --role=operator bob') or diag $err;
    $r = $gv->web(GET => '/api/session', cookie => $bc);
    is($r->{json}{role}, 'operator', '... bob\'s open session has the new role at once');
    $r = $gv->web(POST => '/api/clients', json => { name => 'by-demoted-bob' }, cookie => $bc, csrf => $bx);
    status_is($r, 403, '... and is refused a change');
    my ($bc2) = login($gv, 'bob', 'bob-password');
    my $tfile = $gv->cfg->{Server}{DataDir} . '/apitokens';
    my $saved = GV::_slurp($tfile);
    like($saved, qr/^[0-9a-f]{16}:bob\/[0-9a-f]{16}:full:/m, 'bob\'s token line carries bob\'s id');
    ($st, $out, $err) = $gv->ctl('admin', 'remove', 'bob');
    is($st, 0, 'gigavaultctl admin remove bob') or diag $err;
    $r = $gv->web(GET => '/api/dashboard', cookie => $bc);
    status_is($r, 401, '... ends bob\'s open session');
    unlike(GV::_slurp($tfile), qr/^[0-9a-f]{16}:bob[:\/]/m,
           '... takes bob\'s tokens out of DataDir/apitokens');
    ($st, $out, $err) = $gv->ctl_input("bob-password-2\n", 'admin', 'add', '--role=operator', 'bob');
    is($st, 0, 'gigavaultctl admin add --role=operator bob (a new bob)') or diag $err;
    $r = $gv->web(GET => '/api/clients', headers => { Authorization => "Bearer $bt" });
    status_is($r, 401, '... the former bob\'s token stays refused');
    $r = $gv->web(GET => '/api/dashboard', cookie => $bc2);
    status_is($r, 401, '... so does a session of the former bob not used since (another id)');
    # even with its line back (a restored backup of DataDir): another id
    open(my $fh, '>', $tfile) or die "$tfile: $!";
    print $fh $saved;
    close $fh;
    $r = $gv->web(GET => '/api/clients', headers => { Authorization => "Bearer $bt" });
    status_is($r, 401, '... and the former bob\'s token line put back is refused too');
    ($st, $out, $err) = $gv->ctl('admin', 'remove', 'bob');
    is($st, 0, '... and the new bob is removed again') or diag $err;
}

# ------------------------------------------------------------ the console's certificate
sub sans {
    my ($file) = @_;
    my $t = `openssl x509 -in '$file' -noout -ext subjectAltName 2>&1`;
    my @n = $t =~ /(?:DNS|IP Address):([^,\s]+)/g;
    return @n;
}
sub pubkey { scalar `openssl x509 -in '$_[0]' -noout -pubkey 2>/dev/null` }
# curl verifying the name against the certificate as its only CA
sub curl_verify {
    my ($cert, $url, @more) = @_;
    my ($st, $out, $err) = GV::_run_input([$GV::CURL, '-sS', '--max-time', 10, '--cacert', $cert,
                                           '-o', '/dev/null', '-w', '%{http_code}', @more, $url], '', 20);
    return ($st, $out, $err);
}
# openssl s_client with -verify_return_error: its "Verify return code"
sub s_client {
    my ($port, @how) = @_;
    my ($st, $out, $err) = GV::_run_input(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                                           '-verify_return_error', @how], '', 20);
    return ($out . $err) =~ /Verify return code: (\d+ \([^)]*\))/ ? $1 : "none (exit $st)";
}
SKIP: {
    skip 'needs openssl', 1 unless system('openssl version >/dev/null 2>&1') == 0;
    my $dd = $gv->cfg->{Server}{DataDir};
    my $cert = "$dd/tls/webconsole.crt";
    my $ssl = $gv->web_port(1);
    my %san = map { $_ => 1 } sans($cert);
    chomp(my $host = `hostname`);
    ok($san{$host} && $san{localhost} && $san{'127.0.0.1'} && $san{'0:0:0:0:0:0:0:1'},
       "the default certificate names the host ($host), localhost, 127.0.0.1 and ::1")
        or diag(join ' ', sort keys %san);
    my ($st, $code, $err) = curl_verify($cert, "https://127.0.0.1:$ssl/api/hello");
    ok($st == 0 && $code eq '200', 'curl --cacert verifies https://127.0.0.1 (no -k)') or diag("$st $code $err");
    ($st, $code, $err) = curl_verify($cert, "https://localhost:$ssl/api/hello");
    ok($st == 0 && $code eq '200', 'curl --cacert verifies https://localhost') or diag("$st $code $err");
    is(s_client($ssl, '-CAfile', $cert, '-verify_ip', '127.0.0.1'), '0 (ok)',
       'openssl s_client -verify_ip 127.0.0.1: ok');
    is(s_client($ssl, '-CAfile', $cert, '-verify_hostname', 'localhost'), '0 (ok)',
       'openssl s_client -verify_hostname localhost: ok');
    like(s_client($ssl, '-CAfile', $cert, '-verify_hostname', 'not-this-host.example'), qr/^62 /,
         '... and a name it does not carry is a mismatch (62), so the check can fail');

    # a configured list; the redirect keeps the Host asked for
    my $g2 = GV->start(GV::web_opts(Workers => 1, 'WebConsole.HTTP' => 'redirect',
                                    'WebConsole.CertNames' => ['gv-test.example', 'localhost', '127.0.0.1']));
    ok($g2->wait_web(15), 'a console with WebConsole.CertNames');
    my $c2 = $g2->cfg->{Server}{DataDir} . '/tls/webconsole.crt';
    is_deeply([sans($c2)], ['gv-test.example', 'localhost', '127.0.0.1'],
              'its certificate names exactly the list');
    for my $h ('localhost', '127.0.0.1') {
        ($st, $code, $err) = curl_verify($c2, sprintf('http://%s:%d/api/hello', $h, $g2->web_port(0)), '-L');
        ok($st == 0 && $code eq '200', "http://$h/ redirects to https://$h/, which verifies") or diag("$st $code $err");
    }
    my $key0 = pubkey($c2);
    $g2->reload('WebConsole.CertNames' => ['gv-test.example', 'localhost', '127.0.0.1', '192.0.2.7']);
    ok(GV::wait_until(sub { grep { $_ eq '192.0.2.7' } sans($c2) }, 15, 0.2),
       'a name added to the list: the certificate is made again at the reload');
    is(pubkey($c2), $key0, '... with the same key');
    ok($g2->log_like(qr/did not name 192\.0\.2\.7: made it again with the same key/, 5),
       '... and says so in the log');
    ok($g2->wait_web(15), '... and the console serves it');
    ($st, $code, $err) = curl_verify($c2, sprintf('https://127.0.0.1:%d/api/hello', $g2->web_port(1)));
    ok($st == 0 && $code eq '200', '... verified by curl') or diag("$st $code $err");

    # someone's own certificate (signed by a CA) is never replaced
    my $ca = "$tmp/ca";
    mkdir $ca;
    my $tls = $g2->cfg->{Server}{DataDir} . '/tls';
    my @cmds = (
        ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
         '-keyout', "$ca/ca.key", '-out', "$ca/ca.crt", '-days', '2', '-subj', '/CN=test CA'],
        ['openssl', 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
         '-keyout', "$ca/own.key", '-out', "$ca/own.csr", '-subj', '/CN=own.example'],
        ['openssl', 'x509', '-req', '-in', "$ca/own.csr", '-CA', "$ca/ca.crt", '-CAkey', "$ca/ca.key",
         '-CAcreateserial', '-out', "$ca/own.crt", '-days', '2'],
    );
    my $made = 1;
    for my $c (@cmds) {
        my ($s, $o, $e) = GV::_run_input($c, '', 30);
        $made = 0, diag("@$c: $e") if $s != 0;
    }
    ok($made, 'openssl makes a CA and a certificate it signs');
    GV::_spit("$tls/webconsole.crt", GV::_slurp("$ca/own.crt"));
    GV::_spit("$tls/webconsole.key", GV::_slurp("$ca/own.key"));
    my $own = GV::_slurp("$tls/webconsole.crt");
    my $reloads = () = $g2->log_text =~ /new generation of children/g;
    $g2->reload('WebConsole.CertNames' => ['gv-test.example', '192.0.2.8']);
    ok(GV::wait_until(sub { my $n = () = $g2->log_text =~ /new generation of children/g;
                            $n > $reloads }, 10, 0.2), 'reloaded with another CertNames');
    ok($g2->wait_web(15), '... the console answers');
    is(GV::_slurp("$tls/webconsole.crt"), $own,
       'a certificate there that is not self-signed is left alone, whatever CertNames says');
    $g2->stop;
}

# ------------------------------------------------------------ GET /metrics
# The Prometheus text format (0.0.4), checked strictly: every line a
# HELP, a TYPE or a sample; a name's HELP and TYPE once, before its
# samples, which are together; names gigavault_*, counters *_total;
# label values quoted; values numbers; the text ends with a newline.
sub prom_check {
    my ($text) = @_;
    my @bad;
    my (%help, %type, %seen, $cur);
    push @bad, 'does not end with a newline' unless $text =~ /\n\z/;
    my $name = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
    my $num = qr/[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|Inf|NaN)/;
    for my $l (split /\n/, $text) {
        if ($l =~ /^# HELP ($name) (.+)$/) {
            push @bad, "HELP $1 twice" if $help{$1}++;
        } elsif ($l =~ /^# TYPE ($name) (counter|gauge|histogram|summary|untyped)$/) {
            push @bad, "TYPE $1 twice" if $type{$1};
            push @bad, "TYPE $1 after its samples" if $seen{$1};
            $type{$1} = $2;
            push @bad, "counter $1 not named *_total" if $2 eq 'counter' && $1 !~ /_total$/;
        } elsif ($l =~ /^($name)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\})? ($num)(?: -?\d+)?$/) {
            my $n = $1;
            push @bad, "$n has no TYPE before it" unless $type{$n};
            push @bad, "$n has no HELP" unless $help{$n};
            push @bad, "the samples of $n are not together" if $seen{$n} && ($cur // '') ne $n;
            $seen{$n} = 1;
            $cur = $n;
        } else {
            push @bad, "not a line of the format: \"$l\"";
        }
        push @bad, "$1: not gigavault_*" if $l =~ /^(?:# (?:HELP|TYPE) )?($name)/ && $1 !~ /^gigavault_/;
    }
    return @bad;
}
sub prom_value {
    my ($text, $sample) = @_;
    return $text =~ /^\Q$sample\E (\S+)$/m ? $1 : undef;
}
{
    my $r = $gv->web(GET => '/metrics');
    status_is($r, 404, 'GET /metrics: off by default (404)');
    my $tok = $gv->web(POST => '/api/account/tokens', json => { label => 'prometheus', current => 'root1-password' },
                       cookie => $acookie, csrf => $acsrf)->{json}{token};
    ok($tok, 'a read-only token for the scraper');
    my $reloads = () = $gv->log_text =~ /new generation of children/g;
    $gv->reload('WebConsole.Metrics' => 1);
    ok(GV::wait_until(sub { my $n = () = $gv->log_text =~ /new generation of children/g;
                            $n > $reloads }, 10, 0.2) && $gv->wait_web(15),
       'WebConsole.Metrics = 1 (reload)');
    $r = $gv->web(GET => '/metrics');
    status_is($r, 401, 'GET /metrics without a token: 401');
    $r = $gv->web(GET => '/metrics', headers => { Authorization => 'Bearer gvt_' . ('1' x 64) });
    status_is($r, 401, 'GET /metrics with an unknown token: 401');
    $r = $gv->web(GET => '/metrics', headers => { Authorization => "Bearer $tok" });
    status_is($r, 200, 'GET /metrics with an API token');
    like(GV::hdr($r, 'content-type') // '', qr{^text/plain; version=0\.0\.4}, '... text/plain; version=0.0.4');
    my @bad = prom_check($r->{body});
    ok(!@bad, '... in the exposition format (strict check)') or diag(join "\n", @bad, '---', $r->{body});
    my $body = $r->{body};
    is(prom_value($body, 'gigavault_sessions_total'), 0, 'no session yet');
    # a real backup: a session, a snapshot, stored bytes
    my $src = File::Temp::tempdir('gv-metrics-src-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    GV::_spit("$src/f$_.txt", "metrics test file $_\n" x (500 * $_)) for 1 .. 3;
    my $cl = GVClient->new($gv, 'metrics-client');
    my ($brc, undef, $berr) = $cl->run('backup', '--set', 'home', $src);
    is($brc, 0, 'a client backs up') or diag($berr);
    $body = $gv->web(GET => '/metrics', headers => { Authorization => "Bearer $tok" })->{body};
    cmp_ok(prom_value($body, 'gigavault_sessions_total') // 0, '>=', 1, 'gigavault_sessions_total counts its session');
    cmp_ok(prom_value($body, 'gigavault_received_bytes_total') // 0, '>', 0, 'gigavault_received_bytes_total its bytes');
    is(prom_value($body, 'gigavault_snapshots'), 1, 'gigavault_snapshots 1');
    cmp_ok(prom_value($body, 'gigavault_stored_bytes') // 0, '>', 0, 'gigavault_stored_bytes > 0');
    cmp_ok(prom_value($body, 'gigavault_blobs') // 0, '>', 0, 'gigavault_blobs > 0');
    my $st;
    ok(defined prom_value($body, 'gigavault_clients') && prom_value($body, 'gigavault_clients') >= 3,
       'gigavault_clients counts the clients added above (' . (prom_value($body, 'gigavault_clients') // 'none') . ')');
    is(prom_value($body, 'gigavault_clients_health{health="never"}'), prom_value($body, 'gigavault_clients'),
       'gigavault_clients_health: every client "never" (no job reports)');
    for my $m (qw(gigavault_snapshots gigavault_stored_bytes gigavault_blobs gigavault_sessions_total
                  gigavault_received_bytes_total gigavault_datadir_free_bytes gigavault_datadir_capacity_bytes)) {
        ok(defined prom_value($body, $m), "$m is there");
    }
    ok(prom_value($body, 'gigavault_datadir_capacity_bytes') > 0 &&
       prom_value($body, 'gigavault_datadir_free_bytes') <= prom_value($body, 'gigavault_datadir_capacity_bytes'),
       'free <= capacity > 0');
    ($st) = $gv->ctl('prune');
    is($st, 0, 'gigavaultctl prune');
    $body = $gv->web(GET => '/metrics', headers => { Authorization => "Bearer $tok" })->{body};
    is(prom_value($body, 'gigavault_housekeeping_last_ok{job="prune"}'), 1, 'the prune shows as last ok');
    ok((prom_value($body, 'gigavault_housekeeping_last_end_timestamp_seconds{job="prune"}') // 0) >= time - 300,
       '... with the time it ended');
    ok(!@{[prom_check($body)]}, '... still in the format');
    my ($fresh) = login($gv, 'root1', 'root1-password');
    ok($fresh && $gv->web(GET => '/api/session', cookie => $fresh)->{status} == 200, 'a fresh console login');
    $r = $gv->web(GET => '/metrics', cookie => $fresh);
    status_is($r, 401, '... its cookie is not enough: the scraper needs a token');
    note($body);
}

done_testing;
