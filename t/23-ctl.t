#!/usr/bin/perl
# gigavaultctl against a running gigavaultd: client add/list/disable/
# enable/remove, snapshots and usage (tables and --json), exit statuses,
# and catalog files that stay owned by the daemon's user.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use GV;

my $gv = GV->start(Workers => 2);
my $J = JSON::PP->new;

sub ctl_json {
    my @a = @_;
    my ($st, $out, $err) = $gv->ctl(@a, '--json');
    is($st, 0, "gigavaultctl @a --json: exit 0") or diag $err;
    my $d = eval { $J->decode($out) };
    ok(ref $d eq 'ARRAY', "... prints a JSON array") or diag $out;
    return $d || [];
}

# ---------------------------------------------------------------- clients
my %tok = map { $_ => $gv->add_client($_) } qw(alice bob carol);
my ($st, $out, $err) = $gv->ctl('client', 'add', 'alice');
is($st, 1, 'client add of an existing name: exit 1');
like($err, qr/exists/, "... says so");
($st, $out, $err) = $gv->ctl('client', 'add', 'no/slash');
is($st, 2, 'client add with an invalid name: exit 2');
($st, $out, $err) = $gv->ctl('client', 'add', 'x' x 65);
is($st, 2, 'client add with a 65-byte name: exit 2');
for my $dots ('.', '..', '...') {
    ($st, $out, $err) = $gv->ctl('client', 'add', $dots);
    is($st, 2, "client add '$dots': exit 2");
    like($err, qr/not only dots/, '... says why');
}
($st) = $gv->ctl('client', 'add', 'a.b_c-D9');
is($st, 0, 'client add a.b_c-D9: exit 0');

my %sec;
for my $n (qw(alice bob)) {
    my ($c) = $gv->session;
    (undef, $sec{$n}) = proto_register($c, $tok{$n});
    close $c;
}
$gv->ctl('client', 'disable', 'carol');

my $cl = ctl_json('client', 'list');
is_deeply([ map { $_->{name} } @$cl ], [ qw(a.b_c-D9 alice bob carol) ], 'client list: every client, by name');
my %c = map { $_->{name} => $_ } @$cl;
ok($c{alice}{registered} && !$c{alice}{disabled}, 'alice: registered, enabled');
ok(!$c{carol}{registered} && $c{carol}{disabled}, 'carol: not registered, disabled');
ok(abs($c{bob}{created} - time) < 60, 'created is a Unix time');
($st, $out) = $gv->ctl('client', 'list');
like($out, qr/^NAME\s+ID\s+STATE/m, 'client list: table header');
like($out, qr/^carol\s+\d+\s+disabled\s+no\b/m, 'client list: carol disabled, not enrolled');

# ------------------------------------------------------ data for reports
my %blob = map { rand_id() => 'x' x (1000 * $_) } 1 .. 4;
my @ids = sort keys %blob;
my $A = $gv->login('alice', $sec{alice}) or BAIL_OUT('login');
proto_put($A, $_, $blob{$_}) for @ids;
proto_refs($A, @ids);
my $s1 = proto_commit($A, 'home', 1700000000, $ids[0], $ids[1]);
proto_refs($A, @ids);
my $s2 = proto_commit($A, 'home', 1700000100, $ids[0], $ids[1]);
close $A;
is($s2->{snapshot}, 2, 'alice has two snapshots of the same 4 blobs');
my $total = 0;
$total += length $blob{$_} for @ids;

my $sn = ctl_json('snapshots');
is(scalar @$sn, 2, 'snapshots: 2 in all');
# A version 1 commit: no files, its size is the stored bytes of its REFS.
is_deeply([ map { [ @$_{qw(client id set files size new_bytes)} ] } @$sn ],
          [ [ 'alice', 1, 'home', 0, $total, $total ], [ 'alice', 2, 'home', 0, $total, 0 ] ],
          'snapshots: client, id, set, files, size, new bytes');
is($sn->[0]{root}, unpack('H*', $ids[0]), 'snapshots: root id in hex');
is(scalar @{ ctl_json('snapshots', 'bob') }, 0, 'snapshots bob: none');
($st, $out, $err) = $gv->ctl('snapshots', 'nobody-here');
is($st, 1, 'snapshots of an unknown client: exit 1');
like($err, qr/no client named/, "... says so");
($st, $out) = $gv->ctl('snapshots', 'alice');
like($out, qr/^alice\s+2\s+home\s+2023-11-14T22:\d\d:\d\dZ\s+0\s+$total\s+0$/m, 'snapshots table row');

my $us = ctl_json('usage');
my ($ua) = grep { $_->{client} eq 'alice' } @$us;
is($ua->{snapshots}, 2, 'usage: alice 2 snapshots');
is($ua->{size}, 2 * $total, 'usage: size = sum of snapshot sizes');
is($ua->{unique_bytes}, $total, 'usage: unique = sum of indexed blob lengths');
is($ua->{blobs}, 6, 'usage: 6 blobs (4 and two legacy nodes)');
ok(abs($ua->{dedup_ratio} - 2) < 1e-9, 'usage: dedup ratio 2');
my ($ub) = grep { $_->{client} eq 'bob' } @$us;
ok(!defined $ub->{dedup_ratio}, 'usage: no ratio without data (null)');
($st, $out) = $gv->ctl('usage');
like($out, qr/^alice\s+2\s+@{[2 * $total]}\s+$total\s+6\s+2\.00x$/m, 'usage table row');

# ------------------------------------------------------- usage errors
for my $bad ([], ['client'], ['client', 'frob', 'x'], ['client', 'add'],
             ['client', 'add', 'a', 'b'], ['usage', 'x'], ['client', 'add', '--json', 'z'],
             ['snapshots', 'a', 'b'], ['frob']) {
    ($st, $out, $err) = $gv->ctl(@$bad);
    is($st, 2, "gigavaultctl @$bad: exit 2");
    like($err, qr/^usage:/, '... prints usage');
}
{
    local $GV::BIN = $GV::CTL;
    my $file = $gv->dir . '/missing.conf';
    ($st, $out, $err) = GV::run_daemon(['-f', $file, 'client', 'list'], 10);
    is($st, 2, 'missing config file: exit 2');
    like($err, qr/missing\.conf/, '... names the file');
}

# ------------------------------------------------------ remove, ownership
($st) = $gv->ctl('client', 'remove', 'alice');
is($st, 0, 'client remove alice');
($st, undef, $err) = $gv->ctl('client', 'remove', 'alice');
is($st, 1, 'removing again: exit 1');
is(scalar @{ ctl_json('snapshots') }, 0, 'her snapshots are gone');
ok(!(grep { $_->{client} eq 'alice' } @{ ctl_json('usage') }), 'and her usage row');
($st, undef, $err) = $gv->ctl('client', 'disable', 'alice');
is($st, 1, 'disable of an unknown client: exit 1');

my $cat = $gv->cfg->{Server}{DataDir} . '/catalog';
my @own = map { (stat $_)[4] } glob("$cat/*");
my $duid = (stat $gv->cfg->{Server}{DataDir})[4];
ok(@own && !(grep { $_ != $duid } @own), 'catalog files belong to the DataDir owner (uid ' . $duid . ')');
SKIP: {
    skip 'not root', 1 unless $> == 0;
    isnt($duid, 0, 'as root, the daemon user is not root (gigavaultctl switched to it)');
}
is($gv->stop, 0, 'clean stop');
done_testing;
