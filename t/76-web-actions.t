#!/usr/bin/perl
# The console's actions in a real browser: headless Chromium (Debian's
# /usr/bin/chromium) driven by t/browser/actions.mjs with playwright-core
# (t/browser/node_modules, as t/71-web-browser.t).  A daemon with a
# client of three snapshots and a second client; in the browser every
# action of the client page is clicked, its confirmation too (protect,
# unprotect cancelled and confirmed, the retention editor and clear,
# forget from the list and from the snapshot's page, allow and deny
# client forget, disable and enable, prune and scrub, a new enrollment
# token, remove), each effect read back through the API by the script;
# here the end state is checked with gigavaultctl and the token the page
# showed registers a real client.  Screenshots at laptop and phone size
# go to $GV_BUILDDIR/t-out/76-web-actions/.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use GV;
use GVClient;

my $CHROMIUM = $ENV{GV_CHROMIUM} || '/usr/bin/chromium';
my $NODE = $ENV{GV_NODE} || 'node';
my $SCRIPT = "$GV::SRCDIR/t/browser/actions.mjs";
plan skip_all => "no Chromium at $CHROMIUM (Debian package chromium; sh tools/deps --test)"
    unless -x $CHROMIUM;
my $nodev = `$NODE --version 2>/dev/null` // '';
plan skip_all => 'no node 18 or newer (sh tools/deps --test)' unless $nodev =~ /^v(\d+)/ && $1 >= 18;
plan skip_all => 'no playwright-core in t/browser/node_modules (sh tools/deps --test)'
    unless -f "$GV::SRCDIR/t/browser/node_modules/playwright-core/package.json";
plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
alarm($ENV{GV_TEST_TIMEOUT} || 400);

my $OUT = "$GV::BUILDDIR/t-out/76-web-actions";
make_path($OUT);
unlink glob("$OUT/*.png");
my ($ADMIN, $PASS) = ('act-admin', 'actions in a browser');
my $J = JSON::PP->new->canonical;

my $gv = GV->start(GV::web_opts(Workers => 2, 'Discovery.Name' => 'web-actions',
                                'Prune.GraceSeconds' => 0, 'Prune.Interval' => 0));
ok($gv->wait_web(15), 'the console answers') or do { $gv->diag_logs; done_testing; exit };
$gv->add_admin($ADMIN, $PASS);

my $cl = GVClient->new($gv, 'desk');
my $src = $gv->dir . '/src';
make_path($src);
for my $v (1 .. 3) {
    GVClient::_spit_bytes("$src/data", GVClient::pseudo_bytes(100_000, "v$v"));
    my ($rc, $out, $err) = $cl->run('backup', '--set', 'home', $src);
    is($rc, 0, "backup $v of desk, set home") or diag($err);
    sleep 1 if $v < 3;
}
my ($st, $out, $err) = $gv->ctl('client', 'add', 'old-box');
is($st, 0, 'a second client, old-box') or diag($err);

my %e = (GV_E2E_URL => $gv->web_base(0) . '/', GV_E2E_USER => $ADMIN, GV_E2E_PASS => $PASS,
         GV_E2E_CLIENT => 'desk', GV_E2E_SET => 'home', GV_E2E_DOOMED => 'old-box',
         GV_E2E_OUT => $OUT, GV_E2E_CHROMIUM => $CHROMIUM);
my ($brc, $bout, $berr) = GVClient::run_cmd([$NODE, $SCRIPT], \%e, 240);
is($brc, 0, 'node t/browser/actions.mjs exited 0') or diag($berr);
my ($checks, $res) = (0, {});
for my $l (split /\n/, $bout) {
    if ($l =~ /^(not )?ok - (.*)$/) { ok(!$1, "browser: $2"); $checks++ }
    elsif ($l =~ /^result (\{.*\})$/) { $res = eval { $J->decode($1) } || {} }
    elsif ($l =~ /^# ?(.*)$/) { my $c = $1; $c =~ /^screenshot/ ? diag($c) : note($c) }
    elsif (length $l) { diag("actions.mjs: $l") }
}
cmp_ok($checks, '>=', 40, "actions.mjs reported its checks ($checks)");
note('clicked: ' . join('; ', @{ $res->{clicked} || [] }));

# the end state, through gigavaultctl
($st, $out) = $gv->ctl('snapshots', 'desk', '--json');
my @left = map { $_->{id} } @{ (eval { $J->decode($out) }) || [] };
is_deeply(\@left, [3], 'gigavaultctl snapshots desk: 1 and 2 were forgotten in the browser, 3 is left');
ok(!grep({ $_->{protected} } @{ (eval { $J->decode($out) }) || [] }), '... not protected');
($st, $out) = $gv->ctl('policy', 'show', 'desk', '--json');
my $pol = eval { $J->decode($out) } || {};
my %p = map { $_->{set} => $_ } @{ $pol->{clients}[0]{policies} || [] };
is_deeply([ sort keys %p ], ['home'], "gigavaultctl policy show: home's policy (the default was cleared)");
is($p{home} && $p{home}{keep_last}, 1, '... keep-last 1');
ok(!$pol->{clients}[0]{allow_forget}, '... client forget denied');
($st, $out) = $gv->ctl('client', 'list', '--json');
my %cl = map { $_->{name} => $_ } @{ (eval { $J->decode($out) }) || [] };
ok($cl{desk} && !$cl{desk}{disabled}, 'gigavaultctl client list: desk enabled');
ok(!$cl{'old-box'}, '... old-box removed');
($st, $out) = $gv->ctl('status', '--json');
SKIP: {
    skip 'no token from the page', 2 unless ($res->{token} // '') =~ /^[0-9a-f]{32}$/;
    my $again = GVClient->new($gv, 'desk-new-machine', unregistered => 1);
    my ($r1, undef, $e1) = $again->run('init');
    my ($r2, $o2, $e2) = $again->run('register', '-s', '127.0.0.1:' . $gv->port('BackupServer'),
                                     '--token', $res->{token});
    is($r2, 0, 'the token the page showed registers a new machine') or diag("$e1$e2");
    like("$o2$e2", qr/desk/, '... as desk');
}

my @shots = glob("$OUT/*.png");
cmp_ok(scalar(grep { /-laptop\.png$/ } @shots), '>=', 12, 'laptop screenshots of the steps');
cmp_ok(scalar(grep { /-phone\.png$/ } @shots), '>=', 12, 'phone screenshots of the steps');
my @bad = grep { open(my $f, '<', $_) or 1; my $sig = ''; read($f, $sig, 8) if $f; $sig ne "\x89PNG\r\n\x1a\n" } @shots;
is_deeply(\@bad, [], 'every screenshot is a PNG');
diag("screenshots in $OUT");
is($gv->stop, 0, 'gigavaultd: SIGTERM, exit 0');
is_deeply([$gv->leftovers], [], 'no daemon process left behind');
done_testing;
