#!/usr/bin/perl
# Interrupted backups: a session that PUTs and disconnects without COMMIT
# leaves no snapshot, and the next session's HAVE finds its blobs; a
# worker killed with SIGKILL in the middle of uploads leaves no snapshot
# and no index entry pointing at missing bytes, the daemon keeps serving
# and the catalog still opens.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

my $gv = GV->start(Workers => 2, MaxFrame => 1 << 20);
my ($c, $h) = $gv->session;
my (undef, $secret) = proto_register($c, $gv->add_client('alice'));
close $c;

sub blobs {
    my ($n, $max) = @_;
    my %b;
    $b{ rand_id() } = pack('C*', map { int rand 256 } 1 .. 1 + int rand $max) for 1 .. $n;
    return %b;
}

# ------------------------------------------- disconnect without COMMIT
my %b = blobs(40, 20000);
my @ids = sort keys %b;
$c = $gv->login('alice', $secret) or BAIL_OUT('login');
is(scalar(proto_have($c, @ids)), 40, 'all 40 missing at first');
proto_put($c, $_, $b{$_}) for @ids;
ok(ping($c, 'sync'), 'PUTs done (PING answered after them)');
my $lport = $c->sockport;
close $c;
like($gv->session_end($lport) // '', qr/client closed/, 'session ended by the client, no COMMIT');

$c = $gv->login('alice', $secret);
is(scalar(proto_list_all($c, '')), 0, 'no snapshot after a session without COMMIT');
is(scalar(proto_have($c, @ids)), 0, "the next session's HAVE finds every blob of the cut session");
my @got = proto_get($c, @ids);
ok(!(grep { ($_->{type} // 0) != T_BLOB || $_->{blob} ne $b{ $_->{id} } } @got),
   'and GET returns their bytes');
proto_refs($c, @ids);
my $f = proto_commit($c, 'home', 1, $ids[0], $ids[1]);
is($f->{type}, T_COMMITTED, 'a commit reusing them succeeds without re-upload');
close $c;

my ($st, $out) = $gv->ctl('usage', '--json');
my $u = eval { JSON::PP->new->decode($out) } || [];
is($u->[0]{blobs}, 41, 'usage: 41 blobs indexed (40 and the legacy node of the commit), none twice');

# ------------------------------------------------ SIGKILL during uploads
my %k = blobs(300, 60000);
my @kids = sort keys %k;
$c = $gv->login('alice', $secret) or BAIL_OUT('login');
$lport = $c->sockport;
my $worker;
wait_until(sub {
    my $s = $gv->status or return;
    ($worker) = map { $_->{pid} } grep { ($_->{peer} // '') eq "127.0.0.1:$lport" } @{ $s->{workers} };
    $worker;
}, 5);
ok($worker, "found the worker serving the session (pid $worker)");
my $i = 0;
for my $id (@kids) {
    proto_put($c, $id, $k{$id});
    kill 'KILL', $worker if ++$i == 150;
    last if $i > 150 && !$c->connected;
}
proto_refs($c, @kids);
proto_commit($c, 'home', 2, $kids[0], $kids[1]);
close $c;
ok(wait_until(sub { !GV::pid_alive($worker) }, 5), 'the worker is gone');
ok($gv->log_like(qr/killed by signal 9/, 5), 'the supervisor saw the SIGKILL');
ok($gv->wait_ready(2, 10), 'a new worker replaced it');

$c = $gv->login('alice', $secret);
ok($c, 'the daemon keeps serving: login after the kill');
my @snaps = proto_list_all($c, '');
is(scalar @snaps, 1, 'no snapshot from the killed session');
my @missing = proto_have($c, @kids);
my %miss = map { $_ => 1 } @missing;
my @present = grep { !$miss{$_} } @kids;
@got = proto_get($c, @present);
ok(!(grep { ($_->{type} // 0) != T_BLOB || $_->{blob} ne $k{ $_->{id} } } @got),
   'every blob the index reports present after the kill reads back intact (' . scalar(@present) . ' of them)');
# finish the backup: upload what is missing, commit
proto_put($c, $_, $k{$_}) for @missing;
proto_refs($c, @kids);
$f = proto_commit($c, 'home', 3, $kids[0], $kids[1]);
is($f->{type}, T_COMMITTED, 'the retried backup commits');
@got = proto_get($c, @kids);
ok(!(grep { ($_->{type} // 0) != T_BLOB || $_->{blob} ne $k{ $_->{id} } } @got),
   'and all 300 blobs read back intact');
close $c;

($st, $out, my $err) = $gv->ctl('snapshots', '--json');
is($st, 0, 'gigavaultctl opens the catalog after the kill') or diag $err;
my $sn = eval { JSON::PP->new->decode($out) } || [];
is(scalar @$sn, 2, 'two snapshots in the catalog');
is($gv->stop, 0, 'clean stop');
done_testing;
