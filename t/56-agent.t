#!/usr/bin/perl
# gigavault-agent against a real daemon (gigavault-agent(8)): a schedule
# that fires, a second run that finds the files unchanged, the report
# sent to the server, `gigavault agent status`, the UI port's requests.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use Time::HiRes qw(time sleep);
use GV;
use GVClient;
use GVAgent;

my $t0 = time;
my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'alice');
my $src = $cl->dir . '/src';
make_path("$src/sub");
GV::_spit("$src/a.txt", "hello agent\n" x 1000);
GV::_spit("$src/sub/b.bin", GVClient::pseudo_bytes(300_000, 7));

# ------------------------------------------------------- a schedule fires

my $ag = GVAgent->start($cl, sets => {
    web => { Paths => [$src], Schedule => '*:*:0/2' },
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

# ------------------------------------------------------------ UI and CLI

my $hello = $ag->ask(request => 'hello');
is($hello->{agent}, 'agent-alice', 'hello: the agent names itself');
like($hello->{id}, qr/^[0-9a-f]{32}$/, 'hello: its id');
my $st = $ag->ask(request => 'status', id => 7);
is($st->{id}, 7, 'status: the reply carries the request id');
is($st->{jobs}, 1, 'status: one job');
ok($st->{poll}{last_ok} > 0, 'status: a poll went through') or diag(explain($st));
my $r = $ag->ask(request => 'nosuch');
is($r->{code}, 404, 'an unknown request: 404');
$r = $ag->ask_line('not json');
is($r->{code}, 400, 'a line that is not JSON: 400');
$r = $ag->ask(request => 'run', set => 'nosuch');
is($r->{code}, 404, 'run of a set that is no job: 404');
$r = $ag->ask(request => 'cancel', set => 'web');
ok($r->{code} == 409 || $r->{cancelled}, 'cancel of a job between runs: 409 (or a run was cancelled)');

my ($rc, $out, $err) = $ag->cli('status');
is($rc, 0, 'gigavault agent status') or diag($err);
like($out, qr/^agent:\s+agent-alice$/m, 'status names the agent');
like($out, qr/^web\s+\*:\*:0\/2\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(ok|-)\s/m, 'status shows the job with its last run')
    or diag($out);
diag("gigavault agent status:\n$out");
($rc, $out, $err) = $ag->cli('history', 'web');
is($rc, 0, 'gigavault agent history web');
like($out, qr/\bweb\s+ok\s+2\b/, 'history shows the runs') or diag($out);
($rc, $out, $err) = $ag->cli('--json', 'jobs');
is($rc, 0, 'gigavault agent --json jobs');
like($out, qr/"set"\s*:\s*"web"/, 'jobs --json has the job');

is($ag->stop, 0, 'SIGTERM stops the agent, exit 0') or diag($ag->log_text);
is(scalar(() = $ag->processes), 0, 'no process of the agent is left');
diag(sprintf('t/56 took %.1f s', time - $t0));
done_testing;
