#!/usr/bin/perl
# The web console in a real browser: headless Chromium (Debian's
# /usr/bin/chromium) driven by t/browser/e2e.mjs with playwright-core
# (pinned in t/browser/package-lock.json, installed by .ci/deps into
# t/browser/node_modules; nothing is downloaded here).
#
# Two daemons, A and B, both with multicast off; A knows B as a static
# peer (Discovery.Peers).  Each has an administrator; A has a client with
# one backup and job reports (t/gv-report).  In the browser: log in to A,
# the dashboard counts the session, the client's snapshot list shows the
# snapshot, "Back up now" on the client page queues a request (checked
# through the API) that the agent's poll takes and its report ends (the
# page shows each state, then the run in the history and the health with
# the failed set's message), the clients list shows the health, a client added
# with the form gets a token (which then registers a real client), the
# Peers view opens B's console, logging in to B through the switch shows
# B's dashboard.  Screenshots of every step at laptop and phone size go
# to $GV_BUILDDIR/t-out/71-web-browser/.  Any page JS error or CSP
# violation fails the test.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use File::Temp ();
use JSON::PP ();
use POSIX qw(:sys_wait_h setpgid _exit);
use Time::HiRes qw(time sleep);
use GV;
use GVClient;

my $CHROMIUM = $ENV{GV_CHROMIUM} || '/usr/bin/chromium';
my $NODE = $ENV{GV_NODE} || 'node';
my $E2E = "$GV::SRCDIR/t/browser/e2e.mjs";
my $PW = "$GV::SRCDIR/t/browser/node_modules/playwright-core/package.json";

plan skip_all => "no Chromium at $CHROMIUM (Debian package chromium; sh .ci/deps)" unless -x $CHROMIUM;
my $nodev = `$NODE --version 2>/dev/null` // '';
plan skip_all => "no node (Debian package nodejs; sh .ci/deps)" unless $nodev =~ /^v(\d+)/;
plan skip_all => "node $nodev is too old for playwright-core (needs 18 or newer)" if $1 < 18;
plan skip_all => "no playwright-core in t/browser/node_modules (sh .ci/deps runs npm ci --prefix t/browser)"
    unless -f $PW;
plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
plan skip_all => "no $GV::SRCDIR/www (the console's pages)" unless -f "$GV::SRCDIR/www/index.html";
alarm($ENV{GV_TEST_TIMEOUT} || 400);

my $OUT = "$GV::BUILDDIR/t-out/71-web-browser";
make_path($OUT);
unlink glob("$OUT/*.png");

# ------------------------------------------------------------ daemons
my ($USER_A, $PASS_A) = ('admin', 'A pass phrase, with "quotes" & spaces');
my ($USER_B, $PASS_B) = ('bee-admin', 'b-secret-2');
my $B = GV->start(GV::web_opts(Workers => 1, 'Discovery.Name' => 'peer-bee'));
my $A = GV->start(GV::web_opts(Workers => 2, 'Discovery.Name' => 'peer-ay',
                               'Discovery.Peers' => ['127.0.0.1:' . $B->port('UI')],
                               'Discovery.TCPInterval' => 2));
ok($A->wait_web(15), 'A: the web console answers') or do { $A->diag_logs; done_testing; exit };
ok($B->wait_web(15), 'B: the web console answers');
$A->add_admin($USER_A, $PASS_A);
$B->add_admin($USER_B, $PASS_B);
my $SID_A = $A->status->{server_id};
my $SID_B = $B->status->{server_id};
ok(wait_until(sub {
    my $p = $A->peers or return;
    grep { ($_->{id} // '') eq $SID_B } @{ $p->{peers} || [] };
}, 20, 0.3), 'A knows B (static peer, over TCP)');

# a client of A with one backup
my $src = File::Temp::tempdir('gv-e2e-src-XXXXXX', TMPDIR => 1, CLEANUP => 1);
for my $i (1 .. 5) {
    open my $fh, '>', "$src/file$i.txt" or die;
    print $fh "browser test file $i\n" x (2000 * $i);
    close $fh;
}
my $cl = GVClient->new($A, 'alice');
my ($rc, $out, $err) = $cl->run('backup', '--set', 'home', $src);
is($rc, 0, 'alice backs up to A (set "home")') or diag($err);
my ($snap) = $cl->snapshots;
ok($snap, "alice has a snapshot (id " . ($snap ? $snap->{id} : '?') . ")");

# alice's agent, played by t/gv-report over real backup sessions: its
# set "etc" failed, its set "home" ran fine (the backup above); then it
# describes both jobs in a poll.  In the browser "Back up now" queues a
# request for "home", e2e.mjs polls (the request is taken) and reports
# the run, and the page shows each state and the history.
my $REPORT = "$GV::BUILDDIR/t/gv-report";
ok(-x $REPORT, 't/gv-report is built') or BAIL_OUT('run make check (t/gv-report)');
my $FAILED_ERROR = 'pre-command "/usr/local/sbin/dump-db" exited with status 3';
my @report = ($REPORT, '-c', $cl->dir . '/client.conf');
my %report_env = (GIGAVAULT_PASSPHRASE => $GVClient::PASS);
for my $args (['--set', 'etc', '--result', 'failed', '--start', '-900', '--end', '-880',
               '--error', $FAILED_ERROR, '--next-run', '+3600'],
              ['--set', 'home', '--result', 'ok', '--start', '-600', '--end', '-540',
               '--next-run', '+3600', '--files', 5, '--bytes', 600000, '--read', 600000,
               '--sent', 1200, ($snap ? ('--snapshot', $snap->{id}) : ())],
              ['--poll', '--job', 'home:+3600:86400', '--job', 'etc:+3600:86400']) {
    my ($r, undef, $e) = GVClient::run_cmd([@report, @$args], \%report_env, 60);
    is($r, 0, "gv-report @$args[0 .. 1]") or diag($e);
}

# ------------------------------------------------------------ the browser
my %env = (
    GV_E2E_URL_A => $A->web_base(0) . '/',
    GV_E2E_USER_A => $USER_A, GV_E2E_PASS_A => $PASS_A,
    GV_E2E_NAME_A => 'peer-ay', GV_E2E_SID_A => $SID_A,
    GV_E2E_USER_B => $USER_B, GV_E2E_PASS_B => $PASS_B,
    GV_E2E_NAME_B => 'peer-bee', GV_E2E_SID_B => $SID_B,
    GV_E2E_CLIENT => 'alice', GV_E2E_SET => 'home',
    GV_E2E_SNAPSHOT_ID => ($snap ? $snap->{id} : ''),
    GV_E2E_NEW_CLIENT => 'laptop-42',
    GV_E2E_OUT => $OUT, GV_E2E_CHROMIUM => $CHROMIUM,
    GV_E2E_REPORT => JSON::PP->new->encode({ argv => \@report, env => \%report_env }),
    GV_E2E_FAILED_SET => 'etc', GV_E2E_FAILED_ERROR => $FAILED_ERROR,
);

# run node in a process group of its own; keep track of every descendant
# (Chromium's processes leave node's group) so none is left behind.
my (%kids, $nst);
my $log = "$OUT/e2e.out";
my $pid = fork // die "fork: $!";
if (!$pid) {
    setpgid(0, 0);
    %ENV = (%ENV, %env);
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', $log or _exit(126);
    open STDERR, '>&', \*STDOUT or _exit(126);
    $SIG{$_} = 'DEFAULT' for qw(PIPE ALRM INT TERM HUP);
    alarm 0;
    exec { $NODE } $NODE, $E2E or print "exec $NODE: $!\n";
    _exit(127);
}
setpgid($pid, $pid);
sub track {
    my @all = GV::_all_procs();
    my %ch;
    push @{ $ch{$_->{ppid}} }, $_ for @all;
    my @todo = ($pid);
    while (@todo) {
        for my $k (@{ $ch{ shift @todo } || [] }) {
            next if $kids{ $k->{pid} };
            $kids{ $k->{pid} } = $k->{start};
            push @todo, $k->{pid};
        }
    }
}
sub live_kids {
    return grep {
        my $st = GV::_proc_stat($_);
        $st && $st->{state} ne 'Z' && $st->{start} == $kids{$_};
    } keys %kids;
}
my $deadline = time + 240;
my $t0 = time;
while (1) {
    track();
    my $r = waitpid($pid, WNOHANG);
    if ($r == $pid) { $nst = $?; last }
    if (time > $deadline) {
        diag('e2e.mjs did not finish within 240 s; stopping it');
        kill 'TERM', $pid;
        sleep 5;
        kill 'KILL', -$pid, $pid;
        waitpid($pid, 0);
        $nst = -1;
        last;
    }
    sleep 0.2;
}
note(sprintf('e2e.mjs ran %.1f s', time - $t0));
ok(wait_until(sub { !live_kids() }, 10), 'no browser process is left behind')
    or diag('left: ' . join(' ', live_kids()));
kill 'KILL', $_ for live_kids();

my $result = {};
my $checks = 0;
open my $fh, '<', $log or die "$log: $!";
while (my $l = <$fh>) {
    chomp $l;
    if ($l =~ /^(not )?ok - (.*)$/) {
        ok(!$1, "browser: $2");
        $checks++;
    } elsif ($l =~ /^# ?(.*)$/) {
        my $c = $1;
        if ($c =~ /^(screenshot|page error|console error|Chromium)/) { diag($c) } else { note($c) }
    } elsif ($l =~ /^result (\{.*\})$/) {
        $result = eval { JSON::PP->new->decode($1) } || {};
    } elsif (length $l) {
        diag("e2e: $l");
    }
}
close $fh;
is($nst, 0, 'node t/browser/e2e.mjs exited 0') or diag("status $nst; output in $log");
cmp_ok($checks, '>=', 38, "e2e.mjs reported its checks ($checks)");
ok($result->{request}, "the page's \"Back up now\" made request " . ($result->{request} // '?'));
SKIP: {
    skip 'no request from the page', 1 unless $result->{request};
    my ($r, $o, $e) = $A->ctl('client', 'history', 'alice', '--json');
    my $h = eval { JSON::PP->new->decode($o) } || [];
    my ($run) = grep { ($_->{request} // 0) == $result->{request} } @$h;
    ok($run && $run->{result} eq 'ok' && $run->{set} eq 'home',
       "gigavaultctl client history alice: the run of request $result->{request}, ok")
        or diag("exit $r: $o$e");
}

# what the browser did, seen from the server
my @shots = glob("$OUT/*.png");
cmp_ok(scalar(grep { /-laptop\.png$/ } @shots), '>=', 8, 'laptop screenshots of every step');
cmp_ok(scalar(grep { /-phone\.png$/ } @shots), '>=', 8, 'phone screenshots of every step');
sub is_png {
    open(my $p, '<', $_[0]) or return 0;
    read($p, my $sig, 8);
    return ($sig // '') eq "\x89PNG\r\n\x1a\n";
}
my @bad = grep { !is_png($_) } @shots;
is_deeply(\@bad, [], 'every screenshot is a PNG');
diag("screenshots in $OUT");
for my $size (qw(laptop phone)) {
    my ($f) = grep { /-a-client-health-history-\Q$size\E\.png$/ } @shots;
    ok($f, "the client page with its health and history at $size size") and diag("client page: $f");
}
($rc, $out) = $A->ctl('client', 'list');
like($out, qr/^laptop-42\b/m, 'the client added with the form exists on A');
SKIP: {
    skip 'no token from the form', 1 unless $result->{token};
    my $nc = GVClient->new($A, 'laptop-42', unregistered => 1);
    my ($r1, undef, $e1) = $nc->run('init');
    my ($r2, undef, $e2) = $nc->run('register', '-s', '127.0.0.1:' . $A->port('BackupServer'),
                                    '--token', $result->{token});
    is($r2, 0, "the token the page showed registers a real client") or diag("$e1$e2");
}
($rc, $out) = $B->ctl('client', 'list');
unlike($out, qr/laptop-42/, 'B did not get that client');

is($A->stop, 0, 'A: SIGTERM, exit 0');
is_deeply([$A->leftovers], [], 'A: no process left behind');
is($B->stop, 0, 'B: SIGTERM, exit 0');
is_deeply([$B->leftovers], [], 'B: no process left behind');
done_testing;
