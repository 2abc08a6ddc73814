#!/usr/bin/perl
# Findings of the first code review, each pinned by a test: the UI bridge
# keeps its memory bounded against a client that never reads, answers a
# half-closed client, the config rejects unclosed comments, braces and
# relative log paths, a daemonizing start reports failure in its exit
# status, and no inherited descriptor reaches the children.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Socket qw(SHUT_WR);
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);
use POSIX qw(EAGAIN EWOULDBLOCK);
use GV;

sub rss_kb {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return;
}

# --- config: unclosed comment, unclosed brace, relative Log.File
{
    my $base = make_conf();
    my ($st, $err, $f) = run_check($base . "\n/* never closed\nServer { Workers = 2 }\n");
    my $line = () = ($base . "\n") =~ /\n/g;
    is($st, 2, 'unclosed comment: exit 2');
    like($err, qr/\Q$f\E:\d+: comment not closed/, '... says so, with a line');
    ($st, $err, $f) = run_check($base . "\nServer {\n Workers = 2\n");
    is($st, 2, 'missing "}": exit 2');
    like($err, qr/\Q$f\E:\d+: "\{" not closed/, '... says so, with a line');
    ($st, $err, $f) = run_check($base . qq(\nLog { File = "relative.log" }\n));
    is($st, 2, 'relative Log.File: exit 2');
    like($err, qr/Log\.File must be an absolute path/, '... says so');
}

my $gv = GV->start(Workers => 2);
my %workers = map { $_->{pid} => 1 } @{ $gv->status->{workers} };
my ($bridge) = grep { !$workers{ $_->{pid} } } $gv->descendants;
ok($bridge, 'found the UI bridge process');

# --- a client that sends requests and never reads its replies
{
    my $u = $gv->ui_connect;
    $u->blocking(0);
    my $line = '{"request":"nope","id":"' . ('x' x 60000) . "\"}\n";
    my ($sent, $stuck) = (0, 0);
    my $deadline = time + 8;
    while (time < $deadline && $sent < 200 * 1024 * 1024) {
        my $n = syswrite($u, $line);
        if (!defined $n) {
            last if $! != EAGAIN && $! != EWOULDBLOCK;
            last if ++$stuck > 50;      # the bridge stopped reading: good
            select(undef, undef, undef, 0.02);
            next;
        }
        $stuck = 0;
        $sent += $n;
    }
    my $rss = rss_kb($bridge->{pid});
    ok(defined $rss && $rss < 64 * 1024,
       sprintf('bridge RSS stays bounded (%s kB after %.1f MB sent)', $rss // '?', $sent / 1e6));
    close $u;
    ok(wait_until(sub { $gv->status }, 5), 'the bridge still answers others');
}

# --- half-close: the pending reply is still delivered
{
    my $u = $gv->ui_connect;
    GV::send_raw($u, qq({"request":"status","id":5}\n));
    shutdown($u, SHUT_WR);
    my $l = GV::read_line($u, 5);
    like($l // '', qr/"id":5/, 'half-closed client gets its status reply');
    close $u;
}

# --- inherited descriptors do not reach the children
{
    my $gv2;
    {
        open my $keep, '<', '/dev/null' or die;
        my $fl = fcntl($keep, F_GETFD, 0);
        fcntl($keep, F_SETFD, $fl & ~FD_CLOEXEC);
        my $fd = fileno $keep;
        $gv2 = GV->start(Workers => 1);
        my @leaked = grep { (readlink("/proc/$_->{pid}/fd/$fd") // '') eq '/dev/null' }
                     ({ pid => $gv2->pid }, $gv2->descendants);
        is(scalar @leaked, 0, "fd $fd of the caller is closed in the daemon and its children")
            or diag(join ' ', map { "$_->{pid}:" . join(',', map { readlink($_) // '?' } glob("/proc/$_->{pid}/fd/*")) } @leaked);
        close $keep;
    }
    is($gv2->stop, 0, 'second daemon stops');
}

is($gv->stop, 0, 'daemon stops cleanly');

# --- a daemonizing start whose pid file cannot be written exits 1
{
    my $dir = File::Temp::tempdir('gv-daemon-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    my @p = GV::free_ports(9);
    my $text = make_conf(-dir => $dir, 'Server.PidFile' => "$dir/missing/dir/gv.pid",
                         'Ports.BackupServer' => $p[0], 'Ports.UI' => $p[1]);
    my ($st, $err, $f) = run_check($text);
    is($st, 0, 'config is valid');
    my ($st2, $out, $err2) = GV::run_daemon(['-f', $f], 15);
    is($st2, 1, 'start without -d reports the pid file failure as exit 1');
    # and the daemon did not stay behind
    ok(!IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $p[1], Timeout => 1),
       '... and left nothing listening');
}

done_testing;
