#!/usr/bin/perl
# What the web console's dashboard reads, end to end: a backup's
# snapshot keeps its file count (protocol version 2 COMMIT) and its new
# bytes; a version 1 COMMIT still works (files 0); every session is
# counted in the catalog's statistics of its day (gigavaultctl stats);
# the totals follow commits, forgets and prunes; DataDir/housekeeping.json
# records gigavaultctl prune and scrub, and the housekeeper's scheduled
# runs and plans, and survives a corrupt file and a run whose process
# died.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use File::Path qw(make_path);
use GV;
use GVClient;

my $gv = GV->start(Workers => 2, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
                   'Prune.GraceSeconds' => 0, 'Retention.KeepLast' => 1);
my $J = JSON::PP->new;
my $datadir = $gv->cfg->{Server}{DataDir};
my $hkfile = "$datadir/housekeeping.json";

sub ctl_json {
    my ($st, $out, $err) = $gv->ctl(@_, '--json');
    is($st, 0, "gigavaultctl @_ --json") or diag $err;
    return eval { $J->decode($out) } // {};
}
sub stats { my ($st, $out) = $gv->ctl('stats', '--json', @_); return eval { $J->decode($out) } }
sub day_sum {
    my ($s, $k) = @_;
    my $t = 0;
    $t += $_->{$k} for @{ $s->{days} || [] };
    return $t;
}
sub hk { return eval { $J->decode(GV::_slurp($hkfile)) } }

# ------------------------------------------------- a backup, files, bytes

my $s0 = stats();
ok($s0 && ref $s0->{days} eq 'ARRAY' && @{ $s0->{days} } == 14, 'stats: 14 days by default');
like($s0->{days}[-1]{day} // '', qr/^\d{4}-\d\d-\d\d$/, 'days are YYYY-MM-DD, today last');
is($s0->{clients}, 0, 'no clients yet');

my $cl = GVClient->new($gv, 'alice');
my $src = $gv->dir . '/src';
make_path("$src/sub");
for my $i (1 .. 5) {
    open my $fh, '>', "$src/" . ($i > 3 ? 'sub/' : '') . "f$i" or die;
    print $fh GVClient::pseudo_bytes(20000 + $i * 1000, $i);
    close $fh;
}
symlink('f1', "$src/link") or die;
my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'first backup') or diag $err;
($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'second backup, nothing changed') or diag $err;

my $sn = ctl_json('snapshots', 'alice');
is(scalar @$sn, 2, 'two snapshots');
is($sn->[0]{files}, 5, 'the first snapshot has the 5 files (the client said so)');
is($sn->[1]{files}, 5, 'so has the second');
ok($sn->[0]{new_bytes} > 0 && $sn->[0]{new_bytes} == $sn->[0]{size},
   "first snapshot: all its bytes are new ($sn->[0]{new_bytes})");
ok($sn->[1]{new_bytes} < $sn->[1]{size} / 2,
   "second snapshot: few new bytes ($sn->[1]{new_bytes} of $sn->[1]{size})");

# Sessions end (and are counted) after the client is gone: wait.
my $s1;
ok(wait_until(sub { $s1 = stats(); day_sum($s1, 'sessions') >= day_sum($s0, 'sessions') + 3 }, 10),
   'the register and two backup sessions are counted: ' . day_sum($s1, 'sessions'));
ok(day_sum($s1, 'bytes_in') > $sn->[0]{size}, 'bytes in counted: ' . day_sum($s1, 'bytes_in'));
ok(day_sum($s1, 'bytes_out') > 0, 'bytes out counted: ' . day_sum($s1, 'bytes_out'));
my $u = ctl_json('usage')->[0];
is($s1->{clients}, 1, 'totals: 1 client');
is($s1->{snapshots}, 2, 'totals: 2 snapshots');
is($s1->{size}, $u->{size}, "totals: size as usage ($u->{size})");
is($s1->{unique_bytes}, $u->{unique_bytes}, "totals: unique bytes as usage ($u->{unique_bytes})");
is($s1->{days}[-1]{unique_bytes}, $s1->{unique_bytes}, "today's unique bytes: the total after the last session");

# A version 1 session (the test library's hello says 1..1): no file count.
my $tok = $gv->add_client('bob');
my ($c) = $gv->session;
my (undef, $secret) = proto_register($c, $tok);
close $c;
my $B = $gv->login('bob', $secret) or BAIL_OUT('login bob');
my @ids = map { rand_id() } 1 .. 2;
proto_put($B, $_, 'x' x 1000) for @ids;
my $f = proto_commit($B, 'v1', 1700000000, @ids);
is($f->{type}, T_COMMITTED, 'a version 1 COMMIT (without files) is accepted');
close $B;
# Version 2: COMMIT ends with u64 files; without it the frame is malformed.
($B, my $h) = $gv->session(max => 2);
is($h->{version}, 2, 'hello 1..2: version 2');
is(proto_auth($B, 'bob', $secret, $h->{id_raw})->{type}, T_AUTH_OK, 'auth in version 2');
send_frame($B, T_COMMIT, pack('n/a* Q> a32 a32 Q>', 'v2', 1700000001, @ids, 42));
is(recv_frame($B, 10)->{type}, T_COMMITTED, 'a version 2 COMMIT with files 42');
send_frame($B, T_COMMIT, pack('n/a* Q> a32 a32', 'v2', 1700000002, @ids));
is(recv_frame($B, 10)->{code}, 1, 'a version 2 COMMIT without files: malformed (code 1)');
close $B;
my $bs = ctl_json('snapshots', 'bob');
is($bs->[0]{files}, 0, 'version 1 snapshot: files 0');
is($bs->[0]{new_bytes}, 2000, 'its new bytes: the two blobs its session wrote');
is($bs->[1]{files}, 42, 'version 2 snapshot: files 42');
is($bs->[1]{new_bytes}, 0, 'nothing new in it');

# ------------------------------------------- gigavaultctl prune and scrub

my $before = stats();
is($before->{snapshots}, 4, 'totals: 4 snapshots');
ok(!-e $hkfile || !defined hk()->{prune}{last}, 'no prune recorded yet');
my $t0 = time;
($rc, $out, $err) = $gv->ctl('prune');
is($rc, 0, "gigavaultctl prune (KeepLast 1 forgets alice's older snapshot)") or diag $err;
my $hk = hk();
ok($hk, 'housekeeping.json is JSON') or diag GV::_slurp($hkfile);
is((stat $hkfile)[2] & 07777, 0640, 'mode 0640');
my $p = $hk->{prune} || {};
ok(JSON::PP::is_bool($p->{running}) && !$p->{running}, 'prune: running false');
ok(!defined $p->{started} && !defined $p->{next}, 'prune: started and next null');
is($p->{last}{result}, 'ok', 'prune: last result ok');
ok($p->{last}{started} >= $t0 && $p->{last}{ended} >= $p->{last}{started}, 'prune: last started, ended');
is($p->{last}{snapshots_forgotten}, 1, 'prune: its counters (1 snapshot forgotten)');
ok(exists $p->{last}{blobs_freed} && exists $p->{last}{pack_bytes_after}, 'prune: the other counters');
ok(!defined $hk->{scrub}{last} && !$hk->{scrub}{running}, 'scrub: never ran');
my $after = stats();
is($after->{snapshots}, 3, 'totals after prune: 3 snapshots');
$u = ctl_json('usage');
my ($su, $uu) = (0, 0);
$su += $_->{size} for @$u;
$uu += $_->{unique_bytes} for @$u;
is($after->{size}, $su, "totals after prune: size as usage ($su)");
is($after->{unique_bytes}, $uu, "totals after prune: unique bytes as usage ($uu)");
ok($after->{unique_bytes} <= $before->{unique_bytes}, 'unique bytes did not grow');

($rc) = $gv->ctl('prune', '--dry-run');
is(hk()->{prune}{last}{ended}, $p->{last}{ended}, 'a dry run is not recorded');
($rc, $out, $err) = $gv->ctl('scrub');
is($rc, 0, 'gigavaultctl scrub') or diag $err;
is(hk()->{scrub}{last}{result}, 'ok', 'scrub: last result ok');
ok(hk()->{scrub}{last}{blobs_checked} > 0, 'scrub: its counters');
is(hk()->{prune}{last}{ended}, $p->{last}{ended}, 'the prune record stays');

# A corrupt file is replaced; a run left "running" by a dead process ends
# as interrupted when the next run starts.
GV::_spit($hkfile, "{not json");
($rc, $out, $err) = $gv->ctl('scrub');
is($rc, 0, 'scrub over a corrupt status file');
is(hk()->{scrub}{last}{result}, 'ok', 'the file is whole again');
my $stale = hk();
$stale->{prune}{running} = JSON::PP::true;
$stale->{prune}{started} = 1000;
GV::_spit($hkfile, $J->encode($stale));
($rc) = $gv->ctl('scrub');
$hk = hk();
is($hk->{prune}{last}{result}, 'interrupted', 'a prune whose process died: interrupted');
is($hk->{prune}{last}{started}, 1000, 'with its start');
ok(!$hk->{prune}{running}, 'and not running any more');

# ----------------------------------------------- the housekeeper's runs

my $log0 = length $gv->log_text;
$gv->reload('Prune.Interval' => 2, 'Scrub.Interval' => 0);
ok(wait_until(sub { my $x = hk(); $x && defined $x->{prune}{next} }, 15),
   'the housekeeper records when it prunes next');
ok(wait_until(sub { substr($gv->log_text, $log0) =~ /prune: done/ }, 20), 'it prunes on schedule');
ok(wait_until(sub { my $x = hk(); $x && ($x->{prune}{last}{message} // '') =~ /snapshots forgotten/ }, 10),
   'its run is recorded') or diag GV::_slurp($hkfile);
$hk = hk();
is($hk->{prune}{last}{result}, 'ok', 'result ok');
ok(defined $hk->{prune}{next} && $hk->{prune}{next} >= $hk->{prune}{last}{ended},
   'next: after the run (' . ($hk->{prune}{next} // 'null') . ')');
ok(!defined $hk->{scrub}{next}, 'scrub is not scheduled: next null');
$gv->reload('Prune.Interval' => 0);
ok(wait_until(sub { my $x = hk(); $x && !defined $x->{prune}{next} }, 15),
   'with Prune.Interval 0 again, next is null');

$gv->stop;
done_testing;
