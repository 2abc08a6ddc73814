#!/usr/bin/perl
# Browse and restore through the agent in a real browser: headless
# Chromium (Debian's /usr/bin/chromium) driven by t/browser/browse.mjs
# with playwright-core, a real daemon and a real agent of the client
# (t/lib/GVAgent.pm: PollInterval 1, discovery off).  The agent backs up
# a small tree; in the browser, on the client's page: the card says why
# browsing needs the agent and when it last checked in; "Browse" lists
# the snapshot, the directories are clicked down to the tree and into
# docs/, two files and (after going back up with the path bar) the
# directory photos/ are ticked; overwriting the original place asks
# first (cancelled); a restore to a target directory is started and the
# page shows it done; a mail set's mailbox directory shows its messages'
# From, Subject and Date.  Then the restored files are compared byte for
# byte with the originals, and what was not ticked is not there.
# Screenshots at laptop and phone size go to
# $GV_BUILDDIR/t-out/79-web-browse/.  Any page JS error or CSP violation
# fails the test.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use POSIX qw(:sys_wait_h setpgid _exit);
use Time::HiRes qw(time sleep);
use GV;
use GVClient;
use GVAgent;

my $CHROMIUM = $ENV{GV_CHROMIUM} || '/usr/bin/chromium';
my $NODE = $ENV{GV_NODE} || 'node';
my $MJS = "$GV::SRCDIR/t/browser/browse.mjs";
my $PW = "$GV::SRCDIR/t/browser/node_modules/playwright-core/package.json";

plan skip_all => "no Chromium at $CHROMIUM (Debian package chromium; sh .ci/deps)" unless -x $CHROMIUM;
my $nodev = `$NODE --version 2>/dev/null` // '';
plan skip_all => "no node (Debian package nodejs; sh .ci/deps)" unless $nodev =~ /^v(\d+)/;
plan skip_all => "node $nodev is too old for playwright-core (needs 18 or newer)" if $1 < 18;
plan skip_all => "no playwright-core in t/browser/node_modules (sh .ci/deps runs npm ci --prefix t/browser)"
    unless -f $PW;
plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
alarm($ENV{GV_TEST_TIMEOUT} || 400);

my $OUT = "$GV::BUILDDIR/t-out/79-web-browse";
make_path($OUT);
unlink glob("$OUT/*.png");

my ($USER, $PASS) = ('browse-admin', 'browse pass "phrase"');
my $gv = GV->start(GV::web_opts(Workers => 3));
ok($gv->wait_web(15), 'the console answers') or do { $gv->diag_logs; done_testing; exit };
$gv->add_admin($USER, $PASS);

my $cl = GVClient->new($gv, 'carol');
my $src = $cl->dir . '/src';
make_path("$src/docs", "$src/photos/2026", "$src/other");
GV::_spit("$src/readme.txt", "read me\n");
GV::_spit("$src/docs/a.txt", "the text of a\n" x 300);
GV::_spit("$src/docs/b.bin", join('', map { chr(($_ * 31 + ($_ >> 7)) % 256) } 0 .. 199_999));
GV::_spit("$src/docs/not-ticked.txt", "left on the server\n");
GV::_spit("$src/photos/2026/c.jpg", join('', map { chr(($_ * 13) % 251) } 0 .. 99_999));
GV::_spit("$src/other/d.txt", "d\n");
# a mail set's mailbox directory (doc/mail.md): the page shows From,
# Subject and Date from its .mailbox
make_path("$src/mail/ann/INBOX");
GV::_spit("$src/mail/ann/INBOX/1733500000-42", "From: Alice <alice\@example.org>\r\nSubject: Minutes\r\n\r\nbody\r\n");
GV::_spit("$src/mail/ann/INBOX/.mailbox", JSON::PP->new->canonical->encode({
    name => 'INBOX', delimiter => '/', uidvalidity => 1733500000, uidnext => 43, special => undef,
    messages => [ { file => '1733500000-42', uid => 42, flags => '\\Seen', date => 1733480000,
                    tzoff => 60, size => 61, from => 'Alice <alice@example.org>',
                    subject => 'Minutes of the meeting', date_header => 'Fri, 6 Dec 2024 10:13:20 +0100' } ] }));

my $ag = GVAgent->start($cl, sets => { files => { Paths => [$src], Schedule => '2099-01-01' } });
my $r = $ag->ask(request => 'run', set => 'files');
ok($r->{started}, 'the agent backs up set files') or diag(explain($r));
my @h = $ag->wait_runs('files', 1, 60);
is($h[0]{result}, 'ok', 'the backup is saved') or diag(explain(\@h), $ag->log_text);
my $snap = $h[0]{snapshot};
my $target = $cl->dir . '/restored-from-console';

# ------------------------------------------------------------ the browser
my %env = (GV_E2E_URL => $gv->web_base(0) . '/', GV_E2E_USER => $USER, GV_E2E_PASS => $PASS,
           GV_E2E_CLIENT => 'carol', GV_E2E_SNAPSHOT => $snap, GV_E2E_SRC => $src,
           GV_E2E_TARGET => $target, GV_E2E_OUT => $OUT, GV_E2E_CHROMIUM => $CHROMIUM);

# node in a process group of its own; every descendant tracked (Chromium's
# processes leave node's group) so that none is left behind.
my (%kids, $nst);
my $log = "$OUT/browse.out";
my $pid = fork // die "fork: $!";
if (!$pid) {
    setpgid(0, 0);
    %ENV = (%ENV, %env);
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', $log or _exit(126);
    open STDERR, '>&', \*STDOUT or _exit(126);
    $SIG{$_} = 'DEFAULT' for qw(PIPE ALRM INT TERM HUP);
    alarm 0;
    exec { $NODE } $NODE, $MJS or print "exec $NODE: $!\n";
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
while (1) {
    track();
    my $w = waitpid($pid, WNOHANG);
    if ($w == $pid) { $nst = $?; last }
    if (time > $deadline) {
        diag('browse.mjs did not finish within 240 s; stopping it');
        kill 'TERM', $pid;
        sleep 5;
        kill 'KILL', -$pid, $pid;
        waitpid($pid, 0);
        $nst = -1;
        last;
    }
    sleep 0.2;
}
ok(GV::wait_until(sub { !live_kids() }, 10), 'no browser process is left behind')
    or diag('left: ' . join(' ', live_kids()));
kill 'KILL', $_ for live_kids();
is($nst, 0, 'node t/browser/browse.mjs exited 0');

my ($checks, $res) = (0, {});
for my $l (split /\n/, GV::_slurp($log) // '') {
    if ($l =~ /^(not )?ok - (.*)$/) { ok(!$1, "browser: $2"); $checks++ }
    elsif ($l =~ /^result (\{.*\})$/) { $res = eval { JSON::PP->new->decode($1) } || {} }
    elsif ($l =~ /^# ?(.*)$/) { my $c = $1; $c =~ /^screenshot/ ? diag($c) : note($c) }
    else { note($l) }
}
cmp_ok($checks, '>=', 22, "browse.mjs reported its checks ($checks)");
is($res->{state}, 'done', 'the page showed the restore done');
is($res->{files}, 3, '... with 3 files (a.txt, b.bin and c.jpg)');

# ------------------------------------------------------------ on the client
for my $f ('docs/a.txt', 'docs/b.bin', 'photos/2026/c.jpg') {
    my ($got, $want) = (GV::_slurp("$target$src/$f"), GV::_slurp("$src/$f"));
    ok(defined $got && $got eq $want, "$f is restored byte for byte under the target")
        or diag("$target$src/$f: " . (defined $got ? length($got) . ' bytes' : 'missing'));
}
ok(!-e "$target$src/docs/not-ticked.txt" && !-e "$target$src/other" && !-e "$target$src/readme.txt" &&
   !-e "$target$src/mail",
   'what was not ticked is not restored');
like($ag->log_text, qr/restore of set files, snapshot \Q$snap\E, 3 paths to \Q$target\E \(request \d+\) started/,
     'the agent logged the restore it ran');
like($gv->log_text, qr/asked client carol's agent to restore from snapshot \Q$snap\E/,
     'the server logged who asked for it');
ok($gv->alive, 'the daemon is alive');

done_testing;
