#!/usr/bin/perl
# The history (catalog.h "history", gigavault.conf(5) HISTORY SECTION)
# against a real gigavaultd: the real client's register, backup, list,
# restore, verify and forget are rows of their kinds with client, peer,
# bytes, times and result; a wrong secret (kind auth) and a malformed
# session (an unknown frame before AUTH, kind connect) are recorded
# failed with their error text; a job report (t/gv-report) is a job row
# with its set and message, and an agent's poll that went well is not
# recorded; gigavaultctl prune and a scrub started from the console are
# rows that say who started them.  gigavaultctl history filters by
# client, kind, result, since and limit, in a table and in --json, and
# refuses bad filters.  The console's "history" and "history_entry"
# (GET /api/history, /api/history/ID) need a login, are not writes
# (POST is 405), filter the same way and page with "before"; the bridge
# refuses them without a login.  A second daemon with
# History.MaxEntries = 10 keeps 10 rows through a storm of 25 failed
# logins; a third with History.MaxAge = 3600 deletes rows two hours old
# (written by t/gv-days --history) at the housekeeper's next check, and
# records a prune on its schedule as started by "schedule", and a silent
# session's handshake time-out as a failed connect row.  (The trim's
# batches are in t/unit-history.c.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use GV;
use GVClient;

plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my $R = "$GV::BUILDDIR/t/gv-report";
ok(-x $R, 't/gv-report is built') or BAIL_OUT('run make check');

my $J = JSON::PP->new->canonical;
my $gv = GV->start(GV::web_opts(Workers => 2));
ok($gv->wait_web(15), 'the console answers');

sub history {
    my (@args) = @_;
    my ($st, $out, $err) = $gv->ctl('history', '--json', @args);
    is($st, 0, "gigavaultctl history --json @args: exit 0") or diag $err;
    return eval { $J->decode($out) } || [];
}

# Wait until the row the last session wrote is there (the worker writes
# it after the client has its answer).
sub wait_rows {
    my ($n, @args) = @_;
    my $rows;
    wait_until(sub {
        my ($st, $out) = $gv->ctl('history', '--json', @args);
        $rows = eval { $J->decode($out) } || [];
        return @$rows >= $n;
    }, 20, 0.2);
    return $rows;
}

# ------------------------------------------------------------ client sessions
my $alice = GVClient->new($gv, 'alice');
my $src = $alice->dir . '/src';
GVClient::make_tree($src);
my ($rc, $out, $err) = $alice->run('backup', '--set', 'home', $src);
is($rc, 0, 'alice backs up') or diag $err;
my $rows = wait_rows(1, '--client', 'alice', '--kind', 'backup');
my $bk = $rows->[0] // {};
is($bk->{kind}, 'backup', 'the backup is a row of kind backup');
is($bk->{result}, 'ok', '... result ok');
is($bk->{client}, 'alice', '... client alice');
is($bk->{set}, 'home', '... set home');
is($bk->{snapshot}, 1, '... snapshot 1');
like($bk->{who} // '', qr/^127\.0\.0\.1:\d+$/, '... who: the peer address');
ok(($bk->{bytes_in} // 0) > 1000, '... bytes in: what it uploaded') or diag explain $bk;
ok(($bk->{bytes_out} // 0) > 0, '... bytes out');
ok($bk->{start} && $bk->{end} && $bk->{end} >= $bk->{start} && abs($bk->{end} - time) < 120,
   '... start and end') or diag explain $bk;
is($bk->{text}, '', '... no error text');
like($bk->{id} // '', qr/^\d+-\d+$/, '... an id TIME-SEQ');

$rows = history('--client', 'alice', '--kind', 'register');
is(scalar @$rows, 1, 'the registration is a register row') or diag explain $rows;

($rc, $out, $err) = $alice->run('snapshots');
is($rc, 0, 'alice lists her snapshots') or diag $err;
my $t = $alice->dir . '/restored';
($rc, $out, $err) = $alice->run('restore', '--target', $t, 'latest');
is($rc, 0, 'alice restores') or diag $err;
($rc, $out, $err) = $alice->run('verify', 'latest');
is($rc, 0, 'alice verifies') or diag $err;
($rc, $out, $err) = $alice->run('ls', 'latest');
is($rc, 0, 'alice lists the files of her snapshot') or diag $err;
my ($st, $o2, $e2) = $gv->ctl('client', 'allow-forget', 'alice');
is($st, 0, 'allow-forget alice') or diag $e2;
($rc, $out, $err) = $alice->run('forget', '1');
is($rc, 0, 'alice forgets snapshot 1') or diag "$out$err";
$rows = wait_rows(1, '--client', 'alice', '--kind', 'forget');
is(scalar @$rows, 1, 'the forget is a forget row');
$rows = history('--client', 'alice', '--kind', 'list');
ok(@$rows >= 1, 'the listing is a list row');
$rows = history('--client', 'alice', '--kind', 'restore');
ok(@$rows >= 1, 'the restore\'s sessions are restore rows (its hello said so)') or diag explain $rows;
ok(!grep({ $_->{result} ne 'ok' } @$rows), '... ok');
my ($restore) = sort { $b->{bytes_out} <=> $a->{bytes_out} } @$rows;
ok(($restore->{bytes_out} // 0) > 1000, '... they sent its bytes out') or diag explain $rows;
$rows = history('--client', 'alice', '--kind', 'verify');
ok(@$rows >= 1, 'the verify\'s sessions are verify rows') or diag explain $rows;
# ls reads blobs too, and is neither: "read".
$rows = wait_rows(1, '--client', 'alice', '--kind', 'read');
is(scalar @$rows, 1, 'ls is a read row') or diag explain $rows;

# ------------------------------------------------------------ failures
my $c = $gv->login('alice', "\0" x 32);
ok(!$c, 'a wrong secret is refused');
$rows = wait_rows(1, '--kind', 'auth', '--result', 'failed');
my $au = $rows->[0] // {};
is($au->{client}, 'alice', 'the failed login is an auth row naming the client claimed');
like($au->{text} // '', qr/authentication failed/, '... with the error text') or diag explain $au;

my ($s, $h) = $gv->session;
send_frame($s, 0x7777, 'junk');
ok(wait_closed($s), 'a session sending an unknown frame is closed');
$rows = wait_rows(1, '--kind', 'connect');
my $m = $rows->[0] // {};
is($m->{result}, 'failed', 'the malformed session is a failed connect row');
like($m->{text} // '', qr/unknown frame type 0x7777/, '... with the error text') or diag explain $m;
is($m->{client}, '', '... no client');

# ------------------------------------------------------------ agents' reports
my $jobc = GVClient->new($gv, 'jobc');
my @r = GVClient::run_cmd([$R, '-c', "$jobc->{conf}", '--set', 'db', '--result', 'failed',
                           '--error', 'dump failed: disk full', '--next-run', '+3600'], {}, 60);
is($r[0], 0, 'gv-report: a failed run of jobc') or diag $r[2];
@r = GVClient::run_cmd([$R, '-c', "$jobc->{conf}", '--poll', '--agent', 'jobc-host',
                        '--job', 'db:+3600:86400'], {}, 60);
is($r[0], 0, 'gv-report: a poll of jobc') or diag $r[2];
$rows = history('--client', 'jobc', '--kind', 'job');
is(scalar @$rows, 1, 'the report is one job row');
is($rows->[0]{set}, 'db', '... set db');
is($rows->[0]{result}, 'failed', '... failed');
is($rows->[0]{text}, 'dump failed: disk full', '... its message');
$rows = history('--client', 'jobc', '--kind', 'agent');
is(scalar @$rows, 0, 'the agent sessions that went well are not rows');

# ------------------------------------------------------------ prune and scrub
($st, $out, $err) = $gv->ctl('prune');
is($st, 0, 'gigavaultctl prune') or diag $err;
$rows = history('--kind', 'prune');
is(scalar @$rows, 1, 'the prune is a row');
like($rows->[0]{who} // '', qr/^gigavaultctl \(\S+\)$/, '... started by gigavaultctl (user)')
    or diag explain $rows;
is($rows->[0]{result}, 'ok', '... ok');
like($rows->[0]{text} // '', qr/snapshots forgotten/, '... with its summary');

$gv->add_admin('hadmin', 'h-pass-word');
my $lr = $gv->web(POST => '/api/login', json => { user => 'hadmin', password => 'h-pass-word' });
my ($cookie) = GV::session_cookie($lr);
my $csrf = $lr->{json} && $lr->{json}{csrf};
ok($cookie && $csrf, 'console login');
my $sr = $gv->web(POST => '/api/housekeeping/scrub', json => {}, cookie => $cookie, csrf => $csrf);
is($sr->{status}, 202, 'POST /api/housekeeping/scrub: 202');
$rows = wait_rows(1, '--kind', 'scrub');
is(scalar @$rows, 1, 'the scrub is a row once it ends');
is($rows->[0]{who}, 'console: hadmin', '... started by the console\'s user');
is($rows->[0]{result}, 'ok', '... ok') or diag explain $rows;

# ------------------------------------------------------------ gigavaultctl history
$rows = history();
my %kinds = map { $_->{kind} => 1 } @$rows;
ok($kinds{$_}, "the whole history has a $_ row")
    for qw(register backup list restore verify read forget auth connect job prune scrub);
my @times = map { $_->{time} * 1e6 + $_->{seq} } @$rows;
is_deeply(\@times, [sort { $b <=> $a } @times], '... newest first');
$rows = history('--result', 'failed');
ok(@$rows >= 3 && !grep({ $_->{result} ne 'failed' } @$rows), '--result failed: failed rows only');
$rows = history('--client', 'alice', '--limit', '2');
is(scalar @$rows, 2, '--limit 2: two rows');
$rows = history('--since', time + 3600);
is(scalar @$rows, 0, '--since an hour ahead: none');
$rows = history('--since', '1d', '--kind', 'backup');
is(scalar @$rows, 1, '--since 1d --kind backup: the backup');
($st, $out, $err) = $gv->ctl('history', '--client', 'alice');
is($st, 0, 'gigavaultctl history --client alice (a table): exit 0') or diag $err;
like($out, qr/^TIME\s+KIND\s+RESULT\s+CLIENT\s+SET\s+IN\s+OUT\s+SECS\s+WHO\s+TEXT$/m, '... its header');
like($out, qr/^\S+Z\s+backup\s+ok\s+alice\s+home\s/m, '... the backup');
like($out, qr/^\S+Z\s+auth\s+failed\s+alice\s+-\s.*authentication failed/m, '... the failed login');
like($out, qr/^\d+ of \d+ rows$/m, '... and the count');
for my $bad (['--kind', 'nope'], ['--result', 'maybe'], ['--since', 'yesterday'],
             ['--client', '../x'], ['--limit', 'x']) {
    ($st, $out, $err) = $gv->ctl('history', @$bad);
    is($st, 2, "gigavaultctl history @$bad: exit 2") or diag $err;
}

# ------------------------------------------------------------ the API
my $r = $gv->web(GET => '/api/history');
is($r->{status}, 401, 'GET /api/history without a login: 401');
$r = $gv->web(GET => '/api/history', cookie => $cookie);
is($r->{status}, 200, 'GET /api/history: 200');
my $d = $r->{json} // {};
ok(ref $d->{entries} eq 'ARRAY' && @{ $d->{entries} } >= 10, '... entries') or diag $r->{body};
is($d->{total}, scalar @{ history('--limit', '1000') }, '... total: the rows stored');
$r = $gv->web(POST => '/api/history', json => {}, cookie => $cookie, csrf => $csrf);
is($r->{status}, 405, 'POST /api/history: 405');
$r = $gv->web(GET => '/api/history?client=alice&kind=backup&result=ok', cookie => $cookie);
$d = $r->{json} // {};
is(scalar @{ $d->{entries} // [] }, 1, 'GET /api/history?client=alice&kind=backup&result=ok: one')
    or diag $r->{body};
is($d->{entries}[0]{snapshot}, 1, '... the backup');
$r = $gv->web(GET => '/api/history?limit=3', cookie => $cookie);
$d = $r->{json} // {};
is(scalar @{ $d->{entries} // [] }, 3, 'limit=3: three');
like($d->{next} // '', qr/^\d+-\d+$/, '... and the id to go on from');
my $r2 = $gv->web(GET => "/api/history?limit=3&before=$d->{next}", cookie => $cookie);
my $d2 = $r2->{json} // {};
ok(@{ $d2->{entries} // [] } == 3 && $d2->{entries}[0]{id} ne $d->{entries}[2]{id} &&
   $d2->{entries}[0]{time} <= $d->{entries}[2]{time}, 'before=NEXT: the three after them');
for my $q ('kind=nope', 'result=x', 'limit=0', 'limit=501', 'before=x', 'client=..') {
    $r = $gv->web(GET => "/api/history?$q", cookie => $cookie);
    is($r->{status}, 400, "GET /api/history?$q: 400");
}
my $id = $au->{id} // 'x';
$r = $gv->web(GET => "/api/history/$id", cookie => $cookie);
is($r->{status}, 200, "GET /api/history/$id: 200");
is($r->{json} && $r->{json}{entry}{kind}, 'auth', '... the failed login');
like($r->{json} && $r->{json}{entry}{text} // '', qr/authentication failed/, '... its text');
$r = $gv->web(GET => '/api/history/1-999999', cookie => $cookie);
is($r->{status}, 404, 'GET /api/history/1-999999: 404');
$r = $gv->web(GET => "/api/history/$id");
is($r->{status}, 401, '... without a login: 401');
{
    my $sock = $gv->ui_connect;
    my ($u) = $gv->ui_request($sock, { request => 'history' }, 5);
    ok($u && $u->{error}, 'bridge: history without a login is refused') or diag explain $u;
}
$r = $gv->web(GET => '/api/dashboard', cookie => $cookie);
$d = $r->{json} // {};
ok(ref $d->{attention} eq 'ARRAY', 'the dashboard has the attention list');
my ($jc) = grep { $_->{name} eq 'jobc' } @{ $d->{attention} // [] };
is($jc && $jc->{health}, 'failed', '... jobc failed');
is($jc && $jc->{last_error}, 'dump failed: disk full', '... with its last error');
ok(!grep({ $_->{name} eq 'alice' } @{ $d->{attention} // [] }),
   '... alice (never, no schedule) is not on it');
is($d->{fill} && $d->{fill}{status}, 'not enough history', '... the fill estimate: not enough history (one day)')
    or diag explain $d->{fill};

# ------------------------------------------------------------ the count cap
my $small = GV->start(Workers => 2, 'History.MaxEntries' => 10);
my $bob = GVClient->new($small, 'bob');
for (1 .. 25) {
    my $x = $small->login('bob', "\1" x 32);
    close $x if $x;
}
my $all;
wait_until(sub {
    my ($st, $out) = $small->ctl('history', '--json', '--limit', '100');
    $all = eval { $J->decode($out) } || [];
    return @$all && $all->[0]{seq} >= 26;
}, 20, 0.2);
is(scalar @$all, 10, 'History.MaxEntries = 10: 26 rows written, 10 kept');
ok(!grep({ $_->{kind} ne 'auth' } @$all), '... the newest: the failed logins');
($st, $out) = $small->ctl('history');
like($out, qr/^10 of 10 rows$/m, '... the table says 10 of 10');

# ------------------------------------------------------------ History.MaxAge
# Rows two hours old (t/gv-days --history), History.MaxAge an hour: the
# housekeeper deletes them at its next check (every minute); a prune on
# its schedule (Prune.Interval 2) is a row started by "schedule".
my $DAYS = "$GV::BUILDDIR/t/gv-days";
my $aged = GV->start(Workers => 1, 'History.MaxAge' => 3600, 'Prune.Interval' => 2,
                     HandshakeTimeout => 1);
my @g = GVClient::run_cmd([$DAYS, '--history', $aged->cfg->{Server}{DataDir} . '/catalog',
                           3, 7200], {}, 60);
is($g[0], 0, 't/gv-days --history: three rows two hours old') or diag $g[2];
my (undef, $aj) = $aged->ctl('history', '--json');
my $av = eval { $J->decode($aj) } || [];
my @old = grep { $_->{text} =~ /^old row/ } @$av;
is(scalar @old, 3, '... gigavaultctl history shows them');
ok(wait_until(sub {
    my ($st, $out) = $aged->ctl('history', '--json');
    my $v = eval { $J->decode($out) } || [];
    return @$v && !grep { $_->{text} =~ /^old row/ } @$v;
}, 120, 0.5), 'History.MaxAge = 3600: the housekeeper deleted the rows two hours old');
ok($aged->log_like(qr/history: 3 old rows deleted/), '... and logged it');
my $pr = wait_until(sub {
    my ($st, $out) = $aged->ctl('history', '--json', '--kind', 'prune');
    my $v = eval { $J->decode($out) } || [];
    return $v->[0];
}, 30, 0.3);
is($pr && $pr->{who}, 'schedule', 'a prune on its schedule is a row started by "schedule"');

# A session that says its hello and then nothing: the handshake time-out.
{
    my ($ts) = $aged->session;
    ok($ts && wait_closed($ts, 10), 'a silent session is closed (HandshakeTimeout 1)');
    my $tr = wait_until(sub {
        my ($st, $out) = $aged->ctl('history', '--json', '--kind', 'connect', '--result', 'failed');
        my $v = eval { $J->decode($out) } || [];
        return (grep { $_->{text} =~ /handshake timeout/ } @$v)[0];
    }, 20, 0.2);
    ok($tr, '... it is a failed connect row saying "handshake timeout"') or diag explain $tr;
}

ok($gv->alive && $small->alive && $aged->alive, 'the daemons still run');
done_testing;
