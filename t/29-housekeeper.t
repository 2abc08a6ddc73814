#!/usr/bin/perl
# The housekeeper child: it prunes on Prune.Interval and scrubs on
# Scrub.Interval, is respawned when it dies, and a SIGKILL in the middle
# of a prune loses nothing committed and leaves a store that scrub finds
# clean (the next prune then finishes the job).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

my $gv = GV->start(Workers => 2, 'Prune.Interval' => 0, 'Prune.GraceSeconds' => 0,
                   'Scrub.Interval' => 0);
my $packs = $gv->cfg->{Server}{DataDir} . '/packs';
my ($c) = $gv->session;
my (undef, $secret) = proto_register($c, $gv->add_client('alice'));
close $c;

sub rnd { pack('C*', map { int rand 256 } 1 .. $_[0]) }
sub npacks { opendir my $d, $packs or return 0; scalar grep { /\.pack$/ } readdir $d }
sub hk_pids { my %p; my $t = $gv->log_text; $p{$1}++ while $t =~ /housekeeper\[0\]\[(\d+)\]/g; keys %p }

# 12 sessions: each commits 8 blobs of 256 KiB and leaves 10 such
# unreferenced ones in its pack, so a prune copies 24 MiB in 12 packs,
# one after the other: it takes a while.
my $N = 12;
my (%bytes, @live);
for my $i (1 .. $N) {
    my $A = $gv->login('alice', $secret) or BAIL_OUT('login');
    my @ids = map { rand_id() } 1 .. 8;
    for my $id (@ids) {
        $bytes{$id} = rnd(64) . (chr(64 + $i) x 262144);
        proto_put($A, $id, $bytes{$id});
    }
    push @live, @ids;
    proto_put($A, rand_id(), rnd(64) . ('d' x 262144)) for 1 .. 10;
    proto_refs($A, @ids);
    my $f = proto_commit($A, "set$i", 1700000000 + $i, $ids[0], $ids[1]);
    die "commit $i failed" unless ($f->{type} // 0) == T_COMMITTED;
    close $A;
}
is(npacks(), $N, "$N packs, each mostly unreferenced");

# Turn the schedule on (a reload starts a new generation of children).
my $log0 = length $gv->log_text;
$gv->reload('Prune.Interval' => 1, 'Scrub.Interval' => 1);
my $hk;
# Kill it as soon as it has rewritten its first pack: somewhere in the
# middle of its work (where exactly does not matter: every instant must
# be safe; the note says where it was).
ok(wait_until(sub { substr($gv->log_text, $log0) =~ /housekeeper\[0\]\[(\d+)\] \S+: prune: rewrote pack/ and $hk = $1 }, 15, 0.001),
   "the housekeeper prunes on its schedule (pid $hk)");
kill 'KILL', $hk;
my $during = () = $gv->log_text =~ /housekeeper\[0\]\[$hk\] \S+: prune: rewrote pack /g;
my $finished = $gv->log_text =~ /housekeeper\[0\]\[$hk\] \S+: prune: done/;
note("killed after $during of $N pack rewrites" . ($finished ? ' (it had finished)' : ''));
ok(wait_until(sub { !GV::pid_alive($hk) }, 5), 'housekeeper killed with SIGKILL in the middle of its prune');
ok($gv->log_like(qr/housekeeper 0 \(pid $hk\) killed by signal 9/, 5), 'the supervisor saw it die');

my $hk2;
ok(wait_until(sub { ($hk2) = grep { $_ != $hk && GV::pid_alive($_) } hk_pids(); $hk2 }, 15),
   "and respawned it (pid " . ($hk2 // '?') . ")");
ok($gv->log_like(qr/housekeeper\[0\]\[$hk2\] \S+: prune: done: 0 snapshots forgotten, \d+ blobs freed, \d+ packs removed, \d+ rewritten/, 20),
   'the new housekeeper prunes on schedule');
ok($gv->log_like(qr/housekeeper\[0\]\[$hk2\] \S+: scrub: done: clean/, 20),
   'and scrubs on schedule: clean');

# Everything committed is still there, and the store is clean.
my $A = $gv->login('alice', $secret) or BAIL_OUT('login');
is(scalar(proto_list_all($A, '')), $N, "all $N snapshots remain");
my @got = proto_get($A, @live);
is(scalar(grep { ($_->{type} // 0) == T_BLOB && $_->{blob} eq $bytes{ $_->{id} } } @got), scalar @live,
   'every committed blob reads back intact (' . scalar(@live) . ')');
close $A;
ok(wait_until(sub { npacks() <= 2 }, 20), 'the packs were rewritten into few: ' . npacks());
my $dus = 0;
opendir(my $dd, $packs) or die "$packs: $!";
$dus += -s "$packs/$_" for grep { /\.pack$/ } readdir $dd;
# Every pack left is at least half live (Prune.RewriteBelow = 50): a
# pack the killed prune was filling may keep some garbage.
my $live = 0;
$live += 64 + length $bytes{$_} for @live;
ok($dus >= $live && $dus < 2 * $live, "pack bytes on disk $dus: the live $live plus less than as much garbage");
my ($st, $out, $err) = $gv->ctl('scrub');
is($st, 0, 'gigavaultctl scrub after the kill: clean') or diag "$out$err";
# One legacy node per commit (12) besides the committed blobs.
like($out, qr/ @{[ scalar(@live) + 12 ]} blobs checked, 0 damaged/, '... every blob checked, none damaged');
is($gv->stop, 0, 'clean stop');
done_testing;
