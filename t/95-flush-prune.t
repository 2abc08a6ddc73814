#!/usr/bin/perl
# A prune that runs while a backup's pack is uploaded but not indexed
# yet must leave that pack alone: the worker keeps it locked until the
# index names it.  GIGAVAULT_TEST_PAUSE_BEFORE_INDEX (HACKING) holds the
# worker in that window for as long as its file exists.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 600 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use File::Temp ();
use POSIX ();
use GVCeph;
use GV qw(wait_until);
use GVClient;

GVCeph::skip_unless_ceph();
my $tmp = File::Temp::tempdir('flushprune-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 01777, $tmp;
my $hold = "$tmp/hold";
$ENV{GIGAVAULT_TEST_PAUSE_BEFORE_INDEX} = $hold;
my $ceph = GVCeph->start;
my %s3 = $ceph->gv_options(Bucket => 'flushprune', LeaseDuration => 10);
sub packs { join ' ', sort map { m{packs/([0-9a-f]+)$} ? $1 : () }
    keys %{ $ceph->list('flushprune', 'gigavault/packs/') } }
my $a = GV->start(Workers => 1, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
    'Prune.GraceSeconds' => 0, DrainTimeout => 3, %s3);
ok(wait_until(sub { (($a->status // {})->{store} // {})->{lease} // '' eq 'held' }, 60),
    'the server holds the lease');
my $cl = GVClient->new($a, 'alice');
my $src = $a->dir . '/src';
make_path($src);
GVClient::make_tree($src);
my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup 1');

GVClient::_spit_bytes("$src/new.bin", GVClient::pseudo_bytes(300_000, "race"));
GV::_spit($hold, "");
my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0) {
	my ($rc2) = $cl->run('backup', $src);
	POSIX::_exit($rc2 ? 1 : 0);
}
ok(wait_until(sub { -e "$hold.paused" }, 60),
    'backup 2 waits between its upload and its index');
($rc, $out, $err) = $a->ctl('prune');
is($rc, 0, 'prune in that window') or diag($out . $err);
note($out);
unlink($hold);
waitpid($pid, 0);
is($?, 0, 'backup 2 acknowledged');
note("packs: " . packs());

system("rm -f " . $a->cfg->{Server}{DataDir} . "/cache/*.pack");
my @s = $cl->snapshots;
is(scalar(@s), 2, 'two snapshots');
for my $s (@s) {
	my $t = $a->dir . "/r$s->{id}";
	($rc, $out, $err) = $cl->run('restore', '--target', $t, $s->{id});
	is($rc, 0, "snapshot $s->{id} restores from the bucket") or diag($err);
}
$a->stop;
$ceph->stop;
ok(!$ceph->procs, 'no Ceph left');
done_testing;
