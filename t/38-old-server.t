#!/usr/bin/perl
# The client and a server below protocol version 3.  A proxy in this
# test lowers the highest version the client offers in its CLIENT_HELLO
# to 2, so the real daemon speaks version 2 to it (as a 0.1 server
# would).  `gigavault backup` refuses such a server with a message that
# says to upgrade it (it would store the trees without their links) and
# sends nothing; reading keeps working over version 2: snapshots, ls,
# restore (byte for byte), verify and forget of a snapshot written over
# version 3.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use GV;
use GVClient;

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'old');
GVClient::ctl($gv, 'client', 'allow-forget', 'old');
my $src = $gv->dir . '/src';
make_path("$src/d");
GVClient::_spit_bytes("$src/d/big", GVClient::pseudo_bytes(3_000_000, 'old'));
GVClient::_spit_bytes("$src/small", "small\n");

my ($rc, $out, $err) = $cl->run('backup', $src);
is($rc, 0, 'backup over version 3: exit 0') or diag($err);
my @snaps = map { $_->{id} } $cl->snapshots;
is(scalar @snaps, 1, 'one snapshot');

# --- the proxy: one connection at a time, CLIENT_HELLO's max lowered to 2
my $lsn = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                Listen => 5, ReuseAddr => 1, Proto => 'tcp')
    or die "listen: $!";
my $pport = $lsn->sockport;
my $hellos = $gv->dir . '/proxy-hellos';
my $ppid = fork // die "fork: $!";
if (!$ppid) {
    $SIG{$_} = 'DEFAULT' for qw(ALRM TERM INT HUP PIPE);
    alarm 600;
    while (my $c = $lsn->accept) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $gv->port('BackupServer'), Proto => 'tcp')
            or POSIX::_exit(1);
        my ($h, $st) = GV::read_exact($c, 8, time + 10);
        next unless $st eq 'ok';
        my ($len, $type) = unpack('N n', $h);
        my ($p) = GV::read_exact($c, $len, time + 10);
        if ($type == GV::T_CLIENT_HELLO && length $p >= 8) {
            my ($min, $max) = unpack('x4 n n', $p);
            substr($p, 6, 2) = pack('n', $max > 2 ? 2 : $max);
            if (open my $fh, '>>', $hellos) { print $fh "$min $max\n"; close $fh }
        }
        GV::send_raw($s, $h . $p);
        my $sel = IO::Select->new($c, $s);
        OUTER: while (1) {
            for my $r ($sel->can_read(60)) {
                my $buf;
                my $n = sysread($r, $buf, 65536);
                last OUTER unless $n;
                GV::send_raw($r == $c ? $s : $c, $buf) or last OUTER;
            }
        }
        close $c;
        close $s;
    }
    POSIX::_exit(0);
}
close $lsn;

# A second configuration of the same client (key, state), through the proxy.
my $conf = GV::_slurp($cl->dir . '/client.conf');
$conf =~ s/^Server = .*$/Server = "127.0.0.1:$pport"/m or die;
my $pconf = $cl->dir . '/proxy.conf';
GV::_spit($pconf, $conf);
sub prun {
    return GVClient::run_cmd([$GVClient::CLIENT, '-c', $pconf, @_],
                             { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 120);
}

# --- backup is refused
GVClient::_spit_bytes("$src/new", "new file\n");
($rc, $out, $err) = prun('backup', $src);
isnt($rc, 0, 'backup to a version 2 server: refused (exit non-zero)');
like($err, qr/this server speaks protocol version 2; backups need version 3 \(GigaVault 0\.2 or later\): upgrade the server/,
     '... with a message that says to upgrade the server') or diag($err);
unlike($out, qr/snapshot \d+ saved/, '... nothing saved');
like(GV::_slurp($hellos), qr/^1 5$/m, 'the proxy saw the client offer 1..5 and lowered it');
is(scalar $cl->snapshots, 1, 'the server has still one snapshot');

# --- reading works over version 2
($rc, $out, $err) = prun('snapshots');
is($rc, 0, 'snapshots over version 2: exit 0') or diag($err);
like($out, qr/\b$snaps[0]\b/, '... lists the snapshot');
($rc, $out, $err) = prun('ls', 'latest');
is($rc, 0, 'ls over version 2: exit 0') or diag($err);
like($out, qr{d/big}, '... names the files');
my $dst = $gv->dir . '/restored';
($rc, $out, $err) = prun('restore', '--target', $dst, 'latest');
is($rc, 0, 'restore over version 2: exit 0') or diag($err);
unlink "$src/new";
my @diff = GVClient::compare_trees($src, "$dst$src");
is_deeply(\@diff, [], '... byte for byte') or diag(join "\n", @diff);
($rc, $out, $err) = prun('verify', 'latest');
is($rc, 0, 'verify over version 2: exit 0') or diag("$out\n$err");
($rc, $out, $err) = prun('forget', $snaps[0]);
is($rc, 0, 'forget over version 2: exit 0') or diag($err);
is(scalar $cl->snapshots, 0, '... the snapshot is gone');

kill 'TERM', $ppid;
waitpid($ppid, 0);
$gv->stop;
done_testing;
