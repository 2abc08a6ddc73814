#!/usr/bin/perl
# The console's users in a real browser: headless Chromium (Debian's
# /usr/bin/chromium) driven by t/browser/admins.mjs with playwright-core
# (t/browser/node_modules, as for t/71-web-browser.t).
#
# The browser adds a read-only operator on "Administrators", logs in as
# it (its "Add client" is refused with 403 and the page says why, the
# Administrators page is not for it), turns TOTP on for the
# administrator on "My account" and logs in with the password and a
# code it computes itself, makes an API token, uses it without a cookie,
# revokes it and sees it refused.  Each effect is checked here again
# through gigavaultctl and the files.  Screenshots of every step at
# laptop and phone size go to $GV_BUILDDIR/t-out/78-web-admins/.
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
my $SCRIPT = "$GV::SRCDIR/t/browser/admins.mjs";

plan skip_all => "no Chromium at $CHROMIUM (Debian package chromium; sh tools/deps --test)" unless -x $CHROMIUM;
plan skip_all => 'no node 18 or newer' unless (`$NODE --version 2>/dev/null` // '') =~ /^v(\d+)/ && $1 >= 18;
plan skip_all => 'no playwright-core in t/browser/node_modules (sh tools/deps --test)'
    unless -f "$GV::SRCDIR/t/browser/node_modules/playwright-core/package.json";
plan skip_all => "no $GV::SRCDIR/www (the console's pages)" unless -f "$GV::SRCDIR/www/index.html";
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my $OUT = "$GV::BUILDDIR/t-out/78-web-admins";
make_path($OUT);
unlink glob("$OUT/*.png");

my ($USER, $PASS) = ('chief', 'chief pass phrase');
my ($OP, $OP_PASS) = ('watcher', 'watcher pass 1');
my $gv = GV->start(GV::web_opts(Workers => 1));
ok($gv->wait_web(15), 'the console answers') or do { $gv->diag_logs; done_testing; exit };
$gv->add_admin($USER, $PASS);

my %e = (GV_E2E_URL => $gv->web_base(0) . '/', GV_E2E_USER => $USER, GV_E2E_PASS => $PASS,
         GV_E2E_OP_USER => $OP, GV_E2E_OP_PASS => $OP_PASS, GV_E2E_OUT => $OUT,
         GV_E2E_CHROMIUM => $CHROMIUM);
my ($brc, $bout, $berr) = GVClient::run_cmd([$NODE, $SCRIPT], \%e, 200);
is($brc, 0, 'node t/browser/admins.mjs exited 0') or diag($berr);
my ($checks, $res) = (0, {});
for my $l (split /\n/, $bout) {
    if ($l =~ /^(not )?ok - (.*)$/) { ok(!$1, "browser: $2"); $checks++ }
    elsif ($l =~ /^result (\{.*\})$/) { $res = eval { JSON::PP->new->decode($1) } || {} }
    elsif ($l =~ /^# ?(.*)$/) { my $c = $1; $c =~ /^(screenshot|page error|console error)/ ? diag($c) : note($c) }
    elsif (length $l) { diag("admins.mjs: $l") }
}
cmp_ok($checks, '>=', 30, "admins.mjs reported its checks ($checks)");

# what the browser did, seen from the server
my ($st, $out) = $gv->ctl('admin', 'list', '--json');
my $list = eval { JSON::PP->new->decode($out) } || [];
my %a = map { $_->{name} => $_ } @$list;
is($a{$OP} && $a{$OP}{role}, 'operator', "gigavaultctl admin list: $OP is a read-only operator");
ok($a{$USER} && $a{$USER}{totp}, "gigavaultctl admin list: $USER has TOTP on");
($st, $out) = $gv->ctl('client', 'list');
unlike($out, qr/op-made/, 'the operator\'s "Add client" made no client');
ok($res->{token_id}, 'the page made a token (' . ($res->{token_id} // '?') . ')');
unlike(GV::_slurp($gv->cfg->{Server}{DataDir} . '/apitokens') // '', qr/^\Q@{[$res->{token_id} \/\/ 'none']}\E:/m,
       '... and its revocation took it out of DataDir/apitokens');
like($gv->log_text, qr/UI: \Q$USER\E added read-only operator \Q$OP\E/, 'the log says who added the operator');
like($gv->log_text, qr/UI: client_add from .* refused: \Q$OP\E is a read-only operator/,
     'the log says the operator\'s write was refused');

my @shots = glob("$OUT/*.png");
cmp_ok(scalar(grep { /-laptop\.png$/ } @shots), '>=', 8, 'laptop screenshots of every step');
cmp_ok(scalar(grep { /-phone\.png$/ } @shots), '>=', 8, 'phone screenshots of every step');
diag("screenshots in $OUT");

is($gv->stop, 0, 'SIGTERM, exit 0');
is_deeply([$gv->leftovers], [], 'no process left behind');
my @chromium = grep { /admins\.mjs|chrom/ } split /\n/, (`pgrep -a -f t-out/78-web-admins 2>/dev/null` // '');
is_deeply(\@chromium, [], 'no browser process left behind');
done_testing;
