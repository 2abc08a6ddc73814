#!/usr/bin/perl
# gigavault forget and verify against a real gigavaultd: usage errors;
# the --keep plan of a dry run (which changes nothing); forget by id is
# refused by the server's default policy (keep everything) until the
# administrator allows the client to forget; --keep-last 2 over 4
# snapshots removes the 2 oldest; the newest of a set is never removed by
# rules; verify checks every blob of a clean snapshot once, --sample 10
# fewer data blobs, and after bytes of
# the packs are flipped names the damaged files and exits 1.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use GV;
use GVClient;

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'fv');
my ($rc, $out, $err);
my $json = JSON::PP->new;

sub run_json {
    my (@args) = @_;
    my ($rc, $out, $err) = $cl->run(@args, '--json');
    my $d = eval { $json->decode($out) };
    diag("not JSON: $out\n$err") if !$d;
    return ($rc, $d, $err);
}

sub ids_of { map { $_->{id} } $cl->snapshots(@_) }

# --- usage errors: exit 2, nothing sent
($rc, $out, $err) = $cl->run('forget');
is($rc, 2, 'forget without snapshots or rules: exit 2');
like($err, qr/usage: gigavault forget/, '... with its usage');
($rc, $out, $err) = $cl->run('forget', '--keep-last', '2', '1');
is($rc, 2, 'forget with both rules and ids: exit 2');
like($err, qr/not both/, '... said so');
($rc, $out, $err) = $cl->run('forget', '--keep-daily', 'x');
is($rc, 2, 'a --keep count that is not a number: exit 2');
like($err, qr/--keep-daily "x"/, '... named');
($rc, $out, $err) = $cl->run('forget', '--keep-last', '4294967296');
is($rc, 2, 'a --keep count above 2^32-1: exit 2');
($rc, $out, $err) = $cl->run('forget', 'yesterday');
is($rc, 2, 'forget of a bad snapshot name: exit 2');
like($err, qr/"yesterday" is not a snapshot id/, '... named');
($rc, $out, $err) = $cl->run('forget', 'latest');
is($rc, 2, 'forget latest with no snapshot: exit 2');
for my $bad ('0', '101', 'x', '-5', 'nan') {
    ($rc, $out, $err) = $cl->run('verify', '--sample', $bad);
    is($rc, 2, "verify --sample $bad: exit 2");
}
($rc, $out, $err) = $cl->run('verify', '1', '2');
is($rc, 2, 'verify of two snapshots: exit 2');
($rc, $out, $err) = $cl->run('verify');
is($rc, 2, 'verify with no snapshot yet: exit 2');
like($err, qr/no snapshot yet/, '... said so');

# --- data: 60 files of 100 KB (one chunk each), 5 snapshots of set
# "daily", one of set "other"
my $src = $gv->dir . '/src';
make_path("$src/d1", "$src/d2");
for my $i (1 .. 60) {
    GVClient::_spit_bytes("$src/d" . ($i % 2 + 1) . "/f$i",
                          GVClient::pseudo_bytes(100_000, "fv$i"));
}
my @daily;
for my $n (1 .. 5) {
    GVClient::_spit_bytes("$src/changing", "version $n\n");
    ($rc, $out, $err) = $cl->run('backup', '--set', 'daily', $src);
    is($rc, 0, "backup $n of set daily") or diag($err);
    push @daily, $out =~ /snapshot (\d+) saved/;
}
is(scalar @daily, 5, 'five snapshot ids');
($rc, $out, $err) = $cl->run('backup', '--set', 'other', "$src/d1");
is($rc, 0, 'backup of set other') or diag($err);
my ($other) = $out =~ /snapshot (\d+) saved/;

# --- dry runs: the plan, and nothing changes
my $plan;
($rc, $plan, $err) = run_json('forget', '--dry-run', '--set', 'daily', '--keep-last', '2');
is($rc, 0, 'forget --dry-run --keep-last 2: exit 0') or diag($err);
ok($plan->{dry_run}, '... says it is a dry run');
my %act = map { $_->{id} => $_->{action} } @{ $plan->{snapshots} || [] };
is_deeply(\%act, { map({ $_ => 'remove' } @daily[0 .. 2]),
                   map({ $_ => 'keep' } @daily[3, 4]) },
          '... keeps the 2 newest of set daily, would remove the rest');
my %why = map { $_->{id} => $_->{why} } @{ $plan->{snapshots} || [] };
is($why{ $daily[4] }, 'last', '... why: "last"');
is_deeply([ids_of('--set', 'daily')], \@daily, '... and nothing was removed');

($rc, $out, $err) = $cl->run('forget', '--dry-run', '--keep-last', '1');
is($rc, 0, 'dry run over every set: exit 0') or diag($err);
like($out, qr/^set daily: 5 snapshots, keep 1, remove 4$/m, '... plans set daily');
like($out, qr/^set other: 1 snapshots, keep 1, remove 0$/m, '... and set other, whose only snapshot stays');
like($out, qr/^  keep\s+$daily[4]\s.*\blast$/m, '... naming each snapshot and why');
like($out, qr/^  remove\s+$daily[0]\s/m, '... and those to remove');
like($out, qr/^dry run: nothing removed$/m, '... and that nothing was removed');
is(scalar(my @all = ids_of()), 6, '... all 6 snapshots are still there');

($rc, $out, $err) = $cl->run('forget', '--dry-run', '--keep-daily', '1', '--keep-yearly', '3');
like($out, qr/^  keep\s+$daily[4]\s.*\bdaily,yearly$/m, 'why lists every rule that keeps a snapshot');

($rc, $out, $err) = $cl->run('forget', '--dry-run', $daily[0], '999', 'latest');
is($rc, 1, 'dry run by id with an unknown id: exit 1');
like($out, qr/^snapshot $daily[0]: would be removed$/m, '... a known id would be removed');
like($out, qr/^snapshot 999: no such snapshot$/m, '... an unknown one is named');
like($out, qr/^snapshot $other: would be removed$/m, '... latest is the newest of all sets');
($rc, $out, $err) = $cl->run('forget', '--dry-run', '--set', 'daily', 'latest', $other);
like($out, qr/^snapshot $daily[4]: would be removed$/m, 'latest with --set is the newest of the set');
like($out, qr/^snapshot $other: no such snapshot$/m, '... and an id of another set is not taken');
is(scalar(@all = ids_of()), 6, 'dry runs changed nothing');

# --- verify a clean snapshot: every blob once
my @snaps = $cl->snapshots('--set', 'daily');
my $v;
($rc, $v, $err) = run_json('verify', '--set', 'daily');
is($rc, 0, 'verify of a clean snapshot: exit 0') or diag($err);
is($v->{snapshot}, $daily[4], '... the newest of the set by default');
ok($v->{data_total} >= 60, "... $v->{data_total} data chunks found");
is($v->{data_checked}, $v->{data_total}, '... and all of them checked');
my $ntrees = 3 + scalar(grep { length } split m{/}, $src);
is($v->{trees}, $ntrees, "... $ntrees trees (/, each directory down to src, d1, d2)")
    or diag(explain($v));
is($v->{meta}, 1, '... the meta blob');
is($v->{blobs_checked}, 1 + $ntrees + $v->{data_total},
   '... each blob once: the meta blob, the trees and the distinct chunks');
is($v->{damaged} + $v->{missing}, 0, '... none damaged');
($rc, $out, $err) = $cl->run('verify', $daily[0]);
is($rc, 0, 'verify of an older snapshot by id: exit 0') or diag($err);
like($out, qr/^snapshot $daily[0]: checked \d+ blobs .*: no damage found$/m, '... text summary');

my $s;
($rc, $s, $err) = run_json('verify', '--sample', '10', $daily[4]);
is($rc, 0, 'verify --sample 10: exit 0') or diag($err);
is($s->{data_total}, $v->{data_total}, '... the same chunks found');
ok($s->{data_checked} >= 1 && $s->{data_checked} < $v->{data_checked} / 5,
   "... $s->{data_checked} of $s->{data_total} data chunks checked");
is($s->{trees}, $v->{trees}, '... every tree still checked');

# --- forget on the server
my ($crc, $cout, $cerr) = GVClient::ctl($gv, 'client', 'allow-forget', 'nobody-at-all');
SKIP: {
    # An older gigavaultctl answers its usage, without allow-forget in it.
    skip 'the server has no FORGET yet (gigavaultctl client allow-forget unknown)', 20
        if "$cout$cerr" =~ /usage:/ && "$cout$cerr" !~ /allow-forget/;

    my $r;
    ($rc, $out, $err) = $cl->run('forget', $daily[0]);
    is($rc, 1, 'forget by id, server policy keeps everything: exit 1') or diag($err);
    like($out, qr/^snapshot $daily[0]: kept by the server's retention policy$/m, '... said so');
    is(scalar(@all = ids_of()), 6, '... nothing removed');
    ($rc, $r, $err) = run_json('forget', '--keep-last', '1', '--set', 'daily');
    is($rc, 1, 'forget --keep-last, refused by the server: exit 1');
    is($r->{refused}, 4, '... 4 refused in --json') or diag(explain($r));

    ($crc, $cout, $cerr) = GVClient::ctl($gv, 'client', 'allow-forget', 'fv');
    is($crc, 0, 'gigavaultctl client allow-forget fv') or diag($cerr);
    ($rc, $out, $err) = $cl->run('forget', $daily[0], '999');
    is($rc, 1, 'forget of an id and an unknown id: exit 1') or diag($err);
    like($out, qr/^snapshot $daily[0]: removed$/m, '... the id removed');
    like($out, qr/^snapshot 999: no such snapshot$/m, '... the unknown one named');
    is_deeply([ids_of('--set', 'daily')], [@daily[1 .. 4]], '... gone from snapshots');

    ($rc, $r, $err) = run_json('forget', '--set', 'daily', '--keep-last', '2');
    is($rc, 0, 'forget --keep-last 2 over 4 snapshots: exit 0') or diag($err);
    is($r->{removed}, 2, '... 2 removed') or diag(explain($r));
    is_deeply([ids_of('--set', 'daily')], [@daily[3, 4]], '... the 2 oldest');
    is_deeply([ids_of('--set', 'other')], [$other], '... set other untouched');

    ($rc, $out, $err) = $cl->run('forget', '--set', 'daily', '--keep-yearly', '1');
    is($rc, 0, 'forget --keep-yearly 1: exit 0') or diag($err);
    is_deeply([ids_of('--set', 'daily')], [$daily[4]], '... keeps only the newest');
    ($rc, $out, $err) = $cl->run('forget', '--keep-last', '1');
    is($rc, 0, 'forget --keep-last 1 over sets of one snapshot: exit 0');
    is_deeply([ids_of()], [$daily[4], $other], '... the newest of each set is never removed')
        or diag($out);
    ($rc, $out, $err) = $cl->run('verify', '--set', 'daily');
    is($rc, 0, 'verify after forget: exit 0') or diag($err);
    ($rc, $out, $err) = $cl->run('forget', $daily[0]);
    like($out, qr/^snapshot $daily[0]: no such snapshot$/m, 'a forgotten snapshot cannot be forgotten again');
}

# --- a hostile server's FORGOTTEN: every answer is checked
{
    require IO::Socket::INET;
    my $st = $json->decode(GV::_slurp($cl->dir . '/state.json'));
    my $sid = pack('H*', $st->{server_id});
    my $lsn = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Listen => 8, ReuseAddr => 1) or die "listen: $!";
    my $port = $lsn->sockport;
    my $frame = sub { my ($type, $p) = @_; pack('N n n', length $p, $type, 0) . $p };
    my $ok = sub { my $ids = shift; join '', map { pack('Q> C', $_, $ids->{$_}) } 5, 6, 7 };
    # What the fake server answers to FORGET of ids 5, 6, 7.
    my @answers = (
        [ good      => pack('N', 3) . $ok->({ 5 => 0, 6 => 1, 7 => 2 }) ],
        [ count     => pack('N', 2) . $ok->({ 5 => 0, 6 => 0, 7 => 0 }) ],
        [ shortcnt  => pack('N', 3) . substr($ok->({ 5 => 0, 6 => 0, 7 => 0 }), 0, 18) ],
        [ trailing  => pack('N', 3) . $ok->({ 5 => 0, 6 => 0, 7 => 0 }) . "x" ],
        [ wrongid   => pack('N', 3) . pack('Q> C', 5, 0) . pack('Q> C', 8, 0) . pack('Q> C', 7, 0) ],
        [ badresult => pack('N', 3) . $ok->({ 5 => 0, 6 => 3, 7 => 0 }) ],
        [ hugecount => pack('N', 0xffffffff) . $ok->({ 5 => 0, 6 => 0, 7 => 0 }) ],
        [ empty     => '' ],
    );
    my $pid = fork // die;
    if (!$pid) {
        for my $a (@answers) {
            my $c = $lsn->accept or POSIX::_exit(1);
            my $read = sub {
                my ($h, $p) = ('', '');
                while (length $h < 8) { $c->sysread($h, 8 - length $h, length $h) or return }
                my ($len, $type) = unpack('N n', $h);
                while (length $p < $len) { $c->sysread($p, $len - length $p, length $p) or return }
                return ($type, $p);
            };
            while (my ($type) = $read->()) {
                my $out;
                if ($type == 0x0001) { $out = $frame->(0x0002, 'GVLT' . pack('n', 1) . $sid . pack('n/a*', 'fake')) }
                elsif ($type == 0x0012) { $out = $frame->(0x0013, "\0" x 32) }
                elsif ($type == 0x0014) { $out = $frame->(0x0015, '') }
                elsif ($type == 0x0030) { $out = $frame->(0x0031, pack('N', 0)) }
                elsif ($type == 0x0026) { $out = $frame->(0x0027, $a->[1]) }
                elsif ($type == 0x0005) { $c->syswrite($frame->(0x0005, '')); last }
                else { last }
                $c->syswrite($out);
            }
            close $c;
        }
        POSIX::_exit(0);
    }
    close $lsn;
    for my $a (@answers) {
        ($rc, $out, $err) = $cl->run('-s', "127.0.0.1:$port", 'forget', 5, 6, 7);
        if ($a->[0] eq 'good') {
            is($rc, 1, 'fake server: removed, refused, unknown: exit 1') or diag($err);
            like($out, qr/^snapshot 5: removed\nsnapshot 6: kept by the server's retention policy\nsnapshot 7: no such snapshot$/m,
                 '... one line per snapshot, in order');
        } else {
            is($rc, 2, "fake server, FORGOTTEN $a->[0]: exit 2");
            like($err, qr/FORGOTTEN frame/, '... a FORGOTTEN frame refused') or diag($err);
        }
    }
    waitpid($pid, 0);
    is($?, 0, 'the fake server served every case');
}

# --- damage: flip bytes in the middle of every large pack
{
    my @packs = GVClient::damage_packs($gv);
    ok(@packs, 'large packs exist');
    ($rc, $out, $err) = $cl->run('verify', '--set', 'daily');
    is($rc, 1, 'verify of damaged data: exit 1') or diag("$out\n$err");
    like($err, qr{^gigavault: \Q$src\E/d[12]/f\d+: data blob [0-9a-f]{64}: }m,
         '... naming a damaged file and its blob') or diag($err);
    like($out, qr/: [1-9]\d* damaged, \d+ missing$|: \d+ damaged, [1-9]\d* missing$/m,
         '... counted in the summary');
    my $d;
    ($rc, $d, $err) = run_json('verify', '--set', 'daily');
    is($rc, 1, 'verify --json of damaged data: exit 1');
    ok(@{ $d->{problems} || [] } >= 1 && $d->{damaged} + $d->{missing} == @{ $d->{problems} },
       '... one problem per damaged blob');
    ok(!grep({ !@{ $_->{paths} } } @{ $d->{problems} || [] }), '... each with the paths that use it');
    is($d->{blobs_checked} + $d->{damaged} + $d->{missing}, $v->{blobs_checked},
       '... every blob counted once, good or bad');
}

is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
