#!/usr/bin/perl
# gigavaultctl upgrade: a DataDir written by 0.1.0 (t/data/store-0.1.0,
# see its README) is refused by gigavaultd naming the command; after the
# upgrade both old snapshots restore byte-identical (MANIFEST), a new
# backup on top works, prune (GraceSeconds 0) keeps the old snapshots'
# data, and a rebuild-catalog of the upgraded store gets it all back.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path remove_tree);
use File::Find;
use File::Temp ();
use Digest::SHA;
use JSON::PP;
use GV;
use GVClient;

$ENV{GV_TEST_TIMEOUT} //= 300;
alarm 300;

my $SRC = '/tmp/gv-store-0.1.0-src';    # the path the fixture backed up
my $fixture = "$GV::SRCDIR/t/data/store-0.1.0";
my $tmp = File::Temp::tempdir('gv-upgrade-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{GV_KEEP});
chmod 0755, $tmp;
system('tar', '-C', $tmp, '-xzf', "$fixture/store-0.1.0.tar.gz") == 0
    or BAIL_OUT('cannot unpack the fixture');
my $data = "$tmp/data";
if ($> == 0) {    # GV.pm runs the daemon as nobody when root
    my (undef, undef, $uid, $gid) = getpwnam('nobody');
    find({ no_chdir => 1, wanted => sub { chown $uid, $gid, $_ } }, $data);
}

# snapshot -> { path -> sha256 }
my %man;
open my $mf, '<', "$fixture/MANIFEST" or die "MANIFEST: $!";
while (<$mf>) {
    next if /^#/;
    my ($snap, $sha, $path) = /^(\d+) ([0-9a-f]{64}) (.+)$/ or die "MANIFEST: $_";
    $man{$snap}{$path} = $sha;
}
close $mf;
is(scalar keys %man, 2, 'the manifest lists two snapshots');

sub files_of {
    my ($root) = @_;
    my %m;
    find({ no_chdir => 1, wanted => sub {
        return if -l $_ || !-f $_;
        (my $rel = $_) =~ s{^\Q$root\E/}{};
        open my $fh, '<:raw', $_ or die "$_: $!";
        $m{$rel} = Digest::SHA->new(256)->addfile($fh)->hexdigest;
    } }, $root);
    return \%m;
}

# --- refused before the upgrade
my $gv = GV->spawn(Workers => 2, DataDir => $data, 'Prune.GraceSeconds' => 0);
$gv->wait_exit(20);
isnt($gv->exit_status, 0, 'gigavaultd on a 0.1.0 DataDir refuses to start')
    or $gv->diag_logs;
like($gv->stderr_text, qr/gigavaultctl upgrade/, '... naming gigavaultctl upgrade')
    or diag $gv->stderr_text;
unlike($gv->stderr_text, qr/rebuild-catalog/, '... and not rebuild-catalog');

my ($rc, $out, $err) = GVClient::ctl($gv, 'rebuild-catalog');
is($rc, 1, 'rebuild-catalog refuses a 0.1.0 DataDir');
like($err, qr/gigavaultctl upgrade instead/, '... and names the upgrade') or diag $err;
ok(!glob("$data/catalog.broken-*"), '... leaving the catalog where it is');

($rc, $out, $err) = GVClient::ctl($gv, 'upgrade');
is($rc, 0, 'gigavaultctl upgrade exits 0') or diag "$out$err";
like($out, qr/1 clients, 2 snapshots \(one legacy node each\), 1 policies/,
     'it names what it upgraded') or diag $out;
like($out, qr/rebuilt: 1 clients, 2 snapshots, 1 policies/, '... and what it rebuilt')
    or diag $out;
note $out;
ok(-d "$data/catalog.0.1.0", 'the 0.1.0 catalog is kept aside');
ok(!-e "$data/packs/00000001.pack" && !-e "$data/packs/00000002.pack",
   'the 0.1.0 packs are gone');
($rc, $out, $err) = GVClient::ctl($gv, 'upgrade');
is($rc, 1, 'a second upgrade is refused') or diag "$out$err";

ok(GVClient::restart_daemon($gv), 'gigavaultd starts on the upgraded DataDir')
    or $gv->diag_logs;

# The fixture's client, pointed at this daemon.
my $cdir = "$tmp/client";
my $port = $gv->port('BackupServer');
{
    my $st = JSON::PP->new->decode(GV::_slurp("$cdir/state.json"));
    $st->{server} = "127.0.0.1:$port";
    GVClient::_spit_bytes("$cdir/state.json", JSON::PP->new->encode($st));
    GVClient::_spit_bytes("$cdir/client.conf",
        qq(Server = "127.0.0.1:$port"\nKeyFile = "$cdir/key"\nStateFile = "$cdir/state.json"\n));
}
my $cl = bless { gv => $gv, name => 'fixture', dir => $cdir,
                 conf => "$cdir/client.conf" }, 'GVClient';

sub restores_all {
    my ($tag) = @_;
    my @snaps = $cl->snapshots;
    ok(scalar(@snaps) >= 2, "$tag: the old snapshots are listed") or diag explain \@snaps;
    for my $id (1, 2) {
        my $target = "$tmp/restore-$tag-$id";
        my ($rc, $out, $err) = $cl->run('restore', '--target', $target, $id);
        is($rc, 0, "$tag: snapshot $id restores") or diag $err;
        is_deeply(files_of("$target$SRC"), $man{$id}, "$tag: ... byte-identical to the manifest");
        is(readlink("$target$SRC/link-to-small"), 'small.txt', "$tag: ... with its symlink");
        remove_tree($target) unless $id == 2;
    }
}
restores_all('upgraded');
{
    my $p = JSON::PP->new->decode(($gv->ctl('policy', 'show', 'fixture', '--json'))[1]);
    is_deeply([ map { [ $_->{set}, $_->{keep_last}, $_->{keep_daily} ] }
                @{ $p->{clients}[0]{policies} } ], [ [ '', 5, 7 ] ],
              'the policy is back: keep-last 5, keep-daily 7') or diag explain $p;
}

# A new backup on top: the restored tree of snapshot 2 with a change.
my $new = "$tmp/restore-upgraded-2$SRC";
GVClient::_spit_bytes("$new/after-upgrade.txt", "new since the upgrade\n");
($rc, $out, $err) = $cl->run('backup', $new);
is($rc, 0, 'a new backup on the upgraded store') or diag $err;
my ($nid) = "$out$err" =~ /snapshot (\d+) saved/;
is($nid, 3, 'it is snapshot 3');

# Garbage for prune: a fourth snapshot with data of its own, forgotten.
GVClient::_spit_bytes("$tmp/gone.bin", GVClient::pseudo_bytes(300_000, 'gone'));
($rc, $out, $err) = $cl->run('backup', '--set', 'gone', "$tmp/gone.bin");
is($rc, 0, 'a fourth backup') or diag $err;
is(($gv->ctl('client', 'allow-forget', 'fixture'))[0], 0, 'allow-forget');
($rc, $out, $err) = $cl->run('forget', 4);
is($rc, 0, 'the fourth snapshot is forgotten') or diag $err;
sleep 2;    # GraceSeconds 0 frees what was touched before this second

# Prune with GraceSeconds 0: nothing the old snapshots reach may go.
($rc, $out, $err) = $gv->ctl('prune');
is($rc, 0, 'prune exits 0') or diag "$out$err";
like($out, qr/[1-9]\d* blobs freed/, 'prune frees the forgotten snapshot\'s blobs') or diag $out;
note $out;
restores_all('pruned');
($rc, $out, $err) = $gv->ctl('scrub');
is($rc, 0, 'scrub is clean after prune') or diag "$out$err";
$gv->stop;

# --- rebuild works on the upgraded store
unlink "$data/catalog/data.mdb" or die "unlink: $!";
($rc, $out, $err) = GVClient::ctl($gv, 'rebuild-catalog');
is($rc, 0, 'rebuild-catalog of the upgraded store exits 0') or diag "$out$err";
like($out, qr/rebuilt: 1 clients, 3 snapshots, 1 policies/, '... with all three snapshots')
    or diag $out;
ok(GVClient::restart_daemon($gv), 'gigavaultd starts') or $gv->diag_logs;
restores_all('rebuilt');
{
    my $target = "$tmp/restore-new";
    ($rc, $out, $err) = $cl->run('restore', '--target', $target, $nid);
    is($rc, 0, 'rebuilt: the new snapshot restores') or diag $err;
    is_deeply(files_of("$target$new"), files_of($new), 'rebuilt: ... byte-identical');
}
is($gv->stop, 0, 'gigavaultd stops cleanly');
done_testing;
