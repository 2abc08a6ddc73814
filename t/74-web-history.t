#!/usr/bin/perl
# The console's health-first dashboard and History page in real
# Chromium (t/browser/history.mjs): a daemon whose history holds a
# backup of okc by the real client (and its ok job report), a failed
# job report of failc (t/gv-report, its agent polling with a job, so
# that failc needs attention) and a failed login.  The browser checks
# the dashboard's health counts, the "Needs attention" list with
# failc's message, the space card's fill estimate (t/gv-days gives ten
# days of growth before today: its date is checked) and the worker pool
# below them; then filters the History page by client, kind and
# result, opens a row's detail by a click, and follows a client page's
# "History of this client".  Screenshots at laptop and phone width go
# to t-out/74-web-history/.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use GV;
use GVClient;

my $chromium = $ENV{GV_CHROMIUM} || '/usr/bin/chromium';
my $node = $ENV{GV_NODE} || 'node';
plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
plan skip_all => "no Chromium at $chromium" unless -x $chromium;
plan skip_all => 'no playwright-core in t/browser/node_modules'
    unless -f "$GV::SRCDIR/t/browser/node_modules/playwright-core/package.json";
plan skip_all => 'no node 18 or newer'
    unless (`$node --version 2>/dev/null` // '') =~ /^v(\d+)/ && $1 >= 18;
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my $R = "$GV::BUILDDIR/t/gv-report";
ok(-x $R, 't/gv-report is built') or BAIL_OUT('run make check');
my ($ADMIN, $PASS) = ('hist-admin', 'history pass phrase');
my $ERROR = 'pg_dump: connection refused';

my $gv = GV->start(GV::web_opts(Workers => 2));
ok($gv->wait_web(15), 'the console answers') or do { $gv->diag_logs; done_testing; exit };
$gv->add_admin($ADMIN, $PASS);

sub report {
    my ($cl, @flags) = @_;
    my @r = GVClient::run_cmd([$R, '-c', "$cl->{dir}/client.conf", @flags],
                              { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
    is($r[0], 0, "gv-report @flags[0 .. 3]: exit 0") or diag $r[2];
}

my $okc = GVClient->new($gv, 'okc');
my $failc = GVClient->new($gv, 'failc');
my $src = $okc->dir . '/src';
GVClient::make_tree($src);
my ($rc, $out, $err) = $okc->run('backup', '--set', 'home', $src);
is($rc, 0, 'okc backs up') or diag $err;
report($okc, '--set', 'home', '--result', 'ok', '--start', '-30', '--end', '-5',
       '--next-run', '+3600');
report($failc, '--set', 'db', '--result', 'failed', '--error', $ERROR, '--next-run', '+3600');
report($failc, '--poll', '--agent', 'failc-host', '--job', 'db:+3600:86400');
ok(!$gv->login('failc', "\0" x 32), 'a failed login of failc');
ok(wait_until(sub {
    my ($st, $o) = $gv->ctl('history', '--json', '--kind', 'auth');
    my $v = eval { JSON::PP->new->decode($o) } || [];
    return @$v == 1;
}, 20, 0.2), 'the failed login is in the history');

# Ten days of growth before today and today's, 1 GiB a day (t/gv-days:
# index entries only), for the fill estimate.
my $DAYS = "$GV::BUILDDIR/t/gv-days";
my @g = GVClient::run_cmd([$DAYS, $gv->cfg->{Server}{DataDir} . '/catalog', 'growth', 10,
                           1 << 30], {}, 60);
is($g[0], 0, 't/gv-days: ten days and today of 1 GiB a day') or diag $g[2];
my $free;
{
    my $r = $gv->web(POST => '/api/login', json => { user => $ADMIN, password => $PASS });
    my ($cookie) = GV::session_cookie($r);
    my $d = $gv->web(GET => '/api/dashboard', cookie => $cookie)->{json} || {};
    $free = $d->{disk} && $d->{disk}{free};
    is($d->{fill} && $d->{fill}{status}, 'filling', 'the dashboard\'s fill: filling')
        or diag explain $d->{fill};
    is($d->{fill} && $d->{fill}{samples}, 11, '... from 11 days (10 and today)');
    is($d->{fill} && $d->{fill}{per_day}, 1 << 30, '... at 1 GiB a day');
    ok($d->{fill} && $free && abs($d->{fill}{days_left} - $free / (1 << 30)) < 0.01,
       '... days left: free / 1 GiB') or diag explain [$d->{fill}, $free];
}

my $outdir = "$GV::BUILDDIR/t-out/74-web-history";
make_path($outdir);
unlink glob("$outdir/*.png");
my %e = (GV_E2E_URL => $gv->web_base(0) . '/', GV_E2E_USER => $ADMIN, GV_E2E_PASS => $PASS,
         GV_E2E_OK => 'okc', GV_E2E_FAILED => 'failc', GV_E2E_ERROR => $ERROR,
         GV_E2E_OUT => $outdir, GV_E2E_CHROMIUM => $chromium, GV_E2E_FREE => $free // 0);
my ($brc, $bout, $berr) = GVClient::run_cmd([$node, "$GV::SRCDIR/t/browser/history.mjs"], \%e, 150);
is($brc, 0, 'node t/browser/history.mjs exited 0') or diag($berr);
my ($checks, $res) = (0, {});
for my $l (split /\n/, $bout) {
    if ($l =~ /^(not )?ok - (.*)$/) { ok(!$1, "browser: $2"); $checks++ }
    elsif ($l =~ /^result (\{.*\})$/) { $res = eval { JSON::PP->new->decode($1) } || {} }
    elsif ($l =~ /^# ?(.*)$/) { my $c = $1; $c =~ /^screenshot/ ? diag($c) : note($c) }
}
cmp_ok($checks, '>=', 23, "history.mjs reported its checks ($checks)");
is_deeply($res->{clicked} // [], ['nav: History', 'filter: client', 'filter: kind', 'filter: result',
                                  'row: detail', 'client page: History of this client'],
          'the browser clicked the nav, three filters, a row and the client page\'s link');
my @shots = sort glob("$outdir/*.png");
for my $name (qw(dashboard-health history-all history-filtered history-detail)) {
    for my $size (qw(laptop phone)) {
        ok(-s "$outdir/$name-$size.png", "screenshot $name-$size.png");
    }
}
is($gv->stop, 0, 'SIGTERM, exit 0');
is_deeply([$gv->leftovers], [], 'no process left behind');
done_testing;
