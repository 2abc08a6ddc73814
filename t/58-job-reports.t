#!/usr/bin/perl
# Job reports, health and "back up now" against a real gigavaultd
# (protocol version 4, doc/protocol.md "Agents"), without the agent:
# t/gv-report sends the agent's frames as a registered client.  Four
# clients end up ok, failed (with its message: shortened in the table,
# whole in --json), overdue (a next run in the past, Jobs.OverdueGrace
# small) and never; client history lists the reports newest first; a
# request queued by `gigavaultctl client backup` is handed to one poll
# only, and `client backup` refuses an unknown client and a set the
# agent has no job for.  Against a server below version 4 (a proxy
# lowers the client's offer) the client sends nothing and says why.
# Bad agent frames (wrong lengths, counts and
# strings beyond their limits, the wrong state or protocol version) end
# their session with the reason logged while the daemon serves others.
# (The bound of CAT_JOBS_KEPT reports per client is in t/unit-catalog.c.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use GV;
use GVClient;

use constant {
    T_JOB_REPORT => 0x0040, T_JOB_REPORTED => 0x0041,
    T_AGENT_POLL => 0x0042, T_AGENT_REQUESTS => 0x0043,
};

my $R = "$GV::BUILDDIR/t/gv-report";
ok(-x $R, 't/gv-report is built') or BAIL_OUT('run make check');

my $GRACE = 5;
my $gv = GV->start(Workers => 2, 'Jobs.OverdueGrace' => $GRACE);
my $J = JSON::PP->new;
my %cl = map { $_ => GVClient->new($gv, $_) } qw(okc failc overc neverc);

sub report {
    my ($who, @args) = @_;
    return GVClient::run_cmd([$R, '-c', $cl{$who}{conf}, @args], {}, 60);
}

sub clients_json {
    my ($st, $out, $err) = $gv->ctl('clients', '--json');
    is($st, 0, 'gigavaultctl clients --json: exit 0') or diag $err;
    my $d = eval { $J->decode($out) } || [];
    return { map { $_->{name} => $_ } @$d };
}

# ---------------------------------------------------------------- reports
my $long = 'cannot read /srv/data: permission denied; ' . ('x' x 60) . ' END';
my @r = report('okc', '--set', 'home', '--result', 'ok', '--start', '-30',
               '--end', '-5', '--next-run', '+3600', '--files', '12');
is($r[0], 0, 'gv-report: an ok run of okc') or diag $r[2];
@r = report('failc', '--set', 'home', '--result', 'failed', '--error', $long,
            '--next-run', '+3600');
is($r[0], 0, 'gv-report: a failed run of failc, with its message') or diag $r[2];
@r = report('overc', '--set', 'home', '--result', 'ok', '--start', '-7300',
            '--end', '-7200', '--next-run', '-' . (60 + $GRACE));
is($r[0], 0, 'gv-report: an ok run of overc whose next run was due a minute ago')
    or diag $r[2];
ok($gv->log_like(qr/client failc at \S+: job report 1 of set home: failed/),
   'the daemon logs the report');

my $h = clients_json();
is($h->{okc}{health}, 'ok', 'okc: ok');
ok($h->{okc}{last_success} && abs($h->{okc}{last_success} - (time - 5)) <= 5,
   '... its last success is the run\'s end') or diag explain $h->{okc};
ok($h->{okc}{next_run} > time, '... its next run ahead');
is($h->{failc}{health}, 'failed', 'failc: failed');
is($h->{failc}{last_error}, $long, '... its whole message in --json');
is($h->{overc}{health}, 'overdue', 'overc: overdue (next run + OverdueGrace past)');
is($h->{neverc}{health}, 'never', 'neverc: never');
is($h->{neverc}{last_success}, undef, '... no last success');

my ($st, $out, $err) = $gv->ctl('clients');
is($st, 0, 'gigavaultctl clients: exit 0') or diag $err;
my ($fline) = $out =~ /^(failc .*)$/m;
like($fline // '', qr/^failc\s+failed\s+-\s+\S+Z\s+\S+Z\s+cannot read \/srv\/data: permission den\.\.\.$/,
     '... the table shows failc failed, its message shortened') or diag $out;
unlike($out, qr/END/, '... the long message cut');
like($out, qr/^okc\s+ok\s+\S+Z\s+\S+Z\s+-\s*$/m, '... okc ok, with its last success and next run');
like($out, qr/^overc\s+overdue\b/m, '... overc overdue');
like($out, qr/^neverc\s+never\s+-\s+-\s+-\s*$/m, '... neverc never');

# A success after the failure: ok again, the failure remembered.
@r = report('failc', '--set', 'home', '--result', 'partial', '--next-run', '+3600');
is($r[0], 0, 'gv-report: a partial run of failc') or diag $r[2];
$h = clients_json();
is($h->{failc}{health}, 'ok', 'failc: ok after a partial success');
is($h->{failc}{last_error}, $long, '... the last failure\'s message kept');

# ---------------------------------------------------------------- history
($st, $out, $err) = $gv->ctl('client', 'history', 'failc', '--json');
is($st, 0, 'client history --json: exit 0') or diag $err;
my $hist = eval { $J->decode($out) } || [];
is(scalar @$hist, 2, '... two reports');
is_deeply([ map { [$_->{seq}, $_->{result}] } @$hist ], [[2, 'partial'], [1, 'failed']],
          '... newest first') or diag explain $hist;
is($hist->[1]{error}, $long, '... with the whole message');
ok($hist->[1]{received} >= time - 60, '... and the server\'s received time');
($st, $out, $err) = $gv->ctl('client', 'history', 'failc', '--limit', '1');
is($st, 0, 'client history --limit 1: exit 0') or diag $err;
is(scalar(() = $out =~ /^\s+\d+ home /mg), 1, '... one report') or diag $out;
like($out, qr/^\s+2 home\s+partial\b/m, '... the newest');
($st, $out, $err) = $gv->ctl('client', 'history', 'nobody');
is($st, 1, 'client history of an unknown client: exit 1');
like($err, qr/no such client: nobody/, '... says so');

# ---------------------------------------------------------------- back up now
($st, $out, $err) = $gv->ctl('client', 'backup', 'okc', '--set', 'home');
is($st, 0, 'client backup okc --set home: exit 0') or diag $err;
my ($rid) = $out =~ /^(\d+)$/m;
ok($rid, '... prints the request id') or diag $out;
@r = report('neverc', '--poll');
is_deeply([$r[0], $r[1]], [0, ''], 'another client\'s poll gets nothing') or diag $r[2];
@r = report('okc', '--poll', '--agent', 'okc-host', '--job', 'home:+3600:86400');
is($r[0], 0, 'okc polls') or diag $r[2];
is($r[1], "$rid 1 home\n", '... and gets the request');
@r = report('okc', '--poll', '--agent', 'okc-host', '--job', 'home:+3600:86400:running');
is_deeply([$r[0], $r[1]], [0, ''], '... once: the next poll gets nothing');
ok($gv->log_like(qr/client okc at \S+: request $rid \(back up set home\) handed to its agent/),
   'the daemon logs the request handed out');
@r = report('okc', '--set', 'home', '--request', $rid, '--next-run', '+3600');
is($r[0], 0, 'okc reports the run that answers it') or diag $r[2];
($st, $out) = $gv->ctl('client', 'history', 'okc', '--json');
$hist = eval { $J->decode($out) } || [];
is($hist->[0]{request}, $rid, '... the history names the request');
$h = clients_json();
is($h->{okc}{agent}, 'okc-host', 'clients --json: the agent\'s name');
my ($set) = grep { $_->{set} eq 'home' } @{ $h->{okc}{sets} || [] };
ok($set && $set->{job} && $set->{interval} == 86400, '... its job and interval')
    or diag explain $h->{okc};

($st, $out, $err) = $gv->ctl('client', 'backup', 'okc', '--set', 'other');
is($st, 1, 'client backup of a set the agent has no job for: exit 1');
like($err, qr/client okc has no job for set other/, '... says so');
($st, $out, $err) = $gv->ctl('client', 'backup', 'nobody');
is($st, 1, 'client backup of an unknown client: exit 1');
like($err, qr/no such client: nobody/, '... says so');
($st, $out, $err) = $gv->ctl('client', 'backup', 'neverc');
is($st, 1, 'client backup without --set of a client whose agent never polled: exit 1');
like($err, qr/name the set with --set/, '... says to name the set');
($st, $out, $err) = $gv->ctl('client', 'backup', 'okc');
is($st, 0, 'client backup okc (its jobs): exit 0') or diag $err;
like($out, qr/^\d+\n\z/, '... one request, for its one job');

# ---------------------------------------------------------------- version 3
# A server below version 4 (a proxy lowers the client's highest version
# to 3, as t/38-old-server.t does to 2): the agent's frames are not
# sent, and the client says why.
{
    my $lsn = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Listen => 5, ReuseAddr => 1, Proto => 'tcp')
        or die "listen: $!";
    my $pport = $lsn->sockport;
    my $ppid = fork // die "fork: $!";
    if (!$ppid) {
        $SIG{$_} = 'DEFAULT' for qw(ALRM TERM INT HUP PIPE);
        alarm 300;
        while (my $c = $lsn->accept) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                PeerPort => $gv->port('BackupServer'), Proto => 'tcp')
                or POSIX::_exit(1);
            my ($hd, $hst) = GV::read_exact($c, 8, time + 10);
            next unless $hst eq 'ok';
            my ($len, $type) = unpack('N n', $hd);
            my ($p) = GV::read_exact($c, $len, time + 10);
            substr($p, 6, 2) = pack('n', 3)
                if $type == T_CLIENT_HELLO && length $p >= 8;
            GV::send_raw($s, $hd . $p);
            my $sel = IO::Select->new($c, $s);
            OUTER: while (1) {
                for my $rd ($sel->can_read(60)) {
                    my $buf;
                    last OUTER unless sysread($rd, $buf, 65536);
                    GV::send_raw($rd == $c ? $s : $c, $buf) or last OUTER;
                }
            }
            close $c;
            close $s;
        }
        POSIX::_exit(0);
    }
    close $lsn;
    my $conf = GV::_slurp($cl{okc}{conf});
    $conf =~ s/^Server = .*$/Server = "127.0.0.1:$pport"/m or die;
    GV::_spit($cl{okc}->dir . '/proxy.conf', $conf);
    my @pc = ($R, '-c', $cl{okc}->dir . '/proxy.conf');
    my @p = GVClient::run_cmd([@pc, '--set', 'home'], {}, 60);
    is($p[0], 1, 'a report to a version 3 server: exit 1');
    like($p[2], qr/this server speaks protocol version 3; job reports need version 4/,
         '... and the client says why') or diag $p[2];
    @p = GVClient::run_cmd([@pc, '--poll'], {}, 60);
    is($p[0], 1, 'a poll of a version 3 server: exit 1');
    like($p[2], qr/job reports need version 4/, '... likewise');
    kill 'TERM', $ppid;
    waitpid($ppid, 0);
    ($st, $out) = $gv->ctl('client', 'history', 'okc', '--json');
    $hist = eval { $J->decode($out) } || [];
    is(scalar @$hist, 2, '... nothing was reported');
}

# ---------------------------------------------------------------- bad frames
my ($c0, $h0) = $gv->session;
my (undef, $secret) = GV::proto_register($c0, $gv->add_client('raw'));
close $c0;

# A version 4 session of raw, after AUTH_OK.
sub login4 {
    my ($max) = @_;
    my ($s, $hh) = $gv->session(min => 1, max => $max // 4);
    die "hello: no version\n" unless $hh->{version};
    my $f = GV::proto_auth($s, 'raw', $secret, $hh->{id_raw});
    die "login failed\n" unless ($f->{type} // 0) == T_AUTH_OK;
    return ($s, $hh);
}

sub report_payload {
    my (%o) = @_;
    return pack('n/a* Q> Q> Q> C Q> Q> Q> Q> Q> Q> Q> n/a*', $o{set} // 'home',
                0, time - 10, time, $o{result} // 0, 0, 1, 2, 3, 4, 0,
                $o{next} // 0, $o{error} // '');
}

my ($good) = login4();
send_frame($good, T_JOB_REPORT, report_payload());
my $f = recv_frame($good, 10);
is($f->{type}, T_JOB_REPORTED, 'a raw JOB_REPORT: JOB_REPORTED') or diag explain $f;
is(unpack('Q>', $f->{payload} // ''), 1, '... with seq 1');
send_frame($good, T_AGENT_POLL, pack('n/a* N', 'raw-host', 0));
$f = recv_frame($good, 10);
is($f->{type}, T_AGENT_REQUESTS, 'a raw AGENT_POLL of no jobs: AGENT_REQUESTS');
is($f->{payload}, pack('N', 0), '... with no requests');

my $job = pack('n/a* Q> Q> C', 'home', 0, 3600, 0);
my @bad = (
    { name => 'JOB_REPORT one byte short', type => T_JOB_REPORT,
      p => substr(report_payload(), 0, -1), code => 1, reason => qr/malformed JOB_REPORT/ },
    { name => 'JOB_REPORT with a byte after it', type => T_JOB_REPORT,
      p => report_payload() . "\0", code => 1, reason => qr/malformed JOB_REPORT/ },
    { name => 'JOB_REPORT with an error text of 1025 bytes', type => T_JOB_REPORT,
      p => report_payload(error => 'e' x 1025), code => 9, reason => qr/limit exceeded: JOB_REPORT/ },
    { name => 'JOB_REPORT longer than its largest payload', type => T_JOB_REPORT,
      p => report_payload(set => 's' x 64, error => 'e' x 1024) . 'x', code => 9,
      reason => qr/limit exceeded: JOB_REPORT of 1174 bytes \(at most 1173\)/ },
    { name => 'JOB_REPORT with result 4', type => T_JOB_REPORT,
      p => report_payload(result => 4), code => 1, reason => qr/result 4/ },
    { name => 'JOB_REPORT with a set name with a slash', type => T_JOB_REPORT,
      p => report_payload(set => 'a/b'), code => 1, reason => qr/set name/ },
    { name => 'JOB_REPORT with a set name of 65 bytes', type => T_JOB_REPORT,
      p => report_payload(set => 's' x 65), code => 9, reason => qr/limit exceeded: JOB_REPORT/ },
    { name => 'AGENT_POLL with 257 jobs', type => T_AGENT_POLL,
      p => pack('n/a* N', 'h', 257) . $job x 2, code => 9, reason => qr/limit exceeded: AGENT_POLL/ },
    { name => 'AGENT_POLL with a count of 2 and one job', type => T_AGENT_POLL,
      p => pack('n/a* N', 'h', 2) . $job, code => 1, reason => qr/malformed AGENT_POLL/ },
    { name => 'AGENT_POLL with an agent name of 65 bytes', type => T_AGENT_POLL,
      p => pack('n/a* N', 'h' x 65, 0), code => 9, reason => qr/limit exceeded: AGENT_POLL/ },
    { name => 'AGENT_POLL with a newline in the agent name', type => T_AGENT_POLL,
      p => pack('n/a* N', "a\nb", 0), code => 1, reason => qr/control character/ },
    { name => 'AGENT_POLL with running 2', type => T_AGENT_POLL,
      p => pack('n/a* N n/a* Q> Q> C', 'h', 1, 'home', 0, 0, 2), code => 1,
      reason => qr/running 2/ },
    { name => 'AGENT_POLL with a negative next run', type => T_AGENT_POLL,
      p => pack('n/a* N n/a* q> Q> C', 'h', 1, 'home', -5, 0, 0), code => 1,
      reason => qr/negative time/ },
    { name => 'JOB_REPORT in a version 3 session', type => T_JOB_REPORT, max => 3,
      p => report_payload(), code => 3, reason => qr/protocol version 4 only/ },
    { name => 'AGENT_POLL before AUTH', type => T_AGENT_POLL, noauth => 1,
      p => pack('n/a* N', 'h', 0), code => 8,
      reason => qr/not authenticated: AGENT_POLL needs AUTH first/ },
);
for my $b (@bad) {
    my $s;
    if ($b->{noauth}) {
        ($s) = $gv->session(min => 1, max => 4);
    } else {
        ($s) = eval { login4($b->{max}) };
    }
    ok($s, "$b->{name}: session open") or next;
    my $lport = $s->sockport;
    send_frame($s, $b->{type}, $b->{p});
    $f = recv_frame($s, 10);
    is($f->{code}, $b->{code}, "$b->{name}: ERROR $b->{code}") or diag explain $f;
    like($gv->session_end($lport) // '', $b->{reason}, "$b->{name}: the reason is logged");
    close $s;
}

# The daemon serves others all along.
send_frame($good, T_PING, 'still');
$f = recv_frame($good, 10);
is($f->{type}, T_PONG, 'the first session still answers PING');
@r = report('neverc', '--set', 'home', '--result', 'failed', '--error', 'late');
is($r[0], 0, 'and reports still come in') or diag $r[2];
$h = clients_json();
my ($nset) = grep { $_->{set} eq 'home' } @{ $h->{neverc}{sets} || [] };
ok($nset && $nset->{health} eq 'failed' && !$nset->{job},
   '... neverc\'s set home is failed, without a job') or diag explain $h->{neverc};
is($h->{neverc}{health}, 'never',
   '... but its agent polled with no job for it: it does not count');
@r = report('neverc', '--poll', '--job', 'home:+3600:86400');
is($r[0], 0, 'neverc polls with a job for home') or diag $r[2];
$h = clients_json();
is($h->{neverc}{health}, 'failed', '... neverc is failed now');

# ------------------------------------------------ bytes that are not UTF-8
# An error text and an agent's name with bytes that are not UTF-8 are
# stored as '?' and listed by gigavaultctl --json, not dropped.
$cl{badc} = GVClient->new($gv, 'badc');
@r = report('badc', '--poll', '--agent', "host-\xff\xfe", '--job', 'home:+3600:86400');
is($r[0], 0, 'a poll with bytes that are not UTF-8 in the agent\'s name') or diag $r[2];
@r = report('badc', '--set', 'home', '--result', 'failed', '--error', "bad \xff\xfe\ttab");
is($r[0], 0, 'a report with bytes that are not UTF-8 in its error') or diag $r[2];
($st, $out, $err) = $gv->ctl('clients', '--json');
is($st, 0, 'clients --json: exit 0') or diag $err;
my $all = eval { JSON::PP->new->utf8->decode($out) } || [];
my ($bad) = grep { $_->{name} eq 'badc' } @$all;
ok($bad, '... badc listed') or diag $out;
is($bad && $bad->{agent}, 'host-??', '... the agent\'s name with ? for the bad bytes');
is($bad && $bad->{last_error}, "bad ??\ttab", '... the error likewise, its tab kept');
($st, $out, $err) = $gv->ctl('client', 'history', 'badc', '--json');
$hist = eval { JSON::PP->new->utf8->decode($out) } || [];
is($st, 0, 'client history --json: exit 0') or diag $err;
is(scalar @$hist, 1, '... the report listed') or diag $out;
is($hist->[0]{error}, "bad ??\ttab", '... with ? for the bad bytes');
($st, $out, $err) = $gv->ctl('clients');
like($out, qr/^badc\s+failed\b.*bad \?\?\?tab$/m, 'clients: the table shows it')
    or diag $out;

# --------------------------------------------------- sets of one client
# A client's reports name at most 256 sets (CAT_SETS_MAX): one more ends
# its session with code 9, logged; known sets still come in.
$cl{manyc} = GVClient->new($gv, 'manyc');
my $good_sets = 1;
for my $i (1 .. 256) {
    @r = report('manyc', '--set', "s$i", '--result', 'ok');
    $good_sets = 0, diag($r[2]), last if $r[0] != 0;
}
ok($good_sets, '256 sets reported');
@r = report('manyc', '--set', 's257', '--result', 'ok');
isnt($r[0], 0, 'a report of a 257th set is refused');
like($r[2], qr/limit exceeded.*256 sets/, '... with the reason') or diag $r[2];
ok($gv->log_like(qr/client manyc at \S+: error 9: limit exceeded: JOB_REPORT of set s257/),
   '... logged with code 9');
@r = report('manyc', '--set', 's256', '--result', 'ok');
is($r[0], 0, '... a known set still comes in') or diag $r[2];

ok($gv->alive, 'daemon alive');
is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
