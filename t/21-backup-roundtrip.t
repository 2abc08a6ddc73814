#!/usr/bin/perl
# Backup frames against a real gigavaultd: HAVE/PUT/REFS/COMMIT/LIST/GET
# round trip with opaque random blobs, client isolation, a commit with a
# missing reference, limits, and LIST paging under a small MaxFrame.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

my $MAX = 1 << 20;
my $gv = GV->start(Workers => 2, MaxFrame => $MAX);

sub enroll {
    my ($gv, $name) = @_;
    my ($c, $h) = $gv->session;
    my ($n, $secret) = proto_register($c, $gv->add_client($name));
    close $c;
    die "register $name failed" unless defined $secret;
    return $secret;
}

my $sa = enroll($gv, 'alice');
my $sb = enroll($gv, 'bob');

# ------------------------------------------------------------ round trip
my $A = $gv->login('alice', $sa) or BAIL_OUT('alice cannot log in');
my %blob;
for my $i (1 .. 60) {
    my $len = $i == 1 ? $MAX - 32 : $i == 2 ? 1 : 1 + int rand 50000;
    $blob{ rand_id() } = pack('C*', map { int rand 256 } 1 .. $len);
}
my @ids = sort keys %blob;
my @miss = proto_have($A, @ids);
is(scalar @miss, scalar @ids, 'HAVE: a new client lacks every id');
is_deeply(\@miss, \@ids, 'MISSING keeps the order of HAVE');
proto_put($A, $_, $blob{$_}) for @ids;
proto_put($A, $ids[0], $blob{$ids[0]});    # a duplicate PUT writes nothing
is(scalar(proto_have($A, @ids)), 0, 'HAVE after PUT (same session): nothing missing');

my ($root, $meta) = @ids[0, 1];
proto_refs($A, @ids[2 .. $#ids], $ids[5]);  # a duplicate ref is fine
my $t0 = 1700000000;
my $f = proto_commit($A, 'home', $t0, $root, $meta);
is($f->{type}, T_COMMITTED, 'COMMIT: COMMITTED') or diag explain $f;
is($f->{snapshot}, 1, 'first snapshot of a client has id 1');

my $bytes = 0;
$bytes += length $blob{$_} for @ids;
my @snaps = proto_list_all($A, '');
is(scalar @snaps, 1, 'LIST: one snapshot');
# Versions 1 and 2 keep the layout: blobs 0 (not counted), bytes the
# snapshot's size (for them: the stored bytes of its REFS).
is_deeply([ @{$snaps[0]}{qw(id set time root meta blobs bytes)} ],
          [ 1, 'home', $t0, $root, $meta, 0, $bytes ],
          'LIST entry: id, set, time, root, meta, blobs 0, bytes');

my @got = proto_get($A, @ids);
is(scalar @got, scalar @ids, 'GET: one frame per id');
is_deeply([ map { $_->{type} } @got ], [ (T_BLOB) x @ids ], 'all BLOB');
is_deeply([ map { $_->{id} } @got ], \@ids, 'in the order asked');
ok(!(grep { $got[$_]{blob} ne $blob{ $ids[$_] } } 0 .. $#ids), 'bytes identical');
my $unknown = rand_id();
@got = proto_get($A, $ids[3], $unknown, $ids[4]);
is_deeply([ map { $_->{type} } @got ], [ T_BLOB, T_NOBLOB, T_BLOB ], 'unknown id: NOBLOB in its place');
is($got[1]{id}, $unknown, 'NOBLOB carries the id');

# a second snapshot in the same session, another set
proto_refs($A, @ids[10 .. 20]);
$f = proto_commit($A, 'etc', $t0 + 60, $ids[10], $ids[11]);
is($f->{snapshot}, 2, 'second snapshot: id 2');
@snaps = proto_list_all($A, '');
is_deeply([ map { $_->{id} } @snaps ], [ 1, 2 ], 'LIST all: 1, 2 (oldest first)');
my $bytes2 = 0;
$bytes2 += length $blob{$_} for @ids[10 .. 20];
is($snaps[1]{bytes}, $bytes2, 'REFS are per snapshot (the bytes of 11 distinct ids)');
@snaps = proto_list_all($A, 'etc');
is_deeply([ map { $_->{id} } @snaps ], [2], 'LIST set "etc": only 2');
$f = proto_list($A, '', 1);
is_deeply([ map { $_->{id} } @{ $f->{entries} } ], [2], 'LIST after 1: only 2');
is(proto_list($A, '', 2)->{count}, 0, 'LIST after the last: count 0');
send_frame($A, T_BYE);
is(recv_frame($A)->{type}, T_BYE, 'BYE');
close $A;

# ------------------------------------------------------------- isolation
my $B = $gv->login('bob', $sb) or BAIL_OUT('bob cannot log in');
is(proto_list($B, '', 0)->{count}, 0, "bob's LIST does not show alice's snapshots");
@got = proto_get($B, @ids[0 .. 9]);
is_deeply([ map { $_->{type} } @got ], [ (T_NOBLOB) x 10 ], "bob's GET of alice's ids: NOBLOB");
is(scalar(proto_have($B, @ids)), scalar @ids, "bob's HAVE: alice's blobs do not count");
# bob stores other bytes under one of alice's ids
proto_put($B, $ids[2], 'bob-bytes');
proto_refs($B, $ids[2]);
$f = proto_commit($B, 'home', $t0, $ids[2], $ids[2]);
is($f->{snapshot}, 1, "bob's first snapshot has id 1 too");
@got = proto_get($B, $ids[2]);
is($got[0]{blob}, 'bob-bytes', 'bob gets his own bytes');
close $B;
$A = $gv->login('alice', $sa);
@got = proto_get($A, $ids[2]);
is($got[0]{blob}, $blob{ $ids[2] }, 'alice still gets hers');

# ------------------------------------------------- commit with missing ref
my $ghost = rand_id();
proto_refs($A, $ids[0], $ghost);
$f = proto_commit($A, 'home', $t0 + 120, $root, $meta);
is($f->{type}, T_ERROR, 'COMMIT with a ref never uploaded: ERROR');
is($f->{code}, E_INCOMPLETE, '... code 10');
like($f->{message}, qr/1 of \d+ referenced blobs/, "... counts them: '$f->{message}'");
ok(wait_closed($A), '... session closed');
$A = $gv->login('alice', $sa);
is(scalar(proto_list_all($A, '')), 2, 'no snapshot was added');
# a missing root is refused the same way
$f = proto_commit($A, 'home', $t0, rand_id(), $meta);
is($f->{code}, E_INCOMPLETE, 'COMMIT whose root is not stored: ERROR 10');
close $A;

# ---------------------------------------------------------------- limits
my @limits = (
    [ 'HAVE count 0', frame(T_HAVE, pack('N', 0)), E_LIMIT ],
    [ 'HAVE count 5000', ids_frame(T_HAVE, map { rand_id() } 1 .. 5000), E_LIMIT ],
    [ 'HAVE count 5000, ids not sent', frame(T_HAVE, pack('N', 5000)), E_LIMIT ],
    [ 'HAVE count 2 with 1 id', frame(T_HAVE, pack('N', 2) . rand_id()), E_MALFORMED ],
    [ 'GET count 0', frame(T_GET, pack('N', 0)), E_LIMIT ],
    [ 'GET count 4097', frame(T_GET, pack('N', 4097)), E_LIMIT ],
    [ 'REFS count 0', frame(T_REFS, pack('N', 0)), E_LIMIT ],
    [ 'PUT without blob bytes', frame(T_PUT, rand_id()), E_LIMIT ],
    [ 'COMMIT with a 65-byte set name', frame(T_COMMIT, pack('n/a* Q> a32 a32', 'x' x 65, 1, $root, $meta)), E_LIMIT ],
    [ 'COMMIT with an empty set name', frame(T_COMMIT, pack('n/a* Q> a32 a32', '', 1, $root, $meta)), E_LIMIT ],
    [ 'COMMIT with a set name "../x"', frame(T_COMMIT, pack('n/a* Q> a32 a32', '../x', 1, $root, $meta)), E_MALFORMED ],
    [ 'COMMIT truncated', frame(T_COMMIT, pack('n/a* Q>', 'home', 1)), E_MALFORMED ],
    [ 'LIST with trailing bytes', frame(T_LIST, pack('n/a* Q> C', '', 0, 1)), E_MALFORMED ],
    [ 'REGISTER token of 129 bytes', frame(T_REGISTER, pack('n/a*', 'x' x 129)), E_LIMIT ],
);
for my $l (@limits) {
    my $c = $gv->login('alice', $sa) or do { fail("login for $l->[0]"); next };
    GV::send_raw($c, $l->[1]);
    my $r = recv_frame($c, 5);
    is($r->{code}, $l->[2], "$l->[0]: ERROR $l->[2]") or diag explain $r;
    ok(wait_closed($c, 5), "$l->[0]: closed");
}

# more than 1,048,576 REFS for one snapshot
{
    my $c = $gv->login('alice', $sa);
    my $batch = ids_frame(T_REFS, map { rand_id() } 1 .. 4096);
    GV::send_raw($c, $batch) for 1 .. 256;
    ok(ping($c, 'refs-full'), '1,048,576 REFS accepted');
    GV::send_raw($c, ids_frame(T_REFS, rand_id()));
    my $r = recv_frame($c, 10);
    is($r->{code}, E_LIMIT, 'one more REF: ERROR 9');
    close $c;
}

ok(ping($gv->login('alice', $sa), 'still'), 'daemon serves after the limit errors');
like($gv->log_text, qr/client alice at 127\.0\.0\.1:\d+: error 9: limit exceeded/,
     'limit errors logged with client name and peer');
is($gv->stop, 0, 'clean stop');

# ---------------------------------------------- LIST paging, small frames
my $small = GV->start(Workers => 1, MaxFrame => 1024);
my $ss = enroll($small, 'carol');
my $C = $small->login('carol', $ss);
my $r0 = rand_id();
proto_put($C, $r0, 'tree');
my $set = 's' x 64;
for my $i (1 .. 25) {
    my $cf = proto_commit($C, $set, $t0 + $i, $r0, $r0);
    $cf->{snapshot} == $i or do { fail("commit $i"); diag explain $cf; last };
}
my ($after, @pages, @all) = (0);
while (1) {
    my $p = proto_list($C, '', $after);
    last unless ($p->{type} // -1) == T_SNAPSHOTS && $p->{count} > 0;
    push @pages, $p;
    push @all, @{ $p->{entries} };
    $after = $all[-1]{id};
    last if @pages > 30;
}
cmp_ok(scalar @pages, '>', 2, 'with MaxFrame 1024, 25 snapshots take several SNAPSHOTS frames (' . @pages . ')');
ok(!(grep { $_->{len} > 1024 } @pages), 'every SNAPSHOTS frame fits MaxFrame');
ok(!(grep { $_->{trailing} != 0 } @pages), 'every SNAPSHOTS frame parses exactly');
is_deeply([ map { $_->{id} } @all ], [ 1 .. 25 ], 'paging by "after" lists 1..25 once each, in order');
is($small->stop, 0, 'clean stop (small frames)');
done_testing;
