#!/usr/bin/perl
# Many clients at once: 32 backups against a pool of 8 workers.  Sessions
# beyond the pool wait in the accept queue and are served in turn; every
# backup finishes with a snapshot that restores identical.  Reports the
# time of all 32 against one alone (information, not an assertion).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use Time::HiRes qw(time);
use POSIX qw(WNOHANG);
use GV;
use GVClient;

my $N = 32;
my $gv = GV->start(Workers => 8, IdleTimeout => 120);
my @cl;
for my $i (1 .. $N) {
    my $c = GVClient->new($gv, "host$i");
    my $d = $gv->dir . "/src$i";
    make_path("$d/sub");
    GVClient::_spit_bytes("$d/f$_", GVClient::pseudo_bytes(400_000, "c$i-$_")) for 1 .. 5;
    GVClient::_spit_bytes("$d/sub/text", "client $i\n" x 5000);
    push @cl, [$c, $d];
}
ok(@cl == $N, "$N clients registered");

# One alone, for scale.
my $t0 = time;
my ($rc, $out, $err) = $cl[0][0]->run('backup', $cl[0][1]);
my $one = time - $t0;
is($rc, 0, 'one backup alone') or diag($err);

# All at once (the first one again: a second snapshot).
$t0 = time;
my %pid = map { $_ => $cl[$_][0]->spawn('backup', $cl[$_][1]) } 0 .. $N - 1;
my %rc;
GV::wait_until(sub {
    for my $i (keys %pid) {
        my $r = waitpid($pid{$i}, WNOHANG);
        if ($r == $pid{$i}) { $rc{$i} = $? >> 8; delete $pid{$i} }
    }
    return !%pid;
}, 120, 0.02);
my $all = time - $t0;
is(scalar(grep { defined $rc{$_} && $rc{$_} == 0 } 0 .. $N - 1), $N, "all $N backups exit 0")
    or diag(join ' ', map { "$_:" . ($rc{$_} // 'running') } 0 .. $N - 1);
diag(sprintf('%d clients at once: %.2f s; one alone: %.2f s (%.1fx one)', $N, $all, $one, $all / $one));

my $bad = 0;
for my $i (0 .. $N - 1) {
    my ($c, $d) = @{ $cl[$i] };
    my @s = $c->snapshots;
    my $want = $i == 0 ? 2 : 1;
    $bad++, diag("client $i: " . scalar(@s) . " snapshots") if @s != $want;
    my $t = $gv->dir . "/r$i";
    my ($rc, $out, $err) = $c->run('restore', '--target', $t, 'latest');
    my @diff = $rc == 0 ? GVClient::compare_trees($d, "$t$d") : ("restore exit $rc: $err");
    $bad++, diag("client $i: @diff") if @diff;
}
is($bad, 0, 'every client has its snapshots, and each restores identical');
ok($gv->status->{sessions_served} >= 3 * $N, 'the pool served every session');
is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
