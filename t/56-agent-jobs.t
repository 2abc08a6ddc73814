#!/usr/bin/perl
# gigavault-agent's jobs (gigavault-agent(8)): a failed run (PreCommand)
# reported with its error, retried after RetryDelay, 2 x RetryDelay; one
# run per set (run while running: 409); cancel (the run and its command
# stop, the report says cancelled); Persistent catch-up of a run missed
# while the agent was stopped (and none with Persistent = 0); SIGTERM
# during a run; the UI token; a job's limits reach the run.
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
my $cl = GVClient->new($gv, 'bob');
my $src = $cl->dir . '/src';
make_path($src);
GV::_spit("$src/f.txt", "some data\n" x 100);
my $mark = $cl->dir . '/marks';
make_path($mark);

# Far-off schedules: these jobs run only when asked.
my $later = '2099-01-01';
my $ag = GVAgent->start($cl, sets => {
    bad  => { Paths => [$src], Schedule => $later, PreCommand => 'echo pre says no >&2; exit 3',
              Retries => 2, RetryDelay => 1 },
    slow => { Paths => [$src], Schedule => $later, PreCommand => "sleep 37.5; touch $mark/slow-pre",
              PostCommand => "touch $mark/slow-post", Retries => 0 },
    post => { Paths => [$src], Schedule => $later,
              PostCommand => qq(echo "\$GIGAVAULT_SET \$GIGAVAULT_RESULT" > $mark/post) },
    cont => { Paths => [$src], Schedule => $later, PreCommand => 'exit 1',
              PreCommandFailure => 'continue', LimitUpload => '10M' },
});

# ---------------------------------------------- a failure, and its retries

my $r = $ag->ask(request => 'run', set => 'bad');
ok($r->{started}, 'run bad: started') or diag(explain($r));
my @h = $ag->wait_runs('bad', 3, 30);
is(scalar(@h), 3, 'a failed run is tried again twice (Retries = 2), then no more')
    or diag($ag->log_text);
is_deeply([map { $_->{result} } @h], [qw(failed failed failed)], 'each attempt is reported as failed');
like($h[0]{error}, qr/PreCommand failed with exit status 3/, 'the report says why');
ok($h[1]{start} - $h[2]{end} >= 1 && $h[0]{start} - $h[1]{end} >= 2,
   'the retries wait RetryDelay, then twice that (back-off)')
    or diag(explain(\@h));
sleep 2.5;
is(scalar($ag->history('bad')), 3, 'no fourth attempt');
like($ag->log_text, qr/job bad: pre says no/, 'the command\'s stderr is logged');

# PreCommandFailure = continue: the backup runs anyway.
$r = $ag->ask(request => 'run', set => 'cont');
@h = $ag->wait_runs('cont', 1, 30);
is($h[0]{result}, 'ok', 'PreCommandFailure = continue: the backup runs and saves') or diag(explain(\@h));
is($ag->job('cont')->{limit_upload}, 10 * 1024 * 1024, 'LimitUpload = 10M is the job\'s limit');

# PostCommand: with GIGAVAULT_SET and GIGAVAULT_RESULT.
$ag->ask(request => 'run', set => 'post');
@h = $ag->wait_runs('post', 1, 30);
is($h[0]{result}, 'ok', 'post: the run is ok');
ok(GV::wait_until(sub { -s "$mark/post" }, 5), 'the PostCommand ran');
is(GV::_slurp("$mark/post"), "post ok\n", 'with GIGAVAULT_SET and GIGAVAULT_RESULT');

# The reports reach the server: the outbox empties.
ok(GV::wait_until(sub { opendir(my $d, $ag->statedir . '/outbox') or return 0;
                        !grep { !/^\./ } readdir $d }, 20, 0.1),
   'the failed and the good reports were all sent') or diag($ag->log_text);

# ------------------------------------------- one run per set, and cancel

$r = $ag->ask(request => 'run', set => 'slow');
ok($r->{started}, 'run slow: started');
ok(GV::wait_until(sub { my $j = $ag->job('slow'); $j && $j->{running} }, 10), 'slow is running');
$r = $ag->ask(request => 'run', set => 'slow');
is($r->{code}, 409, 'run again while it runs: 409, one run per set at a time');
my @sleepers;
GV::wait_until(sub {
    @sleepers = grep { (GV::_slurp("/proc/$_/cmdline") // '') =~ /^sleep\x{0}37\.5/ }
                map { $_->{pid} } GV::_all_procs();
    @sleepers }, 10);
is(scalar(@sleepers), 1, 'its PreCommand runs');
my ($rc, $out, $err) = $ag->cli('cancel', 'slow');
is($rc, 0, 'gigavault agent cancel slow') or diag($err);
@h = $ag->wait_runs('slow', 1, 15);
is($h[0]{result}, 'cancelled', 'the report says cancelled');
ok(GV::wait_until(sub { !grep { GV::pid_alive($_) } @sleepers }, 5), 'the PreCommand was stopped too');
ok(!-e "$mark/slow-pre" && !-e "$mark/slow-post", 'nothing after the cancel ran');
$r = $ag->ask(request => 'cancel', set => 'slow');
is($r->{code}, 409, 'cancel when not running: 409');

# ----------------------------------------------- SIGTERM during a run

$ag->ask(request => 'run', set => 'slow');
ok(GV::wait_until(sub { my $j = $ag->job('slow'); $j && $j->{running} }, 10), 'slow runs again');
is($ag->stop(15), 0, 'SIGTERM during a run: the agent stops, exit 0') or diag($ag->log_text);
is(scalar(() = $ag->processes), 0, 'no run or command of the agent is left');
like($ag->log_text, qr/job slow: run ended: cancelled/, 'the run was cancelled');

# --------------------------------------------------- Persistent catch-up

# A state whose last runs were two days ago: "daily" missed one.
my $state = $ag->statedir;
GV::_spit("$state/last-$_", int(time - 2 * 86400) . "\n") for qw(daily nocatch);
my $ag2 = GVAgent->new($cl, state => $state, sets => {
    daily   => { Paths => [$src], Schedule => 'daily' },
    nocatch => { Paths => [$src], Schedule => 'daily', Persistent => 0 },
}, agent => { UITokenFile => $cl->dir . '/token' });
GV::_spit($cl->dir . '/token', "s3cret-token-0123456789\n");
chmod 0600, $cl->dir . '/token';
$ag2->{token} = 's3cret-token-0123456789';
$ag2->start;
@h = $ag2->wait_runs('daily', 1, 20);
is(scalar(@h), 1, 'Persistent: the run missed while the agent was stopped runs soon after the start')
    or diag($ag2->log_text);
is($h[0]{result}, 'ok', 'and saves');
is(scalar($ag2->history('nocatch')), 0, 'Persistent = 0: no catch-up');
ok(GV::_slurp("$state/last-daily") > time - 60, 'the last run is remembered');

# ------------------------------------------------------------ the token

# GVAgent's ask() has no token: every request but hello is refused.
$r = $ag2->ask_line('{"request":"jobs"}');
is($r->{code}, 401, 'UITokenFile: a request without the token: 401');
$r = $ag2->ask_line('{"request":"jobs","token":"wrong"}');
is($r->{code}, 401, 'with a wrong token: 401');
$r = $ag2->ask_line('{"request":"jobs","token":"s3cret-token-0123456789"}');
ok($r->{jobs}, 'with the token: answered');
($rc, $out, $err) = $ag2->cli('jobs');
is($rc, 0, 'gigavault agent reads UITokenFile') or diag($err);
like($out, qr/^daily\s/m, 'and lists the jobs');
is($ag2->stop, 0, 'stopped');

# A token file that others may read is refused.
chmod 0644, $cl->dir . '/token';
($rc, $out, $err) = GVClient::run_cmd([$GVAgent::AGENT, '-n', '-c', $ag2->conf], {}, 10);
isnt($rc, 0, 'gigavault-agent -n refuses a UITokenFile that others may read');
like($err, qr/UITokenFile .*readable by nobody else/, 'and says why');
chmod 0644, $cl->dir . '/passphrase';
chmod 0600, $cl->dir . '/token';
($rc, $out, $err) = GVClient::run_cmd([$GVAgent::AGENT, '-n', '-c', $ag2->conf], {}, 10);
like($err, qr/PassphraseFile .*readable by nobody else/, 'likewise a PassphraseFile');

diag(sprintf('t/56-agent-jobs took %.1f s', time - $t0));
done_testing;
