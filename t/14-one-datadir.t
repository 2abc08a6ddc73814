#!/usr/bin/perl
# One daemon per DataDir (issue 15, point 2).  The supervisor takes
# DataDir/gigavaultd.lock before it binds or forks and holds it for its
# whole life: a second gigavaultd on the same DataDir, with its own pid
# file and ports, is refused naming the holder's pid and leaves nothing
# behind; a reload keeps the lock; gigavaultctl's rebuild-catalog takes
# the same lock, its other commands work beside the daemon as before;
# a lock file whose holder is gone is taken over without a word.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Fcntl qw(:flock O_RDWR O_CREAT);
use IO::Socket::INET;
use GV;

my $daemonized;
END { kill 'KILL', $daemonized if $daemonized }

sub lock_pid {
    my ($datadir) = @_;
    my ($pid) = GV::_slurp("$datadir/gigavaultd.lock") =~ /^(\d+)\n\z/;
    return $pid;
}

sub nothing_listens {
    my ($gv) = @_;
    for my $k (qw(BackupServer UI)) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $gv->port($k), Timeout => 1);
        return 0 if $s;
    }
    return 1;
}

my $first = GV->start(Workers => 2);
my $datadir = $first->cfg->{Server}{DataDir};
my $fpid = $first->pid;
is(lock_pid($datadir), $fpid, 'the lock file names the supervisor');

# --- a second daemon: same DataDir, its own pid file, log and ports
{
    my $second = GV->spawn(Workers => 2, DataDir => $datadir);
    isnt($second->pidfile, $first->pidfile, 'the second daemon has its own pid file');
    my $st = $second->wait_exit(10);
    is($st, 1, 'a second daemon on the same DataDir exits 1');
    like($second->stderr_text,
         qr/\QServer.DataDir $datadir\E is in use by gigavaultd pid $fpid, which holds its lock \Q$datadir\E\/gigavaultd\.lock: refusing to start/,
         '... naming the DataDir, the holder pid and the lock file')
        or diag($second->stderr_text);
    ok(nothing_listens($second), '... having bound none of its ports');
    $second->stop;
    is_deeply([$second->leftovers], [], '... and left no process');
    ok(!-e $second->pidfile, '... nor a pid file');
    ok($first->ready(2), 'the first daemon still serves, with its 2 workers');
    is(lock_pid($datadir), $fpid, 'the lock file still names the first');
}

# --- a reload keeps the lock
{
    my $before = () = $first->log_text =~ /reloaded /g;
    $first->reload(Workers => 3);
    ok(wait_until(sub { (() = $first->log_text =~ /reloaded /g) > $before }, 10),
       'the first daemon reloads');
    ok($first->wait_ready(3), '... to 3 workers');
    my $third = GV->spawn(Workers => 1, DataDir => $datadir);
    is($third->wait_exit(10), 1, 'after the reload another daemon is still refused');
    like($third->stderr_text, qr/in use by gigavaultd pid $fpid\b/, '... naming the same pid');
    $third->stop;
    is_deeply([$third->leftovers], [], '... and left no process');
}

# --- a reload may not move DataDir (its server id, its lock, the old
# generation's children still writing there): refused, all kept
{
    my $moved = $first->dir . '/moved';
    $first->reload(DataDir => $moved);
    ok($first->log_like(qr/reload failed, keeping the running configuration: Server\.DataDir changed .*needs a restart/, 10),
       'a reload onto another DataDir is refused: it needs a restart');
    is(lock_pid($datadir), $fpid, '... the first keeps its lock');
    ok(!-e "$moved/gigavaultd.lock", '... and takes none in the other DataDir');
    my $third = GV->spawn(Workers => 1, DataDir => $datadir);
    is($third->wait_exit(10), 1, '... another daemon on its DataDir is still refused');
    $first->reload(DataDir => $datadir);
    ok($first->wait_ready(3), 'the first daemon serves');
}

# --- gigavaultctl beside the daemon, through another config on the DataDir
{
    my $other = GV->spawn(Workers => 1, DataDir => $datadir);  # refused: only its config is used
    $other->wait_exit(10);
    $other->stop;
    my ($st, $out, $err) = $other->ctl('rebuild-catalog');
    is($st, 1, 'rebuild-catalog beside the running daemon (another pid file): refused');
    like($err, qr/in use by gigavaultd pid $fpid\b.*stop it before rebuilding/,
         '... naming the daemon pid') or diag($err);
    ($st, $out, $err) = $other->ctl('client', 'add', 'alice');
    is($st, 0, 'client add works beside the running daemon') or diag($err);
    ($st, $out, $err) = $first->ctl('client', 'list');
    like($out, qr/\balice\b/, '... and the daemon\'s catalog has the client');
}

is($first->stop, 0, 'the first daemon stops');
is(lock_pid($datadir), $fpid, 'the lock file stays, with the pid of a dead process');

# --- a stale lock file is taken over silently
my $next = GV->start(Workers => 2, DataDir => $datadir);
ok($next->alive, 'a new daemon starts on the DataDir after the first stopped');
is(lock_pid($datadir), $next->pid, '... and writes its pid into the lock file');
unlike($next->stderr_text . $next->log_text, qr/gigavaultd\.lock/, '... without a word about it');
is($next->stop, 0, 'it stops');

# --- any holder of the lock is named, gigavaultd or not
{
    sysopen(my $fh, "$datadir/gigavaultd.lock", O_RDWR | O_CREAT) or die "lock: $!";
    ok(flock($fh, LOCK_EX | LOCK_NB), 'the test takes the lock itself');
    truncate($fh, 0);
    syswrite($fh, "$$\n");
    my $gv = GV->spawn(Workers => 1, DataDir => $datadir);
    is($gv->wait_exit(10), 1, 'a daemon is refused while another process holds the lock');
    like($gv->stderr_text, qr/in use by \S*\s*pid $$, which holds/, '... naming that process');
    $gv->stop;
    my ($st, $out, $err) = $gv->ctl('upgrade');
    is($st, 1, 'gigavaultctl upgrade is refused too');
    like($err, qr/in use by \S*\s*pid $$\b.*stop it before upgrading/, '... naming it');
    close $fh;
    $gv = GV->start(Workers => 1, DataDir => $datadir);
    ok($gv->alive, 'once it lets go, a daemon starts');
    is($gv->stop, 0, 'and stops');
}

# --- a daemonizing start writes the pid of the daemon, not of its parent
{
    my $gv = $next;     # stopped: its config and ports are free
    my $d = File::Temp::tempdir('gv-lock-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $d;
    $gv->write_conf(DataDir => "$d/data", PidFile => "$d/gv.pid");
    my ($st, $out, $err) = GV::run_daemon(['-f', $gv->conf], 15);
    is($st, 0, 'a daemonizing start exits 0') or diag($err);
    my ($pid) = GV::_slurp("$d/gv.pid") =~ /^(\d+)/;
    $daemonized = $pid;
    ok($pid, '... with a pid file');
    is(lock_pid("$d/data"), $pid, '... and the lock file names the same pid');
    if ($pid) {
        kill 'TERM', $pid;
        ok(wait_until(sub { !kill(0, $pid) }, 15), 'the daemonized gigavaultd stops');
        kill 'KILL', $pid if kill 0, $pid;
    }
}

done_testing;
