#!/usr/bin/perl
# The race between a backup in flight and prune: a blob that no snapshot
# reaches, older than Prune.GraceSeconds, is freed by prune -- unless
# a HAVE just reported it present to a backup (touching it, as it was
# older than GraceSeconds/4): then prune keeps it (and
# may move it while rewriting its pack), and that backup's COMMIT
# succeeds and the blob reads back.  A blob freed anyway is refused at
# COMMIT (ERROR 10), never committed as a dangling reference.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

my $GRACE = 4;
my $gv = GV->start(Workers => 2, 'Prune.GraceSeconds' => $GRACE, 'Prune.Interval' => 0);
my $packs = $gv->cfg->{Server}{DataDir} . '/packs';
my ($c) = $gv->session;
my (undef, $secret) = proto_register($c, $gv->add_client('alice'));
close $c;
$gv->ctl('client', 'allow-forget', 'alice');

sub rnd { pack('C*', map { int rand 256 } 1 .. $_[0]) }
sub pack_names { opendir my $d, $packs or return (); sort grep { /\.pack$/ } readdir $d }

my ($X, $Y, $K) = (rand_id(), rand_id(), rand_id());
my %bytes = ($X => rnd(3000), $Y => rnd(3000), $K => rnd(3000));
my @filler = map { rand_id() } 1 .. 20;
$bytes{$_} = rnd(20000) for @filler;

# Snapshot 1 references X, Y and the filler; snapshot 2 only K.  All in
# one pack.  Forgetting snapshot 1 leaves X, Y, the filler and its legacy
# node unreachable.
my $A = $gv->login('alice', $secret) or BAIL_OUT('login');
proto_put($A, $_, $bytes{$_}) for $X, $Y, $K, @filler;
proto_refs($A, $X, $Y, @filler);
is(proto_commit($A, 'a', 1700000000, $X, $Y)->{snapshot}, 1, 'snapshot 1');
proto_refs($A, $K);
is(proto_commit($A, 'b', 1700000000, $K, $K)->{snapshot}, 2, 'snapshot 2');
is_deeply(proto_forget($A, 1)->{results}, { 1 => 0 }, 'snapshot 1 forgotten');
close $A;
my @old = pack_names();
is(scalar @old, 1, 'one pack holds them all');

# Within the grace period prune frees nothing.
my ($st, $out, $err) = $gv->ctl('prune');
like($out, qr/^prune: 0 snapshots forgotten, 0 blobs freed/m, 'within the grace period nothing is freed')
    or diag "$out$err";

# Let the grace period pass (waiting, not measuring).
sleep $GRACE + 1.5;

# A backup in flight asks about X: present.  Its entry is touched, so
# the prune that runs now keeps it.
my $B = $gv->login('alice', $secret) or BAIL_OUT('login');
is(scalar(proto_have($B, $X)), 0, 'HAVE: X is present (unreachable)');
($st, $out, $err) = $gv->ctl('prune');
is($st, 0, 'prune while the backup is in flight') or diag $err;
like($out, qr/^freed 22 unreachable blobs/m, 'prune freed Y, the filler and the legacy node (22 blobs), not X')
    or diag $out;
like($out, qr/^rewrote pack /m, 'and rewrote their pack (mostly dead)');
my @new = pack_names();
ok(!(grep { $_ eq $old[0] } @new), "the old pack $old[0] is gone (now: @new)");

# The backup goes on: it commits X without uploading it.
proto_refs($B, $X);
my $f = proto_commit($B, 'a', 1700000100, $X, $K);
is($f->{type}, T_COMMITTED, 'the backup in flight commits X after the prune')
    or diag explain $f;
my @got = proto_get($B, $X, $K);
ok(@got == 2 && !(grep { ($_->{type} // 0) != T_BLOB || $_->{blob} ne $bytes{ $_->{id} } } @got),
   'X and K read back intact from their new pack');

# Y, not asked about, was freed: HAVE says missing, a COMMIT naming it
# without uploading is refused.
is(scalar(proto_have($B, $Y)), 1, 'Y (no HAVE before the prune) was freed');
proto_refs($B, $Y);
$f = proto_commit($B, 'a', 1700000200, $X, $K);
is($f->{code}, E_INCOMPLETE, 'a COMMIT referencing the freed Y is refused: ERROR 10');
close $B;

($st, $out) = $gv->ctl('scrub');
is($st, 0, 'scrub: clean') or diag $out;
is($gv->stop, 0, 'clean stop');
done_testing;
