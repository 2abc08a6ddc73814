#!/usr/bin/perl
# gigavaultd -n: the shipped config is valid; each kind of config error is
# reported as "gigavaultd: FILE:LINE: message naming the option", exit 2.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

ok(-x $GV::BIN, "daemon binary $GV::BIN exists") or BAIL_OUT("no $GV::BIN");

# --- the shipped config
# (As root, -n checks that Server.User exists; the shipped file names the
# "gigavault" user, which a test machine may lack: then the file must fail
# on exactly that line, and pass with only that line changed.)
{
    my $f = "$GV::BUILDDIR/conf/gigavault.conf";    # made from .in by make
    my ($st, $out, $err) = run_daemon(['-n', '-f', $f]);
    if ($> == 0 && !defined getpwnam('gigavault')) {
        my $text = GV::_slurp($f);
        my $ul = conf_line($text, 'User');
        is($st, 2, 'shipped config as root without a "gigavault" user: exit 2');
        like($err, qr/^gigavaultd: \Q$f\E:$ul: Server\.User: no such user "gigavault"/m,
             '... and the only complaint is the missing user, on its line');
        (my $t2 = $text) =~ s/^(\s*User\s*=\s*)"gigavault"/$1""/m;
        my ($st2, $err2, $f2) = run_check($t2);
        is($st2, 0, 'shipped config with User = "" passes -n') or diag($err2);
        like($err2, qr/configuration file \Q$f2\E is valid/, '-n says the file is valid');
    } else {
        is($st, 0, 'shipped conf/gigavault.conf passes -n') or diag($err);
        like($err, qr/configuration file \Q$f\E is valid/, '-n says the file is valid');
    }
}

# --- a generated valid config passes too (so the errors below are caused by
# the one change each makes)
{
    my ($st, $err, $f) = run_check(make_conf());
    is($st, 0, 'generated base config passes -n') or diag($err);
    like($err, qr/configuration file \Q$f\E is valid/, '... and says so');
}

# error($name, $text, $line_re_or_lines, $option_re)
sub config_error {
    my ($name, $text, $lines, $opt) = @_;
    my ($st, $err, $f) = run_check($text);
    my @lines = ref $lines ? @$lines : ($lines);
    my $lre = join '|', grep { defined } @lines;
    subtest $name => sub {
        is($st, 2, 'exit status 2');
        ok(defined $lines[0], 'test knows the offending line');
        like($err, qr/^gigavaultd: \Q$f\E:(?:$lre):/m,
             "message names file and line (@lines)");
        like($err, $opt, "message names the option ($opt)");
        unlike($err, qr/is valid/, 'does not claim the file is valid');
    } or diag("config:\n$text\nstderr:\n$err");
}

# unknown option
{
    my $t = make_conf('Server.Foo' => 1);
    config_error('unknown option Server.Foo', $t, conf_line($t, 'Foo'), qr/\bFoo\b/);
}
{
    my $t = make_conf(-extra => "Bogus {\n\tx = 1\n}\n");
    config_error('unknown section', $t, conf_line($t, qr/^Bogus/), qr/\bBogus\b/);
}
# libconfuse's "Section|Option = value", outside the section (it crashed
# config_load(); found by fuzz/fuzz-config.c)
{
    my $t = make_conf(-extra => "Discovery|Name = \"x\"\n");
    config_error('Section|Option outside its section', $t,
                 conf_line($t, qr/^Discovery\|Name/), qr/\bName set outside its section/);
}

# bad values for Workers
for my $v (\'"abc"', \'1x') {
    my $t = make_conf(Workers => $v);
    config_error("Workers = $$v", $t, conf_line($t, 'Workers'), qr/\bWorkers\b/);
}
for my $v (0, 1025, -1) {
    my $t = make_conf(Workers => $v);
    config_error("Workers = $v out of range", $t, conf_line($t, 'Workers'),
                 qr/\bWorkers\b.*(range|1\.\.1024)/);
}

# ports out of range
for my $v (70000, 0, 65536) {
    my $t = make_conf(BackupServer => $v);
    config_error("Ports.BackupServer = $v", $t, conf_line($t, 'BackupServer'),
                 qr/\bBackupServer\b/);
}
{
    my $t = make_conf(UI => 99999);
    config_error('Ports.UI = 99999', $t, conf_line($t, 'UI'), qr/\bUI\b/);
}

# two services on one port
{
    my $t = make_conf(UI => 40101);    # 40101 is BackupServer in make_conf
    config_error('Ports.UI = Ports.BackupServer', $t,
                 [conf_line($t, 'UI'), conf_line($t, 'BackupServer')],
                 qr/\bUI\b.*\bBackupServer\b|\bBackupServer\b.*\bUI\b/);
}
{
    my $t = make_conf(WebConsole => 40102);    # = SSLServer
    config_error('Ports.WebConsole = Ports.SSLServer', $t,
                 [conf_line($t, 'WebConsole'), conf_line($t, 'SSLServer')],
                 qr/\bWebConsole\b.*\bSSLServer\b|\bSSLServer\b.*\bWebConsole\b/);
}

# Multicast needs two values
{
    my $t = make_conf(Multicast => [6363]);
    config_error('Multicast with one value', $t, conf_line($t, 'Multicast'),
                 qr/\bMulticast\b/);
}
{
    my $t = make_conf(Multicast => [6363, 6364, 6365]);
    config_error('Multicast with three values', $t, conf_line($t, 'Multicast'),
                 qr/\bMulticast\b/);
}

# Log.Level
{
    my $t = make_conf(Level => 'loud');
    config_error('Log.Level "loud"', $t, conf_line($t, 'Level'), qr/\bLevel\b/);
}
{
    my $t = make_conf(Facility => 'local9');
    config_error('Log.Facility "local9"', $t, conf_line($t, 'Facility'), qr/\bFacility\b/);
}

# Listen
{
    my $t = make_conf(Listen => ['not-an-address']);
    config_error('Listen = {"not-an-address"}', $t, conf_line($t, 'Listen'),
                 qr/\bListen\b/);
}

# relative DataDir
{
    my $t = make_conf(DataDir => 'relative/data');
    config_error('relative DataDir', $t, conf_line($t, 'DataDir'), qr/\bDataDir\b/);
}

# timeouts out of range
{
    my $t = make_conf(HandshakeTimeout => 0);
    config_error('HandshakeTimeout = 0', $t, conf_line($t, 'HandshakeTimeout'),
                 qr/\bHandshakeTimeout\b/);
}
{
    my $t = make_conf(MaxFrame => 100);
    config_error('MaxFrame = 100', $t, conf_line($t, 'MaxFrame'), qr/\bMaxFrame\b/);
}

# SSL enabled with a missing certificate
{
    my $t = make_conf('SSL.Enabled' => 1,
                      'SSL.Certificate' => '/nonexistent/gv-test/server.crt',
                      'SSL.Key' => '/nonexistent/gv-test/server.key');
    config_error('SSL.Enabled = 1 with a missing Certificate', $t,
                 [conf_line($t, 'Certificate'), conf_line($t, 'Enabled')],
                 qr/\bCertificate\b|server\.crt/);
}

# errors about options the file does not set must still point at a real
# line (not "FILE:0:")
{
    my $t = make_conf('SSL.Enabled' => 1);    # Certificate left at its default
    my ($st, $err, $f) = run_check($t);
    is($st, 2, 'SSL.Enabled = 1, Certificate not set (default missing file): exit 2');
    like($err, qr/\bCertificate\b|server\.crt|\bSSL\b/, '... message names the certificate or SSL');
    unlike($err, qr/\Q$f\E:0:/, '... and does not point at line 0') or diag($err);
}
SKIP: {
    skip 'needs root and no "gigavault" user', 2
        unless $> == 0 && !defined getpwnam('gigavault');
    my $t = make_conf(User => undef);    # User left at its default "gigavault"
    my ($st, $err, $f) = run_check($t);
    is($st, 2, 'default User "gigavault" missing: exit 2');
    unlike($err, qr/\Q$f\E:0:/, '... and the message does not point at line 0') or diag($err);
}

# syntax error
{
    my $t = make_conf(-extra => "Server {\n\tWorkers = \n");
    my ($st, $err) = run_check($t);
    is($st, 2, 'syntax error: exit 2') or diag($err);
    like($err, qr/^gigavaultd: .*:\d+:/m, 'syntax error: file:line');
}

# missing config file
{
    my ($st, $out, $err) = run_daemon(['-n', '-f', '/nonexistent/gv-test.conf']);
    is($st, 2, 'missing config file: exit 2') or diag($err);
    like($err, qr{/nonexistent/gv-test\.conf}, 'missing config file is named');
}

# --- Discovery: each error on its line, exit 2
for my $case (
    [ { 'Discovery.UDPScan' => 1, 'Discovery.ScanNetworks' => ['10.1.0.0/21'] },
      'ScanNetworks', qr/Discovery\.ScanNetworks: "10\.1\.0\.0\/21" is larger than \/22/ ],
    [ { 'Discovery.ScanNetworks' => ['10.1.0.0/24', 'nonsense'] },
      'ScanNetworks', qr/Discovery\.ScanNetworks: "nonsense" is not an IPv4 network/ ],
    [ { 'Discovery.UDPScan' => 1 }, qr/^\s*UDPScan\s*=\s*1\s*$/, qr/Discovery\.UDPScan = 1 needs ScanNetworks/ ],
    [ { 'Discovery.Group' => '10.0.0.1' }, 'Group', qr/Discovery\.Group "10\.0\.0\.1" is not an IPv4 multicast/ ],
    [ { 'Discovery.Name' => 'has space' }, 'Name', qr/Discovery\.Name "has space"/ ],
    [ { 'Discovery.Peers' => ['peer.example.org'] }, 'Peers', qr/Discovery\.Peers: "peer\.example\.org" is not a numeric/ ],
    [ { 'Discovery.TTL' => 0 }, 'TTL', qr/Discovery\.TTL = 0 is out of range 1\.\.255/ ],
    [ { 'Discovery.ScanRate' => 20000 }, 'ScanRate', qr/Discovery\.ScanRate = 20000 is out of range/ ],
) {
    my ($o, $key, $re) = @$case;
    my $text = make_conf(%$o);
    my ($st, $err, $f) = run_check($text);
    my $line = conf_line($text, $key);
    $key = 'UDPScan' if ref $key;
    is($st, 2, "Discovery.$key error: exit 2");
    like($err, qr/^gigavaultd: \Q$f\E:$line: /m, "... at the line of $key ($line)");
    like($err, $re, '... saying what is wrong') or diag($err);
}
{
    my ($st, $err) = run_check(make_conf('Discovery.UDPScan' => 1, 'Discovery.ScanMaxPrefix' => 20,
        'Discovery.ScanNetworks' => ['10.1.0.0/21', '192.168.7.9/32'],
        'Discovery.Peers' => ['10.0.0.1', '10.0.0.2:32005', '[fd00::1]:7', 'fd00::2']));
    is($st, 0, 'a /21 passes with ScanMaxPrefix = 20; static peers in every form') or diag($err);
}

# -V
{
    my ($st, $out, $err) = run_daemon(['-V']);
    is($st, 0, '-V exits 0') or diag($err);
    like($out . $err, qr/\b\d+\.\d+\.\d+\b/, '-V prints a version number');
    like($out, qr/\b\d+\.\d+\.\d+\b/, '-V prints it on stdout');
}

# unknown flag
{
    my ($st, $out, $err) = run_daemon(['-Z']);
    is($st, 2, 'unknown flag -Z: exit 2') or diag($err);
    like($err, qr/usage|-Z|option/i, 'unknown flag: a usage message');
}
{
    my ($st, $out, $err) = run_daemon(['-f']);
    is($st, 2, '-f without an argument: exit 2') or diag($err);
}

done_testing;
