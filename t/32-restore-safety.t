#!/usr/bin/perl
# Restore never creates or follows anything outside --target, even for a
# snapshot crafted by someone holding the keys (t/gv-forge): names ".."
# and "a/b" are refused, a symlink to the outside is restored as a
# symlink, and a later snapshot with a directory of the same name cannot
# write through it.  Also: a backup killed half-way leaves no snapshot,
# and the next one succeeds without sending the same data again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use GV;
use GVClient;

my $FORGE = "$GV::BUILDDIR/t/gv-forge";
ok(-x $FORGE, 't/gv-forge is built') or BAIL_OUT('run make check');

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'mallory');
my $outside = $gv->dir . '/outside';
make_path($outside);

my ($rc, $out, $err) = GVClient::run_cmd([$FORGE, '-c', $cl->{conf}, $outside],
                                         { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
is($rc, 0, 'forged two snapshots') or diag($err);
my ($s1, $s2) = $out =~ /^(\d+) (\d+)$/m;

my $target = $gv->dir . '/target';
($rc, $out, $err) = $cl->run('restore', '--target', $target, $s1);
is($rc, 1, 'restore of the forged snapshot: exit 1 (partial)') or diag($err);
like($err, qr/dots: directory not restored/, 'the tree holding ".." is refused');
like($err, qr/slash: directory not restored/, 'the tree holding "a/b" is refused');
is(GV::_slurp("$target/ok/fine"), "fine\n", 'the honest part is restored');
is(readlink("$target/evil"), $outside, 'the symlink is restored as a symlink, not followed');

for my $over ([], ['--overwrite']) {
    ($rc, $out, $err) = $cl->run('restore', @$over, '--target', $target, $s2);
    isnt($rc, 0, "restore of a directory over that symlink (@$over) fails");
    like($err, qr/evil: not restored: a non-directory is in the way|evil: is a directory|evil: exists/,
         '... and says why') or diag($err);
}
opendir my $dh, $outside or die;
my @leaked = grep { !/^\.\.?$/ } readdir $dh;
is(scalar @leaked, 0, 'nothing was written outside the target') or diag("@leaked");
ok(!-e "$target/../pwned" && !-e $gv->dir . '/pwned', 'no "pwned" above the target');

# --- a backup killed half-way
{
    my $big = $gv->dir . '/big';
    make_path($big);
    GVClient::_spit_bytes("$big/f$_", GVClient::pseudo_bytes(4_000_000, "k$_")) for 1 .. 25;
    my @before = $cl->snapshots;
    my $from = GVClient::log_size($gv);
    my $pid = $cl->spawn('backup', '--set', 'killed', $big);
    # Let some data arrive in the packs, then kill the client.
    my $packs = sub { my $n = 0; $n += -s $_ for glob($gv->dir . '/data/packs/*'); $n };
    my $base = $packs->();
    ok(wait_until(sub { $packs->() > $base + 20_000_000 }, 60, 0.01),
       'the backup is uploading');
    kill 'KILL', $pid;
    waitpid($pid, 0);
    ok(wait_until(sub { GVClient::bytes_in_since($gv, $from) > 0 }, 10),
       'the server saw the session end');
    my @after = $cl->snapshots;
    is(scalar @after, scalar @before, 'no snapshot from the killed backup');
    my $partial = GVClient::bytes_in_since($gv, $from);
    $from = GVClient::log_size($gv);
    ($rc, $out, $err) = $cl->run('backup', '--set', 'killed', $big);
    is($rc, 0, 'the next backup succeeds') or diag($err);
    my $second = GVClient::bytes_in_since($gv, $from);
    ok($partial > 1_000_000, "the killed backup had sent $partial bytes");
    ok($second < 100_000_000 - $partial + 5_000_000,
       "the next one sent $second bytes: what arrived before was reused");
    my $t = $gv->dir . '/restore-killed';
    ($rc, $out, $err) = $cl->run('restore', '--target', $t, 'latest');
    is($rc, 0, 'and it restores') or diag($err);
    is(scalar(GVClient::compare_trees($big, "$t$big")), 0, 'identical');
}

is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
