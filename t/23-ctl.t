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
my ($st, $out, $err) = $gv->ctl('client', 'add', 'dave');
is($st, 0, 'client add dave');
like($out, qr/^[0-9a-f]{32}\n\z/, '... the token alone on stdout');
chomp(my $dtok = $out);
like($err, qr/^    gigavault register -s 127\.0\.0\.1:@{[ $gv->port ]} --token $dtok$/m,
     '... stderr: the register line, with Server.Listen and the port') or diag $err;
($st, $out, $err) = $gv->ctl('client', 'token', 'dave');
like($err, qr/gigavault register -s 127\.0\.0\.1:\d+ --token \Q$out\E/, 'client token: the same line');
$gv->ctl('client', 'remove', 'dave');
($st, $out, $err) = $gv->ctl('client', 'add', 'alice');
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
($st, $out) = $gv->ctl('snapshots', 'alice', '--bytes');
like($out, qr/^alice\s+2\s+home\s+2023-11-14T22:\d\d:\d\dZ\s+0\s+$total\s+0\s+-$/m, 'snapshots table row (--bytes; FLAGS "-")');
($st, $out) = $gv->ctl('snapshots', 'alice');
like($out, qr/^alice\s+1\s+home\s+2023-11-14T22:\d\d:\d\dZ\s+0\s+9\.8 KiB\s+9\.8 KiB\s+-$/m, 'snapshots table: sizes in KiB by default');
like($out, qr/^alice\s+2\s+.*\s9\.8 KiB\s+0 B\s+-$/m, '... and bytes below 1 KiB');

my $us = ctl_json('usage');
my ($ua) = grep { $_->{client} eq 'alice' } @$us;
is($ua->{snapshots}, 2, 'usage: alice 2 snapshots');
is($ua->{size}, 2 * $total, 'usage: size = sum of snapshot sizes');
is($ua->{unique_bytes}, $total, 'usage: unique = sum of indexed blob lengths');
is($ua->{blobs}, 6, 'usage: 6 blobs (4 and two legacy nodes)');
ok(abs($ua->{dedup_ratio} - 2) < 1e-9, 'usage: dedup ratio 2');
my ($ub) = grep { $_->{client} eq 'bob' } @$us;
ok(!defined $ub->{dedup_ratio}, 'usage: no ratio without data (null)');
($st, $out) = $gv->ctl('usage', '--bytes');
like($out, qr/^alice\s+2\s+@{[2 * $total]}\s+$total\s+6\s+2\.00x$/m, 'usage table row (--bytes)');
($st, $out) = $gv->ctl('usage');
like($out, qr/^alice\s+2\s+19\.5 KiB\s+9\.8 KiB\s+6\s+2\.00x$/m, 'usage table row: KiB by default');
($st, $out) = $gv->ctl('stats');
like($out, qr/^clients 4, snapshots 2, size 19\.5 KiB, unique bytes 9\.8 KiB$/m, 'stats: human sizes');
like($out, qr/^disk: [\d.]+ [KMGTPE]iB free of [\d.]+ [KMGTPE]iB, reserve [\d.]+ (?:[KMGTPE]i)?B: \w+$/m, 'stats: disk in binary units') or diag $out;
($st, $out) = $gv->ctl('stats', '--bytes');
like($out, qr/^clients 4, snapshots 2, size 20000, unique bytes 10000$/m, 'stats --bytes: raw numbers');
like($out, qr/^disk: \d+ free of \d+, reserve \d+: \w+$/m, '... the disk too');
($st, $out, $err) = $gv->ctl('client', 'disable', 'bob', '--bytes');
is($st, 2, '--bytes only where sizes are printed');
($st, $out, $err) = $gv->ctl('client', 'list', '--bytes');
is($st, 2, '... not client list');

# ----------------------------------------------------------------- status
my $hkfile = $gv->cfg->{Server}{DataDir} . '/housekeeping.json';
($st, $out, $err) = $gv->ctl('status');
is($st, 0, 'status: exit 0') or diag $err;
like($out, qr/^daemon: +running, pid @{[ $gv->pid ]}, version \d+\.\d+\.\d+, up \d+/m, 'status: the daemon, its pid and version') or diag $out;
like($out, qr/^pool: +2 workers: \d+ busy, \d+ idle, \d+ starting; \d+ sessions served$/m, 'status: the pool');
like($out, qr/^storage: +4 clients, 2 snapshots, 19\.5 KiB \(9\.8 KiB unique\)$/m, 'status: storage');
like($out, qr/^prune: +never run(?:; next \d{4}-\S+Z)?$/m, 'status: prune never run (and when next)');
like($out, qr/^disk: +[\d.]+ [KMGTPE]iB free of /m, 'status: disk');
{
    my ($busy) = $gv->session;	# a session held open: a busy worker
    GV::wait_until(sub { my $s = $gv->status; $s && grep { $_->{state} eq 'busy' } @{ $s->{workers} } }, 10);
    ($st, $out) = $gv->ctl('status');
    like($out, qr/^session: +worker pid \d+ with 127\.0\.0\.1:\d+ since \d{4}-/m, 'status: the open session') or diag $out;
    close $busy;
}
($st, $out) = $gv->ctl('scrub');
is($st, 0, 'a scrub, for status to report');
like($out, qr/^scrub: 1 packs, 6 records, 10\.4 KiB read; .* snapshots hurt; 0 B of garbage$/m, 'scrub: sizes in binary units') or diag $out;
($st, $out) = $gv->ctl('scrub', '--bytes');
like($out, qr/^scrub: 1 packs, 6 records, 10640 bytes read; .* snapshots hurt; 0 bytes of garbage$/m, 'scrub --bytes: in bytes') or diag $out;
($st, $out) = $gv->ctl('prune', '--dry-run');
like($out, qr/^dry run: 0 snapshots forgotten, \d+ blobs freed \([\d.]+ (?:Ki)?B\), .*; pack bytes [\d.]+ KiB -> [\d.]+ KiB$/m, 'prune: sizes in binary units') or diag $out;
($st, $out) = $gv->ctl('prune', '--dry-run', '--bytes');
like($out, qr/^dry run: .* blobs freed \(\d+ bytes\), .*; pack bytes \d+ -> \d+$/m, 'prune --bytes: in bytes') or diag $out;
($st, $out, $err) = $gv->ctl('status', '--json');
is($st, 0, 'status --json: exit 0') or diag $err;
my $S = eval { $J->decode($out) } || {};
ok($S->{daemon}{running}, 'status --json: running');
is($S->{daemon}{pid}, $gv->pid, '... its pid');
is($S->{daemon}{pool_size}, 2, '... pool size');
ok(defined $S->{daemon}{sessions_served} && ref $S->{daemon}{workers} eq 'ARRAY', '... sessions served and workers');
is_deeply($S->{storage}, { clients => 4, snapshots => 2, size => 20000, unique_bytes => 10000 }, '... storage in bytes');
is($S->{scrub}{last}{result}, 'ok', '... the last scrub');
ok(exists $S->{prune}{last} && !defined $S->{prune}{last}, '... prune never run (null)');
ok($S->{disk}{capacity} > 0 && $S->{disk}{free} <= $S->{disk}{capacity}, '... disk in bytes');
($st, $out) = $gv->ctl('status');
like($out, qr/^scrub: +last ended \d{4}-\d\d-\d\dT[\d:]+Z: ok \(gigavaultctl scrub\)/m, 'status: the last scrub');

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
    unlike($err, qr/no -f was given/, '... no hint about -f: one was given');
    ($st, $out, $err) = GV::run_daemon(['--help'], 10);
    is($st, 0, 'gigavaultctl --help: exit 0');
    like($out, qr/^usage: gigavaultctl .*\n.*gigavaultctl \[-f file\] status/s, '... usage on stdout, status listed');
    ($st, $out) = GV::run_daemon(['-h'], 10);
    is($st, 0, 'gigavaultctl -h: exit 0');
    for my $v ('--version', '-V') {
        ($st, $out) = GV::run_daemon([$v], 10);
        like($out, qr/^gigavaultctl \d+\.\d+\.\d+$/, "gigavaultctl $v");
    }
    ($st, $out, $err) = GV::run_daemon(['--frob'], 10);
    is($st, 2, 'gigavaultctl --frob: exit 2');
    # COMMAND --help: that command's usage, for every command listed.
    my ($all) = (GV::run_daemon(['--help'], 10))[1];
    my @cmds = $all =~ /^\s+gigavaultctl \[-f file\] ([a-z-]+(?: [a-z-]+)?)/mg;
    ok(@cmds >= 19, 'gigavaultctl --help lists ' . scalar(@cmds) . ' command lines');
    for my $line (@cmds) {
        my ($word, $sub) = split / /, $line;
        ($st, $out, $err) = GV::run_daemon(['-f', '/nonexistent.conf', $word, (defined $sub ? $sub : ()), 'x', '--help'], 10);
        is($st, 0, "gigavaultctl $line x --help: exit 0, nothing run") or diag $err;
        like($out, qr/^usage: gigavaultctl \[-f file\] \Q$line\E\b/, '... its usage line first');
        unlike($out, qr/COMMAND/, '... not every command');
    }
    ($st, $out) = GV::run_daemon(['-f', '/nonexistent.conf', 'client', 'token', '-h'], 10);
    like($out, qr/^usage: gigavaultctl \[-f file\] client add \| token name$/, 'client token -h: the line that has it');
    ($st, $out) = GV::run_daemon(['-f', '/nonexistent.conf', 'policy', 'set', '--help'], 10);
    like($out, qr/--keep-monthly n/, 'policy set --help: with its continuation lines');
    SKIP: {
        my ($def) = `$GV::CTL --help` =~ /configuration is (\S+) unless/;
        skip "the default config $def exists here", 2 if !defined $def || -e $def;
        ($st, $out, $err) = GV::run_daemon(['client', 'list'], 10);
        is($st, 2, 'no -f and no default config: exit 2');
        like($err, qr/no -f was given .*\Q$def\E does not exist: name the daemon's with -f FILE/, '... says how to name one');
    }
}
{
    local $GV::BIN = $GV::BIN;
    my ($st, $out, $err) = GV::run_daemon(['--help'], 10);
    is($st, 0, 'gigavaultd --help: exit 0');
    like($out, qr/^usage: gigavaultd .*--version/s, '... usage and flags on stdout');
    for my $v ('--version', '-V') {
        ($st, $out) = GV::run_daemon([$v], 10);
        like($out, qr/^gigavaultd \d+\.\d+\.\d+$/, "gigavaultd $v");
    }
    ($st, $out, $err) = GV::run_daemon(['--frob'], 10);
    is($st, 2, 'gigavaultd --frob: exit 2');
    like($err, qr/^usage: gigavaultd/m, '... with its usage');
    ($st, $out, $err) = GV::run_daemon(['--check', '--config', $gv->conf], 10);
    is($st, 0, 'gigavaultd --check --config FILE: the long flags work') or diag $err;
    SKIP: {
        ($st, $out) = GV::run_daemon(['--help'], 10);
        my ($def) = $out =~ /default (\S+)\)/;
        skip "the default config exists here", 2 if !defined $def || -e $def;
        ($st, $out, $err) = GV::run_daemon(['-n'], 10);
        is($st, 2, 'gigavaultd -n without -f or the default config: exit 2');
        like($err, qr/no -f was given .*\Q$def\E does not exist: name yours with -f FILE/, '... says how to name one');
    }
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
($st, $out, $err) = $gv->ctl('status');
is($st, 1, 'status of a stopped daemon: exit 1');
like($out, qr/^daemon: +not running \(no UI bridge answers on 127\.0\.0\.1:@{[ $gv->port('UI') ]}: .*\)$/m, '... says so, where it asked (in the words of the client\'s status)') or diag $out;
like($out, qr/^storage: +3 clients/m, '... and still shows the rest');
done_testing;
