#!/usr/bin/perl
# client.conf's job options and Agent section as gigavault-agent -n and
# gigavault read them (gigavault(1), "CONFIGURATION"; gigavault-agent(8)):
# each bad value is an error with its file and line, the defaults and
# the good values pass.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use GV;
use GVClient;
use GVAgent;

my $dir = tempdir('gv-agentconf-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $n = 0;

# check($text) -> (exit status, stderr) of gigavault-agent -n on $text.
sub check {
    my ($text) = @_;
    my $f = "$dir/c" . $n++ . '.conf';
    GV::_spit($f, qq(Agent {\n\tStateDir = "$dir/state"\n}\n) . $text);
    my ($rc, $out, $err) = GVClient::run_cmd([$GVAgent::AGENT, '-n', '-c', $f], {}, 10);
    return ($rc, $err, $f);
}

my ($rc, $err) = check(qq(BackupSet "a" {\n\tPaths = {"/etc"}\n\tSchedule = "Mon..Fri 22:30"\n\tRandomizedDelay = 600\n\tRetries = 0\n\tRetryDelay = 60\n\tLimitUpload = "1.5M"\n}\n));
isnt($rc, 0, 'LimitUpload "1.5M" is refused (whole numbers only)');
like($err, qr/c0\.conf:\d+: LimitUpload "1\.5M" is not bytes per second/, '... with file, line and option');

my @good = (
    qq(BackupSet "a" {\n\tPaths = {"/etc"}\n\tSchedule = "Mon..Fri 22:30"\n\tRandomizedDelay = 600\n\tRetries = 0\n\tRetryDelay = 60\n\tLimitUpload = "15M"\n\tLimitDownload = 1024\n\tPreCommand = "true"\n\tPostCommand = "echo \$GIGAVAULT_RESULT"\n\tCommandTimeout = 30\n\tPreCommandFailure = "continue"\n\tPersistent = 0\n}\n),
    qq(Agent {\n\tUIListen = {"0.0.0.0"}\n\tUITokenFile = "tok"\n\tPollInterval = 1\n\tDiscovery = 0\n\tName = "web-1"\n}\n),
);
# The second needs its token file (mode 0600), and is a file of its own
# (check() adds an Agent section).
GV::_spit("$dir/tok", "t0ken\n");
chmod 0600, "$dir/tok";
($rc, $err) = check($good[0]);
is($rc, 0, 'every job option with a good value') or diag($err);
# The rates are read as gigavault's --limit-upload reads them.
($rc, $err) = check(qq(BackupSet "a" {\n\tPaths = {"/etc"}\n\tSchedule = "daily"\n\tLimitUpload = "10MiB"\n\tLimitDownload = "1T"\n}\n));
is($rc, 0, 'LimitUpload "10MiB" and LimitDownload "1T", as --limit-upload takes them') or diag($err);
like($err, qr/no Agent\.PassphraseFile and no GIGAVAULT_PASSPHRASE/,
     '... and a warning: nothing would unlock the key file');
{
    my $f = "$dir/agent-ok.conf";
    GV::_spit($f, $good[1]);
    my ($r, $o, $e) = GVClient::run_cmd([$GVAgent::AGENT, '-n', '-c', $f], {}, 10);
    is($r, 0, 'the Agent section: a network address with a UITokenFile') or diag($e);
    like($e, qr/no BackupSet has a Schedule/, '... warned that there is no job');
}

my @bad = (
    [qq(BackupSet "a" {\n\tSchedule = "Mon..Fro 22:30"\n}\n), qr/:\d+: Schedule "Mon\.\.Fro 22:30": /, 'a Schedule that does not parse'],
    [qq(BackupSet "a" {\n\tSchedule = "daily"\n\tRetries = 101\n}\n), qr/:\d+: Retries = 101 is out of range 0\.\.100/, 'Retries above 100'],
    [qq(BackupSet "a" {\n\tRetryDelay = 0\n}\n), qr/RetryDelay = 0 is out of range/, 'RetryDelay 0'],
    [qq(BackupSet "a" {\n\tCommandTimeout = 0\n}\n), qr/CommandTimeout = 0 is out of range/, 'CommandTimeout 0'],
    [qq(BackupSet "a" {\n\tLimitDownload = "10X"\n}\n), qr/LimitDownload "10X" is not bytes per second/, 'a rate with a bad suffix'],
    [qq(BackupSet "a" {\n\tLimitUpload = "99999999999999999999"\n}\n), qr/LimitUpload .* is not bytes per second/, 'a rate that overflows'],
    [qq(BackupSet "a" {\n\tPreCommandFailure = "ignore"\n}\n), qr/PreCommandFailure "ignore" is neither abort nor continue/, 'PreCommandFailure ignore'],
    [qq(BackupSet "a" {\n\tPersistent = 2\n}\n), qr/Persistent = 2 is out of range 0\.\.1/, 'Persistent 2'],
    [qq(Agent {\n\tUIListen = {"192.0.2.1"}\n}\n), qr/UIListen "192\.0\.2\.1" is not a loopback address: set UITokenFile too/, 'a network UIListen without a token'],
    [qq(Agent {\n\tUIListen = {"localhost"}\n}\n), qr/UIListen "localhost" is not an IPv4 or IPv6 address/, 'a UIListen that is a name'],
    [qq(Agent {\n\tPollInterval = 0\n}\n), qr/PollInterval = 0 is out of range/, 'PollInterval 0'],
    [qq(Agent {\n\tName = "a b"\n}\n), qr/Name "a b" is not 1 to 64 characters/, 'a Name with a blank'],
    [qq(Agent {\n\tAllowRestore = "some"\n}\n), qr/AllowRestore "some" is not none, target or all/, 'an AllowRestore that is none of them'],
    [qq(Agent {\n\tAllowBrowse = 2\n}\n), qr/AllowBrowse/, 'an AllowBrowse of 2'],
    [qq(Agent {\n\tPassphraseFile = "nosuch"\n}\n), qr/PassphraseFile .*nosuch: No such file/, 'a PassphraseFile that is not there'],
);
for my $b (@bad) {
    my ($text, $re, $what) = @$b;
    # A second Agent section would be a libconfuse error of its own.
    my $f = "$dir/b" . $n++ . '.conf';
    GV::_spit($f, $text);
    my ($r, $o, $e) = GVClient::run_cmd([$GVAgent::AGENT, '-n', '-c', $f], {}, 10);
    isnt($r, 0, "$what: refused");
    like($e, $re, '... saying so') or diag($e);
}

# The client reads the same file: the job options do not disturb it.
my ($r2, $o2, $e2) = GVClient::run_cmd([$GVClient::CLIENT, '-c', "$dir/agent-ok.conf", 'snapshots'], {}, 10);
like($e2, qr/not registered/, 'gigavault reads a client.conf with an Agent section');

done_testing;
