#!/usr/bin/perl
# gigavaultctl scrub: a clean store exits 0; a flipped byte in a pack is
# reported with the damaged blob and the snapshot that reaches it (here
# through the legacy node of a version 1 commit; exit 1); a missing pack
# likewise; bytes no index entry points at (a torn record at the end of
# a pack) are garbage, not damage.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use GV;

my $gv = GV->start(Workers => 2, 'Prune.Interval' => 0, 'Scrub.Interval' => 0);
my $packs = $gv->cfg->{Server}{DataDir} . '/packs';
my ($c) = $gv->session;
my (undef, $secret) = proto_register($c, $gv->add_client('alice'));
close $c;

sub rnd { pack('C*', map { int rand 256 } 1 .. $_[0]) }
sub slurp { open my $fh, '<:raw', $_[0] or die "$_[0]: $!"; local $/; <$fh> }
sub spit { open my $fh, '>:raw', $_[0] or die "$_[0]: $!"; print $fh $_[1]; close $fh }

# Two snapshots in two sessions, so two packs.
my (%bytes, %ids);
for my $set (qw(home docs)) {
    my $A = $gv->login('alice', $secret) or BAIL_OUT('login');
    my @ids = map { rand_id() } 1 .. 10;
    $bytes{$_} = rnd(5000 + int rand 5000) for @ids;
    proto_put($A, $_, $bytes{$_}) for @ids;
    proto_refs($A, @ids);
    my $f = proto_commit($A, $set, 1700000000, $ids[0], $ids[1]);
    is($f->{type}, T_COMMITTED, "snapshot of $set committed");
    $ids{$set} = \@ids;
    close $A;
}

my ($st, $out, $err) = $gv->ctl('scrub', '--bytes');
is($st, 0, 'scrub of a clean store: exit 0') or diag "$out$err";
like($out, qr/^scrub: 2 packs, 22 records, \d+ bytes read; 22 blobs checked, 0 damaged, 0 snapshots hurt/m,
     'scrub: 2 packs, 22 records, 22 blobs (20 and 2 legacy nodes), nothing damaged') or diag $out;
($st, $out) = $gv->ctl('scrub', '--rate', '100000000');
is($st, 0, 'scrub --rate 100000000: exit 0');
($st, $out, $err) = $gv->ctl('scrub', '--rate', 'fast');
is($st, 2, 'scrub --rate fast: exit 2');

# Find the record of the 5th blob of "home" and flip one byte of its data.
my $victim = $ids{home}[4];
my ($file, $off);
opendir my $d, $packs or die;
for my $p (grep { /\.pack$/ } readdir $d) {
    my $data = slurp("$packs/$p");
    # The header: "GVB2", type, 3 zero bytes, client, id, nlinks, length.
    my $i = index($data, $victim . pack('N N', 0, length $bytes{$victim}));
    if ($i >= 16 && substr($data, $i - 16, 4) eq 'GVB2') { ($file, $off) = ("$packs/$p", $i - 16); last }
}
ok(defined $file, "found the record of the victim blob in $file at $off");
my $orig = slurp($file);
my $bad = $orig;
substr($bad, $off + 64 + 100, 1) = chr(ord(substr($bad, $off + 64 + 100, 1)) ^ 0x20);
spit($file, $bad);

($st, $out, $err) = $gv->ctl('scrub');
is($st, 1, 'scrub after a flipped byte: exit 1') or diag "$out$err";
my $hex = unpack('H*', $victim);
like($out, qr/^damaged blob $hex of client alice in pack [0-9a-f]{8} at offset $off: checksum mismatch$/m,
     'scrub names the damaged blob, its pack and offset') or diag $out;
like($out, qr/^snapshot 1 of client alice \(set home\) reaches damaged or missing blobs$/m,
     'and the snapshot that reaches it');
unlike($out, qr/^snapshot 2 /m, 'not the snapshot that does not');
like($out, qr/1 damaged, 1 snapshots hurt/, 'summary: 1 damaged, 1 snapshot hurt');
{
    my ($jst, $jout) = $gv->ctl('scrub', '--json');
    is($jst, 1, 'scrub --json: the same exit status');
    my $j = eval { JSON::PP->new->decode($jout) } || {};
    is($j->{damaged}, 1, '--json: damaged 1');
    is($j->{snapshots_hurt}, 1, '--json: snapshots_hurt 1');
    ok((grep { /^damaged blob $hex / } @{ $j->{report} || [] }),
       '--json: the report names the damaged blob');
}
my $A = $gv->login('alice', $secret) or BAIL_OUT('login');
my ($g) = proto_get($A, $victim);
is($g->{type}, T_NOBLOB, 'GET of the damaged blob: NOBLOB');
close $A;

# Repaired, plus a torn record at the end (a crash in the middle of a
# write): garbage, not damage.
spit($file, $orig . 'GVB1' . pack('N', 9000) . ('z' x 100));
($st, $out) = $gv->ctl('scrub', '--bytes');
is($st, 0, 'a torn record no entry points at: exit 0') or diag $out;
like($out, qr/0 damaged, 0 snapshots hurt; (\d+) bytes of garbage/, 'reported as garbage');
my ($garbage) = $out =~ /(\d+) bytes of garbage/;
is($garbage, 108, 'the 108 torn bytes');

# A pack gone: every blob in it is missing.
rename $file, "$file.away" or die;
($st, $out) = $gv->ctl('scrub');
is($st, 1, 'a missing pack: exit 1');
is(scalar(() = $out =~ /^damaged blob [0-9a-f]{64} of client alice in pack [0-9a-f]{8} at offset \d+: its pack is missing$/mg),
   11, 'its 10 blobs and the legacy node are reported missing');
like($out, qr/^snapshot 1 of client alice \(set home\) reaches damaged or missing blobs$/m, 'snapshot 1 is hurt');
unlike($out, qr/^snapshot 2 /m, 'snapshot 2 is not');
rename "$file.away", $file or die;
($st) = $gv->ctl('scrub');
is($st, 0, 'back in place: clean');
is($gv->stop, 0, 'clean stop');
done_testing;
