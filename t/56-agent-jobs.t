#!/usr/bin/perl
# gigavault-agent's jobs (gigavault-agent(8)): a failed run (PreCommand)
# reported with its error, retried after RetryDelay, 2 x RetryDelay, and
# shown as failed by gigavaultctl clients; PreCommandFailure = continue;
# PostCommand's environment; one run per set (run while running: 409);
# cancel (the run and its command stop, the report says cancelled);
# SIGTERM during a run; Persistent catch-up of a run missed while the
# agent was stopped (and none with Persistent = 0); the UI token; the
# server away (the report waits in StateDir, the next poll sends it); a
# scheduled run cut by the agent's stop runs again after its start; the
# modes of the secret files.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use Time::HiRes qw(time sleep);
use GV;
use GVClient;
use GVAgent;
use JSON::PP ();

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
    part => { Paths => [$src, '/nonexistent-gv-agent'], Schedule => $later,
              PostCommand => qq(echo "\$GIGAVAULT_RESULT" > $mark/part) },
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

# The server shows the job as failed, with the message.
my $J = JSON::PP->new;
my $bad;
GV::wait_until(sub {
    my ($st, $out) = $gv->ctl('clients', '--json');
    my $d = eval { $J->decode($out) } || [];
    my ($c) = grep { $_->{name} eq 'bob' } @$d;
    ($bad) = grep { $_->{set} eq 'bad' } @{ $c->{sets} || [] };
    $bad && $bad->{health} eq 'failed';
}, 20, 0.2);
is($bad && $bad->{health}, 'failed', 'gigavaultctl clients: set bad is failed') or diag(explain($bad));
like($bad && $bad->{last_error}, qr/PreCommand failed with exit status 3/, '... with the error');
my ($st, $out) = $gv->ctl('clients');
like($out, qr/^bob\s+failed\b/m, 'gigavaultctl clients: bob is failed') or diag($out);

# PreCommandFailure = continue: the backup runs anyway.
$r = $ag->ask(request => 'run', set => 'cont');
@h = $ag->wait_runs('cont', 1, 30);
is($h[0]{result}, 'ok', 'PreCommandFailure = continue: the backup runs and saves') or diag(explain(\@h));
is($ag->job('cont')->{limit_upload}, 10 * 1024 * 1024, 'LimitUpload = 10M is the job\'s limit');

# A path that is not there: partial, the report names it.
$ag->ask(request => 'run', set => 'part');
@h = $ag->wait_runs('part', 1, 30);
is($h[0]{result}, 'partial', 'a Path that is not there: the run is partial') or diag(explain(\@h));
ok($h[0]{snapshot} > 0 && $h[0]{problems} == 1, '... a snapshot saved, one problem');
like($h[0]{error}, qr{/nonexistent-gv-agent}, '... the error names the path');
ok(GV::wait_until(sub { -s "$mark/part" }, 5) && GV::_slurp("$mark/part") eq "partial\n",
   '... PostCommand saw GIGAVAULT_RESULT=partial');

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
my ($rc, $err);
($rc, $out, $err) = $ag->cli('cancel', 'slow');
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
{
    opendir(my $ob, $ag->statedir . '/outbox') or die "outbox: $!";
    is(scalar(grep { !/^\./ } readdir $ob), 0,
       'its report went to the server in a last poll before the exit');
}
{
    my ($hs, $ho) = $gv->ctl('client', 'history', 'bob', '--json');
    my $l = eval { JSON::PP->new->decode($ho) } || [];
    ok((grep { $_->{set} eq 'slow' && $_->{result} eq 'cancelled' &&
               $_->{error} =~ /the agent stopped/ } @$l),
       'the server has the cancelled run') or diag($ho);
}

# --------------------------------------------------- Persistent catch-up

# A state whose last runs were two days ago: "daily" missed one.
my $state = $ag->statedir;
GV::_spit("$state/last-$_", int(time - 2 * 86400) . "\n") for qw(daily nocatch);
my $ag2 = GVAgent->new($cl, state => $state, sets => {
    daily   => { Paths => [$src], Schedule => 'daily' },
    nocatch => { Paths => [$src], Schedule => 'daily', Persistent => 0 },
    slow    => { Paths => [$src], Schedule => $later },
}, agent => { UITokenFile => $cl->dir . '/token' });
GV::_spit($cl->dir . '/token', "s3cret-token-0123456789\n");
chmod 0600, $cl->dir . '/token';
$ag2->{token} = 's3cret-token-0123456789';
$ag2->start;
is($ag2->job('slow')->{last_result}, 'cancelled', 'a job\'s last run is known after a restart (the history)');
@h = $ag2->wait_runs('daily', 1, 20);
is(scalar(@h), 1, 'Persistent: the run missed while the agent was stopped runs soon after the start')
    or diag($ag2->log_text);
is($h[0]{result}, 'ok', 'and saves');
# daily's catch-up has run, so nocatch's would have started too (both
# come a second after the start): it would be running, or done.
my $nc = $ag2->job('nocatch');
ok(!$nc->{running} && scalar($ag2->history('nocatch')) == 0 &&
   GV::_slurp("$state/last-nocatch") < time - 86400,
   'Persistent = 0: no catch-up (not running, no run, its last run unchanged)')
    or diag(explain($nc));
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

# -------------------------- the server away: the report waits in StateDir

my $outbox = sub { opendir(my $d, "$state/outbox") or return 0; scalar grep { !/^\./ } readdir $d };
is($gv->stop, 0, 'the server stops');
$r = $ag2->ask(request => 'run', set => 'daily');
ok($r->{started}, 'run daily with the server away');
@h = $ag2->wait_runs('daily', 2, 30);
is($h[0]{result}, 'failed', 'the run failed') or diag(explain(\@h));
like($h[0]{error}, qr/127\.0\.0\.1.*(refused|connect)/i, "with the client's error: $h[0]{error}");
ok($ag2->job('daily')->{retry_at} > time + 100, 'a retry waits RetryDelay (300 s)');
ok(GV::wait_until(sub { $outbox->() >= 1 }, 10), 'its report waits in the outbox');
sleep 2;
ok($outbox->() >= 1, '... through the polls that fail');
ok($ag2->ask(request => 'status')->{unsent} >= 1, 'status counts it as unsent');
my $pst = $ag2->ask(request => 'status')->{poll};
like($pst->{last_error} // '', qr/127\.0\.0\.1/, 'status: the last poll failed, and why');
ok(GVClient::restart_daemon($gv), 'the server is back');
ok(GV::wait_until(sub { $outbox->() == 0 }, 20, 0.1), 'the next poll sent the report');
my ($hst, $hout) = $gv->ctl('client', 'history', 'bob', '--json');
my $hl = eval { JSON::PP->new->decode($hout) } || [];
my ($fail) = grep { $_->{set} eq 'daily' && $_->{result} eq 'failed' } @$hl;
ok($fail, 'the server has the failed run') or diag($hout);
$r = $ag2->ask(request => 'cancel', set => 'daily');
ok($r->{cancelled}, 'cancel drops the retry that waits');
is($ag2->job('daily')->{retry_at}, 0, '... it is gone');

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

# ------------------ a scheduled run cut by the agent's stop runs again

my $state3 = $cl->dir . '/state3';
mkdir $state3;
GV::_spit("$state3/last-cut", int(time - 2 * 86400) . "\n");
my $ag3 = GVAgent->start($cl, state => $state3, sets => {
    cut => { Paths => [$src], Schedule => 'daily', PreCommand => 'sleep 38.5' },
});
ok(GV::wait_until(sub { my $j = $ag3->job('cut'); $j && $j->{running} }, 15),
   'a missed scheduled run is under way') or diag($ag3->log_text);
is($ag3->stop, 0, 'the agent stops during it');
my $stamp = GV::_slurp("$state3/last-cut");
ok($stamp < time - 86400, 'the cut run does not count as run') or diag($stamp);
$ag3->start;
ok(GV::wait_until(sub { my $j = $ag3->job('cut'); $j && $j->{running} }, 15),
   'after the start it runs again (caught up)') or diag($ag3->log_text);
@h = $ag3->history('cut');
is($h[0]{error}, 'cancelled: the agent stopped during the run', 'the cut run\'s report says why');
is($ag3->stop, 0, 'stopped');

diag(sprintf('t/56-agent-jobs took %.1f s', time - $t0));
done_testing;
