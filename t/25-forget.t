#!/usr/bin/perl
# FORGET over raw frames: removed (0), refused because the server's
# retention policy keeps the snapshot (1), no such snapshot (2); the
# administrator's allow-forget; one client cannot forget another's
# snapshots; malformed FORGET frames; what forgotten snapshots alone
# reached is unreachable (prune --dry-run sees their blobs as free).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use GV;

my $gv = GV->start(Workers => 2, 'Prune.GraceSeconds' => 0, 'Prune.Interval' => 0);
my $J = JSON::PP->new;
my %sec;
for my $n (qw(alice bob)) {
    my ($c) = $gv->session;
    (undef, $sec{$n}) = proto_register($c, $gv->add_client($n));
    close $c;
}

# alice: 4 snapshots of "home", one day apart; a shared blob and one of
# its own each.
my $shared = rand_id();
my %own;
my $A = $gv->login('alice', $sec{alice}) or BAIL_OUT('login');
proto_put($A, $shared, 'S' x 5000);
for my $i (1 .. 4) {
    my $id = rand_id();
    $own{$i} = $id;
    proto_put($A, $id, "blob $i " x 100);
    proto_refs($A, $shared, $id);
    my $f = proto_commit($A, 'home', 1700000000 + $i * 86400, $shared, $id);
    is($f->{snapshot}, $i, "snapshot $i committed");
}

# The default policy (Retention all 0) keeps everything: refused.
my $f = proto_forget($A, 1, 99);
is($f->{type}, T_FORGOTTEN, 'FORGET answered with FORGOTTEN');
is($f->{count}, 2, '... one entry per id');
is_deeply($f->{results}, { 1 => 1, 99 => 2 },
          'default policy keeps everything: 1 refused, 99 no such snapshot');
is(scalar(proto_list_all($A, '')), 4, 'nothing removed');

# A policy for alice's set "home": keep the last 2.
my ($st, $out, $err) = $gv->ctl('policy', 'set', 'alice', '--set', 'home', '--keep-last', '2');
is($st, 0, 'policy set alice --set home --keep-last 2') or diag $err;
$f = proto_forget($A, 1, 3, 4, 1);
is_deeply([ unpack('x4 (Q> C)4', $f->{payload}) ], [ 1, 0, 3, 1, 4, 1, 1, 2 ],
          'in order: 1 removed, 3 and 4 kept by keep-last 2, 1 again: gone');
is_deeply([ map { $_->{id} } proto_list_all($A, '') ], [ 2, 3, 4 ], 'snapshot 1 is gone');
ok($gv->log_like(qr/client alice at \S+: snapshot 1 of set home forgotten/), 'the removal is logged');

# bob cannot reach alice's snapshots.
my $B = $gv->login('bob', $sec{bob}) or BAIL_OUT('login');
$f = proto_forget($B, 2, 3);
is_deeply($f->{results}, { 2 => 2, 3 => 2 }, "bob's FORGET of alice's ids: no such snapshot");
close $B;
$A = $gv->login('alice', $sec{alice}) or BAIL_OUT('login');
is(scalar(proto_list_all($A, '')), 3, "alice's snapshots untouched by bob");

# allow-forget: the client may remove what the policy keeps.
($st, undef, $err) = $gv->ctl('client', 'allow-forget', 'alice');
is($st, 0, 'client allow-forget alice') or diag $err;
$f = proto_forget($A, 3);
is_deeply($f->{results}, { 3 => 0 }, 'with allow-forget: kept snapshot 3 removed');
($st) = $gv->ctl('client', 'deny-forget', 'alice');
is($st, 0, 'client deny-forget alice');
$f = proto_forget($A, 2);
is_deeply($f->{results}, { 2 => 1 }, 'denied again: snapshot 2 (kept by keep-last 2) refused');
($st, undef, $err) = $gv->ctl('client', 'allow-forget', 'nobody');
is($st, 1, 'allow-forget of an unknown client: exit 1');

my $cl = $J->decode(($gv->ctl('client', 'list', '--json'))[1]);
my ($ca) = grep { $_->{name} eq 'alice' } @$cl;
ok(defined $ca->{allow_forget} && !$ca->{allow_forget}, 'client list --json: allow_forget false');

# policy show
($st, $out) = $gv->ctl('policy', 'show', 'alice', '--json');
my $ps = eval { $J->decode($out) } || {};
is($ps->{server}{keep_last}, 0, 'policy show: server default keep_last 0');
is_deeply([ map { [ $_->{set}, $_->{keep_last}, $_->{keep_daily} ] } @{ $ps->{clients}[0]{policies} } ],
          [ [ 'home', 2, 0 ] ], 'policy show alice: home keep-last 2');
($st, $out) = $gv->ctl('policy', 'show');
like($out, qr/^alice\s+home\s+2\s+0\s+0\s+0\s+0\s+0\s+denied$/m, 'policy show table row');
like($out, qr/^bob\s+\*\s+-/m, 'bob has no policy of his own');
($st) = $gv->ctl('policy', 'set', 'alice', '--keep-daily', 'x');
is($st, 2, 'policy set with a bad number: exit 2');
($st) = $gv->ctl('policy', 'set', 'alice');
is($st, 2, 'policy set without any --keep: exit 2');
($st) = $gv->ctl('policy', 'set', 'alice', '--frob', '1');
is($st, 2, 'policy set with an unknown option: exit 2');
($st) = $gv->ctl('policy', 'clear', 'alice', '--set', 'home');
is($st, 0, 'policy clear alice --set home');
($st) = $gv->ctl('policy', 'clear', 'alice', '--set', 'home');
is($st, 1, 'clearing it again: exit 1');
$f = proto_forget($A, 2);
is_deeply($f->{results}, { 2 => 1 }, 'back to the server default: refused');

# The forgotten snapshots' own blobs and legacy nodes are unreachable
# now; the shared one is not.
($st, $out, $err) = $gv->ctl('prune', '--dry-run');
is($st, 0, 'prune --dry-run') or diag $err;
like($out, qr/would free 4 unreachable blobs/, 'dry run: the own blobs and the legacy nodes of snapshots 1 and 3 would be freed') or diag $out;

# Malformed FORGET frames end only that session.
send_frame($A, T_FORGET, pack('N', 0));
$f = recv_frame($A);
is($f->{code}, E_LIMIT, 'FORGET count 0: ERROR 9');
$A = $gv->login('alice', $sec{alice});
send_frame($A, T_FORGET, pack('N Q> C', 1, 2, 0));
$f = recv_frame($A);
is($f->{code}, E_MALFORMED, 'FORGET with a trailing byte: ERROR 1');
$A = $gv->login('alice', $sec{alice});
send_frame($A, T_FORGET, pack('N', 4097) . ("\0" x (8 * 4097)));
$f = recv_frame($A);
is($f->{code}, E_LIMIT, 'FORGET longer than 4096 ids: ERROR 9');
my ($c, $h) = $gv->session;
send_frame($c, T_FORGET, pack('N Q>', 1, 2));
$f = recv_frame($c);
is($f->{code}, E_NOT_AUTHED, 'FORGET before AUTH: ERROR 8');
$A = $gv->login('alice', $sec{alice});
is_deeply([ map { $_->{id} } proto_list_all($A, '') ], [ 2, 4 ], 'alice keeps snapshots 2 and 4');
close $A;
is($gv->stop, 0, 'clean stop');
done_testing;
