#!/usr/bin/perl
# Partial failures say what happened (gigavault(1), backup): a missing
# PATH among others is named, the rest saved, exit 1; all missing: no
# snapshot, exit 2, said so; --strict: exit 2 but the snapshot is saved
# (StrictRollback does not do that); the summary line names the snapshot
# and counts problems, also when none is saved; a file that changes while
# it is read (made certain by the test hook
# GIGAVAULT_TEST_CHANGE_WHILE_READ, HACKING) is named, counted and saved
# as read, small and large, and the next backup reads it again.
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
my $cl = GVClient->new($gv, 'partial');
my ($rc, $out, $err);
my $src = $gv->dir . '/src';
my $etc = $gv->dir . '/etc';
my $gone = $gv->dir . '/srv/gone';
make_path("$src/d", $etc);
GVClient::_spit_bytes("$src/a", "alpha\n");
GVClient::_spit_bytes("$src/d/b", GVClient::pseudo_bytes(300_000, 'b'));
GVClient::_spit_bytes("$etc/hosts", "127.0.0.1 localhost\n");

sub count { scalar $cl->snapshots('--set', $_[0]) }
sub paths_in {
    my ($set) = @_;
    my ($rc, $out) = $cl->run('ls', '--json', '--set', $set, 'latest', '/');
    my $l = eval { JSON::PP->new->decode($out) } || [];
    return map { $_->{path} } @$l;
}

# --- the summary line of a clean backup
($rc, $out, $err) = $cl->run('backup', '--set', 'ok', $src);
is($rc, 0, 'a clean backup: exit 0') or diag($err);
like($out, qr/^snapshot (\d+) saved: 2 files, [\d.]+ \S*B \([\d.]+ \S*B new\), 0 problems, [\d.]+ s$/m,
     'summary: id, files, bytes, new bytes, problems, time') or diag($out);

# --- a missing PATH among others
($rc, $out, $err) = $cl->run('backup', '--set', 'miss', $etc, $gone, $src);
is($rc, 1, 'a missing PATH among others: exit 1') or diag($err);
like($err, qr/^gigavault: \Q$gone\E: No such file or directory, not saved$/m, '... named');
like($out, qr/^snapshot \d+ saved: .*, 1 problem, /m, '... the snapshot is saved, 1 problem')
    or diag($out);
my @p = paths_in('miss');
ok((grep { $_ eq "$etc/hosts" } @p) && (grep { $_ eq "$src/d/b" } @p),
   '... with the other paths') or diag("@p");
ok(!grep({ m{/srv} } @p), '... and nothing of the missing one');
is(count('miss'), 1, '... one snapshot');

# -q: the summary goes, the problem count stays on stderr.
($rc, $out, $err) = $cl->run('backup', '-q', '--set', 'miss', $etc, $gone);
is($rc, 1, '-q with a missing PATH: exit 1');
is($out, '', '... nothing on stdout');
like($err, qr/^gigavault: snapshot \d+ saved with 1 problem \(named above\)$/m, '... the count on stderr')
    or diag($err);

# --- every PATH missing: nothing saved, said so
($rc, $out, $err) = $cl->run('backup', '--set', 'none', $gone, "$gone-too");
is($rc, 2, 'every PATH missing: exit 2');
like($err, qr/\Q$gone\E: No such file or directory, not saved/, '... each named');
like($err, qr/^gigavault: no snapshot saved: none of the paths can be read$/m, '... no snapshot, said so');
is(count('none'), 0, '... and none listed');

# --- --strict: problems are an error, the snapshot is still saved
($rc, $out, $err) = $cl->run('backup', '--strict', '--set', 'strict', $etc, $gone);
is($rc, 2, '--strict with a missing PATH: exit 2');
like($err, qr/^gigavault: --strict: 1 problem \(named above\): exit status 2; the snapshot is saved$/m,
     '... said so') or diag($err);
like($out, qr/^snapshot \d+ saved: /m, '... the summary says it is saved');
is(count('strict'), 1, '... and it is listed');
($rc, $out, $err) = $cl->run('backup', '--strict', '--set', 'strict', $etc);
is($rc, 0, '--strict without a problem: exit 0') or diag($err);

# StrictRollback = 1 is about rollbacks only.
my $conf = GV::_slurp($cl->{conf});
GVClient::_spit_bytes($cl->{conf}, $conf . "StrictRollback = 1\n");
($rc, $out, $err) = $cl->run('backup', '--set', 'strict', $etc, $gone);
is($rc, 1, 'StrictRollback = 1 with a missing PATH: exit 1') or diag($err);
GVClient::_spit_bytes($cl->{conf}, $conf);

# --- no snapshot saved: the last line says so whatever stopped it
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', $cl->{conf}, 'backup',
                                       '--set', 'down', $etc, $gone],
                                      { GIGAVAULT_PASSPHRASE => 'wrong' }, 60);
is($rc, 2, 'a wrong passphrase: exit 2');
like($err, qr/\Q$gone\E: No such file or directory, not saved/, '... the missing PATH named first');
like($err, qr/gigavault: no snapshot saved \(1 problem, [\d.]+ s\)\n\z/,
     '... the last line: no snapshot saved, with the problems') or diag($err);

# --- a file that changes while it is read: small and large
GVClient::_spit_bytes("$src/grow", GVClient::pseudo_bytes(3_000_000, 'g'));
GVClient::_spit_bytes("$src/d/grow", "small\n");
{
    local $ENV{GIGAVAULT_TEST_CHANGE_WHILE_READ} = 'grow';
    ($rc, $out, $err) = $cl->run('backup', '--set', 'chg', $src);
}
is($rc, 1, 'files that changed while read: exit 1') or diag($err);
like($err, qr/^gigavault: \Q$src\E\/grow: changed while being read$/m, '... a large one named');
like($err, qr/^gigavault: \Q$src\E\/d\/grow: changed while being read$/m, '... a small one named');
like($out, qr/^snapshot \d+ saved: .*, 2 problems, /m, '... 2 problems, the snapshot saved')
    or diag($out);
my $t = $gv->dir . '/restored';
($rc, $out, $err) = $cl->run('restore', '--set', 'chg', '--target', $t, 'latest', $src);
is($rc, 0, 'it restores') or diag($err);
is(-s "$t$src/grow", 3_000_000, '... the large file as it was read');
is(GV::_slurp("$t$src/d/grow"), "small\n", '... the small one too');
is(-s "$src/grow", 3_000_001, '(the hook did grow the file)');
($rc, $out, $err) = $cl->run('-v', 'backup', '--set', 'chg', $src);
is($rc, 0, 'the next backup: exit 0') or diag($err);
like($err, qr/^4 files \(2 unchanged\)/m, '... reads the two again (they moved), not the others')
    or diag($err);

is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
