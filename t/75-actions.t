#!/usr/bin/perl
# The console's actions (doc/webconsole.md, "Actions"; src/server/uiactions.c)
# and gigavaultctl's snapshot protect|unprotect|forget, each effect checked
# through gigavaultctl or the client:
#  - CSRF (403) and no session (401) on every new write; no session on the
#    new reads;
#  - the retention policy of a client and set: where it comes from (server,
#    client, set), set and cleared, refused as gigavaultctl policy set
#    refuses (a rule above 1000000, not a number, no rule, a bad set name,
#    an unknown client; clearing a policy that is not there);
#  - one snapshot: its row and what the policy says of it; protect and
#    unprotect (shown by gigavaultctl snapshots, table and JSON, and by
#    the client's gigavault snapshots over protocol version 5); forget
#    needs "confirm", is refused for a protected snapshot and one the policy
#    keeps (also by gigavaultctl snapshot forget), and works otherwise;
#  - the client's own forget of a protected snapshot is refused even when
#    it may forget freely (allow-forget / deny-forget from the console,
#    checked with gigavaultctl client list);
#  - prune honours the flag: the policy (keep-last 1) would drop the
#    protected snapshot, prune keeps it, and its data restores byte for
#    byte, while the unprotected one is forgotten;
#  - a new enrollment token: the client registers again with it, the older
#    unused one is refused; remove needs "confirm";
#  - the flag survives gigavaultctl rebuild-catalog (the journal).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use GV;
use GVClient;

plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my ($ADMIN, $PASS) = ('act-admin', 'actions pass phrase');
my $J = JSON::PP->new->canonical;

sub rdesc {
    my ($r) = @_;
    my $b = $r->{body} // '';
    $b = substr($b, 0, 400) . '...' if length $b > 400;
    return "got $r->{status}, body: $b";
}
sub api_ok {
    my ($r, $code, $what) = @_;
    my $ok = $r->{status} == $code && ref $r->{json} eq 'HASH';
    ok($ok, "$what -> $code") or diag(rdesc($r));
    return $ok ? $r->{json} : {};
}
sub api_error {
    my ($r, $code, $what, $like) = @_;
    my $ok = $r->{status} == $code && ref $r->{json} eq 'HASH' && defined $r->{json}{error} &&
             (!$like || $r->{json}{error} =~ $like);
    ok($ok, "$what -> $code {\"error\"}" . ($like ? " matching $like" : '')) or diag(rdesc($r));
    note("error: $r->{json}{error}") if $ok;
}

my $gv = GV->start(GV::web_opts(Workers => 2, 'Discovery.Name' => 'actions',
                                'Prune.GraceSeconds' => 0, 'Prune.Interval' => 0));
ok($gv->wait_web(15), 'the console answers') or do { $gv->diag_logs; done_testing; exit };
$gv->add_admin($ADMIN, $PASS);
my %AUTH;
{
    my $r = $gv->web(POST => '/api/login', json => { user => $ADMIN, password => $PASS });
    my $d = api_ok($r, 200, 'log in');
    my ($cookie) = GV::session_cookie($r);
    %AUTH = (cookie => $cookie, csrf => $d->{csrf});
}
sub get  { $gv->web(GET => $_[0], cookie => $AUTH{cookie}) }
sub post { $gv->web(POST => $_[0], json => $_[1] // {}, %AUTH) }

sub ctl_json {
    my (@args) = @_;
    my ($st, $out, $err) = $gv->ctl(@args, '--json');
    is($st, 0, "gigavaultctl @args --json: exit 0") or diag($err);
    return eval { $J->decode($out) };
}
sub ctl_snaps {
    my $list = ctl_json('snapshots', 'act1') || [];
    return { map { $_->{id} => $_ } @$list };
}

# ------------------------------------------------------ a client, three snapshots
my $cl = GVClient->new($gv, 'act1');
my $src = $gv->dir . '/src';
make_path($src);
my %seen;			# version -> copy of the tree
for my $v (1 .. 3) {
    GVClient::_spit_bytes("$src/data", GVClient::pseudo_bytes(300_000, "version $v"));
    GVClient::_spit_bytes("$src/small", "version $v\n");
    my ($rc, $out, $err) = $cl->run('backup', '--set', 'home', $src);
    is($rc, 0, "backup $v of set home") or diag($err);
    $seen{$v} = GVClient::pseudo_bytes(300_000, "version $v");
    sleep 1 if $v < 3;	# distinct times
}
my $s = ctl_snaps();
is_deeply([ sort keys %$s ], [1, 2, 3], 'gigavaultctl snapshots: 1, 2, 3');
ok(!grep({ $_->{protected} } values %$s), '... none protected (a JSON false)');
ok(JSON::PP::is_bool($s->{1}{protected}), '... "protected" is a boolean');

# ------------------------------------------------------ CSRF, no session
my @WRITES = (['/api/clients/act1/policy', { set => 'home', keep_last => 1 }],
              ['/api/clients/act1/policy/clear', { set => 'home' }],
              ['/api/clients/act1/snapshot/protect', { snapshot => 1 }],
              ['/api/clients/act1/snapshot/unprotect', { snapshot => 1 }],
              ['/api/clients/act1/snapshot/forget', { snapshot => 2, confirm => JSON::PP::true }],
              ['/api/clients/act1/token', {}],
              ['/api/clients/act1/allow-forget', {}],
              ['/api/clients/act1/deny-forget', {}]);
for my $w (@WRITES) {
    my ($p, $b) = @$w;
    api_error($gv->web(POST => $p, json => $b, cookie => $AUTH{cookie}), 403,
              "POST $p without the CSRF token");
    api_error($gv->web(POST => $p, json => $b, cookie => $AUTH{cookie}, csrf => 'f' x 64), 403,
              "POST $p with a wrong CSRF token");
    api_error($gv->web(POST => $p, json => $b), 401, "POST $p without a session");
}
for my $p ('/api/clients/act1/policy', '/api/clients/act1/snapshot?snapshot=1') {
    api_error($gv->web(GET => $p), 401, "GET $p without a session");
}
is_deeply(ctl_snaps()->{2} ? [1] : [], [1], 'nothing was forgotten by the refused calls');
my ($st, $out, $err) = $gv->ctl('client', 'list', '--json');
my ($row) = grep { $_->{name} eq 'act1' } @{ (eval { $J->decode($out) }) || [] };
ok($row && !$row->{allow_forget}, '... nor allowed to forget');

# ------------------------------------------------------ retention policy
my $d = api_ok(get('/api/clients/act1/policy'), 200, 'GET /api/clients/act1/policy');
my %from = map { $_->{set} => $_ } @{ $d->{sets} || [] };
is_deeply([ sort keys %from ], ['', 'home'], '... the client default and set home');
is($from{home}{from}, 'server', '... home: the server default applies');
is($from{''}{from}, 'server', "... the client's default: the server's");
is($d->{keep_max}, 1000000, '... keep_max 1000000');
ok(JSON::PP::is_bool($d->{allow_forget}) && !$d->{allow_forget}, '... allow_forget false');

for my $bad ([{ set => 'home', keep_last => 1000001 }, 400, qr/keep_last/],
             [{ set => 'home', keep_daily => 'x' }, 400, qr/keep_daily/],
             [{ set => 'home', keep_daily => -1 }, 400, qr/keep_daily/],
             [{ set => 'home' }, 400, qr/at least one rule/],
             [{ set => '..', keep_last => 1 }, 400, qr/set/],
             [{ set => 'a/b', keep_last => 1 }, 400, qr/set/]) {
    my ($b, $code, $like) = @$bad;
    api_error(post('/api/clients/act1/policy', $b), $code, 'policy ' . $J->encode($b), $like);
}
api_error(post('/api/clients/nobody/policy', { keep_last => 1 }), 404, 'policy of an unknown client');
($st, $out, $err) = $gv->ctl('policy', 'set', 'act1', '--set', 'home', '--keep-last', '1000001');
is($st, 2, 'gigavaultctl refuses keep-last 1000001 likewise (exit 2)');
my $pol = ctl_json('policy', 'show', 'act1');
is_deeply($pol->{clients}[0]{policies}, [], '... no policy was stored by the refused calls');

$d = api_ok(post('/api/clients/act1/policy', { set => 'home', keep_last => 1 }), 200,
            'policy of set home: keep_last 1');
is_deeply($d->{policy}, { keep_last => 1, keep_hourly => 0, keep_daily => 0, keep_weekly => 0,
                          keep_monthly => 0, keep_yearly => 0 }, '... the rules as stored');
$d = api_ok(post('/api/clients/act1/policy', { keep_daily => '7' }), 200,
            "policy of the client's default: keep_daily \"7\"");
$pol = ctl_json('policy', 'show', 'act1');
my %p = map { $_->{set} => $_ } @{ $pol->{clients}[0]{policies} || [] };
ok($p{home} && $p{home}{keep_last} == 1 && $p{home}{keep_daily} == 0,
   'gigavaultctl policy show: home keeps the last 1');
ok($p{''} && $p{''}{keep_daily} == 7, '... and the default keeps 7 daily');
$d = api_ok(get('/api/clients/act1/policy'), 200, 'GET the policy again');
%from = map { $_->{set} => $_ } @{ $d->{sets} || [] };
is($from{home}{from}, 'set', '... home: its own');
is($from{''}{from}, 'client', "... default: the client's");
is($from{''}{policy}{keep_daily}, 7, '... keep_daily 7');
api_ok(post('/api/clients/act1/policy/clear', {}), 200, "clear the client's default");
api_error(post('/api/clients/act1/policy/clear', {}), 404, '... clear it again', qr/no policy/);
($st, $out, $err) = $gv->ctl('policy', 'clear', 'act1');
is($st, 1, '... as gigavaultctl policy clear refuses it (exit 1)');
$pol = ctl_json('policy', 'show', 'act1');
is_deeply([ map { $_->{set} } @{ $pol->{clients}[0]{policies} } ], ['home'],
          'gigavaultctl: only the policy of home is left');

# ------------------------------------------------------ one snapshot
api_error(get('/api/clients/act1/snapshot'), 400, 'GET snapshot without an id');
api_error(get('/api/clients/act1/snapshot?snapshot=x'), 400, 'GET snapshot=x');
api_error(get('/api/clients/act1/snapshot?snapshot=99'), 404, 'GET snapshot=99');
$d = api_ok(get('/api/clients/act1/snapshot?snapshot=1'), 200, 'GET snapshot 1');
is($d->{snapshot}{id}, 1, '... id 1');
is($d->{snapshot}{set}, 'home', '... set home');
ok(!$d->{snapshot}{protected}, '... not protected');
like($d->{snapshot}{root} // '', qr/^[0-9a-f]{64}$/, '... root id in hex');
ok($d->{snapshot}{size} >= 300_000, '... its size');
ok($d->{retention} && !$d->{retention}{keep}, '... the policy (keep_last 1) does not keep it');
is($d->{policy}{from}, 'set', '... the policy of set home, its own');

# protect 1
$d = api_ok(post('/api/clients/act1/snapshot/protect', { snapshot => 1 }), 200, 'protect 1');
ok($d->{protected}, '... protected: true');
$s = ctl_snaps();
ok($s->{1}{protected} && !$s->{2}{protected} && !$s->{3}{protected},
   'gigavaultctl snapshots --json: 1 protected, 2 and 3 not');
($st, $out) = $gv->ctl('snapshots', 'act1');
like($out, qr/^act1\s+1\s+home\s.*\sprotected$/m, '... the table says "protected" for 1');
like($out, qr/^act1\s+2\s+home\s.*\s-$/m, '... and "-" for 2');
{
    my %cs = map { $_->{id} => $_ } $cl->snapshots;
    ok(JSON::PP::is_bool($cs{1}{protected}) && $cs{1}{protected} && !$cs{2}{protected},
       'gigavault snapshots --json (protocol version 5): 1 protected, 2 not');
    my ($crc, $cout) = $cl->run('snapshots');
    like($cout, qr/^1\s.*\sprotected$/m, '... the table ends the line of 1 with "protected"');
    unlike($cout, qr/^2\s.*protected/m, '... not that of 2');
}
$d = api_ok(get('/api/clients/act1/snapshot?snapshot=1'), 200, 'GET snapshot 1');
ok($d->{snapshot}{protected} && $d->{retention}{keep} && $d->{retention}{why} eq 'protected',
   '... protected, and kept as protected');
$d = api_ok(get('/api/clients/act1'), 200, 'GET the client');
my %row = map { $_->{id} => $_ } @{ $d->{snapshots} || [] };
ok($row{1}{protected} && !$row{2}{protected}, '... its snapshots list the flag');
api_error(post('/api/clients/act1/snapshot/protect', { snapshot => 9 }), 404, 'protect 9');
api_error(post('/api/clients/act1/snapshot/protect', {}), 400, 'protect without a snapshot');
api_error(post('/api/clients/act1/snapshot/protect', { snapshot => 0 }), 400, 'protect 0');

# forget: confirm, protected, kept
api_error(post('/api/clients/act1/snapshot/forget', { snapshot => 1 }), 400,
          'forget 1 without "confirm"', qr/confirm/);
api_error(post('/api/clients/act1/snapshot/forget', { snapshot => 1, confirm => JSON::PP::false }),
          400, 'forget 1 with "confirm": false', qr/confirm/);
api_error(post('/api/clients/act1/snapshot/forget', { snapshot => 1, confirm => JSON::PP::true }),
          409, 'forget 1 (protected)', qr/protected/);
($st, $out, $err) = $gv->ctl('snapshot', 'forget', 'act1', '1');
is($st, 1, 'gigavaultctl snapshot forget act1 1: exit 1');
like($err, qr/protected/, '... it is protected');
api_error(post('/api/clients/act1/snapshot/forget', { snapshot => 3, confirm => JSON::PP::true }),
          409, 'forget 3 (the policy keeps the last)', qr/kept by the retention policy/);
($st, $out, $err) = $gv->ctl('snapshot', 'forget', 'act1', '3');
is($st, 1, 'gigavaultctl snapshot forget act1 3: exit 1');
like($err, qr/kept by the retention policy/, '... the policy keeps it');
($st, $out, $err) = $gv->ctl('snapshot', 'forget', 'act1', 'x');
is($st, 2, 'gigavaultctl snapshot forget act1 x: exit 2');
($st, $out, $err) = $gv->ctl('snapshot', 'protect', 'act1', '99');
is($st, 1, 'gigavaultctl snapshot protect act1 99: exit 1');
like($err, qr/no snapshot 99/, '... no such snapshot');
($st, $out, $err) = $gv->ctl('snapshot', 'protect', 'nobody', '1');
is($st, 1, 'gigavaultctl snapshot protect nobody 1: exit 1');
$s = ctl_snaps();
is_deeply([ sort keys %$s ], [1, 2, 3], 'all three snapshots are still there');

# the client's own forget
$d = api_ok(post('/api/clients/act1/allow-forget', {}), 200, 'allow client forget');
($st, $out) = $gv->ctl('client', 'list', '--json');
($row) = grep { $_->{name} eq 'act1' } @{ (eval { $J->decode($out) }) || [] };
ok($row && $row->{allow_forget}, 'gigavaultctl client list: allow_forget true');
my ($rc, $cout, $cerr) = $cl->run('forget', '1');
like($cout . $cerr, qr/snapshot 1: kept by the server/, "the client's forget of 1 is refused (protected)");
ok(ctl_snaps()->{1}, '... 1 is still there');
$d = api_ok(post('/api/clients/act1/deny-forget', {}), 200, 'deny client forget');
($st, $out) = $gv->ctl('client', 'list', '--json');
($row) = grep { $_->{name} eq 'act1' } @{ (eval { $J->decode($out) }) || [] };
ok($row && !$row->{allow_forget}, 'gigavaultctl client list: allow_forget false');

# ------------------------------------------------------ prune honours the flag
($st, $out, $err) = $gv->ctl('prune', '--dry-run');
is($st, 0, 'prune --dry-run') or diag($err);
like($out, qr{would forget snapshot act1/2 }, '... would forget 2');
unlike($out, qr{forget snapshot act1/1 }, '... not the protected 1');
like($out, qr{kept snapshot act1/1 of set home \(protected; the retention policy does not keep it\)},
     '... and says it keeps 1 for its flag');
($st, $out, $err) = $gv->ctl('prune');
is($st, 0, 'gigavaultctl prune') or diag($err);
like($out, qr{forgot snapshot act1/2 }, '... forgot 2');
$s = ctl_snaps();
is_deeply([ sort keys %$s ], [1, 3], '... 1 (protected) and 3 (the newest) are left');
my $target = $gv->dir . '/restore1';
($rc, $cout, $cerr) = $cl->run('restore', '--target', $target, '1');
is($rc, 0, 'restore snapshot 1 after prune') or diag($cerr);
ok(-f "$target$src/data" && GV::_slurp("$target$src/data") eq $seen{1},
   '... its data is version 1, byte for byte');
is(GV::_slurp("$target$src/small"), "version 1\n", '... and so is the small file');
($rc, $cout, $cerr) = $cl->run('verify', '1');
is($rc, 0, '... and it verifies') or diag($cout . $cerr);

# prune from the console (as today) while 1 stays protected
$d = api_ok(post('/api/housekeeping/prune', {}), 202, 'POST /api/housekeeping/prune');
my $done = GV::wait_until(sub {
    my $h = get('/api/housekeeping')->{json} || {};
    my $p = $h->{prune} || {};
    return !$p->{running} && $p->{last} && $p->{last}{result} ? $p->{last} : undef;
}, 60, 0.2);
ok($done && $done->{result} eq 'ok', '... the prune ran to its end') or diag($J->encode($done // {}));
is_deeply([ sort keys %{ ctl_snaps() } ], [1, 3], '... 1 and 3 still there');

# unprotect from gigavaultctl and the console; then forget works
($st, $out, $err) = $gv->ctl('snapshot', 'protect', 'act1', '3');
is($st, 0, 'gigavaultctl snapshot protect act1 3') or diag($err);
$d = api_ok(get('/api/clients/act1/snapshot?snapshot=3'), 200, 'GET snapshot 3');
ok($d->{snapshot}{protected}, '... the console sees it protected');
($st, $out, $err) = $gv->ctl('snapshot', 'unprotect', 'act1', '3');
is($st, 0, 'gigavaultctl snapshot unprotect act1 3') or diag($err);
ok(!ctl_snaps()->{3}{protected}, '... not protected');
api_ok(post('/api/clients/act1/snapshot/unprotect', { snapshot => 1 }), 200, 'unprotect 1');
ok(!ctl_snaps()->{1}{protected}, 'gigavaultctl: 1 is not protected any more');
$d = api_ok(post('/api/clients/act1/snapshot/forget', { snapshot => 1, confirm => JSON::PP::true }),
            200, 'forget 1 (confirmed, unprotected, not kept by the policy)');
is_deeply([ sort keys %{ ctl_snaps() } ], [3], 'gigavaultctl snapshots: 3 is left');
api_error(post('/api/clients/act1/snapshot/forget', { snapshot => 1, confirm => JSON::PP::true }),
          404, 'forget 1 again');

# ------------------------------------------------------ a new enrollment token
$d = api_ok(post('/api/clients/act1/token', {}), 201, 'a new enrollment token');
my $tok1 = $d->{token} // '';
like($tok1, qr/^[0-9a-f]{32}$/, '... 32 hex digits');
$d = api_ok(post('/api/clients/act1/token', {}), 201, 'another one (the first is replaced)');
my $tok2 = $d->{token} // '';
isnt($tok2, $tok1, '... a different token');
api_error(post('/api/clients/nobody/token', {}), 404, 'a token for an unknown client');
my $again = GVClient->new($gv, 'act1-again', unregistered => 1);
($rc, $cout, $cerr) = $again->run('init');
is($rc, 0, 'a second machine: init') or diag($cerr);
my @reg = ('register', '-s', '127.0.0.1:' . $gv->port('BackupServer'));
($rc, $cout, $cerr) = $again->run(@reg, '--token', $tok1);
isnt($rc, 0, '... the replaced token is refused');
($rc, $cout, $cerr) = $again->run(@reg, '--token', $tok2);
is($rc, 0, '... the new one registers it') or diag($cerr);
like($cout . $cerr, qr/act1/, '... as act1');
($rc, $cout, $cerr) = $again->run('snapshots');
is($rc, 0, '... and it lists the snapshots of act1') or diag($cerr);

# ------------------------------------------------------ the flag in the journal
api_ok(post('/api/clients/act1/snapshot/protect', { snapshot => 3 }), 200, 'protect 3 again');
api_error($gv->web(DELETE => '/api/clients/act1', %AUTH), 400, 'remove act1 without "confirm"');
$gv->stop;
my ($mdb) = grep { -f } map { $gv->dir . "/data/$_/data.mdb" } 'catalog', '.';
ok($mdb, "the catalog's data.mdb is there") or diag(`ls -R ${\$gv->dir}/data | head -30`);
unlink $mdb, ($mdb // '') =~ s/data\.mdb$/lock.mdb/r if $mdb;
($st, $out, $err) = $gv->ctl('rebuild-catalog');
is($st, 0, 'rebuild-catalog from the packs and the journal') or diag("$out$err");
$s = ctl_snaps();
is_deeply([ sort keys %$s ], [3], '... snapshot 3 is back');
ok($s->{3} && $s->{3}{protected}, '... protected, as the journal says');

done_testing;
