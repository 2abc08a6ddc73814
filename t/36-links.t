#!/usr/bin/perl
# Protocol version 3 and store format 2 end to end: PUT_LINKED stores a
# blob with its links and is refused (ERROR 10) while a link is not
# stored; COMMIT names root and meta with the snapshot's files and size
# and REFS is unexpected; LIST has the version 3 entries; GET answers
# LBLOB with the links (BLOB to a version 1 session); prune keeps what a
# snapshot reaches through links and frees an unreachable subtree.
# Then the shipped client, which speaks version 2 (REFS, a legacy node
# on the server), backs up, forgets, prunes and restores.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path);
use Test::More;
use GV;
use GVClient;

use constant { T_PUT_LINKED => 0x0028, T_LBLOB => 0x0035 };

my $gv = GV->start(Workers => 2, 'Prune.GraceSeconds' => 0, 'Prune.Interval' => 0);
my ($c) = $gv->session;
my (undef, $secret) = proto_register($c, $gv->add_client('alice'));
close $c;
$gv->ctl('client', 'allow-forget', 'alice');

sub rnd { pack('C*', map { int rand 256 } 1 .. $_[0]) }

# A version 3 session of alice, after AUTH_OK.
sub login3 {
    my ($s, $h) = $gv->session(min => 1, max => 3);
    die "hello: no version 3\n" unless ($h->{version} // 0) == 3;
    my $f = proto_auth($s, 'alice', $secret, $h->{id_raw});
    die "login failed\n" unless ($f->{type} // 0) == T_AUTH_OK;
    return $s;
}

sub put_linked {
    my ($s, $id, $links, $bytes) = @_;
    return send_frame($s, T_PUT_LINKED, $id . pack('N', scalar @$links) . join('', @$links) . $bytes);
}

sub commit3 {
    my ($s, $set, $time, $root, $meta, $files, $size) = @_;
    send_frame($s, T_COMMIT, pack('n/a* Q> a32 a32 Q> Q>', $set, $time, $root, $meta, $files, $size));
    return recv_frame($s, 30);
}

# The version 3 SNAPSHOTS entries of one LIST.
sub list3 {
    my ($s) = @_;
    send_frame($s, T_LIST, pack('n/a* Q>', '', 0));
    my $f = recv_frame($s, 10);
    return unless ($f->{type} // 0) == T_SNAPSHOTS;
    my $p = $f->{payload};
    my ($n, $off, @e) = (unpack('N', $p), 4);
    for (1 .. $n) {
        my ($id, $set) = unpack("x$off Q> n/a*", $p);
        $off += 10 + length $set;
        my %e = (id => $id, set => $set);
        @e{qw(time root meta files size new_bytes)} = unpack("x$off Q> a32 a32 Q> Q> Q>", $p);
        $off += 8 + 64 + 24;
        push @e, \%e;
    }
    return { entries => \@e, trailing => length($p) - $off };
}

my %bytes;
my ($d1, $d2, $d3, $S, $R, $M) = map { rand_id() } 1 .. 6;
$bytes{$_} = rnd(2000) for $d1, $d2, $d3, $S, $R, $M;

# ----------------------------------------------------- PUT_LINKED, COMMIT
my $A = login3();
is(scalar(proto_have($A, $d1, $S)), 2, 'version 3 session: HAVE as before');
proto_put($A, $_, $bytes{$_}) for $d1, $d2, $d3, $M;
put_linked($A, $S, [ $d1, $d2 ], $bytes{$S});
put_linked($A, $R, [ $S, $d3 ], $bytes{$R});
ok(ping($A), 'PUT_LINKED of a subtree and a root linking to it (pending links count)');
my $f = commit3($A, 'home', 1700000000, $R, $M, 3, 123456);
is($f->{type}, T_COMMITTED, 'COMMIT (version 3): COMMITTED') or diag explain $f;
my $l = list3($A);
is($l->{trailing}, 0, 'LIST: version 3 entries fill the frame');
my $e = $l->{entries}[0] // {};
is_deeply([ @$e{qw(id set time root meta files size new_bytes)} ],
          [ 1, 'home', 1700000000, $R, $M, 3, 123456, 6 * 2000 ],
          'LIST entry: id, set, time, root, meta, files, size, new bytes');

my @got = proto_get($A, $d1);
is($got[0]{type}, T_BLOB, 'GET of a plain blob: BLOB');
send_frame($A, T_GET, pack('N', 1) . $R);
$f = recv_frame($A, 10);
is($f->{type}, T_LBLOB, 'GET of a linked blob: LBLOB');
my ($id, $n) = unpack('a32 N', $f->{payload} // '');
is_deeply([ $id, $n, [ unpack("x36 (a32)$n", $f->{payload}) ], substr($f->{payload}, 36 + 32 * $n) ],
          [ $R, 2, [ $S, $d3 ], $bytes{$R} ], 'LBLOB: id, its links in order, its bytes');

proto_refs($A, $d1);
$f = recv_frame($A, 10);
is($f->{code}, E_UNKNOWN_TYPE, 'REFS in version 3: ERROR 3') or diag explain $f;
close $A;

# ------------------------------------------------------------- refusals
my $X = rand_id();
$A = login3();
put_linked($A, rand_id(), [ $d1, $X ], 'page');
$f = recv_frame($A, 10);
is($f->{code}, E_INCOMPLETE, 'PUT_LINKED with a link not stored: ERROR 10');
like($f->{message} // '', qr/^PUT_LINKED: 1 linked blob is not stored/, "... '$f->{message}'");
close $A;
$A = login3();
put_linked($A, rand_id(), [], 'page');
$f = recv_frame($A, 10);
is($f->{code}, E_MALFORMED, 'PUT_LINKED without links: ERROR 1');
close $A;
$A = login3();
send_frame($A, T_PUT_LINKED, rand_id() . pack('N', 2) . $d1 . $d2);
$f = recv_frame($A, 10);
is($f->{code}, E_MALFORMED, 'PUT_LINKED without blob bytes: ERROR 1');
close $A;
$A = login3();
$f = commit3($A, 'home', 1700000000, $X, $M, 0, 0);
is($f->{code}, E_INCOMPLETE, 'COMMIT naming a root not stored: ERROR 10');
close $A;
$A = $gv->login('alice', $secret) or BAIL_OUT('login');
put_linked($A, rand_id(), [ $d1 ], 'page');
$f = recv_frame($A, 10);
is($f->{code}, E_UNKNOWN_TYPE, 'PUT_LINKED in a version 1 session: ERROR 3');
close $A;
$A = $gv->login('alice', $secret) or BAIL_OUT('login');
@got = proto_get($A, $R);
ok(($got[0]{type} // 0) == T_BLOB && $got[0]{blob} eq $bytes{$R},
   'a version 1 session gets a linked blob as BLOB, its bytes only');
close $A;

# ----------------------------------------------------------------- prune
# An unreachable subtree U -> (u1, d1): U and u1 go, d1 stays.
my ($U, $u1) = (rand_id(), rand_id());
$A = login3();
proto_put($A, $u1, rnd(100));
put_linked($A, $U, [ $u1, $d1 ], rnd(100));
ok(ping($A), 'an unreachable subtree');
my $lport = $A->sockport;
close $A;
# The worker indexes what a session uploaded when the session ends.
like($gv->session_end($lport, 10) // '', qr/client closed/, '... indexed when its session ended');
my ($st, $out, $err) = $gv->ctl('prune');
is($st, 0, 'prune: exit 0') or diag $err;
like($out, qr/^freed 2 unreachable blobs/m, 'prune freed the unreachable subtree (2 blobs)') or diag $out;
$A = login3();
is_deeply([ sort(proto_have($A, $R, $S, $d1, $d2, $d3, $M, $U, $u1)) ], [ sort($U, $u1) ],
          '... and kept everything the snapshot reaches, through two levels of links');
$f = proto_forget($A, 1);
is_deeply($f->{results}, { 1 => 0 }, 'forget the snapshot');
close $A;
($st, $out) = $gv->ctl('prune');
like($out, qr/^freed 6 unreachable blobs/m, 'prune after the forget frees all 6') or diag $out;
($st, $out) = $gv->ctl('scrub');
is($st, 0, 'scrub: clean') or diag $out;

# ------------------------------------ the shipped client (version 2, REFS)
my $cl = GVClient->new($gv, 'bob');
$gv->ctl('client', 'allow-forget', 'bob');
my $src = $gv->dir . '/src';
make_path($src);
GVClient::make_tree($src);
($st, $out, $err) = $cl->run('backup', $src);
is($st, 0, 'client backup (version 2: REFS and a legacy node)') or diag $err;
GVClient::_spit_bytes("$src/changed.bin", GVClient::pseudo_bytes(300000, 7));
($st, $out, $err) = $cl->run('backup', $src);
is($st, 0, 'a second backup after a change') or diag $err;
my @snaps = $cl->snapshots;
is(scalar @snaps, 2, 'two snapshots');
($st, $out, $err) = $cl->run('forget', $snaps[0]{id});
is($st, 0, 'forget the first') or diag "$out$err";
($st, $out, $err) = $gv->ctl('prune');
is($st, 0, 'prune') or diag $err;
like($out, qr/^freed \d+ unreachable blobs/m, '... frees what only the first reached (its legacy node at least)')
    or diag $out;
my $target = $gv->dir . '/restore';
($st, $out, $err) = $cl->run('restore', '--target', $target, 'latest');
is($st, 0, 'restore of the second after the prune') or diag $err;
my @diff = GVClient::compare_trees($src, "$target$src");
is(scalar @diff, 0, 'restored tree is identical') or diag(join "\n", @diff);
($st, $out, $err) = $cl->run('verify', 'latest');
is($st, 0, 'verify: every blob of the snapshot is there') or diag "$out$err";
($st, $out) = $gv->ctl('scrub');
is($st, 0, 'scrub: clean') or diag $out;

is($gv->stop, 0, 'clean stop');
done_testing;
