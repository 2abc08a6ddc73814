#!/usr/bin/perl
# A backup of a feed (src/client/feed.h) instead of the file system, with
# t/gv-feed's synthetic in-memory feed: the first backup opens every
# file; the second opens only the changed and the new file (gv-feed
# fails when backup.c opens an unchanged one) and sends little; files of
# the same content are stored once; restore gives back each file's bytes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;
use GVClient;

my $FEED = "$GV::BUILDDIR/t/gv-feed";
plan skip_all => "$FEED not built" unless -x $FEED;

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'feeder');

sub feed_round {
    my ($round) = @_;
    return GVClient::run_cmd([$FEED, "$cl->{conf}", 'feedset', $round],
                             { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 300);
}

# The bytes gv-feed gives dir/name in a round (its content()).
sub content {
    my ($dir, $name, $round) = @_;
    my $gen = $round == 2 && $dir == 1 && $name eq 'f007' ? 2 : 1;
    my $f = $name =~ /^f(\d+)$/ ? $1 + 0 : 0;
    $dir = 0 if $dir == 1 && $f < 10 && $gen == 1;
    my $reps = 50 + $f * 7 + $gen * 3;
    return join '', map { substr(sprintf("d%d %s gen %d line %06d ......\n", $dir, $name, $gen, $_), 0, 40) } 0 .. $reps - 1;
}

my $from = GVClient::log_size($gv);
my ($rc, $out, $err) = feed_round(1);
is($rc, 0, 'first backup of the feed: exit 0') or diag "$out\n$err";
like($out, qr/^snapshot \d+ saved: 300 files/m, '... 300 files saved');
like($out, qr/^opened 300$/m, '... every file opened once');
my $first = GVClient::bytes_in_since($gv, $from);

$from = GVClient::log_size($gv);
($rc, $out, $err) = feed_round(2);
is($rc, 0, 'second backup: exit 0, no unchanged file opened') or diag "$out\n$err";
unlike($out, qr/^BAD:/m, '... gv-feed saw no open of an unchanged file');
like($out, qr/^opened 2$/m, '... two files opened');
like($out, qr{^opened /d1/f007$}m, '... the changed one');
like($out, qr{^opened /d2/new$}m, '... the new one');
like($out, qr/^snapshot \d+ saved: 301 files/m, '... 301 files in the snapshot');
my $second = GVClient::bytes_in_since($gv, $from);
ok($second * 4 < $first, "the second backup sent far less ($second vs $first bytes)");

# Identical contents (d0/f000..f009 and d1/f000..f009) are stored once:
# a feed where they differ stores more.
my @snaps = $cl->snapshots('--set', 'feedset');
is(scalar @snaps, 2, 'two snapshots of the set');
my $target = $gv->dir . '/restored';
($rc, $out, $err) = $cl->run('restore', '--set', 'feedset', '--target', $target, 'latest');
is($rc, 0, 'restore of the second snapshot: exit 0') or diag $err;
my ($bad, $n) = (0, 0);
for my $d (0 .. 2) {
    for my $name ((map { sprintf 'f%03d', $_ } 0 .. 99), $d == 2 ? ('new') : ()) {
        $n++;
        my $got = GV::_slurp("$target/d$d/$name");
        if (!defined $got || $got ne content($d, $name, 2)) {
            $bad++;
            diag "d$d/$name differs" if $bad < 5;
        }
    }
}
is($n, 301, '301 files compared');
is($bad, 0, '... each with the bytes the feed gave');
ok(-d "$target/d1" && ((stat "$target/d1/f001")[2] & 07777) == 0600,
   '... with the mode the feed gave');

($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', $gv->conf, 'usage', '--json'], {}, 30);
my $blobs = $out =~ /"blobs"\s*:\s*(\d+)/ ? $1 : undef;
ok(defined $blobs, 'gigavaultctl usage counts blobs') or diag $out;
# Distinct contents: 290 of the first round (d0's and d1's f000..f009
# are the same ten), 2 of the second; besides them each snapshot has its
# meta and the trees of its root and of the directories that changed
# (first: 3, second: d1 and d2).  Without the sharing it would be 10 more.
my $want = 290 + 2 + (1 + 1 + 3) + (1 + 1 + 2);
cmp_ok($blobs, '<=', $want, "identical files stored once ($blobs blobs, at most $want)");

done_testing();
