#!/usr/bin/perl
# Start-up checks (issue 15, point 3): before it binds or forks its
# children, gigavaultd has a child running as Server.User check that this
# user can traverse every directory on the way to DataDir and read and
# write what the children use in it; if not, it exits 1 with a message
# naming DataDir, the user, the path, the missing permission and the
# path's mode and owner, and leaves no process, socket or pid file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use GV;

plan skip_all => 'needs root (to make files Server.User cannot use)' if $> != 0;
my $user = 'nobody';    # t/lib/GV.pm's Server.User for a test run as root
plan skip_all => "needs a user \"$user\"" unless defined getpwnam($user);

sub refused {
    my ($gv, $re, $what) = @_;
    my $st = $gv->wait_exit(15);
    is($st, 1, "$what: exit 1");
    like($gv->stderr_text, $re, "$what: the message names DataDir, the user, the path, "
         . 'the permission, the mode and the owner') or diag($gv->stderr_text);
    ok(!IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gv->port('UI'), Timeout => 1),
       "$what: nothing listens");
    ok(!-e $gv->pidfile, "$what: no pid file");
    $gv->stop;
    is_deeply([$gv->leftovers], [], "$what: no process left");
}

# --- the parent of DataDir is 0700 root
my $top = File::Temp::tempdir('gv-access-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $top;
mkdir "$top/locked" or die;
chmod 0700, "$top/locked";
my $datadir = "$top/locked/data";
{
    my $gv = GV->spawn(Workers => 1, DataDir => $datadir);
    is($gv->cfg->{Server}{User}, $user, "Server.User is $user");
    refused($gv, qr/^gigavaultd: \Q$datadir\E: user $user cannot traverse \Q$top\E\/locked \(mode 0700, owner root:root\)$/m,
            'parent 0700 root');
}

# --- once it may, the daemon starts; then files in DataDir it may not use
chmod 0755, "$top/locked";
{
    my $gv = GV->start(Workers => 1, DataDir => $datadir);
    ok($gv->alive, 'with the parent 0755 the daemon starts');
    $gv->add_client('alice');    # a journal record
    is($gv->stop, 0, 'and stops');
}
ok(-e "$datadir/catalog/data.mdb" && -e "$datadir/journal", 'the DataDir has a catalog and a journal');

for my $case (['catalog/data.mdb', 'read or write'],
              ['journal', 'read or write'],
              ['catalog', 'list or write in or traverse']) {
    my ($name, $what) = @$case;
    my $path = "$datadir/$name";
    my @st = stat $path or die "$path: $!";
    chown 0, 0, $path;
    chmod 0600, $path if -f $path;
    chmod 0700, $path if -d $path;
    my $mode = -d $path ? '0700' : '0600';
    my $gv = GV->spawn(Workers => 1, DataDir => $datadir);
    refused($gv, qr/^gigavaultd: \Q$datadir\E: user $user cannot $what \Q$path\E \(mode $mode, owner root:root\)$/m,
            "$name $mode root");
    chown $st[4], $st[5], $path;
    chmod $st[2] & 07777, $path;
}

# --- a pack the user may not read
{
    mkdir "$datadir/packs";
    my ($uid, $gid) = (getpwnam($user))[2, 3];
    chown $uid, $gid, "$datadir/packs";
    my $pack = "$datadir/packs/00000001.pack";
    open my $fh, '>', $pack or die "$pack: $!";
    close $fh;
    chmod 0600, $pack;
    my $gv = GV->spawn(Workers => 1, DataDir => $datadir);
    refused($gv, qr/^gigavaultd: \Q$datadir\E: user $user cannot read \Q$pack\E \(mode 0600, owner root:root\)$/m,
            'a pack 0600 root');
    unlink $pack;
}

{
    my $gv = GV->start(Workers => 1, DataDir => $datadir);
    ok($gv->alive, 'with every permission back, the daemon starts');
    my ($st, $out) = $gv->ctl('client', 'list');
    like($out, qr/\balice\b/, 'and its catalog has the client');
    is($gv->stop, 0, 'and stops');
}

done_testing;
