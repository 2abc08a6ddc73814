#!/usr/bin/perl
# gigavaultctl prune: the server's default retention policy (Retention
# KeepLast) forgets old snapshots but never the newest of a set; blobs no
# snapshot reaches (version 1 sessions: through the legacy node of their
# REFS) are freed; a pack with no live blob is removed and
# one mostly dead is rewritten, so the packs shrink on disk; everything
# the remaining snapshots reference still reads back; --dry-run changes
# nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use GV;

my $gv = GV->start(Workers => 2, 'Retention.KeepLast' => 2,
                   'Prune.GraceSeconds' => 0, 'Prune.Interval' => 0);
my $J = JSON::PP->new;
my $packs = $gv->cfg->{Server}{DataDir} . '/packs';
my ($c) = $gv->session;
my (undef, $secret) = proto_register($c, $gv->add_client('alice'));
close $c;

sub rnd { pack('C*', map { int rand 256 } 1 .. $_[0]) }
sub pack_files {
    opendir my $d, $packs or return {};
    return { map { $_ => -s "$packs/$_" } grep { /\.pack$/ } readdir $d };
}
sub du { my $t = 0; $t += $_ for values %{ pack_files() }; $t }
sub state_of {
    my (undef, $s) = $gv->ctl('snapshots', '--json');
    my (undef, $u) = $gv->ctl('usage', '--json');
    return [ pack_files(), $s, $u ];
}

# One session per snapshot: each session writes a pack of its own.
my $shared = rand_id();
my %bytes = ($shared => rnd(5000));
my (%set, @snapids);
for my $i (1 .. 4) {
    my $A = $gv->login('alice', $secret) or BAIL_OUT('login');
    my @ids = map { rand_id() } 1 .. 30;
    $bytes{$_} = rnd(30000) for @ids;
    $set{$i} = \@ids;
    proto_put($A, $_, $bytes{$_}) for grep { proto_have($A, $_) } $shared, @ids;
    proto_refs($A, @ids);
    my $f = proto_commit($A, 'home', 1700000000 + 3600 * $i, $shared, $ids[0]);
    is($f->{type}, T_COMMITTED, "snapshot $i committed");
    push @snapids, $f->{snapshot};
    close $A;
}
# A session that uploads and never commits: only garbage in its pack.
{
    my $A = $gv->login('alice', $secret) or BAIL_OUT('login');
    proto_put($A, rand_id(), rnd(40000)) for 1 .. 20;
    ok(ping($A), 'uploads of a backup that never commits');
    close $A;
}
ok(wait_until(sub { keys %{ pack_files() } == 5 }, 10), 'five packs, one per session')
    or diag join ' ', sort keys %{ pack_files() };

# ---------------------------------------------------------------- dry run
my $before = state_of();
my $du0 = du();
my ($st, $out, $err) = $gv->ctl('prune', '--dry-run');
is($st, 0, 'prune --dry-run: exit 0') or diag $err;
{
    my ($jst, $jout) = $gv->ctl('prune', '--dry-run', '--json');
    is($jst, 0, 'prune --dry-run --json: exit 0');
    my $j = eval { JSON::PP->new->decode($jout) } || {};
    ok($j->{dry_run} && exists $j->{blobs_freed} && ref $j->{report} eq 'ARRAY',
       '--json: a summary object with the report lines') or diag $jout;
}
like($out, qr{^would forget snapshot alice/1 of set home}m, 'dry run: would forget snapshot 1');
like($out, qr{^would forget snapshot alice/2 of set home}m, '... and 2');
unlike($out, qr{snapshot alice/[34]}, '... never 3 or 4 (kept by KeepLast 2)');
like($out, qr/would free 82 unreachable blobs/, "... would free 30 + 30 + 20 blobs and 2 legacy nodes") or diag $out;
is(scalar(() = $out =~ /^would remove pack/mg), 2, '... would remove 2 packs');
is(scalar(() = $out =~ /^would rewrite pack/mg), 1, '... would rewrite 1 (the shared blob lives there)');
is_deeply(state_of(), $before, 'dry run: packs, snapshots and usage unchanged');

# ------------------------------------------------------------- real prune
($st, $out, $err) = $gv->ctl('prune');
is($st, 0, 'prune: exit 0') or diag $err;
like($out, qr/^prune: 2 snapshots forgotten, 82 blobs freed .* 2 packs removed, 1 rewritten, 0 busy, 0 damaged/m,
     'prune: summary') or diag $out;
my $du1 = du();
my $dead = 0;
$dead += 64 + length $bytes{$_} for @{ $set{1} }, @{ $set{2} };
ok($du1 <= $du0 - $dead - 20 * 40064, "packs shrank on disk: $du0 -> $du1 bytes (at least the freed blobs)");
is(scalar keys %{ pack_files() }, 3, 'three packs left (two untouched, one rewritten)');

my $A = $gv->login('alice', $secret) or BAIL_OUT('login');
is_deeply([ map { $_->{id} } proto_list_all($A, '') ], [ 3, 4 ], 'snapshots 3 and 4 remain');
my @keep = ($shared, @{ $set{3} }, @{ $set{4} });
my @got = proto_get($A, @keep);
is(scalar(grep { ($_->{type} // 0) == T_BLOB && $_->{blob} eq $bytes{ $_->{id} } } @got),
   scalar @keep, 'every blob the remaining snapshots reference reads back intact (' . scalar(@keep) . ')');
@got = proto_get($A, @{ $set{1} }[0 .. 4]);
ok(!(grep { ($_->{type} // 0) != T_NOBLOB } @got), 'blobs of forgotten snapshots are gone (NOBLOB)');
is(scalar(proto_have($A, @{ $set{2} })), 30, '... and HAVE reports them missing');
close $A;

($st, $out) = $gv->ctl('scrub');
is($st, 0, 'scrub after the prune: clean') or diag $out;

($st, $out) = $gv->ctl('prune');
like($out, qr/^prune: 0 snapshots forgotten, 0 blobs freed .* 0 packs removed, 0 rewritten/m,
     'a second prune finds nothing to do');
is(du(), $du1, '... and changes nothing on disk');

# ------------------------------------------- the newest is never removed
($st) = $gv->ctl('policy', 'set', 'alice', '--keep-daily', '1');
$A = $gv->login('alice', $secret) or BAIL_OUT('login');
proto_refs($A, $shared);
my $f = proto_commit($A, 'other', 1600000000, $shared, $shared);
close $A;
($st, $out) = $gv->ctl('prune');
like($out, qr{forgot snapshot alice/3 of set home}, 'keep-daily 1: the older of the same day goes');
$A = $gv->login('alice', $secret) or BAIL_OUT('login');
is_deeply([ map { $_->{id} } proto_list_all($A, '') ], [ 4, $f->{snapshot} ],
          'the newest of each set stays');
close $A;
is($gv->stop, 0, 'clean stop');
done_testing;
