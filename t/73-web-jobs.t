#!/usr/bin/perl
# The console's side of the agents' job reports (doc/webconsole.md):
#  - clients' health from real reports sent over a backup session by
#    t/gv-report: ok, failed (with its message, also one not UTF-8),
#    overdue (its next run past Jobs.OverdueGrace), never; the counts in
#    /api/clients and /api/dashboard; the client page's jobs;
#  - the history: newest first, pages (limit, before, more), bad
#    arguments 400, no login 401 (web and bridge);
#  - "Back up now" (POST /api/clients/NAME/backup): CSRF, bad set,
#    unknown and disabled client, a set the agent has no job for; the
#    request queued, taken by one poll of the agent (t/gv-report --poll),
#    then its report in the history naming it, and gone from the queue;
#  - "Back up now" with the real gigavault-agent: its poll takes the
#    request, it backs up, its report names the request and the snapshot;
#  - agents in the peers: in network namespaces of the test's own (root;
#    skipped otherwise), the agent's discovery (t/gv-announce) on two
#    machines, one an enrolled client's and one a stranger: the
#    administrator's peer list says which client each is (or null), the
#    bridge's public answer does not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);
use GV;
use GVClient;

plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
my $REPORT = "$GV::BUILDDIR/t/gv-report";
my $ANNOUNCE = "$GV::BUILDDIR/t/gv-announce";
ok(-x $REPORT, 't/gv-report is built') or BAIL_OUT('run make check (t/gv-report)');
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my $GRACE = 30;
my ($ADMIN, $PASS) = ('jobs-admin', 'jobs pass phrase');

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
    my ($r, $code, $what) = @_;
    my $ok = $r->{status} == $code && ref $r->{json} eq 'HASH' && defined $r->{json}{error};
    ok($ok, "$what -> $code {\"error\"}") or diag(rdesc($r));
    note("error: $r->{json}{error}") if $ok;
}

# report($client, @flags): t/gv-report as that client -> (exit, stdout, stderr)
sub report {
    my ($cl, @flags) = @_;
    return GVClient::run_cmd([$REPORT, '-c', "$cl->{dir}/client.conf", @flags],
                             { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
}

sub login {
    my ($gv) = @_;
    my $r = $gv->web(POST => '/api/login', json => { user => $ADMIN, password => $PASS });
    my $d = api_ok($r, 200, 'log in');
    my ($cookie) = GV::session_cookie($r);
    return (cookie => $cookie, csrf => $d->{csrf});
}

my $A = GV->start(GV::web_opts(Workers => 2, 'Discovery.Name' => 'jobs-a',
                               'Jobs.OverdueGrace' => $GRACE));
ok($A->wait_web(15), 'the console answers') or do { $A->diag_logs; done_testing; exit };
$A->add_admin($ADMIN, $PASS);
my %AUTH = login($A);
my %C = map { $_ => GVClient->new($A, $_) } qw(okc failc latec newc offc);

# ------------------------------------------------------------ no login
{
    api_error($A->web(GET => '/api/clients/okc/history'), 401, 'GET history without a session');
    api_error($A->web(POST => '/api/clients/okc/backup', json => { set => 'home' }), 401,
              'POST backup without a session');
    my $s = $A->ui_connect or die 'the bridge does not answer';
    my ($r, $raw) = $A->ui_request($s, { request => 'client_history', name => 'okc' });
    is($r && $r->{code}, 401, 'bridge: client_history without a login is 401') or diag($raw // 'no answer');
    ($r, $raw) = $A->ui_request($s, { request => 'client_backup', name => 'okc', set => 'home' });
    is($r && $r->{code}, 401, 'bridge: client_backup without a login is 401') or diag($raw // 'no answer');
    close $s;
}

# ------------------------------------------------------------ health
my $now = time;
my @rc;
push @rc, report($C{okc}, '--set', 'home', '--result', 'ok', '--start', '-60', '--end', '-50',
                 '--next-run', '+3600');
push @rc, report($C{failc}, '--set', 'home', '--result', 'ok', '--start', '-200', '--end', '-190',
                 '--next-run', '+3600');
push @rc, report($C{failc}, '--set', 'home', '--result', 'failed', '--start', '-20', '--end', '-10',
                 '--error', 'cannot read /srv/data: Input/output error', '--next-run', '+3600');
push @rc, report($C{latec}, '--set', 'home', '--result', 'ok', '--start', '-7200', '--end', '-7100',
                 '--next-run', '-' . ($GRACE + 100));
push @rc, report($C{offc}, '--set', 'etc', '--result', 'failed', '--start', '-20', '--end', '-10',
                 '--error', "bad bytes \xff\xfe here", '--next-run', '+3600');
is_deeply([ map { $rc[$_] } grep { $_ % 3 == 0 } 0 .. $#rc ], [0, 0, 0, 0, 0],
          't/gv-report sent five reports (exit 0 each)')
    or diag(join "\n", map { $rc[$_] } grep { $_ % 3 == 2 } 0 .. $#rc);

my %want = (okc => 'ok', failc => 'failed', latec => 'overdue', newc => 'never', offc => 'failed');
{
    my $d = api_ok($A->web(GET => '/api/clients', %AUTH), 200, 'GET /api/clients');
    my %by = map { $_->{name} => $_ } @{ $d->{clients} || [] };
    is_deeply({ map { $_ => $by{$_}{health} } keys %want }, \%want,
              'each client has its health: ok, failed, overdue, never');
    is_deeply($d->{health}, { ok => 1, failed => 2, overdue => 1, never => 1 },
              'the counts: 1 ok, 2 failed, 1 overdue, 1 never');
    my $f = $by{failc} || {};
    is($f->{last_error}, 'cannot read /srv/data: Input/output error', 'failc: the last failure\'s message');
    cmp_ok(abs(($f->{last_failure} // 0) - ($now - 10)), '<=', 5, 'failc: last failure when it ended');
    cmp_ok(abs(($f->{last_success} // 0) - ($now - 190)), '<=', 5, 'failc: last success is the earlier run');
    cmp_ok(abs(($f->{next_run} // 0) - ($now + 3600)), '<=', 5, 'failc: next run as the agent said');
    is($by{newc}{last_success}, undef, 'newc: no last success (null)');
    is($by{newc}{last_error}, undef, 'newc: no last error (null)');
    like($by{offc}{last_error} // '', qr/^bad bytes \?\? here$/,
         'a message that is not UTF-8 is shown with ? for its bytes');
    ok(!defined $by{okc}{last_error}, 'okc: no failure, no message');
    $d = api_ok($A->web(GET => '/api/dashboard', %AUTH), 200, 'GET /api/dashboard');
    is_deeply($d->{health}, { ok => 1, failed => 2, overdue => 1, never => 1 },
              'the dashboard has the same four counts');
    $d = api_ok($A->web(GET => '/api/clients/failc', %AUTH), 200, 'GET /api/clients/failc');
    is($d->{client}{health}, 'failed', '... its health');
    my ($j) = grep { $_->{set} eq 'home' } @{ $d->{jobs} || [] };
    ok($j && $j->{health} eq 'failed' && $j->{last_error} =~ /Input\/output error/,
       '... its job "home": failed, with the message')
        or diag(JSON::PP->new->canonical->encode($d->{jobs}));
    is_deeply($d->{requests}, [], '... no request queued');
}

# ------------------------------------------------------------ history
{
    for my $i (1 .. 3) {
        my ($r, undef, $e) = report($C{okc}, '--set', 'home', '--result', $i == 2 ? 'partial' : 'ok',
                                    '--start', '-' . (40 - $i), '--end', '-' . (30 - $i),
                                    '--next-run', '+3600');
        is($r, 0, "okc: report $i more") or diag($e);
    }
    my $d = api_ok($A->web(GET => '/api/clients/okc/history', %AUTH), 200, 'GET /api/clients/okc/history');
    my @j = @{ $d->{jobs} || [] };
    is(scalar @j, 4, '... its 4 reports');
    is_deeply([ map { $_->{seq} } @j ], [ sort { $b <=> $a } map { $_->{seq} } @j ], '... newest first');
    is_deeply([ map { $_->{result} } @j ], [qw(ok partial ok ok)], '... their results');
    ok(!$d->{more}, '... no more');
    my $r0 = $j[0] || {};
    ok(defined $r0->{received} && abs($r0->{received} - time) < 60, '... received by the server\'s clock');
    is($r0->{request}, undef, '... not asked for (request null)');
    $d = api_ok($A->web(GET => '/api/clients/okc/history?limit=2', %AUTH), 200, 'history?limit=2');
    is(scalar @{ $d->{jobs} || [] }, 2, '... 2 reports');
    ok($d->{more}, '... and more');
    my $last = $d->{jobs}[-1]{seq} // 0;
    $d = api_ok($A->web(GET => "/api/clients/okc/history?limit=2&before=$last", %AUTH), 200,
                "history?limit=2&before=$last");
    is_deeply([ map { $_->{seq} } @{ $d->{jobs} || [] } ], [ map { $_->{seq} } @j[2, 3] ],
              '... the next page: the two oldest');
    ok(!$d->{more}, '... and no more');
    for my $q ('limit=0', 'limit=501', 'limit=x', 'limit=-1', 'before=0', 'before=1x') {
        api_error($A->web(GET => "/api/clients/okc/history?$q", %AUTH), 400, "history?$q");
    }
    api_error($A->web(GET => '/api/clients/nosuch/history', %AUTH), 404, 'history of an unknown client');
    $d = api_ok($A->web(GET => '/api/clients/newc/history', %AUTH), 200, 'history of newc');
    is_deeply($d->{jobs}, [], '... empty');
}

# ------------------------------------------------------------ back up now
my $REQ;
{
    api_error($A->web(POST => '/api/clients/okc/backup', json => { set => 'home' },
                      cookie => $AUTH{cookie}), 403, 'backup without the CSRF token');
    api_error($A->web(POST => '/api/clients/okc/backup', json => { set => 'no/slash' }, %AUTH), 400,
              'backup of a bad set name');
    api_error($A->web(POST => '/api/clients/okc/backup', json => { set => 42 }, %AUTH), 400,
              'backup with a set that is not a string');
    api_error($A->web(POST => '/api/clients/nosuch/backup', json => { set => 'home' }, %AUTH), 404,
              'backup of an unknown client');
    my ($rc, $out, $err) = $A->ctl('client', 'disable', 'newc');
    is($rc, 0, 'newc disabled') or diag($err);
    api_error($A->web(POST => '/api/clients/newc/backup', json => {}, %AUTH), 409,
              'backup of a disabled client');

    # the agent of okc describes its one job (set "home")
    ($rc, $out, $err) = report($C{okc}, '--poll', '--job', 'home:+3600:86400');
    is($rc, 0, 'okc: a poll describing job "home"') or diag($err);
    api_error($A->web(POST => '/api/clients/okc/backup', json => { set => 'nojob' }, %AUTH), 409,
              'backup of a set the agent has no job for');

    my $d = api_ok($A->web(POST => '/api/clients/okc/backup', json => { set => 'home' }, %AUTH), 202,
                   'POST /api/clients/okc/backup {"set":"home"}');
    $REQ = $d->{request};
    like($REQ // '', qr/^\d+$/, "... request id $REQ");
    is($d->{state}, 'queued', '... queued');
    $d = api_ok($A->web(GET => '/api/clients/okc', %AUTH), 200, 'GET /api/clients/okc');
    my ($q) = @{ $d->{requests} || [] };
    ok($q && $q->{id} == $REQ && $q->{state} eq 'queued' && $q->{set} eq 'home' && !defined $q->{taken},
       '... lists the request: queued, not taken')
        or diag(JSON::PP->new->canonical->encode($d->{requests}));
    like($q->{by} // '', qr/^console: \Q$ADMIN\E$/, '... asked by "console: ' . $ADMIN . '"');
    like($A->log_text, qr/\Q$ADMIN\E asked client okc to back up set "home" now \(request $REQ\)/,
         'the daemon logs who asked');

    ($rc, $out, $err) = report($C{okc}, '--poll', '--job', 'home:+3600:86400');
    is($rc, 0, 'okc: the agent polls') or diag($err);
    like($out, qr/\b$REQ\b.*\bhome\b|\bhome\b.*\b$REQ\b/, '... and gets the request') or diag($out);
    ($rc, $out, $err) = report($C{okc}, '--poll', '--job', 'home:+3600:86400');
    unlike($out, qr/\b$REQ\b/, '... once only') or diag($out);

    $d = api_ok($A->web(GET => '/api/clients/okc', %AUTH), 200, 'GET /api/clients/okc again');
    ($q) = @{ $d->{requests} || [] };
    ok($q && $q->{id} == $REQ && $q->{state} eq 'taken' && $q->{taken} > 0,
       '... the request is taken by the agent')
        or diag(JSON::PP->new->canonical->encode($d->{requests}));

    ($rc, $out, $err) = report($C{okc}, '--set', 'home', '--result', 'ok', '--start', '-5', '--end', '-1',
                               '--next-run', '+3600', '--request', $REQ);
    is($rc, 0, 'okc: the agent reports the run it was asked for') or diag($err);
    $d = api_ok($A->web(GET => '/api/clients/okc/history?limit=1', %AUTH), 200, 'its history');
    is($d->{jobs}[0]{request}, $REQ, "... the newest report names request $REQ");
    is($d->{jobs}[0]{result}, 'ok', '... ok');
    $d = api_ok($A->web(GET => '/api/clients/okc', %AUTH), 200, 'GET /api/clients/okc');
    is_deeply($d->{requests}, [], '... the request is no longer pending');
    my ($j) = grep { $_->{set} eq 'home' } @{ $d->{jobs} || [] };
    ok($j && $j->{job} && $j->{interval} == 86400, '... its job "home" as the agent described it')
        or diag(JSON::PP->new->canonical->encode($d->{jobs}));

    # without a set: one request per job the agent described
    $d = api_ok($A->web(POST => '/api/clients/okc/backup', json => {}, %AUTH), 202,
                'backup of okc without a set');
    is_deeply([ map { $_->{set} } @{ $d->{requests} || [] } ], ['home'], '... one request, for its job "home"');
    ($rc, $out) = report($C{okc}, '--poll', '--job', 'home:+3600:86400');
    like($out, qr/^\Q$d->{request}\E\b/m, '... which its agent takes') or diag($out);
    api_error($A->web(POST => '/api/clients/failc/backup', json => {}, %AUTH), 409,
              'backup without a set of a client whose agent described no job');
}

# ------------------------------------------------------------ the real agent
SKIP: {
    skip 'no src/gigavault-agent', 11 unless -x "$GV::BUILDDIR/src/gigavault-agent";
    require GVAgent;
    my $cl = GVClient->new($A, 'agentc');
    my $src = $cl->dir . '/src';
    make_path($src);
    GV::_spit("$src/f$_.txt", "agent file $_\n" x 500) for 1 .. 3;
    my $ag = GVAgent->start($cl, sets => { docs => { Paths => [$src], Schedule => '2099-01-01' } });
    my $c = wait_until(sub {
        my $d = $A->web(GET => '/api/clients/agentc', %AUTH)->{json} or return;
        my ($j) = grep { $_->{set} eq 'docs' && $_->{job} } @{ $d->{jobs} || [] };
        $j && $d->{client}{agent} ? $d : undef;
    }, 20, 0.2);
    ok($c, 'gigavault-agent polled: the client page has its agent and its job "docs"')
        or diag($ag->log_text);
    is($c && $c->{client}{agent}{name}, 'agent-agentc', '... the agent\'s name');
    my $d = api_ok($A->web(POST => '/api/clients/agentc/backup', json => { set => 'docs' }, %AUTH), 202,
                   'Back up now: agentc, set docs');
    my $id = $d->{request} // 0;
    my $run = wait_until(sub {
        my $h = $A->web(GET => '/api/clients/agentc/history', %AUTH)->{json} or return;
        my ($r) = grep { ($_->{request} // 0) == $id } @{ $h->{jobs} || [] };
        $r;
    }, 60, 0.3);
    ok($run, "the agent took request $id, ran it and reported it") or diag($ag->log_text);
    is($run && $run->{result}, 'ok', '... ok');
    ok($run && $run->{snapshot}, '... with its snapshot');
    cmp_ok($run ? $run->{files} : 0, '>=', 3, '... of its 3 files');
    $d = api_ok($A->web(GET => '/api/clients/agentc', %AUTH), 200, 'GET /api/clients/agentc');
    is_deeply([ map { $_->{id} } @{ $d->{snapshots} || [] } ], [ $run ? $run->{snapshot} : -1 ],
              '... that snapshot is the client\'s');
    is($d->{client}{health}, 'ok', '... health ok');
    is($ag->stop, 0, 'the agent stops');
}

# ------------------------------------------------------------ agents in peers
SKIP: {
    skip 'agents in the peer list need root for a network namespace', 30 if $> != 0;
    require GVNet;
    ok(-x $ANNOUNCE, 't/gv-announce is built') or BAIL_OUT('run make check (t/gv-announce)');
    my $net = GVNet->new;
    $net->bridge('br0');
    my $ns = $net->peer('a', br0 => '10.77.9.1/24');
    my $N = GV->start(-netns => $ns, GVNet::daemon_opts(GV::web_opts(
        'Discovery.Name' => 'jobs-n', 'Discovery.AnnounceInterval' => 2,
        'Discovery.PeerTimeout' => 30, Workers => 1)));
    ok($N->wait_ready(undef, 15), 'a daemon in a namespace of its own, multicast on') or $N->diag_logs;
    $N->add_admin($ADMIN, $PASS);
    my ($rc, undef, $err) = $N->ctl('client', 'add', 'desk-7');
    is($rc, 0, 'it has client desk-7') or diag($err);

    # two machines that run an agent: its discovery code (announce.c)
    # alone, t/gv-announce, in namespaces of their own on the same bridge
    my %agent = ('desk-7' => 'a7' x 16, 'stranger-3' => 'b3' x 16);
    my %pid;
    for my $name (sort keys %agent) {
        my $nsg = $net->peer(substr($name, 0, 1), br0 => ($name eq 'desk-7' ? '10.77.9.2/24' : '10.77.9.3/24'));
        my $out = $N->dir . "/announce.$name.out";
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            POSIX::setpgid(0, 0);
            open STDIN, '<', '/dev/null';
            open STDOUT, '>', $out or POSIX::_exit(126);
            open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
            exec 'ip', 'netns', 'exec', $nsg, $ANNOUNCE, '-n', $name, '-i', $agent{$name}, '-I', 1
                or POSIX::_exit(127);
        }
        $pid{$name} = $pid;
    }
    # in the namespace, with curl (GV::web runs it there): the console's
    # own peer list
    my $web = sub { return $N->web(@_) };
    my $r = $web->(POST => '/api/login', json => { user => $ADMIN, password => $PASS });
    my ($cookie) = GV::session_cookie($r);
    ok($cookie, 'logged in to its console (curl in the namespace)') or diag(rdesc($r));
    my $peers;
    my $seen = wait_until(sub {
        $r = $web->(GET => '/api/peers', cookie => $cookie);
        $peers = { map { $_->{name} => $_ } @{ ($r->{json} || {})->{peers} || [] } };
        $peers->{'desk-7'} && $peers->{'stranger-3'};
    }, 20, 0.5);
    ok($seen, 'its peer list has both agents') or diag(rdesc($r));
    is_deeply($peers->{'desk-7'}{roles}, ['client'], '... with the client role');
    # No agent of client desk-7 has polled under that name: anyone on
    # the network may announce it, so it is only a name that matches.
    ok(exists $peers->{'desk-7'}{client} && !defined $peers->{'desk-7'}{client},
       'the one named as a client: "client":null (no agent of it polled)');
    is($peers->{'desk-7'}{same_name}, 'desk-7', '... "same_name":"desk-7"');
    ok(exists $peers->{'stranger-3'}{client} && !defined $peers->{'stranger-3'}{client} &&
       !defined $peers->{'stranger-3'}{same_name},
       'the other: "client":null, "same_name":null (not enrolled)');
    my $pub = $N->peers // {};
    ok(@{ $pub->{peers} || [] } == 0 && $pub->{self},
       'the bridge\'s public answer lists no agent (no other peer here)') or diag explain $pub;

    # the same in the browser, run in that namespace: the agents card,
    # and "Enroll" for the stranger
  SKIP: {
        my $chromium = $ENV{GV_CHROMIUM} || '/usr/bin/chromium';
        my $node = $ENV{GV_NODE} || 'node';
        skip "no Chromium at $chromium", 4 unless -x $chromium;
        skip 'no playwright-core in t/browser/node_modules', 4
            unless -f "$GV::SRCDIR/t/browser/node_modules/playwright-core/package.json";
        skip 'no node 18 or newer', 4 unless (`$node --version 2>/dev/null` // '') =~ /^v(\d+)/ && $1 >= 18;
        my $outdir = "$GV::BUILDDIR/t-out/73-web-jobs";
        make_path($outdir);
        unlink glob("$outdir/*.png");
        my %e = (GV_E2E_URL => $N->web_base(0) . '/', GV_E2E_USER => $ADMIN, GV_E2E_PASS => $PASS,
                 GV_E2E_ENROLLED => 'desk-7', GV_E2E_STRANGER => 'stranger-3', GV_E2E_OUT => $outdir,
                 GV_E2E_CHROMIUM => $chromium);
        my ($brc, $bout, $berr) = GVClient::run_cmd(['ip', 'netns', 'exec', $ns, $node,
                                                     "$GV::SRCDIR/t/browser/agents.mjs"], \%e, 150);
        is($brc, 0, 'node t/browser/agents.mjs exited 0') or diag($berr);
        my ($checks, $res) = (0, {});
        for my $l (split /\n/, $bout) {
            if ($l =~ /^(not )?ok - (.*)$/) { ok(!$1, "browser: $2"); $checks++ }
            elsif ($l =~ /^result (\{.*\})$/) { $res = eval { JSON::PP->new->decode($1) } || {} }
            elsif ($l =~ /^# ?(.*)$/) { my $c = $1; $c =~ /^screenshot/ ? diag($c) : note($c) }
        }
        cmp_ok($checks, '>=', 12, "agents.mjs reported its checks ($checks)");
        $r = $web->(GET => '/api/peers', cookie => $cookie);
        my ($st) = grep { $_->{name} eq 'stranger-3' } @{ ($r->{json} || {})->{peers} || [] };
        is($st && $st->{same_name}, 'stranger-3', 'after "Enroll" there is a client of the stranger\'s name');
        like($res->{token} // '', qr/^[0-9a-f]{32}$/, '... with the token the page showed');
        my %daemon = map { $_ => 1 } $N->pid, map { $_->{pid} } $N->descendants;
        my @left = grep { /^\d+$/ && !$daemon{$_} } split /\s+/, (`ip netns pids $ns` // '');
        is_deeply(\@left, [], 'no browser process is left in the namespace') or kill 'KILL', @left;
    }

    for my $name (sort keys %pid) {
        kill 'TERM', $pid{$name};
        waitpid($pid{$name}, 0);
        is($?, 0, "gv-announce $name stops (SIGTERM, exit 0)");
    }
    is($N->stop, 0, 'the namespaced daemon stops');
}

is($A->stop, 0, 'SIGTERM, exit 0');
is_deeply([$A->leftovers], [], 'no process left behind');
done_testing;
