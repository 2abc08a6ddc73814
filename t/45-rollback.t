#!/usr/bin/perl
# Rollback detection (issue 15, point 7): the client remembers the newest
# snapshot of each set it made or saw (StateFile "newest"), and backup,
# snapshots and restore latest warn when the server's newest is older
# than that or does not descend from it; --strict refuses (exit 2).
# With raw COMMITs an old snapshot is replayed as the newest and the
# remembered meta is paired with an old root; with raw FORGETs the
# newest is hidden (what a rolled-back or malicious server shows).  A
# normal sequence and the client's own forget warn nothing; a second machine on the same set is a fork; a chain whose
# metas were pruned, or that reaches a meta of an older client (made by
# t/gv-forge), gives a note, not a warning; bad state files are refused
# cleanly.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Copy qw(copy);
use File::Path qw(make_path);
use JSON::PP ();
use Time::HiRes ();
use GV;
use GVClient;

my $gv = GV->start(Workers => 2, 'Prune.GraceSeconds' => 0,
                   'Prune.Interval' => 0);
my $cl = GVClient->new($gv, 'rb');
my $J = JSON::PP->new->canonical;
my ($rc, $out, $err);
my $state = $cl->dir . '/state.json';
my $src = $cl->dir . '/src';
make_path($src);
my $n = 0;

is((GVClient::ctl($gv, 'client', 'allow-forget', 'rb'))[0], 0,
   'the client may forget its snapshots');

sub backup {
    my (@o) = @_;
    GVClient::_spit_bytes("$src/f", 'content ' . ++$n . "\n");
    # Snapshot times are seconds: one per second keeps them ordered.
    Time::HiRes::sleep(1.1);
    return $cl->run('backup', '--set', 'home', @o, $src);
}
sub snaps { $cl->snapshots('--set', 'home') }
sub newest_remembered {
    my $s = $J->decode(GV::_slurp($state));
    my ($e) = grep { $_->{set} eq 'home' } @{ $s->{newest} || [] };
    return $e;
}
sub restore_latest {
    my (@o) = @_;
    my $t = $cl->dir . '/r' . ++$n;
    return $cl->run('restore', '--set', 'home', @o, '--target', $t, 'latest');
}
my $WARN = qr/warning: set home: possible rollback/;

# A raw session of the client, as a server that replays would commit.
my $secret = pack 'H*', $J->decode(GV::_slurp($state))->{secret};
sub raw { $gv->login('rb', $secret) or BAIL_OUT('raw login') }

# --- a normal sequence: nothing to say
($rc, $out, $err) = backup();
is($rc, 0, 'first backup') or diag $err;
unlike($err, qr/rollback|note:/, '... says nothing about rollback (first use)');
($rc, $out, $err) = backup();
is($rc, 0, 'second backup') or diag $err;
unlike($err, qr/rollback|note:/, '... says nothing');
my @s = snaps();
is(scalar @s, 2, 'two snapshots');
is(newest_remembered()->{snapshot}, $s[1]{id}, 'StateFile remembers the newest');
is(newest_remembered()->{meta}, $s[1]{meta}, '... with its meta id');
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home', '--strict');
is($rc, 0, 'snapshots --strict: exit 0');
is($err, '', '... nothing on stderr');
($rc, $out, $err) = $cl->run('snapshots');
is($rc, 0, 'snapshots of every set: exit 0');
is($err, '', '... nothing on stderr');
($rc, $out, $err) = restore_latest('--strict');
is($rc, 0, 'restore latest --strict: exit 0') or diag $err;
is($err, '', '... nothing on stderr');

# --- replay: the first snapshot's root and meta committed again
my $A = raw();
my $f = proto_commit($A, 'home', time, pack('H*', $s[0]{root}),
                     pack('H*', $s[0]{meta}));
ok($f->{snapshot}, 'an old root and meta committed as a new snapshot')
    or diag explain $f;
close $A;
my @r = snaps();
is($r[-1]{meta}, $s[0]{meta}, 'the server lists it as the newest');
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home');
is($rc, 0, 'snapshots: exit 0');
like($err, qr/$WARN: the server's newest snapshot $r[-1]{id} of \S+ is older than snapshot $s[1]{id} of \S+, the newest this client made or saw/,
     '... warns: the newest is older than the remembered one');
is(scalar(() = $err =~ /\n/g), 1, '... in one line');
like($out, qr/^$s[1]{id}\s/m, '... and lists');
($rc, $out, $err) = $cl->run('snapshots');
like($err, $WARN, 'snapshots of every set warns too');
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home', '--strict');
is($rc, 2, 'snapshots --strict: exit 2');
like($err, qr/refusing to go on \(--strict, or StrictRollback = 1\)/, '... refusing');
is($out, '', '... listing nothing');
{
    my $sc = $cl->dir . '/strict.conf';
    my $base = GV::_slurp($cl->dir . '/client.conf');
    GVClient::_spit_bytes($sc, $base . "StrictRollback = 1\n");
    my @run = ($GVClient::CLIENT, '-c', $sc);
    my %env = (GIGAVAULT_PASSPHRASE => $GVClient::PASS);
    ($rc, $out, $err) = GVClient::run_cmd([@run, 'snapshots', '--set', 'home'], \%env);
    is($rc, 2, 'StrictRollback = 1 in client.conf: snapshots exit 2');
    like($err, qr/refusing to go on \(--strict, or StrictRollback = 1\)/, '... refusing');
    GVClient::_spit_bytes($sc, $base . "StrictRollback = 2\n");
    ($rc, $out, $err) = GVClient::run_cmd([@run, 'snapshots'], \%env);
    is($rc, 2, 'StrictRollback = 2: exit 2');
    like($err, qr/strict\.conf:\d+: StrictRollback = 2 is out of range 0\.\.1/, '... out of range');
}
($rc, $out, $err) = restore_latest();
is($rc, 0, 'restore latest: exit 0') or diag $err;
like($err, $WARN, '... warns');
($rc, $out, $err) = restore_latest('--strict');
is($rc, 2, 'restore latest --strict: exit 2');
like($err, $WARN, '... warns');
ok(!-e $cl->dir . "/r$n", '... and restores nothing');
is(newest_remembered()->{snapshot}, $s[1]{id}, 'the memory stays');
($rc, $out, $err) = backup('--strict');
is($rc, 2, 'backup --strict: exit 2');
like($err, $WARN, '... warns');
is(scalar(snaps()), 3, '... and commits nothing');
($rc, $out, $err) = backup();
is($rc, 0, 'backup without --strict: exit 0') or diag $err;
like($err, $WARN, '... warns');
my @t = snaps();
is(newest_remembered()->{snapshot}, $t[-1]{id}, 'the snapshot it made is remembered');
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home', '--strict');
is($rc, 0, 'from there on: snapshots --strict passes');
is($err, '', '... silently');

# --- the remembered meta paired with an old root
@t = snaps();
$A = raw();
$f = proto_commit($A, 'home', $t[-1]{unix_time}, pack('H*', $s[0]{root}),
                  pack('H*', $t[-1]{meta}));
ok($f->{snapshot}, 'the newest meta committed again with the first root');
close $A;
($rc, $out, $err) = restore_latest('--strict');
is($rc, 2, 'restore latest --strict: exit 2');
like($err, qr/$WARN: the server's newest snapshot $f->{snapshot} of \S+ cannot be checked against snapshot $t[-1]{id} of \S+, the newest this client made or saw: its root tree is not the one its meta names/,
     '... the root is not the one the meta names');
$A = raw();
proto_forget($A, $f->{snapshot});
close $A;
($rc, $out, $err) = restore_latest('--strict');
is($rc, 0, 'that snapshot gone: restore latest --strict passes') or diag $err;

# --- the newest hidden (forgotten behind the client's back)
($rc, $out, $err) = backup();
is($rc, 0, 'another backup') or diag $err;
@t = snaps();
$A = raw();
$f = proto_forget($A, $t[-1]{id});
is_deeply($f->{results}, { $t[-1]{id} => 0 }, 'the server drops the newest');
close $A;
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home');
like($err, qr/$WARN: the server's newest snapshot $t[-2]{id} of \S+ is older than snapshot $t[-1]{id}/,
     'snapshots warns: older');
($rc, $out, $err) = restore_latest('--strict');
is($rc, 2, 'restore latest --strict: exit 2');
$A = raw();
for (snaps()) {
    proto_forget($A, $_->{id});
}
close $A;
is(scalar(snaps()), 0, 'the server drops every snapshot of the set');
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home', '--strict');
is($rc, 2, 'snapshots --strict of an emptied set: exit 2');
like($err, qr/$WARN: the server lists no snapshot of it, but this client made or saw snapshot $t[-1]{id}/,
     '... warns that the set is gone');

# --- the client's own forget is no rollback
($rc, $out, $err) = backup();
is($rc, 0, 'backup into the emptied set: exit 0') or diag $err;
like($err, $WARN, '... warns once more');
($rc, $out, $err) = backup();
is($rc, 0, 'and again') or diag $err;
is($err, '', '... silently');
@t = snaps();
($rc, $out, $err) = $cl->run('forget', $t[-1]{id});
is($rc, 0, 'the client forgets its newest snapshot') or diag $err;
is(newest_remembered()->{snapshot}, $t[-2]{id}, '... and remembers the one before');
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home', '--strict');
is($rc, 0, 'snapshots --strict after our own forget: exit 0');
is($err, '', '... no false alarm');
($rc, $out, $err) = restore_latest('--strict');
is($rc, 0, 'restore latest --strict: exit 0') or diag $err;
($rc, $out, $err) = $cl->run('forget', $t[-2]{id});
is($rc, 0, 'the client forgets the last snapshot of the set');
ok(!newest_remembered(), '... and remembers nothing for it');
($rc, $out, $err) = $cl->run('snapshots', '--strict');
is($rc, 0, 'snapshots --strict: exit 0');
is($err, '', '... no false alarm');

# --- a second machine on the same set: a fork, or a chain not followed
($rc, $out, $err) = backup();
is($rc, 0, 'backup') or diag $err;
($rc, $out, $err) = backup();
is($rc, 0, 'backup') or diag $err;
my $conf2 = $cl->dir . '/two.conf';
my $cfg = GV::_slurp($cl->dir . '/client.conf');
my $two = $cl->dir . '/two.json';
$cfg =~ s{StateFile = "[^"]*"}{StateFile = "$two"};
GVClient::_spit_bytes($conf2, $cfg);
my $s2 = $J->decode(GV::_slurp($state));
delete $s2->{newest};
GVClient::_spit_bytes($cl->dir . '/two.json', $J->encode($s2));
chmod 0600, $cl->dir . '/two.json';
sub two {
    return GVClient::run_cmd([$GVClient::CLIENT, '-c', $conf2, @_],
                             { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 300);
}
@t = snaps();
$A = raw();
$f = proto_forget($A, $t[-1]{id});
close $A;
Time::HiRes::sleep(1.1);
($rc, $out, $err) = two('backup', '--set', 'home', $src);
is($rc, 0, 'the second machine backs up (first use: no memory)') or diag $err;
is($err, '', '... silently');
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home');
like($err, qr/$WARN: the server's newest snapshot \d+ of \S+ does not descend from snapshot $t[-1]{id}/,
     'the first machine: the newest does not descend from its own');

# A chain broken by forget and prune: a note.
($rc, $out, $err) = backup();
is($rc, 0, 'the first machine backs up') or diag $err;
Time::HiRes::sleep(1.1);
($rc, $out, $err) = two('backup', '--set', 'home', $src);
is($rc, 0, 'the second machine backs up twice') or diag $err;
Time::HiRes::sleep(1.1);
($rc, $out, $err) = two('backup', '--set', 'home', $src);
is($rc, 0, '...') or diag $err;
# (Listed by the second machine: a listing by the first would see the
# chain whole and remember the newest.)
($rc, $out, $err) = two('snapshots', '--set', 'home', '--json');
@t = @{ $J->decode($out) };
($rc, $out, $err) = two('forget', $t[-2]{id});
is($rc, 0, 'it forgets the one between') or diag $err;
# Blobs of recent commits are spared by one prune: a second one frees
# them once its cutoff (GraceSeconds 0) has passed them.
for my $i (1, 2) {
    Time::HiRes::sleep(1.1);
    ($rc, $out, $err) = $gv->ctl('prune');
    is($rc, 0, "prune $i") or diag $err;
}
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home', '--strict');
is($rc, 0, 'the first machine: snapshots --strict exit 0');
like($err, qr/note: set home: cannot check that the server's newest snapshot $t[-1]{id} of \S+ descends from snapshot $t[-3]{id} of \S+, the newest this client made or saw: an older snapshot's meta blob \S+: not on the server/,
     '... with a note: the chain cannot be followed');
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home', '--strict');
is($err, '', '... once: the newest is remembered');

# A snapshot from a client older than this check: its meta names no
# parent, so the chain is not followed past it (a note).
Time::HiRes::sleep(1.1);
($rc, $out, $err) = GVClient::run_cmd([$GV::BUILDDIR . '/t/gv-forge', '-c',
    $cl->dir . '/client.conf', '--old-meta', 'home'],
    { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
is($rc, 0, 'an old client commits a snapshot') or diag $err;
my ($old) = $out =~ /^(\d+)$/m;
($rc, $out, $err) = $cl->run('snapshots', '--set', 'home', '--strict');
is($rc, 0, 'snapshots --strict: exit 0');
like($err, qr/note: set home: cannot check that the server's newest snapshot $old of \S+ descends from snapshot \d+ of \S+, the newest this client made or saw: a snapshot on the way was made by a client that names no parent/,
     '... a note: the old meta names no parent');
($rc, $out, $err) = backup('--strict');
is($rc, 0, 'backup --strict on top of it: exit 0') or diag $err;
is($err, '', '... silently');

# --- bad state files are refused cleanly
my $good = GV::_slurp($state);
my $sane = $J->decode($good);
sub try_state {
    my ($text, $name, $re) = @_;
    GVClient::_spit_bytes($state, $text);
    my ($rc, $out, $err) = $cl->run('snapshots');
    is($rc, 2, "$name: exit 2");
    like($err, $re, "... $name: says why");
}
sub with { my %o = (%$sane, @_); return $J->encode(\%o) }
my $e0 = { server_id => $sane->{server_id}, set => 'home', snapshot => 1,
           time => 1, meta => 'ab' x 32, root => 'cd' x 32 };
try_state('{"server":', 'truncated JSON', qr/state\.json:\d+: /);
try_state(' ' x (256 * 1024 + 1), 'too large', qr/too large/);
try_state(with(newest => {}), 'newest not an array', qr/"newest" is not an array/);
try_state(with(newest => [ ($e0) x 129 ]), '129 entries', qr/"newest" has 129 entries \(at most 128\)/);
try_state(with(newest => [ $e0, $e0 ]), 'two entries for one set', qr/a second entry for set home/);
try_state(with(newest => [ { %$e0, meta => 'ab' } ]), 'short meta id', qr/entry 1: damaged/);
try_state(with(newest => [ { %$e0, set => '../x' } ]), 'bad set name', qr/entry 1: damaged/);
try_state(with(newest => [ { %$e0, snapshot => -1 } ]), 'negative id', qr/entry 1: damaged/);
try_state(with(newest => [ { %$e0, time => 'x' } ]), 'time not a number', qr/entry 1: /);
try_state(with(newest => [ { %$e0, extra => 1 } ]), 'unknown member', qr/entry 1: /);
try_state(with(other => 1), 'unknown top-level member', qr/state\.json: /);
GVClient::_spit_bytes($state, $good);
($rc, $out, $err) = $cl->run('snapshots');
is($rc, 0, 'the good state file again: exit 0') or diag $err;

done_testing();
