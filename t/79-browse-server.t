#!/usr/bin/perl
# Browse and restore through the agent, the server's side (the review's
# findings): reading an answer does not consume it (a second tab, a
# read-only operator); an AGENT_REQUESTS holds what fits the session's
# Server.MaxFrame and the rest comes at the next poll (none is lost); a
# late final answer, for a request that ended already, is acknowledged
# and dropped with a log line, not a session error; at most 32 browse
# and restore requests of a client wait, the 33rd is 409.  The agent is
# t/gv-report, which prints what it got and answers as told.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use GV;
use GVClient;

my $REPORT = "$GV::BUILDDIR/t/gv-report";
ok(-x $REPORT, 't/gv-report is built') or BAIL_OUT('run make check (t/gv-report)');
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my ($ADMIN, $PASS) = ('bs-admin', 'browse server pass phrase');

# A snapshot of set web, made with the default MaxFrame (the client's
# frames are larger than the small one below).
my $gv1 = GV->start(Workers => 1);
my $cl = GVClient->new($gv1, 'bob');
my $src = $cl->dir . '/src';
make_path($src);
GV::_spit("$src/a.txt", "a\n");
my ($rc, $out, $err) = $cl->run('backup', '--set', 'web', $src);
is($rc, 0, 'a backup of set web') or diag($err);
my @snaps = $cl->snapshots;
my $snap = @snaps ? $snaps[-1]{id} : undef;
ok($snap, 'its snapshot id') or diag(explain(\@snaps));
my $data = $gv1->cfg->{Server}{DataDir};
$gv1->stop;

# The same DataDir served with Server.MaxFrame = 8192.
my $gv = GV->start(GV::web_opts(Workers => 2), MaxFrame => 8192,
                   'Server.DataDir' => $data);
ok($gv->wait_web(15), 'the console answers') or do { $gv->diag_logs; done_testing; exit };
{
    my $conf = GV::_slurp($cl->dir . '/client.conf');
    $conf =~ s/^Server = "127\.0\.0\.1:\d+"/sprintf('Server = "127.0.0.1:%d"', $gv->port)/me;
    GV::_spit($cl->dir . '/client.conf', $conf);
}
$gv->add_admin($ADMIN, $PASS);
my $lr = $gv->web(POST => '/api/login', json => { user => $ADMIN, password => $PASS });
is($lr->{status}, 200, 'log in');
my ($cookie) = GV::session_cookie($lr);
my %AUTH = (cookie => $cookie, csrf => $lr->{json}{csrf});
sub api { my ($m, $p, %o) = @_; return $gv->web($m => "/api/clients/bob/$p", %AUTH, %o) }
sub poll {
    my @a = @_;
    my ($rc, $out, $err) = GVClient::run_cmd([$REPORT, '-c', $cl->dir . '/client.conf',
                                              '--poll', @a],
                                             { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
    my @ids = $out =~ /^(\d+) [23] /mg;
    return ($rc, $err, @ids);
}

# ------------------------------------------------ a poll fills its frame
# Five restores of about 2 KB of args each: three fit 8192 bytes.
my @queued;
for my $i (1 .. 5) {
    my @paths = map { '/' . ($_ x 1000) } ('a', 'b');
    my $r = api(POST => 'restore', json => { snapshot => $snap, paths => \@paths,
                                             where => 'original' });
    is($r->{status}, 200, "restore $i queued") or diag($r->{body});
    push @queued, $r->{json}{id} // 0;
}
my ($prc, $perr, @got) = poll('--answer', '2:{"error":"test"}');
is($prc, 0, 'the first poll succeeds (its AGENT_REQUESTS fits MaxFrame)') or diag($perr);
is_deeply(\@got, [@queued[0 .. 2]], '... and gets the three oldest that fit');
($prc, $perr, my @got2) = poll('--answer', '2:{"error":"test"}');
is($prc, 0, 'the second poll succeeds') or diag($perr);
is_deeply(\@got2, [@queued[3 .. 4]], '... and gets the other two: none lost');

# ------------------------------------------------ reading changes nothing
for my $n (1, 2) {
    my $r = api(GET => "answer?req=$queued[0]");
    ok($r->{status} == 200 && ($r->{json}{state} // '') eq 'failed' &&
       ($r->{json}{answer}{error} // '') eq 'test', "the answer read ($n)")
        or diag("$r->{status} $r->{body}");
}

# ------------------------------------------------ a late answer
($prc, $perr) = poll('--answer', '0:{}', '--answer-id', $queued[0]);
is($prc, 0, 'a final answer to a request that ended already is acknowledged')
    or diag($perr);
ok($gv->log_like(qr/answer to request $queued[0] dropped/, 10),
   '... dropped, with a line in the log');
my $r = api(GET => "answer?req=$queued[0]");
is($r->{json}{answer}{error} // '', 'test', '... the first answer stands');
ok($gv->alive, 'the daemon is alive');

# ------------------------------------------------ the queue is bounded
my $ok = 0;
for my $i (1 .. 32) {
    $r = api(POST => 'browse', json => { snapshot => $snap, path => '/' });
    $ok++ if $r->{status} == 200;
}
is($ok, 32, '32 browse requests queued');
$r = api(POST => 'browse', json => { snapshot => $snap, path => '/' });
is($r->{status}, 409, 'the 33rd is refused with 409');
like($r->{json}{error} // '', qr/too many requests pending for this client/,
     '... "too many requests pending for this client"');
($prc, $perr, @got) = poll('--answer', '0:{"entries":[]}');
is(scalar @got, 32, 'the agent takes and answers the 32') or diag($perr);
$r = api(POST => 'browse', json => { snapshot => $snap, path => '/' });
is($r->{status}, 200, 'then a browse is queued again');

done_testing;
