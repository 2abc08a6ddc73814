#!/usr/bin/perl
# The console's Log page whatever Log.File says: a daemon started as an
# init script starts it (no -d) with the shipped syslog logging (no
# Log.File); GET /api/log serves the lines the UI bridge kept in memory
# (every process sends them, log.h's sink): the start-up line and the
# no-administrator warning are there, a warning logged later too, the
# level filter (?level=warning) keeps only warnings and errors, a bad
# level is 400, and the ring keeps the last 1000 lines and, besides, the
# last 200 warnings and errors; lines dropped because the sink's queue
# was full (the bridge stopped) are counted in the reply and said.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use IO::Socket::INET;
use GV;

plan skip_all => 'needs curl (Debian package curl)'
    unless system("$GV::CURL --version >/dev/null 2>&1") == 0;
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my $dir = File::Temp::tempdir('gv-log-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{GV_KEEP});
chmod 0755, $dir;
my @keys = qw(BackupServer SSLServer UI UDPScan MAPI32Bit WebConsole WebConsoleSSL);
my @free = GV::free_ports(scalar @keys + 2);
my %port = map { $keys[$_] => $free[$_] } 0 .. $#keys;
my $text = make_conf(-dir => $dir, 'Server.Workers' => 2,
                     (map { ("Ports.$_" => $port{$_}) } @keys),
                     'Ports.Multicast' => [ $free[-2], $free[-1] ],
                     'Log.File' => '', 'Log.Level' => 'debug');
unlike($text, qr/^\s*File\s*=\s*"[^"]/m, 'the config has no Log.File: syslog');
my $conf = "$dir/gigavault.conf";
GV::_spit($conf, $text);

# Started as an init script does: it detaches and logs to syslog.
my ($st, $out, $err) = GV::run_daemon(['-f', $conf], 30);
is($st, 0, 'gigavaultd -f CONF (no -d) started') or BAIL_OUT("start: $err");
my ($pid) = GV::_slurp("$dir/gigavaultd.pid") =~ /(\d+)/;
ok($pid && kill(0, $pid), "the daemon runs (pid $pid)");
END {
    if ($pid && kill(0, $pid)) {
        kill 'TERM', $pid;
        GV::wait_until(sub { !kill(0, $pid) }, 20);
        kill 'KILL', $pid if kill(0, $pid);
    }
}

# The web console of that daemon, through GV's curl helper.
my $W = bless { cfg => { Ports => \%port } }, 'GV';
ok($W->wait_web, 'the console answers');
($st, $out, $err) = GV::_run_input([$GV::CTL, '-f', $conf, 'admin', 'add', 'admin'], "pass word 1\n", 30);
is($st, 0, 'gigavaultctl admin add') or diag $err;
my $r = $W->web(POST => '/api/login', json => { user => 'admin', password => 'pass word 1' });
is($r->{status}, 200, 'login') or diag $r->{body};
my ($cookie) = GV::session_cookie($r);

sub get_log {
    my ($q) = @_;
    my $r = $W->web(GET => '/api/log' . ($q // ''), cookie => $cookie);
    return ($r->{status}, $r->{json} || {});
}

my ($s, $d) = get_log();
is($s, 200, 'GET /api/log: 200');
ok(!defined $d->{file}, '... file is null (syslog)');
is($d->{source}, 'memory', '... the lines the bridge kept');
is($d->{keep}, 1000, '... up to 1000 of them');
is($d->{keep_severe}, 200, '... and the last 200 warnings and errors besides');
is($d->{dropped}, 0, '... none dropped yet');
my @lines = @{ $d->{lines} || [] };
ok(@lines > 3, 'lines are served (' . scalar(@lines) . ')');
like($lines[0], qr/^\d{4}-\d\d-\d\dT[\d:.]+ gigavaultd\[$pid\] info: gigavaultd \d+\.\d+\.\d+ started: 2 workers; ports: backup $port{BackupServer}, /,
     '... the first is the start-up line, as a log file has it') or diag $lines[0];
ok((grep { /warning: no console administrator exists yet/ } @lines), '... the no-administrator warning');
ok((grep { /gigavaultd\[$pid\] debug: started acceptor/ } @lines), "... the supervisor's debug lines");
ok((grep { /uibridge\[0\]\[\d+\] info: web console: admin logged in/ } @lines), "... the bridge's own line of the login");

# A warning logged later: a refused login.
$r = $W->web(POST => '/api/login', json => { user => 'admin', password => 'wrong' });
is($r->{status}, 401, 'a wrong login: 401');
($s, $d) = get_log();
ok((grep { /uibridge\[0\]\[\d+\] warning: web console: login as admin from 127\.0\.0\.1 refused/ } @{ $d->{lines} }),
   'the refused login is in the log page');

# The level filter.
($s, $d) = get_log('?level=warning');
is($s, 200, 'GET /api/log?level=warning: 200');
is($d->{level}, 'warning', '... level warning');
my @w = @{ $d->{lines} || [] };
ok(@w >= 2, '... some lines (' . scalar(@w) . ')');
ok(!(grep { !/\] (?:warning|error): / } @w), '... only warnings and errors') or diag join "\n", @w;
ok((grep { /login as admin .* refused/ } @w), '... the refused login among them');
ok((grep { /no console administrator/ } @w), '... and the no-administrator warning');
($s, $d) = get_log('?level=error');
ok(!(grep { !/\] error: / } @{ $d->{lines} || [] }), 'level=error: errors only');
($s, $d) = get_log('?level=info');
ok((grep { / info: .* started: / } @{ $d->{lines} }) && !(grep { / debug: / } @{ $d->{lines} }), 'level=info: info, not debug');
($s) = get_log('?level=loud');
is($s, 400, 'level=loud: 400');
($s, $d) = get_log('?request=clients');
is($s, 400, 'a query cannot name the request');
like($d->{error} // '', qr/"request" cannot be a parameter/, '... and says so');
# A value is decoded whole: a %00 in it is refused, not cut short.
($s, $d) = get_log('?level=warning%00x');
is($s, 400, 'level=warning%00x: 400, not cut at the NUL');
like($d->{error} // '', qr/"level" has a NUL byte/, '... saying so') or diag explain $d;
($s, $d) = get_log('?level=warn%69ng');
is($s, 200, 'level=warn%69ng: decoded, 200');
is($d->{level}, 'warning', '... as warning');
($s, $d) = get_log('?level=info&level=debug');
is($s, 400, 'level twice: 400');
like($d->{error} // '', qr/"level" is given twice/, '... saying so');
($s, $d) = get_log('?level');
is($s, 400, 'level without a value: 400');
like($d->{error} // '', qr/"level" has no value/, '... saying so');
($s, $d) = get_log('?' . join('&', map { "p_$_=1" } 'a' .. 'i'));
is($s, 400, 'nine parameters: 400');
like($d->{error} // '', qr/more than 8 parameters/, '... saying so');
($s, $d) = get_log('?Level=info');
like($d->{error} // '', qr/a name is 1 to 32 of a-z and _/, 'a name with a capital: what a name is');
($s, $d) = get_log('?level=' . ('x' x 257));
like($d->{error} // '', qr/longer than 256 bytes/, 'a value of 257 bytes: too long');
($s, $d) = get_log('?level=warning&');
is($s, 200, 'a trailing & is allowed');

# A session: the worker's lines.
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{BackupServer}, Timeout => 5);
GV::do_hello($c);
close $c;
ok(GV::wait_until(sub {
    ($s, $d) = get_log();
    grep { /worker\[\d\]\[\d+\] info: session from 127\.0\.0\.1:\d+ ended/ } @{ $d->{lines} || [] };
}, 10, 0.2), "a worker's line of a session");

# Bounded: after more than 1000 lines the oldest are gone.
for my $i (1 .. 400) {	# three lines each: started, its hello, ended
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{BackupServer}, Timeout => 5);
    next unless $c;
    GV::do_hello($c);
    close $c;
}
my $n = 0;
GV::wait_until(sub {
    ($s, $d) = get_log();
    $n = scalar @{ $d->{lines} || [] };
    return $n == 1000 && $d->{lines}[0] !~ / started: /;
}, 30, 0.5);
my @old_warn = grep { / warning: / } @{ $d->{lines} || [] };
is($n, 1000 + @old_warn, 'after 1200 more lines: 1000 kept, and the older warnings');
ok(!(grep { / (?:info|debug): / } @{ $d->{lines} }[0 .. $#old_warn]), '... which come first (by time)');
unlike($d->{lines}[0] // '', qr/ started: 2 workers/, '... the start-up line has gone');
like($d->{lines}[-1] // '', qr/ (?:debug|info): /, '... the newest last');
($s, $d) = get_log('?level=warning');
ok((grep { /no console administrator/ } @{ $d->{lines} || [] }),
   'level=warning after a flood of debug lines: the first warning is still there');

# Lines dropped because the sink's queue was full are counted, and the
# process says so with its next line that gets through.
($s, $d) = get_log();
my ($bridge) = map { /started uibridge 0 \(pid (\d+)\)/ ? $1 : () } @{ $d->{lines} };
($bridge) = map { /uibridge\[0\]\[(\d+)\]/ ? $1 : () } @{ $d->{lines} } unless $bridge;
ok($bridge && kill(0, $bridge), "the UI bridge's pid ($bridge)");
# The queue: SO_SNDBUF of 1 MiB asked, capped at net.core.wmem_max and
# doubled by Linux; each queued line costs its text and some hundreds of
# bytes of overhead, so lines of 300 bytes each overfill it.
my $wmem = GV::_slurp('/proc/sys/net/core/wmem_max') // '';
$wmem = $wmem =~ /(\d+)/ ? $1 : 212992;
my $sessions = int(2 * ($wmem < 1048576 ? $wmem : 1048576) / 300 / 3) + 100;
diag("net.core.wmem_max $wmem: $sessions sessions while the bridge is stopped");
kill 'STOP', $bridge;
for my $i (1 .. $sessions) {	# three lines each
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{BackupServer}, Timeout => 5);
    next unless $c;
    GV::do_hello($c);
    close $c;
}
kill 'CONT', $bridge;
my $dropped = 0;
ok(GV::wait_until(sub {
    # More sessions, so that each worker logs a line that gets through.
    for (1 .. 4) {
        my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{BackupServer}, Timeout => 5);
        next unless $c;
        GV::do_hello($c);
        close $c;
    }
    ($s, $d) = get_log();
    $dropped = $d->{dropped} // 0;
    $dropped > 0 && grep { /warning: \d+ lines of this process were not sent to the console's log/ } @{ $d->{lines} || [] };
}, 30, 0.5), "lines dropped while the bridge was stopped: counted ($dropped) and said");
my ($note) = grep { /were not sent to the console/ } @{ $d->{lines} };
diag($note);
like($note // '', qr/^\d{4}-.* (?:worker\[\d\]|acceptor\[\d\]|gigavaultd)\[\d+\] warning: (\d+) lines/, '... by the process that dropped them');

kill 'TERM', $pid;
ok(GV::wait_until(sub { !kill(0, $pid) }, 20), 'the daemon stops on SIGTERM');
done_testing;
