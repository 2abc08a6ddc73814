#!/usr/bin/perl
# gigavaultctl rebuild-catalog: two clients back up (with policies, a
# disabled third client, an allow-forget flag, a forgotten snapshot);
# the daemon is stopped and data.mdb deleted, then (second round)
# garbled: gigavaultd refuses to start naming the command; after the
# rebuild every snapshot of every client lists and restores
# byte-identical, clients, flags and policies are back, scrub is clean
# and a new backup works.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path remove_tree);
use File::Find;
use Digest::SHA;
use JSON::PP;
use GV;
use GVClient;

$ENV{GV_TEST_TIMEOUT} //= 300;
alarm 300;

my $gv = GV->start(Workers => 2);
my $dir = $gv->dir;
my $data = "$dir/data";

# path -> sha256 of contents (files) or "-> target" (symlinks)
sub manifest {
    my ($root) = @_;
    my %m;
    find({ no_chdir => 1, wanted => sub {
        return if $_ eq $root;
        (my $rel = $_) =~ s{^\Q$root\E/}{};
        if (-l $_) { $m{$rel} = '-> ' . readlink($_) }
        elsif (-f $_) {
            open my $fh, '<:raw', $_ or die "$_: $!";
            $m{$rel} = Digest::SHA->new(256)->addfile($fh)->hexdigest;
        } elsif (-d $_) { $m{$rel} = 'dir' }
    } }, $root);
    return \%m;
}

sub ctl_json {
    my ($st, $out, $err) = $gv->ctl(@_, '--json');
    die "gigavaultctl @_: $st $err" if $st != 0;
    return JSON::PP->new->canonical->decode($out);
}

my $alice = GVClient->new($gv, 'alice');
my $bob = GVClient->new($gv, 'bob');
my ($rc, $out, $err);

my %expect;    # "client/snapshot id" -> [source dir, manifest]
my $asrc = "$dir/asrc";
make_path("$asrc/sub");
GVClient::_spit_bytes("$asrc/big.bin", GVClient::pseudo_bytes(2_500_000, 'alice'));
GVClient::_spit_bytes("$asrc/sub/a.txt", "alice's first text\n");
symlink('big.bin', "$asrc/link") or die;
for my $round (1 .. 3) {
    ($rc, $out, $err) = $alice->run('backup', $asrc);
    is($rc, 0, "alice backup $round") or diag $err;
    my ($id) = "$out$err" =~ /snapshot (\d+) saved/;
    $expect{"alice/$id"} = [$asrc, manifest($asrc)];
    GVClient::_spit_bytes("$asrc/sub/a.txt", "alice's text, version " . ($round + 1) . "\n");
    GVClient::_spit_bytes("$asrc/new$round", GVClient::pseudo_bytes(100_000, "n$round"));
}
my $bsrc = "$dir/bsrc";
make_path("$bsrc/docs");
GVClient::_spit_bytes("$bsrc/docs/report.txt", "bob's report\n" x 1000);
GVClient::_spit_bytes("$bsrc/docs/data.bin", GVClient::pseudo_bytes(700_000, 'bob'));
($rc, $out, $err) = $bob->run('backup', '--set', 'docs', $bsrc);
is($rc, 0, 'bob backup') or diag $err;
my ($bid) = "$out$err" =~ /snapshot (\d+) saved/;
$expect{"bob/$bid"} = [$bsrc, manifest($bsrc)];

# alice forgets her second snapshot; the rebuild must not bring it back
($rc, $out, $err) = $gv->ctl('client', 'allow-forget', 'alice');
is($rc, 0, 'allow-forget alice');
my @asnaps = $alice->snapshots;
($rc, $out, $err) = $alice->run('forget', $asnaps[1]{id});
is($rc, 0, 'alice forgets her second snapshot') or diag $err;
delete $expect{"alice/$asnaps[1]{id}"};

is(($gv->ctl('policy', 'set', 'alice', '--keep-last', 7, '--keep-daily', 3))[0], 0,
   'a policy for alice');
is(($gv->ctl('policy', 'set', 'bob', '--set', 'docs', '--keep-weekly', 4))[0], 0,
   'a policy for bob\'s set docs');
is(($gv->ctl('client', 'add', 'carol'))[0], 0, 'carol added (never registers)');
is(($gv->ctl('client', 'disable', 'carol'))[0], 0, 'carol disabled');

my %before = (
    clients => ctl_json('client', 'list'),
    policies => ctl_json('policy', 'show'),
    snapshots => ctl_json('snapshots'),
);
is(scalar @{ $before{snapshots} }, 3, 'three snapshots before') or diag explain $before{snapshots};
$gv->stop;

# Restore each expected snapshot and compare with its manifest.
sub check_all {
    my ($tag) = @_;
    my %got = (
        clients => ctl_json('client', 'list'),
        policies => ctl_json('policy', 'show'),
        snapshots => ctl_json('snapshots'),
    );
    for my $k (qw(clients policies snapshots)) {
        is_deeply($got{$k}, $before{$k}, "$tag: $k as before")
            or diag explain [$got{$k}, $before{$k}];
    }
    for my $key (sort keys %expect) {
        my ($who, $id) = split m{/}, $key;
        my $cl = $who eq 'alice' ? $alice : $bob;
        my ($src, $man) = @{ $expect{$key} };
        my $target = "$dir/restore-$tag-$who-$id";
        my ($rc, $out, $err) = $cl->run('restore', '--target', $target, $id);
        is($rc, 0, "$tag: $who restores snapshot $id") or diag $err;
        is_deeply(manifest("$target$src"), $man, "$tag: ... byte-identical");
        remove_tree($target);
    }
    my ($st, $sout, $serr) = $gv->ctl('scrub');
    is($st, 0, "$tag: scrub exits 0") or diag "$sout$serr";
    like($sout, qr/ 0 damaged/, "$tag: scrub finds nothing damaged") or diag $sout;
}

sub refused {
    my ($tag) = @_;
    my ($st, $o, $e) = GVClient::run_cmd([$GV::BIN, '-d', '-f', $gv->conf], {}, 30);
    isnt($st, 0, "$tag: gigavaultd refuses to start (exit $st)");
    like($e, qr/gigavaultctl rebuild-catalog/, "$tag: ... naming gigavaultctl rebuild-catalog")
        or diag $e;
}

sub rebuild {
    my ($tag) = @_;
    my ($st, $o, $e) = $gv->ctl('rebuild-catalog');
    is($st, 0, "$tag: rebuild-catalog exits 0") or diag "$o$e";
    like($o, qr/rebuilt: 3 clients, 3 snapshots, 2 policies/, "$tag: it says what it rebuilt")
        or diag "$o$e";
    note $o;
    ok(GVClient::restart_daemon($gv), "$tag: gigavaultd starts") or $gv->diag_logs;
}

# --- round 1: data.mdb deleted
unlink "$data/catalog/data.mdb" or die "unlink: $!";
refused('deleted');
rebuild('deleted');
ok(scalar(glob("$data/catalog.broken-*")), 'deleted: the old catalog directory was moved aside');
check_all('deleted');

# a new backup on the rebuilt catalog
GVClient::_spit_bytes("$asrc/after-rebuild", "written after the rebuild\n");
($rc, $out, $err) = $alice->run('backup', $asrc);
is($rc, 0, 'a backup after the rebuild works') or diag $err;
my ($nid) = "$out$err" =~ /snapshot (\d+) saved/;
ok($nid > $asnaps[-1]{id}, "it gets a new id ($nid), none reused");
$expect{"alice/$nid"} = [$asrc, manifest($asrc)];
$before{snapshots} = ctl_json('snapshots');
$gv->stop;

# --- round 2: data.mdb garbled
{
    open my $fh, '+<:raw', "$data/catalog/data.mdb" or die "$!";
    seek $fh, 0, 0;
    print $fh GVClient::pseudo_bytes(16384, 'garble');
    close $fh;
}
refused('garbled');
{
    my ($st, $o, $e) = $gv->ctl('rebuild-catalog');
    is($st, 0, 'garbled: rebuild-catalog exits 0') or diag "$o$e";
    like($o, qr/rebuilt: 3 clients, 4 snapshots, 2 policies/, 'garbled: 4 snapshots now')
        or diag "$o$e";
    ok(GVClient::restart_daemon($gv), 'garbled: gigavaultd starts') or $gv->diag_logs;
}
check_all('garbled');

# --- refused while the daemon runs
{
    my ($st, $o, $e) = $gv->ctl('rebuild-catalog');
    is($st, 1, 'rebuild-catalog refuses while gigavaultd runs');
    like($e, qr/stop it/, '... and says so');
}
is($gv->stop, 0, 'gigavaultd stops cleanly');
done_testing;
