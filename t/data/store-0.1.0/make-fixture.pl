#!/usr/bin/perl
# make-fixture.pl - how store-0.1.0.tar.gz was made (run once, with the
# binaries of commit 20f7b1e, version 0.1.0; kept for the record):
#
#   GV_SRCDIR=$PWD GV_BUILDDIR=$PWD perl -I t/lib t/data/store-0.1.0/make-fixture.pl
#
# A 0.1.0 daemon (t/lib/GV.pm: loopback, discovery off, temp DataDir), one
# client "fixture" registered, a retention policy, two backups of a small
# tree under /tmp/gv-store-0.1.0-src with a change between.  The tarball
# holds data/ (the DataDir) and client/ (key and state file); MANIFEST
# lists sha256 and path of every regular file of the tree per snapshot.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../../lib";
use File::Path qw(make_path remove_tree);
use File::Find;
use Digest::SHA;
use GV;
use GVClient;

my $out = $FindBin::Bin;
my $src = '/tmp/gv-store-0.1.0-src';
remove_tree($src);
make_path("$src/sub/deeper");

sub spit { GVClient::_spit_bytes(@_) }

# A compressible file of a few MiB (zstd keeps the packs small) that still
# spans several chunks.
my $big = join '', map { "line $_ of the big file, " . ($_ * 7919 % 10007) . "\n" } 1 .. 110_000;
spit("$src/big.txt", $big);
spit("$src/small.txt", "hello, world\n");
spit("$src/sub/notes.txt", "first version\n");
spit("$src/sub/deeper/random.bin", GVClient::pseudo_bytes(40_000, 'fixture'));
symlink('small.txt', "$src/link-to-small") or die "symlink: $!";

sub manifest {
    my ($tag) = @_;
    my @l;
    find({ no_chdir => 1, wanted => sub {
        return if -l $_ || !-f $_;
        (my $rel = $_) =~ s{^\Q$src\E/}{};
        open my $fh, '<:raw', $_ or die "$_: $!";
        push @l, sprintf("%s %s %s\n", $tag,
            Digest::SHA->new(256)->addfile($fh)->hexdigest, $rel);
    } }, $src);
    return sort @l;
}

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'fixture');
my ($rc, $o, $e) = GVClient::ctl($gv, 'policy', 'set', 'fixture', '--keep-last', 5,
                                 '--keep-daily', 7);
die "policy: $e" if $rc;
my @man;
($rc, $o, $e) = $cl->run('backup', $src);
die "backup 1: $e" if $rc;
push @man, manifest(1);
sleep 2;
spit("$src/sub/notes.txt", "second version, longer than the first\n");
spit("$src/added.txt", "a file added before the second backup\n");
open my $fh, '>>:raw', "$src/big.txt" or die;
print $fh "an appended line\n" x 1000;
close $fh;
($rc, $o, $e) = $cl->run('backup', $src);
die "backup 2: $e" if $rc;
push @man, manifest(2);
my @snaps = $cl->snapshots;
die "expected 2 snapshots" unless @snaps == 2;
$gv->stop == 0 or die "stop failed";

my $stage = $gv->dir . '/stage';
make_path("$stage/client");
system('cp', '-a', $gv->dir . '/data', "$stage/data") == 0 or die;
system('cp', '-a', $cl->dir . '/key', $cl->dir . '/state.json', "$stage/client/") == 0 or die;
open my $m, '>', "$stage/MANIFEST" or die;
print $m "# snapshot sha256 path (relative to $src)\n", @man;
close $m;
system('tar', '-C', $stage, '--owner=0', '--group=0', '-czf',
       "$out/store-0.1.0.tar.gz", 'data', 'client', 'MANIFEST') == 0 or die;
system('cp', "$stage/MANIFEST", "$out/MANIFEST") == 0 or die;
remove_tree($src);
print "wrote $out/store-0.1.0.tar.gz\n";
