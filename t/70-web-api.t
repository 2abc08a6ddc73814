#!/usr/bin/perl
# The web console's HTTP(S) API and static files (doc/webconsole.md):
#  - static files: types, ETag / If-None-Match, the security headers on
#    every answer; path traversal, encoded dots and slashes, NUL, dot
#    files, symlinks and a FIFO planted in a copy of www/: always 404,
#    never the file;
#  - without a session every /api/ call but hello is 401; login (failure
#    delay, cookie flags), CSRF (403), content type (415), bad JSON (400),
#    body limit (413), methods (405);
#  - clients: add (201 + a token a real client registers with), 409 on a
#    duplicate, a backup shows in the client's snapshots and the
#    dashboard, disable / enable / remove;
#  - peers and the peer switch to a second daemon (static Discovery.Peers);
#    housekeeping (prune and scrub start, their last run); the log;
#  - logout; the same session rules over HTTPS (Secure cookie) with the
#    self-signed certificate the daemon made; WebConsole.HTTP = "redirect";
#  - the UI bridge: without a login, clients & co are refused while hello,
#    status and peers answer;
#  - malformed HTTP; the pool and the console still serve afterwards.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use File::Path qw(make_path);
use File::Find ();
use POSIX qw(strftime mkfifo);
use IO::Socket::INET;
use JSON::PP ();
use Time::HiRes qw(time sleep);
use GV;
use GVClient;

plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
plan skip_all => "no $GV::SRCDIR/www (the console's pages)"
    unless -f "$GV::SRCDIR/www/index.html";
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my $CSP = q{default-src 'self'; img-src 'self' data:; frame-ancestors 'none'};
my $WWW = "$GV::SRCDIR/www";
my $ZERO = '0' x 32;
my $J = JSON::PP->new->canonical;
sub hdr { GV::hdr(@_) }

sub slurp { GV::_slurp($_[0]) }
sub spit {
    my ($f, $t) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $t;
    close $fh;
}
sub isbool { defined $_[0] && JSON::PP::is_bool($_[0]) }
sub isint  { defined $_[0] && !ref $_[0] && $_[0] =~ /^-?\d+$/ }

# what a response was, for diagnostics
sub rdesc {
    my ($r) = @_;
    my $b = $r->{body} // '';
    $b = substr($b, 0, 300) . '...' if length $b > 300;
    return sprintf('got %s (%s)%s, body: %s', $r->{status}, $r->{status_line} // '',
                   $r->{rc} ? " curl exit $r->{rc}: $r->{err}" : '', $b);
}

sub status_is {
    my ($r, $want, $name) = @_;
    return is($r->{status}, $want, $name) || diag(rdesc($r)) && 0;
}

sub norm_csp {
    my ($v) = @_;
    $v //= '';
    $v =~ s/\s+/ /g;
    $v =~ s/\s*;\s*/; /g;
    $v =~ s/^\s+|[\s;]+$//g;
    return $v;
}

# the four headers every answer carries
sub sec_headers {
    my ($r, $what) = @_;
    my @bad;
    push @bad, 'X-Content-Type-Options' unless lc(hdr($r, 'x-content-type-options') // '') eq 'nosniff';
    push @bad, 'X-Frame-Options' unless uc(hdr($r, 'x-frame-options') // '') eq 'DENY';
    push @bad, 'Referrer-Policy' unless lc(hdr($r, 'referrer-policy') // '') eq 'no-referrer';
    push @bad, 'Content-Security-Policy' unless norm_csp(hdr($r, 'content-security-policy')) eq $CSP;
    ok(!@bad, "$what: security headers") or
        diag("missing or wrong: @bad; headers: " . $J->encode($r->{headers}));
}

# an API error answer: status, JSON {"error":"..."}, JSON type, no-store
sub api_error {
    my ($r, $code, $what) = @_;
    my $ok = $r->{status} == $code && ref $r->{json} eq 'HASH' &&
             defined $r->{json}{error} && !ref $r->{json}{error} &&
             (hdr($r, 'content-type') // '') =~ m{^application/json\s*;\s*charset=utf-8$}i &&
             (hdr($r, 'cache-control') // '') =~ /\bno-store\b/;
    ok($ok, "$what -> $code {\"error\":...} (application/json, no-store)")
        or diag(rdesc($r) . '; content-type: ' . (hdr($r, 'content-type') // 'none') .
                '; cache-control: ' . (hdr($r, 'cache-control') // 'none'));
    return $ok;
}

sub api_ok {
    my ($r, $code, $what) = @_;
    my $ok = $r->{status} == $code && ref $r->{json} eq 'HASH' &&
             (hdr($r, 'content-type') // '') =~ m{^application/json\s*;\s*charset=utf-8$}i;
    ok($ok, "$what -> $code JSON object") or diag(rdesc($r));
    return $ok ? $r->{json} : {};
}

my $tmp = File::Temp::tempdir('gv-web-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{GV_KEEP});
chmod 0755, $tmp;

# ------------------------------------------------------------ daemons
# B: a peer of A (A lists B's bridge in Discovery.Peers); both serve www/.
my $B = GV->start(GV::web_opts(Workers => 1, 'Discovery.Name' => 'web-b'));
my $A = GV->start(GV::web_opts(Workers => 2, 'Discovery.Name' => 'web-a',
                               'Discovery.Peers' => ['127.0.0.1:' . $B->port('UI')],
                               'Discovery.TCPInterval' => 2));
my $webup = $A->wait_web(15);
ok($webup, 'A: the HTTP and HTTPS ports answer GET /api/hello');
unless ($webup) {
    $A->diag_logs;
    done_testing;
    exit;
}
ok($B->wait_web(15), 'B: the web ports answer');
my $SID_A = $A->status->{server_id};
my $SID_B = $B->status->{server_id};

# ------------------------------------------------------------ hello
{
    my $r = $A->web(GET => '/api/hello');
    my $h = api_ok($r, 200, 'GET /api/hello without a session');
    is($h->{server_id}, $SID_A, "... server_id is the daemon's ($SID_A)");
    ok(defined $h->{name} && !ref $h->{name}, "... name is a string ($h->{name})");
    like($h->{version} // '', qr/^\d+\.\d+\.\d+/, '... version x.y.z');
    ok(isbool($h->{tls}), '... tls is a JSON boolean') or diag($r->{body});
    my $p = ref $h->{ports} eq 'HASH' ? $h->{ports} : {};
    is_deeply([ @$p{qw(backup ui webconsole webconsole_ssl)} ],
              [ $A->port('BackupServer'), $A->port('UI'), $A->web_port(0), $A->web_port(1) ],
              '... ports: backup, ui, webconsole, webconsole_ssl');
    is($p->{ssl}, 0, '... ports.ssl 0 (SSL.Enabled is off)');
    like(hdr($r, 'cache-control') // '', qr/\bno-store\b/, '... Cache-Control: no-store');
    sec_headers($r, 'GET /api/hello');
}

# ------------------------------------------------------------ static files
my %TYPE = (html => qr{^text/html\b}, css => qr{^text/css\b},
            js => qr{^(application|text)/javascript\b}, svg => qr{^image/svg\+xml\b},
            png => qr{^image/png$}, ico => qr{^image/(x-icon|vnd\.microsoft\.icon)$},
            json => qr{^application/json\b}, txt => qr{^text/plain\b});
{
    my $r = $A->web(GET => '/');
    status_is($r, 200, 'GET / -> 200');
    like(hdr($r, 'content-type') // '', $TYPE{html}, '... text/html');
    ok($r->{body} eq slurp("$WWW/index.html"), '... the bytes of index.html');
    sec_headers($r, 'GET /');

    # every servable file of www/, with its type and bytes
    my @files;
    File::Find::find({ no_chdir => 1, wanted => sub {
        return unless -f $_ && !-l $_;
        (my $rel = $File::Find::name) =~ s{^\Q$WWW\E}{};
        push @files, $rel if $rel =~ m{^[A-Za-z0-9._/-]+$} && $rel !~ m{/\.};
    } }, $WWW);
    ok((grep { $_ eq '/app.js' } @files) && (grep { $_ eq '/style.css' } @files),
       'www/ has app.js and style.css');
    for my $f (sort @files) {
        my ($ext) = $f =~ /\.([a-z]+)$/;
        my $r = $A->web(GET => $f);
        status_is($r, 200, "GET $f -> 200");
        like(hdr($r, 'content-type') // '', $TYPE{$ext}, "... Content-Type of .$ext")
            if $ext && $TYPE{$ext};
        ok($r->{body} eq slurp("$WWW$f"), '... the file\'s bytes');
    }

    for my $f ('/index.html', '/app.js', '/style.css') {
        my $r = $A->web(GET => $f);
        like(hdr($r, 'cache-control') // '', qr/\bno-cache\b/, "GET $f: Cache-Control: no-cache");
        my $etag = hdr($r, 'etag');
        ok(defined $etag && length $etag, "GET $f: an ETag") or next;
        sec_headers($r, "GET $f");
        my $r2 = $A->web(GET => $f, headers => { 'If-None-Match' => $etag });
        status_is($r2, 304, "GET $f with If-None-Match: its ETag -> 304");
        is($r2->{body}, '', '... and no body');
        sec_headers($r2, "304 for $f");
        my $r3 = $A->web(GET => $f, headers => { 'If-None-Match' => '"not-the-etag"' });
        status_is($r3, 200, "GET $f with another If-None-Match -> 200");
    }
    my $h = $A->web(HEAD => '/index.html');
    status_is($h, 200, 'HEAD /index.html -> 200');
    like(hdr($h, 'content-type') // '', $TYPE{html}, '... text/html');

    my $n = $A->web(GET => '/no-such-file.html');
    status_is($n, 404, 'GET /no-such-file.html -> 404');
    sec_headers($n, '404');
    my $p = $A->web(POST => '/index.html', json => {});
    ok($p->{status} >= 400 && $p->{status} < 500 && $p->{body} ne slurp("$WWW/index.html"),
       'POST /index.html is refused (4xx), not served') or diag(rdesc($p));
}

# ------------------------------------------------------------ traversal
my $README = slurp("$GV::SRCDIR/README");
my ($readme_head) = $README =~ /\A(.{0,40})/s;
sub leaks {
    my ($body) = @_;
    return 'passwd' if $body =~ /^root:[^:\n]*:0:0:/m;
    return 'README' if length $readme_head && index($body, $readme_head) >= 0;
    for my $m (qw(SECRET-OUTSIDE-ROOT HIDDEN-FILE HIDDEN-DIR FIFO-NEVER)) {
        return $m if index($body, $m) >= 0;
    }
    return '';
}
my @TRAVERSAL = ('/../../etc/passwd', '/../../../../../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd', '/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
    '/..%2f..%2fetc/passwd', '/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
    '/%2e%2e%2f%2e%2e%2fREADME', '/%252e%252e/%252e%252e/etc/passwd',
    '/.hidden', '/.git/config', '//etc/passwd', '///etc/passwd', '/www/../README',
    '/../README', '/..', '/.', '/./index.html', '/index.html/', '/index.html/..',
    '/etc/passwd', '/proc/self/environ', '/index.html%00', '/index.html%00.css',
    '/%00', '/%00/../../etc/passwd', '/..\\..\\etc\\passwd', '/%5c..%5c..%5cetc%5cpasswd',
    '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd', '/index%20.html');
for my $path (@TRAVERSAL) {
    my $r = $A->web(GET => $path, timeout => 10);
    status_is($r, 404, "GET $path -> 404");
    is(leaks($r->{body}), '', '... and no file content');
}

# A copy of www/ with planted files and links, served by C (over HTTP;
# the same checks on a few over HTTPS).
my $root = "$tmp/www";
system('cp', '-R', $WWW, $root) == 0 or die "cp -R $WWW: $?";
spit("$tmp/secret.txt", "SECRET-OUTSIDE-ROOT\n");
spit("$root/plain.txt", "PLAIN-INSIDE\n");
spit("$root/.hidden", "HIDDEN-FILE\n");
make_path("$root/.git", "$root/sub");
spit("$root/.git/config", "HIDDEN-DIR\n");
spit("$root/sub/a.txt", "SUB-A\n");
symlink('/etc/passwd', "$root/passwd.txt") or die "symlink: $!";
symlink("$tmp/secret.txt", "$root/secret.txt") or die;
symlink('../secret.txt', "$root/rel-secret.txt") or die;
symlink('/etc', "$root/etc") or die;
symlink('..', "$root/up") or die;
symlink('/', "$root/slash") or die;
mkfifo("$root/fifo.txt", 0644) or die "mkfifo: $!";
system('chmod', '-R', 'a+rX', $tmp);
my $C = GV->start(Workers => 1, 'WebConsole.Root' => $root, 'WebConsole.HTTP' => 'serve',
                  'WebConsole.SessionTimeout' => 60);
ok($C->wait_web(15), 'C (a copy of www/ with planted links, SessionTimeout 60) answers');
# two sessions on C: one left idle, one used again later (checked at the end)
$C->add_admin('cadmin', 'c-pass-word');
my (@CS, $c_t0);
for (1 .. 2) {
    my $r = $C->web(POST => '/api/login', json => { user => 'cadmin', password => 'c-pass-word' });
    my ($v) = GV::session_cookie($r);
    push @CS, $v;
}
$c_t0 = time;
ok($CS[0] && $CS[1], 'C: two sessions');
# keep the second one in use while the test goes on
sub touch_c { $C->web(GET => '/api/session', cookie => $CS[1], timeout => 5) if $CS[1] }
{
    my $r = $C->web(GET => '/plain.txt');
    status_is($r, 200, 'C: GET /plain.txt -> 200 (a file of the copied root)');
    is($r->{body}, "PLAIN-INSIDE\n", '... its content');
    $r = $C->web(GET => '/sub/a.txt');
    status_is($r, 200, 'C: GET /sub/a.txt -> 200');
    my @planted = ('/passwd.txt', '/secret.txt', '/rel-secret.txt', '/etc/passwd', '/up/secret.txt',
                   '/slash/etc/passwd', '/sub/../../secret.txt', '/.hidden', '/%2ehidden',
                   '/.git/config', '/sub', '/sub/%2e%2e/%2e%2e/secret.txt',
                   '/sub/..%2f..%2fsecret.txt', '/plain.txt%00', '/plain.txt%00.html');
    for my $path (@planted, @TRAVERSAL) {
        my $r = $C->web(GET => $path, timeout => 10);
        status_is($r, 404, "C: GET $path -> 404");
        is(leaks($r->{body}), '', '... and no file content');
    }
    for my $path (@planted[0 .. 4], '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd') {
        my $r = $C->web(GET => $path, ssl => 1, timeout => 10);
        status_is($r, 404, "C: GET $path over HTTPS -> 404");
        is(leaks($r->{body}), '', '... and no file content');
    }
    # a FIFO is no regular file: 404 at once (opening it to read would
    # block until a writer came), and the console goes on serving
    $r = $C->web(GET => '/fifo.txt', timeout => 5);
    status_is($r, 404, 'C: GET /fifo.txt (a FIFO in the root) -> 404, without waiting for a writer');
    $r = $C->web(GET => '/plain.txt', timeout => 5);
    status_is($r, 200, 'C: then GET /plain.txt -> 200 (the console did not hang)');
    if (!$r->{status}) {    # unblock it for the rest: open the FIFO for writing
        if (sysopen my $w, "$root/fifo.txt", POSIX::O_WRONLY() | POSIX::O_NONBLOCK()) { close $w }
    }
    ok($C->ready, 'C still serves (bridge status, pool ready)');
}

# D: WebConsole.HTTP = "redirect": everything on the plain port goes to
# HTTPS with 308.
{
    my $D = GV->start(GV::web_opts(Workers => 1, 'WebConsole.HTTP' => 'redirect'));
    ok($D->wait_web(15), 'D (HTTP = redirect) answers');
    my $sslport = $D->web_port(1);
    for my $path ('/', '/index.html', '/api/hello', '/no-such-file') {
        my $r = $D->web(GET => $path);
        status_is($r, 308, "D: GET $path over HTTP -> 308");
        like(hdr($r, 'location') // '', qr{^https://[^/]+:$sslport\Q$path\E$},
             "... Location: https://...:$sslport$path");
        is($r->{body} =~ /server_id|<html/i ? 'content' : '', '', '... and nothing served');
    }
    my $r = $D->web(POST => '/api/login', json => { user => 'x', password => 'y' });
    status_is($r, 308, 'D: POST /api/login over HTTP -> 308 (method kept)');
    $r = $D->web(GET => '/api/hello', ssl => 1);
    status_is($r, 200, 'D: GET /api/hello over HTTPS -> 200');
    ok(-f $D->dir . '/data/tls/webconsole.crt' && -f $D->dir . '/data/tls/webconsole.key',
       'D made its self-signed certificate and key in DataDir/tls/');
    is($D->stop, 0, 'D: SIGTERM, exit 0');
    is_deeply([$D->leftovers], [], 'D: no process left behind');
}

# ------------------------------------------------------------ the bridge, no login
{
    my $u = $A->ui_connect;
    my ($r) = $A->ui_request($u, { request => 'hello', id => 1 });
    is($r && $r->{server_id}, $SID_A, 'bridge: hello without a login answers with the server id');
    ($r) = $A->ui_request($u, { request => 'status' });
    is($r && $r->{server_id}, $SID_A, 'bridge: status without a login answers');
    ($r) = $A->ui_request($u, { request => 'peers' });
    ok($r && ref $r->{self} eq 'HASH' && ref $r->{peers} eq 'ARRAY', 'bridge: peers without a login answers');
    for my $q ({ request => 'clients' }, { request => 'dashboard' }, { request => 'log' },
               { request => 'housekeeping' }, { request => 'client', name => 'x' },
               { request => 'client_add', name => 'bridge-evil' },
               { request => 'prune_start' }) {
        my ($d, $raw) = $A->ui_request($u, $q);
        ok($d && defined $d->{error} && !exists $d->{clients} && !exists $d->{token},
           "bridge: $q->{request} without a login is refused with an error")
            or diag($raw // "no answer ($GV::LAST_READ)");
    }
    close $u;
    my ($st, $out) = $A->ctl('client', 'list');
    unlike($out, qr/bridge-evil/, '... and client_add created nothing');
}

# ------------------------------------------------------------ no session: 401
touch_c();
{
    my $r = $A->web(GET => '/api/session');
    api_error($r, 401, 'GET /api/session before any admin exists');
    is($r->{json}{admins}, 0, '... with "admins":0');
}
my ($ADMIN, $PASS) = ('admin', 'correct horse; battery "staple"');
$A->add_admin($ADMIN, $PASS);
{
    my ($st, $out, $err) = $A->ctl('admin', 'list');
    is($st, 0, 'gigavaultctl admin list: exit 0');
    like($out, qr/^\Q$ADMIN\E\b/m, '... lists the new admin');
    my $r = $A->web(GET => '/api/session');
    api_error($r, 401, 'GET /api/session without a cookie');
    is($r->{json}{admins}, 1, '... with "admins":1 after gigavaultctl admin add');
}
my @PROTECTED = ([GET => '/api/dashboard'], [GET => '/api/status'], [GET => '/api/clients'], [GET => '/api/clients/web1'],
    [GET => '/api/peers'], [GET => '/api/housekeeping'], [GET => '/api/log'],
    [POST => '/api/clients', { name => 'nosession' }], [POST => '/api/clients/web1/disable', {}],
    [POST => '/api/clients/web1/enable', {}], [DELETE => '/api/clients/web1'],
    [POST => '/api/housekeeping/prune', {}], [POST => '/api/housekeeping/scrub', {}],
    [POST => '/api/logout', {}], [GET => "/api/peer/$SID_B/dashboard"],
    [GET => "/api/peer/$SID_B/clients"]);
for my $q (@PROTECTED) {
    my ($m, $p, $body) = @$q;
    my $r = $A->web($m => $p, (defined $body ? (json => $body) : ()));
    api_error($r, 401, "$m $p without a session");
    sec_headers($r, "401 for $m $p") if $p eq '/api/dashboard';
    $r = $A->web($m => $p, cookie => 'f' x 64, csrf => 'f' x 64,
                 (defined $body ? (json => $body) : ()));
    api_error($r, 401, "$m $p with a made-up session cookie");
}

# ------------------------------------------------------------ login
touch_c();
{
    my @t;
    for my $i (1 .. 3) {
        my $r = $A->web(POST => '/api/login', json => { user => $ADMIN, password => "wrong $i" });
        api_error($r, 401, "POST /api/login with a wrong password (#$i)");
        ok(!GV::session_cookie($r), '... sets no session cookie');
        push @t, $r->{time};
    }
    diag(sprintf('failed logins took %.2f, %.2f, %.2f s', @t));
    cmp_ok($t[0], '>=', 0.2, 'the first failure is delayed (>= 0.2 s; spec 0.25 s)');
    cmp_ok($t[2], '>=', 0.5, 'the third failure takes at least 0.5 s (the delay grows)');
    cmp_ok($t[2], '>', $t[0], '... longer than the first');
}
my ($COOKIE, $CSRF);
{
    my $r = $A->web(POST => '/api/login', json => { user => $ADMIN, password => $PASS });
    my $d = api_ok($r, 200, 'POST /api/login with the right password');
    is($d->{user}, $ADMIN, '... user');
    like($d->{csrf} // '', qr/^[0-9a-f]{64}$/, '... csrf: 64 hex digits');
    $CSRF = $d->{csrf};
    my ($v, $line) = GV::session_cookie($r);
    like($v // '', qr/^[0-9a-f]{64}$/, '... cookie gv_session=<64 hex>') or diag($line // 'no cookie');
    $COOKIE = $v;
    $line //= '';
    like($line, qr/;\s*Path=\/\s*(;|$)/i, '... Path=/');
    like($line, qr/;\s*HttpOnly\s*(;|$)/i, '... HttpOnly');
    like($line, qr/;\s*SameSite=Strict\s*(;|$)/i, '... SameSite=Strict');
    unlike($line, qr/;\s*Secure\s*(;|$)/i, '... not Secure over HTTP');
    sec_headers($r, 'POST /api/login');
}
unless ($COOKIE && $CSRF) {
    fail('no session: the rest needs one');
    done_testing;
    exit;
}
my %AUTH = (cookie => $COOKIE, csrf => $CSRF);
{
    my $r = $A->web(POST => '/api/login', json => { user => 'nobody-here', password => $PASS });
    api_error($r, 401, 'POST /api/login with an unknown user');
    $r = $A->web(POST => '/api/login', body => qq({"user":"$ADMIN","password":"x"}), type => 'text/plain');
    api_error($r, 415, 'POST /api/login with Content-Type text/plain');
    $r = $A->web(POST => '/api/login', body => '{"user":');
    api_error($r, 400, 'POST /api/login with bad JSON');
    $r = $A->web(POST => '/api/login', json => { user => $ADMIN });
    api_error($r, 400, 'POST /api/login without a password');
    $r = $A->web(GET => '/api/login');
    api_error($r, 405, 'GET /api/login');

    $r = $A->web(GET => '/api/session', cookie => $COOKIE);
    my $d = api_ok($r, 200, 'GET /api/session with the cookie');
    is($d->{user}, $ADMIN, '... user');
    is($d->{csrf}, $CSRF, '... the same csrf token');
    is($d->{server_id}, $SID_A, '... server_id');
    like(hdr($r, 'cache-control') // '', qr/\bno-store\b/, '... Cache-Control: no-store');
}

# ------------------------------------------------------------ CSRF, bodies, clients
touch_c();
my $TOKEN;
{
    my $r = $A->web(POST => '/api/clients', json => { name => 'csrf1' }, cookie => $COOKIE);
    api_error($r, 403, 'POST /api/clients without X-CSRF-Token');
    $r = $A->web(POST => '/api/clients', json => { name => 'csrf2' }, cookie => $COOKIE, csrf => '0' x 64);
    api_error($r, 403, 'POST /api/clients with a wrong X-CSRF-Token');
    $r = $A->web(POST => '/api/clients', json => { name => 'csrf3' }, cookie => $COOKIE, csrf => '');
    api_error($r, 403, 'POST /api/clients with an empty X-CSRF-Token');
    $r = $A->web(POST => '/api/clients', body => '{"name":"plain1"}', type => 'text/plain', %AUTH);
    api_error($r, 415, 'POST /api/clients with Content-Type text/plain');
    $r = $A->web(POST => '/api/clients', body => 'name=form1', type => 'application/x-www-form-urlencoded', %AUTH);
    api_error($r, 415, 'POST /api/clients with a form body');
    for my $bad ('{"name":', '[]', '"web1"', '{}', '{"name":42}', '{"name":"no/slash"}',
                 '{"name":""}', '{"name":"' . ('x' x 65) . '"}') {
        $r = $A->web(POST => '/api/clients', body => $bad, %AUTH);
        api_error($r, 400, "POST /api/clients with body $bad");
    }
    $r = $A->web(POST => '/api/clients', json => { name => 'big1', pad => 'y' x 70000 }, %AUTH);
    api_error($r, 413, 'POST /api/clients with a 70 KB body');

    $r = $A->web(POST => '/api/clients', json => { name => 'web1' }, %AUTH);
    my $d = api_ok($r, 201, 'POST /api/clients {"name":"web1"} with the CSRF token');
    is($d->{name}, 'web1', '... name');
    like($d->{token} // '', qr/^[0-9a-f]{32}$/, '... an enrollment token');
    $TOKEN = $d->{token};
    $r = $A->web(POST => '/api/clients', json => { name => 'web1' }, %AUTH);
    api_error($r, 409, 'POST /api/clients with an existing name');

    $r = $A->web(GET => '/api/clients', cookie => $COOKIE);
    $d = api_ok($r, 200, 'GET /api/clients');
    is_deeply([ map { $_->{name} } @{ $d->{clients} || [] } ], ['web1'],
              '... lists web1 only (nothing from the refused requests)');
    my ($c) = @{ $d->{clients} || [] };
    ok($c && isbool($c->{registered}) && !$c->{registered}, '... not registered yet');
}

# the token from the API registers a real client, which backs up
touch_c();
my $src = "$tmp/src";
make_path("$src/sub");
spit("$src/a.txt", "web console test\n" x 1000);
spit("$src/sub/b.bin", join('', map { chr(($_ * 7919) % 251) } 1 .. 200_000));
my $cl = GVClient->new($A, 'web1', unregistered => 1);
my ($rc, $out, $err) = $cl->run('init');
is($rc, 0, 'gigavault init') or diag($err);
($rc, $out, $err) = $cl->run('register', '-s', '127.0.0.1:' . $A->port('BackupServer'),
                             '--token', $TOKEN // 'none');
is($rc, 0, 'gigavault register with the token from POST /api/clients') or diag($err);
($rc, $out, $err) = $cl->run('backup', '--set', 'webset', $src);
is($rc, 0, 'gigavault backup --set webset') or diag($err);
my @snaps = $cl->snapshots;
is(scalar @snaps, 1, 'the client sees one snapshot');
{
    my $r = $A->web(GET => '/api/clients/web1', cookie => $COOKIE);
    my $d = api_ok($r, 200, 'GET /api/clients/web1');
    my $c = $d->{client} // {};
    is($c->{name}, 'web1', '... client.name');
    ok(isbool($c->{registered}) && $c->{registered}, '... registered: true');
    ok(isbool($c->{disabled}) && !$c->{disabled}, '... disabled: false');
    is($c->{snapshots}, 1, '... snapshots: 1');
    cmp_ok($c->{size} // 0, '>', 0, '... size > 0');
    ok(isint($c->{unique_bytes}), '... unique_bytes is an integer');
    ok(isint($c->{last_backup}) && abs($c->{last_backup} - time) < 300, '... last_backup is recent');
    ok(isint($c->{created}) && isint($c->{id}), '... created and id are integers');
    my $s = $d->{snapshots} // [];
    is(scalar @$s, 1, '... one snapshot');
    my $s0 = $s->[0] // {};
    is($s0->{set}, 'webset', '... set webset');
    is($s0->{id}, $snaps[0] && $snaps[0]{id}, '... the id the client lists');
    ok(isint($s0->{time}) && abs($s0->{time} - time) < 300, '... time is recent');
    cmp_ok($s0->{size} // 0, '>', 0, '... size > 0');
    ok(isint($s0->{files}) && isint($s0->{new_bytes}) && isint($s0->{new_blobs}),
       '... files, new_bytes and new_blobs are integers');
    cmp_ok($s0->{files} // 0, '>=', 2, '... files: the two files backed up');

    $r = $A->web(GET => '/api/status', cookie => $COOKIE);
    $d = api_ok($r, 200, 'GET /api/status');
    is($d->{server_id}, $SID_A, '... server_id');
    is($d->{pool_size}, 2, '... pool_size 2, as the bridge says');

    $r = $A->web(GET => '/api/dashboard', cookie => $COOKIE);
    $d = api_ok($r, 200, 'GET /api/dashboard');
    is($d->{server}{server_id}, $SID_A, '... server.server_id');
    ok(isint($d->{server}{uptime}) && isint($d->{server}{started}), '... uptime, started');
    is($d->{pool}{size}, 2, '... pool.size 2');
    is(scalar @{ $d->{pool}{workers} || [] }, 2, '... two workers');
    ok(isint($d->{pool}{sessions_served}), '... sessions_served');
    cmp_ok($d->{today}{sessions} // 0, '>=', 1, "... today.sessions >= 1 ($d->{today}{sessions})");
    cmp_ok($d->{today}{bytes_in} // 0, '>', 0, '... today.bytes_in > 0');
    cmp_ok($d->{storage}{clients} // 0, '>=', 1, '... storage.clients >= 1');
    cmp_ok($d->{storage}{snapshots} // 0, '>=', 1, '... storage.snapshots >= 1');
    cmp_ok($d->{storage}{size} // 0, '>', 0, '... storage.size > 0');
    cmp_ok($d->{storage}{unique_bytes} // 0, '>', 0, '... storage.unique_bytes > 0');
    ok(defined $d->{storage}{dedup_ratio} && $d->{storage}{dedup_ratio} =~ /^[\d.]+(e[-+]?\d+)?$/i,
       '... storage.dedup_ratio is a number');
    my $days = $d->{days} // [];
    is(scalar @$days, 14, '... 14 days');
    is($days->[-1] && $days->[-1]{day}, strftime('%Y-%m-%d', gmtime), '... the last is today');
    is_deeply([ map { $_->{day} } @$days ], [ sort map { $_->{day} } @$days ], '... oldest first');
    cmp_ok($days->[-1] && $days->[-1]{sessions} // 0, '>=', 1, '... today counts the session');
}

# disable, enable, remove
touch_c();
{
    my $r = $A->web(POST => '/api/clients/web1/disable', json => {}, cookie => $COOKIE);
    api_error($r, 403, 'POST /api/clients/web1/disable without the CSRF token');
    $r = $A->web(POST => '/api/clients/web1/disable', json => {}, %AUTH);
    my $d = api_ok($r, 200, 'POST /api/clients/web1/disable');
    is_deeply($d, {}, '... {}');
    $d = $A->web(GET => '/api/clients/web1', cookie => $COOKIE)->{json} // {};
    ok($d->{client} && $d->{client}{disabled}, '... now disabled');
    my ($st, $o2) = $A->ctl('client', 'list', '--json');
    my ($row) = grep { $_->{name} eq 'web1' } @{ (eval { $J->decode($o2) }) || [] };
    ok($row && $row->{disabled}, '... gigavaultctl client list agrees');
    $r = $A->web(POST => '/api/clients/web1/enable', json => {}, %AUTH);
    api_ok($r, 200, 'POST /api/clients/web1/enable');
    $d = $A->web(GET => '/api/clients/web1', cookie => $COOKIE)->{json} // {};
    ok($d->{client} && !$d->{client}{disabled}, '... enabled again');
    ($rc, $out, $err) = $cl->run('snapshots');
    is($rc, 0, '... and the client works') or diag($err);

    for my $q ([GET => '/api/clients/nosuch'], [POST => '/api/clients/nosuch/disable', {}],
               [POST => '/api/clients/nosuch/enable', {}], [DELETE => '/api/clients/nosuch']) {
        my ($m, $p, $b) = @$q;
        api_error($A->web($m => $p, %AUTH, (defined $b ? (json => $b) : ())), 404, "$m $p");
    }
    $r = $A->web(POST => '/api/clients', json => { name => 'web2' }, %AUTH);
    api_ok($r, 201, 'POST /api/clients {"name":"web2"}');
    $r = $A->web(DELETE => '/api/clients/web2', cookie => $COOKIE);
    api_error($r, 403, 'DELETE /api/clients/web2 without the CSRF token');
    api_error($A->web(DELETE => '/api/clients/web2', %AUTH), 400,
              'DELETE /api/clients/web2 without "confirm"');
    api_error($A->web(DELETE => '/api/clients/web2', json => { confirm => 'web1' }, %AUTH), 400,
              '... with "confirm" naming another client');
    $r = $A->web(DELETE => '/api/clients/web2', json => { confirm => 'web2' }, %AUTH);
    $d = api_ok($r, 200, 'DELETE /api/clients/web2 {"confirm":"web2"}');
    is_deeply($d, {}, '... {}');
    api_error($A->web(GET => '/api/clients/web2', cookie => $COOKIE), 404, '... then GET /api/clients/web2');
    $d = $A->web(GET => '/api/clients', cookie => $COOKIE)->{json} // {};
    is_deeply([ map { $_->{name} } @{ $d->{clients} || [] } ], ['web1'], '... and the list has web1 only');

    api_error($A->web(PUT => '/api/clients', json => { name => 'x' }, %AUTH), 405, 'PUT /api/clients');
    api_error($A->web(POST => '/api/dashboard', json => {}, %AUTH), 405, 'POST /api/dashboard');
    api_error($A->web(GET => '/api/housekeeping/prune', cookie => $COOKIE), 405, 'GET /api/housekeeping/prune');
    api_error($A->web(GET => '/api/logout', cookie => $COOKIE), 405, 'GET /api/logout');
    api_error($A->web(GET => '/api/no-such-call', cookie => $COOKIE), 404, 'GET /api/no-such-call');
}

# ------------------------------------------------------------ peers, peer switch
touch_c();
{
    my $r = $A->web(GET => '/api/peers', cookie => $COOKIE);
    my $d = api_ok($r, 200, 'GET /api/peers');
    ok(ref $d->{self} eq 'HASH' && ref $d->{peers} eq 'ARRAY', '... self and peers, as the bridge');
    is($d->{self}{id}, $SID_A, "... self is A");
    is($d->{self}{id}, $A->peers->{self}{id}, "... as in the bridge's answer");
    my $pb = wait_until(sub {
        my $d = $A->web(GET => '/api/peers', cookie => $COOKIE)->{json} or return;
        (grep { ($_->{id} // '') eq $SID_B } @{ $d->{peers} || [] })[0];
    }, 20, 0.3);
    ok($pb, "A lists B (static Discovery.Peers) in GET /api/peers") or diag($J->encode($A->peers));
    is($pb && $pb->{name}, 'web-b', "... by B's name");

    my $base = "/api/peer/$SID_B";
    $r = $A->web(GET => "$base/hello", cookie => $COOKIE);
    $d = api_ok($r, 200, "GET $base/hello (no peer login needed)");
    is($d->{server_id}, $SID_B, "... answered by B");
    $r = $A->web(GET => "$base/dashboard", cookie => $COOKIE);
    api_error($r, 401, "GET $base/dashboard before logging in to B");
    ok($r->{json} && $r->{json}{peer_login}, '... with "peer_login":true');
    $B->add_admin('badmin', 'b-secret-1');
    $r = $A->web(POST => "$base/login", json => { user => 'badmin', password => 'b-secret-1' }, cookie => $COOKIE);
    api_error($r, 403, "POST $base/login without the CSRF token");
    $r = $A->web(POST => "$base/login", json => { user => 'badmin', password => 'wrong' }, %AUTH);
    api_error($r, 401, "POST $base/login with a wrong password");
    $r = $A->web(POST => "$base/login", json => { user => $ADMIN, password => $PASS }, %AUTH);
    api_error($r, 401, "POST $base/login as A's admin (not B's)");
    $r = $A->web(POST => "$base/login", json => { user => 'badmin', password => 'b-secret-1' }, %AUTH);
    api_ok($r, 200, "POST $base/login with B's admin");
    $r = $A->web(GET => "$base/dashboard", cookie => $COOKIE);
    $d = api_ok($r, 200, "GET $base/dashboard after the peer login");
    is($d->{server} && $d->{server}{server_id}, $SID_B, "... B's dashboard (B's server id)");
    $r = $A->web(GET => "$base/clients", cookie => $COOKIE);
    $d = api_ok($r, 200, "GET $base/clients");
    is_deeply($d->{clients}, [], "... B's clients (none; not A's)");
    $r = $A->web(POST => "$base/clients", json => { name => 'via-a' }, %AUTH);
    $d = api_ok($r, 201, "POST $base/clients adds a client on B");
    my ($st, $o2) = $B->ctl('client', 'list');
    like($o2, qr/^via-a\b/m, '... B has it');
    ($st, $o2) = $A->ctl('client', 'list');
    unlike($o2, qr/^via-a\b/m, '... A does not');
    api_error($A->web(GET => "/api/peer/$ZERO/hello", cookie => $COOKIE), 404,
              'GET /api/peer/<unknown id>/hello');
    $r = $A->web(GET => '/api/peer/not-an-id/hello', cookie => $COOKIE);
    ok($r->{status} == 404 || $r->{status} == 400, 'GET /api/peer/not-an-id/hello -> 404 or 400')
        or diag(rdesc($r));
}

# ------------------------------------------------------------ housekeeping
touch_c();
{
    my $r = $A->web(GET => '/api/housekeeping', cookie => $COOKIE);
    my $d = api_ok($r, 200, 'GET /api/housekeeping');
    is(ref $d->{retention}, 'HASH', '... retention');
    for my $job (qw(prune scrub)) {
        my $j = $d->{$job};
        ok(ref $j eq 'HASH' && isbool($j->{running}) && exists $j->{last} && exists $j->{next} &&
           isint($j->{interval}) && exists $j->{started} &&
           isint($j->{$job eq 'prune' ? 'grace_seconds' : 'rate_limit'}),
           "... $job: interval, running, started, next, last, " .
           ($job eq 'prune' ? 'grace_seconds' : 'rate_limit')) or diag($r->{body});
    }
    $r = $A->web(POST => '/api/housekeeping/prune', json => {}, cookie => $COOKIE);
    api_error($r, 403, 'POST /api/housekeeping/prune without the CSRF token');
    for my $job (qw(prune scrub)) {
        $r = $A->web(POST => "/api/housekeeping/$job", json => {}, %AUTH);
        $d = api_ok($r, 202, "POST /api/housekeeping/$job");
        is($d->{started}, $job, "... {\"started\":\"$job\"}");
        my $again = $A->web(POST => "/api/housekeeping/$job", json => {}, %AUTH);
        ok($again->{status} == 409 || $again->{status} == 202,
           '... at once again: 409 (running) or 202 (the first had ended)') or diag(rdesc($again));
        my $last = wait_until(sub {
            my $h = $A->web(GET => '/api/housekeeping', cookie => $COOKIE)->{json} or return;
            my $j = $h->{$job} or return;
            return !$j->{running} && ref $j->{last} eq 'HASH' ? $j->{last} : undef;
        }, 30, 0.3);
        ok($last, "... the housekeeping status then shows a last $job run");
        is($last && $last->{result}, 'ok', '... result ok') or diag($J->encode($last // {}));
        ok($last && isint($last->{started}) && isint($last->{ended}) && $last->{ended} >= $last->{started}
           && abs($last->{started} - time) < 120, '... started and ended are recent times');
    }
}

# ------------------------------------------------------------ log
touch_c();
{
    my $r = $A->web(GET => '/api/log', cookie => $COOKIE);
    my $d = api_ok($r, 200, 'GET /api/log');
    is($d->{file}, $A->logfile, '... file is Log.File');
    my $lines = $d->{lines} // [];
    ok(ref $lines eq 'ARRAY' && @$lines >= 1 && @$lines <= 200, '... 1 to 200 lines (' . scalar(@$lines) . ')');
    my %inlog = map { $_ => 1 } split /\n/, $A->log_text;
    ok(@$lines && !grep({ !$inlog{$_} } @$lines[0 .. ($#$lines > 20 ? 20 : $#$lines)]),
       '... lines of the log file');
}

# ------------------------------------------------------------ HTTPS
touch_c();
{
    my $crt = $A->dir . '/data/tls/webconsole.crt';
    ok(-f $crt && -f $A->dir . '/data/tls/webconsole.key',
       'no SSL.Certificate: A made DataDir/tls/webconsole.crt and .key');
    my ($st, $sout) = GV::_run_input(['openssl', 's_client', '-connect', '127.0.0.1:' . $A->web_port(1)], '', 15);
    my ($served) = $sout =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/s;
    my ($file) = slurp($crt) =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/s;
    ok($served && $file && $served eq $file, '... and serves it on the HTTPS port');

    my $r = $A->web(GET => '/', ssl => 1);
    status_is($r, 200, 'HTTPS: GET / -> 200');
    like(hdr($r, 'content-type') // '', $TYPE{html}, '... text/html');
    sec_headers($r, 'HTTPS GET /');
    $r = $A->web(GET => '/api/dashboard', ssl => 1);
    api_error($r, 401, 'HTTPS: GET /api/dashboard without a session');
    $r = $A->web(GET => '/../../etc/passwd', ssl => 1);
    status_is($r, 404, 'HTTPS: GET /../../etc/passwd -> 404');

    $r = $A->web(POST => '/api/login', json => { user => $ADMIN, password => $PASS }, ssl => 1);
    my $d = api_ok($r, 200, 'HTTPS: POST /api/login');
    my ($v, $line) = GV::session_cookie($r);
    $line //= '';
    like($line, qr/;\s*Secure\s*(;|$)/i, '... the cookie is Secure');
    like($line, qr/;\s*HttpOnly\s*(;|$)/i, '... HttpOnly');
    like($line, qr/;\s*SameSite=Strict\s*(;|$)/i, '... SameSite=Strict');
    isnt($v, $COOKIE, '... a new session');
    my %S = (cookie => $v, csrf => $d->{csrf}, ssl => 1);
    $d = api_ok($A->web(GET => '/api/dashboard', %S), 200, 'HTTPS: GET /api/dashboard with it');
    is($d->{server} && $d->{server}{server_id}, $SID_A, '... A\'s dashboard');
    api_error($A->web(POST => '/api/clients', json => { name => 'web3' }, cookie => $v, ssl => 1),
              403, 'HTTPS: POST /api/clients without the CSRF token');
    api_error($A->web(POST => '/api/clients', body => '{"name":"web3"}', type => 'text/plain', %S),
              415, 'HTTPS: POST /api/clients as text/plain');
    $d = api_ok($A->web(POST => '/api/clients', json => { name => 'web3' }, %S), 201,
                'HTTPS: POST /api/clients with the CSRF token');
    like($d->{token} // '', qr/^[0-9a-f]{32}$/, '... a token');
    api_ok($A->web(POST => '/api/logout', json => {}, %S), 200, 'HTTPS: POST /api/logout');
    api_error($A->web(GET => '/api/dashboard', %S), 401, 'HTTPS: the cookie is then refused');
    api_ok($A->web(GET => '/api/dashboard', cookie => $COOKIE), 200, '... while the HTTP session lives on');
}

# ------------------------------------------------------------ logout
touch_c();
{
    api_error($A->web(POST => '/api/logout', json => {}, cookie => $COOKIE), 403,
              'POST /api/logout without the CSRF token');
    my $d = api_ok($A->web(POST => '/api/logout', json => {}, %AUTH), 200, 'POST /api/logout');
    is_deeply($d, {}, '... {}');
    api_error($A->web(GET => '/api/dashboard', cookie => $COOKIE), 401, 'GET /api/dashboard after logout');
    api_error($A->web(GET => '/api/session', cookie => $COOKIE), 401, 'GET /api/session after logout');
    api_error($A->web(GET => "/api/peer/$SID_B/dashboard", cookie => $COOKIE), 401,
              'the peer session went with it');
    api_error($A->web(POST => '/api/clients', json => { name => 'late' }, %AUTH), 401,
              'POST with the old cookie and CSRF token after logout');
}

# ------------------------------------------------------------ malformed HTTP
touch_c();
{
    my $port = $A->web_port(0);
    my @bad = ("GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
               "GET /" . ('a' x 20000) . " HTTP/1.1\r\nHost: x\r\n\r\n",
               "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " . ('b' x 100000) . "\r\n\r\n",
               "GET / HTTP/1.1\r\n" . join('', map { "X-H$_: v\r\n" } 1 .. 10000) . "\r\n",
               "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n",
               "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
               "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
               "GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n");
    my $i = 0;
    for my $req (@bad) {
        $i++;
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5) or next;
        GV::send_raw($s, $req);
        my $line = GV::read_line($s, 10);
        my $why = $GV::LAST_READ;
        ok((defined $line && $line =~ m{^HTTP/1\.[01] [45]\d\d\b}) || (!defined $line && $why ne 'timeout'),
           "malformed request #$i: a 4xx/5xx answer or a close, not a hang")
            or diag('got: ' . ($line // $why));
        close $s;
    }
    # connections that say nothing, or half a request, then go away
    my @idle = grep { $_ } map { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5) } 1 .. 10;
    GV::send_raw($_, "GET /index.html HTTP/1.1\r\nHo") for @idle[0 .. 4];
    my $r = $A->web(GET => '/api/hello', timeout => 10);
    status_is($r, 200, 'GET /api/hello while 10 idle connections are open');
    close $_ for @idle;
}
ok($A->wait_ready(2, 10), 'after all of it the pool is ready (bridge status: 2 workers idle or busy)');
status_is($A->web(GET => '/api/hello'), 200, 'and the console still answers over HTTP');
status_is($A->web(GET => '/api/hello', ssl => 1), 200, '... and over HTTPS');
{
    my $r = $A->web(POST => '/api/login', json => { user => $ADMIN, password => $PASS });
    api_ok($r, 200, '... and a login still works');
}

# ------------------------------------------------------------ idle sessions end
touch_c();
{
    my $r = $C->web(GET => '/api/session', cookie => $CS[1]);
    api_ok($r, 200, 'C: the second session, used again');
    my $t_used = time;
    my $wait = $c_t0 + 63 - time;
    note(sprintf('waiting %.0f s for the first session on C to be idle 60 s', $wait)) if $wait > 0;
    sleep $wait if $wait > 0;
    $r = $C->web(GET => '/api/dashboard', cookie => $CS[0]);
    api_error($r, 401, 'C: a session idle longer than WebConsole.SessionTimeout (60 s) has ended');
    SKIP: {
        skip 'the second session was idle too long as well', 1 if time - $t_used > 55;
        $r = $C->web(GET => '/api/dashboard', cookie => $CS[1]);
        api_ok($r, 200, 'C: a session used since lives on (the timeout counts idle time)');
    }
    is($C->stop, 0, 'C: SIGTERM, exit 0');
    is_deeply([$C->leftovers], [], 'C: no process left behind');
}

is($A->stop, 0, 'A: SIGTERM, exit 0');
is_deeply([$A->leftovers], [], 'A: no process left behind');
is($B->stop, 0, 'B: SIGTERM, exit 0');
is_deeply([$B->leftovers], [], 'B: no process left behind');
done_testing;
