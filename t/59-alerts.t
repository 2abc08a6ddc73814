#!/usr/bin/perl
# Alerts (gigavault.conf(5), ALERTS SECTION) with real parts: mail by
# SMTP (Alerts.SMTP, libcurl) and through msmtp (the Sendmail command) to
# an SMTP server (python3-aiosmtpd, its Mailbox handler writing a
# Maildir), and a webhook received by an HTTP server
# (t/alert-webhook.py) that writes each body and its headers.
#
# Low space (FreeSpaceWarning = 100) gives one mail and one webhook,
# signed with WebhookSecretFile; a scrub that found damage gives one; a
# second one within RepeatInterval gives none; a failed job gives one
# with the client, set and error text, a second failure none; an overdue
# set gives one; after a reload (new housekeeper, same state file) with
# the webhook receiver down, the failure is logged and the mail still
# goes, and nothing already sent is sent again.  A long error text of
# two-byte characters is broken into lines between characters; a client
# removed and added again under its name starts anew (no job_ok for a
# failure of the old one).  The Sendmail command has only fds 0, 1 and 2
# open; a stop while it hangs ends it at once (no SIGKILL of the
# housekeeper after DrainTimeout); gigavaultd -n warns of a setuid or
# setgid one.  Every process the test starts is stopped at the end, also
# when it dies.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use File::Path ();
use Digest::SHA qw(hmac_sha256_hex);
use POSIX qw(setpgid _exit);
use GV;
use GVClient;

my $PY = '/usr/bin/python3';
my $MSMTP = '/usr/bin/msmtp';
plan skip_all => "needs $MSMTP (Debian's msmtp)" unless -x $MSMTP;
plan skip_all => "needs python3-aiosmtpd"
    unless system("$PY -c 'import aiosmtpd' 2>/dev/null") == 0;

my $SRC = $ENV{GV_SRCDIR} // '.';
my $tmp = File::Temp::tempdir('gv-alerts-XXXXXX', TMPDIR => 1,
                              CLEANUP => !$ENV{GV_KEEP});
chmod 0755, $tmp;    # the housekeeper (Server.User) reads the secret

# ------------------------------------------------------------ helpers

my @kids;
sub start_kid {
    my ($log, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $log or _exit(126);
        open STDERR, '>&', \*STDOUT or _exit(126);
        exec @cmd or _exit(127);
    }
    setpgid($pid, $pid);
    push @kids, $pid;
    return $pid;
}
sub stop_kid {
    my ($pid) = @_;
    kill 'KILL', -$pid;
    waitpid $pid, 0;
    @kids = grep { $_ != $pid } @kids;
}
END { kill 'KILL', -$_ for @kids; waitpid $_, 0 for @kids; }

sub port_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return $s ? 1 : 0;
}

sub slurp { open my $fh, '<:raw', $_[0] or return ''; local $/; <$fh> }

# The mails in the Maildir, oldest first: [{headers => {lc name => value}, body}].
my $maildir = "$tmp/Maildir";
sub mails {
    my @m;
    for my $f (sort { (stat $a)[9] <=> (stat $b)[9] || $a cmp $b }
               glob("$maildir/new/* $maildir/cur/*")) {
        my ($head, $body) = split /\r?\n\r?\n/, slurp($f), 2;
        my %h;
        for (split /\r?\n(?![ \t])/, $head // '') {
            $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/s;
        }
        push @m, { headers => \%h, body => $body // '' };
    }
    return @m;
}
sub mails_of { my ($ev) = @_; grep { ($_->{headers}{'x-gigavault-event'} // '') eq $ev } mails() }

# The webhook bodies received, in order: [{body => decoded, raw, headers}].
my $hookdir = "$tmp/hooks";
mkdir $hookdir or die;
sub hooks {
    my ($dir) = @_;
    $dir //= $hookdir;
    my @h;
    for my $n (sort { $a <=> $b } map { m{/(\d+)\.json$} ? $1 : () } glob("$dir/*.json")) {
        my $raw = slurp("$dir/$n.json");
        my $hd = slurp("$dir/$n.headers");
        my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? (lc $1 => $2) : () } split /\n/, $hd;
        push @h, { raw => $raw, headers => \%h,
                   body => eval { decode_json($raw) } || {} };
    }
    return @h;
}
sub hooks_of { my ($ev) = @_; grep { ($_->{body}{event} // '') eq $ev } hooks() }

# ------------------------------------------------------------ the parts

my ($smtp_port, $hook_port) = free_ports(2);
# The receiver that is down: a port bound without listening (refused, and
# taken by no one else while the test runs).
my $dead = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Proto => 'tcp') or die "bind: $!";
my $dead_port = $dead->sockport;
my $smtp = start_kid("$tmp/smtp.log", $PY, '-m', 'aiosmtpd', '-n',
                     '-l', "127.0.0.1:$smtp_port",
                     '-c', 'aiosmtpd.handlers.Mailbox', $maildir);
my $hook = start_kid("$tmp/hook.log", $PY, "$SRC/t/alert-webhook.py",
                     $hook_port, $hookdir);
ok(wait_until(sub { port_open($smtp_port) }, 20), 'SMTP server (aiosmtpd) listening')
    or diag slurp("$tmp/smtp.log");
ok(wait_until(sub { port_open($hook_port) }, 20), 'webhook receiver listening')
    or diag slurp("$tmp/hook.log");

my $secret = "s3cret-for-the-hook";
open my $sf, '>', "$tmp/hook.secret" or die;
print $sf "$secret\n";
close $sf;
chmod 0644, "$tmp/hook.secret";

my $sendmail = "$MSMTP -C /dev/null --host=127.0.0.1 --port=$smtp_port "
    . "--from=gigavault\@example.org -t";
my %alerts = (
    'Alerts.Mail'              => 'ops@example.org',
    'Alerts.MailFrom'          => 'gigavault@example.org',
    'Alerts.SMTP'              => "smtp://127.0.0.1:$smtp_port",
    'Alerts.Webhook'           => "http://127.0.0.1:$hook_port/hook/t0ps3cret?k=v",
    'Alerts.WebhookSecretFile' => "$tmp/hook.secret",
    'Alerts.FreeSpaceWarning'  => 100,
    'Alerts.CheckInterval'     => 1,
    'Alerts.Timeout'           => 5,
);
my $gv = GV->start(Workers => 2, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
                   'Jobs.OverdueGrace' => 1, 'Discovery.Name' => 'vault-59',
                   %alerts);

# ------------------------------------------------------------ low space

ok(wait_until(sub { mails_of('low_space') && hooks_of('low_space') }, 30),
   'low space (FreeSpaceWarning = 100): a mail and a webhook')
    or diag slurp($gv->logfile);
{
    my ($m) = mails_of('low_space');
    my ($h) = hooks_of('low_space');
    is($m->{headers}{to}, 'ops@example.org', 'mail: To is Alerts.Mail');
    is($m->{headers}{from}, 'gigavault@example.org', 'mail: From is Alerts.MailFrom');
    like($m->{headers}{subject}, qr/^GigaVault vault-59: low_space/, 'mail: Subject names server and event');
    like($m->{headers}{date}, qr/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/, 'mail: an RFC 5322 Date');
    like($m->{body}, qr/below Alerts\.FreeSpaceWarning = 100%/, 'mail: the body says why');
    is($h->{body}{server}, 'vault-59', 'webhook: server is Discovery.Name');
    like($h->{body}{server_id}, qr/^[0-9a-f]{32}$/, 'webhook: server_id');
    ok(JSON::PP::is_bool($h->{body}{client}) || !defined $h->{body}{client}, 'webhook: client null');
    like($h->{body}{time}, qr/^\d+$/, 'webhook: time in Unix seconds');
    ok($h->{body}{free_percent} < 100 && $h->{body}{total_bytes} > 0, 'webhook: free_percent and total_bytes');
    is($h->{body}{path}, $gv->cfg->{Server}{DataDir}, 'webhook: path is DataDir');
    is($h->{headers}{'content-type'}, 'application/json', 'webhook: Content-Type');
    is($h->{headers}{'x-gigavault-signature'}, 'sha256=' . hmac_sha256_hex($h->{raw}, $secret),
       'webhook: X-GigaVault-Signature is the HMAC-SHA-256 of the body with the secret');
}
like(slurp($gv->logfile), qr/alert low_space: mailed to ops\@example\.org through smtp:\/\/127\.0\.0\.1:$smtp_port/,
     'the mail went by SMTP to Alerts.SMTP (Sendmail empty)');
ok(wait_until(sub { slurp($gv->logfile) =~ /alert low_space: webhook http:\/\/127\.0\.0\.1:$hook_port answered HTTP 204/ }, 30),
   'the log names the webhook by scheme and host');
unlike(slurp($gv->logfile), qr/t0ps3cret/, 'not by its path, which may hold a secret');
sleep 3;
is(scalar(mails_of('low_space')), 1, 'low space that lasts: still one mail');
is(scalar(hooks_of('low_space')), 1, 'and one webhook');

# ------------------------------------------------------------ scrub damage

my ($c) = $gv->session;
my (undef, $asecret) = proto_register($c, $gv->add_client('alice'));
close $c;
my (%bytes, @ids);
{
    my $A = $gv->login('alice', $asecret) or BAIL_OUT('login');
    @ids = map { rand_id() } 1 .. 5;
    $bytes{$_} = pack('C*', map { int rand 256 } 1 .. 6000) for @ids;
    proto_put($A, $_, $bytes{$_}) for @ids;
    proto_refs($A, @ids);
    my $f = proto_commit($A, 'home', 1700000000, $ids[0], $ids[1]);
    is($f->{type}, T_COMMITTED, 'a snapshot committed');
    close $A;
}
my $packs = $gv->cfg->{Server}{DataDir} . '/packs';
my $victim = $ids[3];
my ($file, $off);
for my $p (glob("$packs/*.pack")) {
    my $data = slurp($p);
    my $i = index($data, $victim . pack('N N', 0, length $bytes{$victim}));
    if ($i >= 16 && substr($data, $i - 16, 4) eq 'GVB2') { ($file, $off) = ($p, $i - 16); last }
}
ok(defined $file, 'found a blob record to damage');
{
    open my $fh, '+<:raw', $file or die "$file: $!";
    seek $fh, $off + 64 + 100, 0;
    read $fh, my $b, 1;
    seek $fh, $off + 64 + 100, 0;
    print $fh chr(ord($b) ^ 0x20);
    close $fh;
}
my ($st, $out, $err) = $gv->ctl('scrub');
is($st, 1, 'gigavaultctl scrub finds the damage') or diag "$out$err";
ok(wait_until(sub { mails_of('scrub_damage') && hooks_of('scrub_damage') }, 30),
   'scrub damage: a mail and a webhook') or diag slurp($gv->logfile);
{
    my ($h) = hooks_of('scrub_damage');
    is($h->{body}{damaged}, 1, 'webhook: damaged 1');
    like($h->{body}{message}, qr/damaged blob/, 'webhook: the message is the scrub\'s');
}
# housekeeping.json times runs in seconds: the next one in another second.
sleep 1.1;
($st) = $gv->ctl('scrub');
is($st, 1, 'a second scrub finds it again');
ok(wait_until(sub { slurp($gv->logfile) =~ /alert scrub_damage: .*not sent: sent already within Alerts\.RepeatInterval/ }, 30),
   'the second damage is logged as held back by RepeatInterval');
is(scalar(mails_of('scrub_damage')), 1, 'second scrub within RepeatInterval: no second mail');
is(scalar(hooks_of('scrub_damage')), 1, 'and no second webhook');

# ------------------------------------------------------------ jobs

# t/gv-report sends a JOB_REPORT as a registered client (helper J's tool).
my $REPORT = "$GV::BUILDDIR/t/gv-report";
ok(-x $REPORT, "$REPORT is built") or BAIL_OUT('t/gv-report is not built (make check builds it)');
my $bob = GVClient->new($gv, 'bob');
sub report {
    my (@args) = @_;
    my ($rc, $o, $e) = GVClient::run_cmd([$REPORT, '-c', "$bob->{dir}/client.conf", @args],
                                         { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
    is($rc, 0, "gv-report @args") or diag "$o$e";
}
report('--set', 'home', '--result', 'failed', '--error', 'disk on fire: /srv is read-only',
       '--start', '-60', '--end', '-1', '--next-run', '+3600');
ok(wait_until(sub { mails_of('job_failed') && hooks_of('job_failed') }, 30),
   'a failed job: a mail and a webhook') or diag slurp($gv->logfile);
{
    my ($m) = mails_of('job_failed');
    my ($h) = hooks_of('job_failed');
    like($m->{headers}{subject}, qr/job_failed bob\/home$/, 'mail: Subject names client and set');
    like($m->{body}, qr/disk on fire: \/srv is read-only/, 'mail: the error text');
    is($h->{body}{client}, 'bob', 'webhook: client');
    is($h->{body}{set}, 'home', 'webhook: set');
    is($h->{body}{result}, 'failed', 'webhook: result failed');
    is($h->{body}{error}, 'disk on fire: /srv is read-only', 'webhook: error text');
    like($h->{body}{message}, qr/disk on fire/, 'webhook: the message has it too');
}
report('--set', 'home', '--result', 'failed', '--error', 'disk on fire again');
ok(wait_until(sub { slurp($gv->logfile) =~ /alert job_failed bob\/home: .*disk on fire again.*not sent: sent already within Alerts\.RepeatInterval/ }, 30),
   'a second failure within RepeatInterval is logged as held back');
is(scalar(mails_of('job_failed')), 1, 'and gives no second mail');
is(scalar(hooks_of('job_failed')), 1, 'nor a second webhook');

# A success whose next run was due 100 s ago (OverdueGrace = 1): overdue.
report('--set', 'docs', '--result', 'ok', '--start', '-7200', '--end', '-7100',
       '--next-run', '-100');
ok(wait_until(sub { mails_of('overdue') && hooks_of('overdue') }, 30),
   'an overdue set: a mail and a webhook') or diag slurp($gv->logfile);
{
    my ($h) = hooks_of('overdue');
    is($h->{body}{client}, 'bob', 'webhook: client');
    is($h->{body}{set}, 'docs', 'webhook: set');
    ok($h->{body}{last_success} > 0, 'webhook: last_success');
}
sleep 3;
is(scalar(mails_of('overdue')), 1, 'an overdue set that stays overdue: still one mail');

# Recoveries: the failed set succeeds, the overdue one runs and plans
# its next run.
report('--set', 'home', '--result', 'ok', '--next-run', '+3600');
ok(wait_until(sub { mails_of('job_ok') && hooks_of('job_ok') }, 30),
   'a success after a failure: a job_ok mail and webhook') or diag slurp($gv->logfile);
is((hooks_of('job_ok'))[0]{body}{set}, 'home', 'job_ok: set home');
report('--set', 'docs', '--result', 'ok', '--next-run', '+3600');
ok(wait_until(sub { mails_of('overdue_ok') && hooks_of('overdue_ok') }, 30),
   'an overdue set that ran: an overdue_ok mail and webhook') or diag slurp($gv->logfile);
is((hooks_of('overdue_ok'))[0]{body}{set}, 'docs', 'overdue_ok: set docs');
is(scalar(mails_of('job_ok')), 1, 'a success of a set that had not failed gives no job_ok');

# A long error text of two-byte characters: the mail's lines are broken
# between characters, never inside one.
# ("x" first: the breaks at 900 bytes fall at odd offsets into the é.)
my $long = "x" . "\x{e9}" x 499;
{
    require Encode;
    report('--set', 'long', '--result', 'failed', '--error', Encode::encode('UTF-8', $long));
    ok(wait_until(sub { grep { $_->{headers}{subject} =~ m{bob/long$} } mails_of('job_failed') }, 30),
       'a failure with a long UTF-8 error: mailed') or diag slurp($gv->logfile);
    my ($m) = grep { $_->{headers}{subject} =~ m{bob/long$} } mails_of('job_failed');
    my @bad = grep { !eval { Encode::decode('UTF-8', $_, Encode::FB_CROAK()); 1 } }
              split /\r?\n/, $m->{body};
    is(scalar(@bad), 0, 'every line of the body is valid UTF-8 (no character cut in two)');
    my $text = Encode::decode('UTF-8', $m->{body});
    $text =~ s/\r?\n//g;
    like($text, qr/error: \Q$long\E/, 'and the error text is all there');
}

# bob's set "work" fails; bob is removed and added again: the new bob's
# first success of "work" is no recovery.
report('--set', 'work', '--result', 'failed', '--error', 'old bob');
sub alert_state { my $t = slurp($gv->cfg->{Server}{DataDir} . '/alerts.json'); eval { decode_json($t) } || {} }
sub failed_has { grep { $_->[0] eq $_[0] && $_->[1] eq $_[1] } @{alert_state()->{failed} // []} }
ok(wait_until(sub { failed_has('bob', 'work') }, 30), 'alerts.json: bob/work failed');
my %old_ids = %{alert_state()->{jobs} // {}};
($st, $out, $err) = $gv->ctl('client', 'remove', 'bob');
is($st, 0, 'gigavaultctl client remove bob') or diag "$out$err";
ok(wait_until(sub { !failed_has('bob', 'work') && !grep { exists $old_ids{$_} } keys %{alert_state()->{jobs} // {}} }, 30),
   'alerts.json forgets the removed client (its failed sets and its reports seen)')
    or diag slurp($gv->cfg->{Server}{DataDir} . '/alerts.json');
File::Path::remove_tree($bob->dir);
$bob = GVClient->new($gv, 'bob');
report('--set', 'work', '--result', 'ok', '--next-run', '+3600');
ok(wait_until(sub { keys %{alert_state()->{jobs} // {}} && grep { !exists $old_ids{$_} } keys %{alert_state()->{jobs}} }, 30),
   'the new bob\'s report was seen') or diag slurp($gv->logfile);
sleep 2;
is(scalar(grep { ($_->{body}{set} // '') eq 'work' } hooks_of('job_ok')), 0,
   'the new bob\'s success of "work" gives no job_ok');

# ------------------------------------------------------------ receiver down

# A reload starts a new housekeeper that reads the same alerts.json; the
# webhook now points at a port where nothing listens, and RepeatInterval
# is 0, so the next scrub's damage is sent again.
my $nlow = () = mails_of('low_space');
$gv->reload('Alerts.Webhook' => "http://127.0.0.1:$dead_port/hook",
            'Alerts.RepeatInterval' => 0);
sleep 2;
($st) = $gv->ctl('scrub');
is($st, 1, 'a third scrub, after the reload');
ok(wait_until(sub { mails_of('scrub_damage') == 2 }, 30),
   'receiver down: the mail still goes') or diag slurp($gv->logfile);
# (The mail goes first, then the webhook: wait for its line.)
ok(wait_until(sub { slurp($gv->logfile) =~ /alert scrub_damage: webhook http:\/\/127\.0\.0\.1:$dead_port not sent: / }, 30),
   'and the failed webhook is logged');
is(scalar(hooks_of('scrub_damage')), 1, 'nothing reached the old receiver');
is(scalar(mails_of('low_space')), $nlow, 'the new housekeeper did not send low_space again (state kept)');

# ------------------------------------------------------------ bad commands

# A mail command that hangs is killed after Timeout and logged, and the
# webhook still goes; one that fails is logged with its status and what
# it printed.
my $nhook = () = hooks();
$gv->reload('Alerts.Webhook' => "http://127.0.0.1:$hook_port/hook",
            'Alerts.Sendmail' => 'sleep 37.59', 'Alerts.Timeout' => 1);
sleep 2;
($st) = $gv->ctl('scrub');
is($st, 1, 'a scrub with a mail command that hangs');
ok(wait_until(sub { slurp($gv->logfile) =~ /alert scrub_damage: mail to ops\@example\.org not sent: Alerts\.Sendmail "sleep 37\.59" did not finish in 1 s, killed/ }, 30),
   'the hanging command is killed after Timeout, and logged') or diag slurp($gv->logfile);
ok(wait_until(sub { hooks() == $nhook + 1 }, 30), 'the webhook still went');
sub sleepers { grep { (GV::_slurp("/proc/$_/cmdline") // '') eq "sleep\x0037.59\x00" } map { m{/proc/(\d+)$} ? $1 : () } glob('/proc/[0-9]*') }
ok(wait_until(sub { !sleepers() }, 10), 'no mail command is left running');
# The command has nothing of the daemon's open (not the catalog).
my $outdir = "$tmp/out";
mkdir $outdir or die;
chmod 0777, $outdir;
$gv->reload('Alerts.Sendmail' => "cat >/dev/null; exec ls /proc/self/fd >$outdir/fds", 'Alerts.Timeout' => 5);
sleep 2;
($st) = $gv->ctl('scrub');
ok(wait_until(sub { -s "$outdir/fds" }, 30), 'the Sendmail command ran') or diag slurp($gv->logfile);
is(join(' ', sort { $a <=> $b } split ' ', slurp("$outdir/fds")), '0 1 2 3',
   'it has only fds 0, 1 and 2 open (and ls its directory, 3)');
$gv->reload('Alerts.Sendmail' => 'echo no relay here >&2; exit 3', 'Alerts.Timeout' => 5);
sleep 2;
($st) = $gv->ctl('scrub');
is($st, 1, 'a scrub with a mail command that fails');
ok(wait_until(sub { slurp($gv->logfile) =~ /alert scrub_damage: mail to ops\@example\.org not sent: Alerts\.Sendmail ".*" exited with status 3: no relay here/ }, 30),
   'the failing command is logged with its status and output') or diag slurp($gv->logfile);

# ------------------------------------------------------------ HTTPS

# An HTTPS receiver with a self-signed certificate: refused against the
# system's CA store (logged), accepted with it as WebhookCAFile.
{
    system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
           . "-keyout $tmp/hook.key -out $tmp/hook.crt -days 2 -subj /CN=127.0.0.1 "
           . "-addext subjectAltName=IP:127.0.0.1 >$tmp/openssl.log 2>&1") == 0
        or BAIL_OUT('openssl cannot make a certificate: ' . slurp("$tmp/openssl.log"));
    chmod 0644, "$tmp/hook.crt";
    my $tls_port = free_ports(1);
    my $tlsdir = "$tmp/hooks-tls";
    mkdir $tlsdir or die;
    start_kid("$tmp/hook-tls.log", $PY, "$SRC/t/alert-webhook.py", $tls_port, $tlsdir,
              "$tmp/hook.crt", "$tmp/hook.key");
    ok(wait_until(sub { port_open($tls_port) }, 20), 'HTTPS webhook receiver listening')
        or diag slurp("$tmp/hook-tls.log");
    my $nscrub = () = mails_of('scrub_damage');
    $gv->reload('Alerts.Sendmail' => $sendmail,
                'Alerts.Webhook' => "https://127.0.0.1:$tls_port/hook");
    sleep 2;
    ($st) = $gv->ctl('scrub');
    ok(wait_until(sub { slurp($gv->logfile) =~ /alert scrub_damage: webhook https:\/\/127\.0\.0\.1:$tls_port not sent: .*certificate/ }, 30),
       'HTTPS to a self-signed certificate without WebhookCAFile: refused, logged')
        or diag slurp($gv->logfile);
    is(scalar(hooks($tlsdir)), 0, 'nothing was posted');
    $gv->reload('Alerts.WebhookCAFile' => "$tmp/hook.crt");
    sleep 2;
    ($st) = $gv->ctl('scrub');
    ok(wait_until(sub { hooks_tls($tlsdir) }, 30), 'with it as WebhookCAFile: the webhook is received over HTTPS')
        or diag slurp($gv->logfile);
    ok(wait_until(sub { mails_of('scrub_damage') > $nscrub }, 30),
       'Alerts.Sendmail msmtp: the mail went through the command') or diag slurp($gv->logfile);
    $gv->reload('Alerts.WebhookCAFile' => '', 'Alerts.Sendmail' => '',
                'Alerts.Webhook' => "http://127.0.0.1:$hook_port/hook");
}
sub hooks_tls { grep { ($_->{body}{event} // '') eq 'scrub_damage' } hooks($_[0]) }

# ------------------------------------------------------------ MaxPerHour

# This hour has seen more alerts than 1: the next one is held back ...
$gv->reload('Alerts.MaxPerHour' => 1);
sleep 2;
my $nmail = () = mails();
($st) = $gv->ctl('scrub');
is($st, 1, 'a fourth scrub');
ok(wait_until(sub { slurp($gv->logfile) =~ /alert scrub_damage: .*not sent: Alerts\.MaxPerHour reached/ }, 30),
   'MaxPerHour = 1: the damage is logged as held back');
is(scalar(mails()), $nmail, 'and not mailed');

# ... and once the hour is over (moved back in alerts.json while the
# daemon is down), one "suppressed" alert gives their number.
is($gv->stop, 0, 'gigavaultd stops');
my $sfile = $gv->cfg->{Server}{DataDir} . '/alerts.json';
my $state = decode_json(slurp($sfile));
is($state->{suppressed}, 1, 'alerts.json counts the held-back alert');
$state->{hour_start} -= 3600;
open my $fh, '>', $sfile or die;
print $fh encode_json($state);
close $fh;
ok(GVClient::restart_daemon($gv), 'gigavaultd starts again');
ok(wait_until(sub { mails_of('suppressed') && hooks_of('suppressed') }, 30),
   'after the hour: one "suppressed" mail and webhook') or diag slurp($gv->logfile);
{
    my ($h) = hooks_of('suppressed');
    is($h->{body}{count}, 1, 'webhook: count 1');
    like($h->{body}{message}, qr/^1 alert suppressed/, 'webhook: "1 alert suppressed ..."');
}
is(scalar(mails_of('low_space')), $nlow, 'the restart sent no low_space again');

# ------------------------------------------------------------ stop while sending

# A mail command that hangs (Timeout 100) does not hold up a stop: the
# housekeeper kills it and exits, instead of being killed after
# DrainTimeout.
$gv->reload('Alerts.Sendmail' => 'sleep 47.59', 'Alerts.Timeout' => 100,
            'Alerts.MaxPerHour' => 0);
sleep 2;
($st) = $gv->ctl('scrub');
sub sleepers2 { grep { (GV::_slurp("/proc/$_/cmdline") // '') eq "sleep\x0047.59\x00" } map { m{/proc/(\d+)$} ? $1 : () } glob('/proc/[0-9]*') }
ok(wait_until(sub { sleepers2() }, 30), 'a mail command hangs') or diag slurp($gv->logfile);
is($gv->stop, 0, 'gigavaultd stops cleanly');
unlike(slurp($gv->logfile), qr/killed by signal 9/, 'no child was killed by SIGKILL');
like(slurp($gv->logfile), qr/Alerts\.Sendmail "sleep 47\.59" killed: gigavaultd is stopping/,
     'the hanging command was ended by the stop');
ok(wait_until(sub { !sleepers2() }, 10), 'and is gone');

# ------------------------------------------------------------ gigavaultd -n

# A set-user-ID or set-group-ID Sendmail cannot work under no new
# privileges: gigavaultd -n says so (and still accepts the file).
{
    system('cp', '/bin/true', "$tmp/sendmail-suid") == 0 or die;
    system('cp', '/bin/true', "$tmp/sendmail-sgid") == 0 or die;
    chmod 04755, "$tmp/sendmail-suid";
    chmod 02755, "$tmp/sendmail-sgid";
    my ($st, $e) = do { $gv->write_conf('Alerts.Sendmail' => "$tmp/sendmail-suid -t -i"); GV::run_check($gv->conf_text) };
    is($st, 0, 'gigavaultd -n with a set-user-ID Sendmail: still valid') or diag $e;
    like($e, qr/warning: Alerts\.Sendmail: \Q$tmp\E\/sendmail-suid is set-user-ID, .*no new privileges.*Alerts\.SMTP/,
         '... with a warning that says why and what to do');
    local $ENV{PATH} = "$tmp:$ENV{PATH}";
    ($st, $e) = do { $gv->write_conf('Alerts.Sendmail' => "sendmail-sgid -t"); GV::run_check($gv->conf_text) };
    like($e, qr/warning: Alerts\.Sendmail: \Q$tmp\E\/sendmail-sgid is set-group-ID/,
         'a set-group-ID one found in PATH: warned');
    ($st, $e) = do { $gv->write_conf('Alerts.Sendmail' => $sendmail); GV::run_check($gv->conf_text) };
    is($st, 0, 'msmtp as Sendmail: valid') or diag $e;
    unlike($e, qr/warning/, 'and no warning');
}
stop_kid($_) for my @k = @kids;
is(scalar(@kids), 0, 'SMTP server and webhook receiver stopped');
done_testing;
