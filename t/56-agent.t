#!/usr/bin/perl
# gigavault-agent against a real daemon (gigavault-agent(8)): a schedule
# that fires, a second run that finds the files unchanged, the report
# sent to the server and shown by gigavaultctl clients, "back up now"
# through gigavaultctl client backup, `gigavault agent status`, the UI
# port's requests.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use Time::HiRes qw(time sleep);
use GV;
use GVClient;
use GVAgent;
use JSON::PP ();
use IO::Socket::INET;

my $t0 = time;
my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'alice');
my $src = $cl->dir . '/src';
make_path("$src/sub");
GV::_spit("$src/a.txt", "hello agent\n" x 1000);
GV::_spit("$src/sub/b.bin", GVClient::pseudo_bytes(300_000, 7));

# ------------------------------------------------------- a schedule fires

my $ag = GVAgent->start($cl, sets => {
    web  => { Paths => [$src], Schedule => '*:*:0/2' },
    docs => { Paths => ["$src/sub"], Schedule => '2099-01-01' },
});
my $ts = time;
my @h = $ag->wait_runs('web', 1, 30);
my $fired = time - $ts;
ok(@h >= 1, 'the schedule "*:*:0/2" fired a run') or diag($ag->log_text);
is($h[-1]{result}, 'ok', 'the first run saved a snapshot') or diag(explain($h[-1]), $ag->log_text);
my $first = $h[-1];
ok($first->{snapshot} > 0 && $first->{files} == 2, 'its report: a snapshot id, 2 files')
    or diag(explain($first));
ok($first->{sent_bytes} > 300_000, 'the first run sent the files');
diag(sprintf('the schedule fired its first run within %.1f s of the start', $fired));

my @snaps = $cl->snapshots;
ok((grep { $_->{set} eq 'web' } @snaps) >= 1, 'the snapshot is on the server, in set web')
    or diag(explain(\@snaps));

@h = $ag->wait_runs('web', 2, 30);
ok(@h >= 2, 'a second run') or diag($ag->log_text);
my $second = $h[-2];
is($second->{result}, 'ok', 'the second run is ok');
ok($second->{read_bytes} < $first->{read_bytes} && $second->{sent_bytes} < 100_000,
   "the second run found the files unchanged (read $second->{read_bytes}, sent $second->{sent_bytes})")
    or diag(explain($second));

# The reports went to the server: the outbox empties.
ok(GV::wait_until(sub { opendir(my $d, $ag->statedir . '/outbox') or return 0;
                        !grep { !/^\./ } readdir $d }, 20, 0.1),
   'every report was sent to the server (the outbox is empty)') or diag($ag->log_text);

# --------------------------------------------------- the server's view

my $J = JSON::PP->new;
sub client_health {
    my ($st, $out, $err) = $gv->ctl('clients', '--json');
    my $d = eval { $J->decode($out) } || [];
    my ($c) = grep { $_->{name} eq 'alice' } @$d;
    return $c;
}
my $c = client_health();
is($c->{agent}, 'agent-alice', 'gigavaultctl clients: alice, with its agent\'s name')
    or diag(explain($c));
my ($web) = grep { $_->{set} eq 'web' } @{ $c->{sets} || [] };
is($web && $web->{health}, 'ok', '... its set web is ok');
ok($web && $web->{job} && $web->{interval} == 2,
   '... a job every 2 s (the poll told the server)') or diag(explain($c));

# "Back up now": gigavaultctl queues it, the agent's next poll takes it.
my ($rc, $out, $err) = $gv->ctl('client', 'backup', 'alice', '--set', 'docs');
is($rc, 0, 'gigavaultctl client backup alice --set docs') or diag($err);
my ($rid) = $out =~ /^(\d+)$/m;
ok($rid, '... a request id');
my $tq = time;
@h = $ag->wait_runs('docs', 1, 30);
ok(@h == 1 && $h[0]{result} eq 'ok', 'the agent ran docs') or diag(explain(\@h), $ag->log_text);
is($h[0]{request}, $rid, 'its report answers the request');
diag(sprintf('"back up now" ran within %.1f s (PollInterval 1)', time - $tq));
my $hist;
GV::wait_until(sub {
    my ($st, $o) = $gv->ctl('client', 'history', 'alice', '--json');
    $hist = eval { $J->decode($o) } || [];
    grep { ($_->{request} // 0) == $rid } @$hist;
}, 20, 0.2);
my ($got) = grep { ($_->{request} // 0) == $rid } @$hist;
ok($got && $got->{set} eq 'docs' && $got->{result} eq 'ok',
   'the server\'s history has the run, with its request') or diag(explain($hist));
is(client_health()->{health}, 'ok', 'gigavaultctl clients: alice is ok now that docs ran too');

# ------------------------------------------------------------ UI and CLI

my $hello = $ag->ask(request => 'hello');
is($hello->{agent}, 'agent-alice', 'hello: the agent names itself');
like($hello->{id}, qr/^[0-9a-f]{32}$/, 'hello: its id');
my $st = $ag->ask(request => 'status', id => 7);
is($st->{id}, 7, 'status: the reply carries the request id');
is($st->{jobs}, 2, 'status: two jobs');
ok($st->{poll}{last_ok} > 0, 'status: a poll went through') or diag(explain($st));
my $r = $ag->ask(request => 'nosuch');
is($r->{code}, 404, 'an unknown request: 404');
$r = $ag->ask_line('not json');
is($r->{code}, 400, 'a line that is not JSON: 400');
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ag->port, Proto => 'tcp');
    print $s 'x' x 70000;
    $s->timeout(10);
    my $l = <$s>;
    like($l // '', qr/"code":413/, 'a line longer than 65536 bytes: 413');
    ok(!defined(<$s>), '... and the connection is closed');
}
$r = $ag->ask(request => 'run', set => 'nosuch');
is($r->{code}, 404, 'run of a set that is no job: 404');
# docs ran once (ok, no retry) and has no run before 2099: between runs.
ok(GV::wait_until(sub { my $j = $ag->job('docs'); $j && !$j->{running} }, 30), 'docs is between runs');
$r = $ag->ask(request => 'cancel', set => 'docs');
is($r->{code}, 409, 'cancel of a job between runs: 409');

($rc, $out, $err) = $ag->cli('status');
is($rc, 0, 'gigavault agent status') or diag($err);
like($out, qr/^agent:\s+agent-alice$/m, 'status names the agent');
like($out, qr/^unsent:\s+0 reports$/m, 'status: no report waits');
like($out, qr/^web\s+\*:\*:0\/2\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(ok|-)\s/m, 'status shows the job with its last run')
    or diag($out);
diag("gigavault agent status:\n$out");
($rc, $out, $err) = $ag->cli('history', 'web');
is($rc, 0, 'gigavault agent history web');
like($out, qr/\bweb\s+ok\s+2\b/, 'history shows the runs') or diag($out);
($rc, $out, $err) = $ag->cli('--json', 'jobs');
is($rc, 0, 'gigavault agent --json jobs');
like($out, qr/"set"\s*:\s*"web"/, 'jobs --json has the job');

# ------------------------------------------------------------------ SIGHUP

$ag->write_conf(sets => {
    web   => { Paths => [$src], Schedule => '2099-01-01' },
    docs  => { Paths => ["$src/sub"], Schedule => '2099-01-01' },
    extra => { Paths => ["$src/sub"], Schedule => 'daily' },
});
$ag->signal('HUP');
ok(GV::wait_until(sub { ($ag->ask(request => 'status')->{jobs} // 0) == 3 }, 10),
   'SIGHUP: client.conf is read again, a new job is there');
like($ag->job('web')->{schedule}, qr/^2099/, '... a job kept takes its new schedule');
GV::_spit($ag->conf, "BackupSet \"x\" {\n\tSchedule = \"nonsense\"\n}\n");
$ag->signal('HUP');
ok(GV::wait_until(sub { $ag->log_text =~ /SIGHUP: .*Schedule "nonsense".*the old configuration stays/ }, 10),
   'a bad file on SIGHUP: logged, the old configuration stays') or diag($ag->log_text);
is($ag->ask(request => 'status')->{jobs}, 3, '... its three jobs');

is($ag->stop, 0, 'SIGTERM stops the agent, exit 0') or diag($ag->log_text);
is(scalar(() = $ag->processes), 0, 'no process of the agent is left');
$ag->write_conf;	# the good one again (SIGHUP's test left a bad one)
($rc, $out, $err) = $ag->cli('status');
is($rc, 2, 'gigavault agent status with no agent: exit 2');
like($err, qr/is gigavault-agent running\?/, '... and says what to check');
($rc, $out, $err) = $ag->cli('run');
is($rc, 2, 'gigavault agent run without a set: usage, exit 2');
like($err, qr/^usage: gigavault agent /m, '... the usage line');
diag(sprintf('t/56 took %.1f s', time - $t0));
done_testing;
