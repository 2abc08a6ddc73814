#!/usr/bin/perl
# gigavault-mailhelper with a mailbox of 10,000 messages (Maildir files
# written straight into a real Dovecot's store, t/lib/GVDovecot.pm): the
# list comes whole and in UID order (fetched 1,000 at a time, sent 256
# per frame), every message fetched through the helper is byte for byte
# what Dovecot returns, and the times and bytes of listing and fetching
# are printed for the record (diag; no assertion on time).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use Digest::SHA qw(sha256_hex);
use File::Temp ();
use GV;
use GVDovecot;
use GVMailHelper;

my $N = $ENV{GV_MAIL_MESSAGES} || 10000;
alarm 900;    # GV.pm's watchdog, longer: 10,000 fetches
my $dv = GVDovecot->start(users => ['big']);
my @msgs;
for my $k (1 .. $N) {
    push @msgs, GVDovecot::make_message(
        subject => "bulk $k",
        body => ("line $k of a message body that is long enough to matter\n" x (5 + $k % 40)),
        $k % 10 == 0 ? (attach => join('', map { chr(($_ * 13 + $k) % 256) } 1 .. 20000)) : ());
}
my $t0 = time;
$dv->maildir_put('big', 'Bulk', \@msgs, date => 1650000000, flags => 'S');
my $want_bytes = 0;
$want_bytes += length for @msgs;
my $mh = GVMailHelper->start($dv);

my ($rc, $out, $err) = $mh->gv_mh('mailboxes', 'big');
my ($uv, $n) = $out =~ /^Bulk\t\/\t(\d+)\t\d+\t(\d+)\t/m;
is($n, $N, "mailboxes: Bulk has $N messages") or diag $out, $err;

my $t = time;
($rc, $out, $err) = $mh->gv_mh('messages', 'big', 'Bulk', $uv, { timeout => 600 });
my $list_s = time - $t;
is($rc, 0, 'messages: exit 0') or diag $err;
my @lines = split /\n/, $out;
is(scalar @lines, $N, "messages: $N listed");
my @uids = map { (split /\t/)[0] } @lines;
is_deeply(\@uids, [1 .. $N], 'messages: every UID once, in UID order');
my $sum = 0;
$sum += (split /\t/)[1] for @lines;
is($sum, $want_bytes, 'messages: the sizes add up to the bytes written (CRLF)');
ok(!grep({ (split /\t/)[4] ne '\Seen' } @lines), 'messages: every message \Seen, as written');

my $dir = File::Temp::tempdir('gv-mh10k-XXXXXX', TMPDIR => 1, CLEANUP => 1);
$t = time;
($rc, $out, $err) = $mh->gv_mh('fetchall', 'big', 'Bulk', $uv, $dir, { timeout => 900 });
my $fetch_s = time - $t;
is($rc, 0, 'fetchall: exit 0') or diag $err;
my ($cnt, $bytes, $list_ms, $fetch_ms) = $out =~ /^(\d+) messages (\d+) bytes (\d+) (\d+)$/m;
is($cnt, $N, "fetchall: $N messages fetched");
is($bytes, $want_bytes, 'fetchall: the bytes add up');
# Every message as it went in (Maildir keeps LF; IMAP gives CRLF).
my $same = 0;
for my $k (1 .. $N) {
    open my $fh, '<', "$dir/$k" or last;
    binmode $fh;
    local $/;
    my $got = <$fh>;
    $same++ if defined $got && $got eq $msgs[$k - 1];
}
is($same, $N, 'fetchall: every message byte for byte');

diag(sprintf('mail helper, %d messages, %.1f MB: list %.2f s (%d ms in the client), ' .
             'fetch all %.2f s (%d ms in the client, %.0f messages/s, %.1f MB/s)',
             $N, $bytes / 1e6, $list_s, $list_ms, $fetch_s, $fetch_ms,
             $N / ($fetch_ms / 1000 || 1), $bytes / 1e6 / ($fetch_ms / 1000 || 1)));
# One message back, as a single-message restore does: connect, prove,
# log in, CREATE, APPEND.
my $one = $msgs[9];
$t = time;
($rc, $out, $err) = $mh->gv_mh('create', 'big', 'Restored/Bulk');
my ($rc2, $out2, $err2) = $mh->gv_mh('append', 'big', 'Restored/Bulk', '\Seen', 1650000000, 0,
                                     { stdin => $one });
my $restore_s = time - $t;
is($rc + $rc2, 0, 'one message restored (create, append)') or diag $err, $err2;
is($dv->fetch('big', 'Restored/Bulk', $out2 + 0), $one, 'the restored message is byte for byte');
diag(sprintf('mail helper, one message of %d bytes restored (create + append, two connections): %.3f s',
             length $one, $restore_s));

my $log = $dv->log_text;
ok(!grep({ !/deleted=0 expunged=0/ } $log =~ /Disconnected:.*?(deleted=\d+ expunged=\d+)/g),
   'no message deleted or expunged');
$mh->stop;
$dv->stop;
done_testing;
