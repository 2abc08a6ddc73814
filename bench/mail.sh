#!/bin/bash
# bench/mail.sh - a mail set (doc/mail.md) of one mailbox of N messages
# (default 10,000) in a real Dovecot, through gigavault-mailhelper into
# gigavaultd: the full backup, an incremental after 10 new messages, the
# listing of the mailbox, and the restore of a single message; wall
# times, messages fetched, bytes sent and stored.  Prints one table.
#
# usage: bench/mail.sh            (as root: Dovecot is started as root)
# env:   BENCH_MAIL_N (messages, default 10000),
#        BUILD (a built tree, default this one: src/gigavaultd,
#        src/gigavault, src/gigavault-mailhelper, t/gv-mh)
#
# It runs the test suite's own harness (t/lib: GV.pm, GVClient.pm,
# GVDovecot.pm, GVMailHelper.pm): Dovecot on a free loopback port with
# its Maildir in a temporary directory, the messages written straight
# into the Maildir (as t/85-mailhelper-10k.t does: 1 in 10 with a 20 kB
# attachment), the helper and the daemon on loopback; all of it stopped
# at the end.  The client runs with its defaults (Compression 3).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(cd "${BUILD:-$top}" && pwd)
for f in src/gigavaultd src/gigavault src/gigavault-mailhelper; do
	[ -x "$build/$f" ] || { echo "bench: $build/$f missing: build the tree first" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench: run as root (Dovecot)" >&2; exit 2; }
export GV_SRCDIR=$top GV_BUILDDIR=$build BENCH_MAIL_N=${BENCH_MAIL_N:-10000}

exec perl -I "$top/t/lib" - <<'PERL'
use strict;
use warnings;
use Time::HiRes qw(time);
use JSON::PP;
use Test::More;
use GV;
use GVClient;
use GVDovecot;
use GVMailHelper;

my $N = $ENV{BENCH_MAIL_N};
alarm 3600;
my $dv = GVDovecot->start(users => ['big']);
my @msgs;
for my $k (1 .. $N) {
    push @msgs, GVDovecot::make_message(
        subject => "bulk $k",
        body => ("line $k of a message body that is long enough to matter\n" x (5 + $k % 40)),
        $k % 10 == 0 ? (attach => join('', map { chr(($_ * 13 + $k) % 256) } 1 .. 20000)) : ());
}
$dv->maildir_put('big', 'Bulk', \@msgs, date => 1650000000, flags => 'S');
my $bytes = 0;
$bytes += length for @msgs;
@msgs = ();
my $mh = GVMailHelper->start($dv);
my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'mail');
open my $fh, '>>', $cl->{conf} or die;
print $fh "Ports {\n\tBackupServer = " . $gv->port('BackupServer') . "\n\tMAPI32Bit = " . $mh->port . "\n}\n" .
          qq(Mail {\n\tSecretFile = ") . $mh->secret_file . qq("\n}\nBackupSet "mail" {\n\tType = "mail"\n}\n);
close $fh;

my @rows;
sub step {
    my ($name, @args) = @_;
    my $from = GVClient::log_size($gv);
    my $t = time;
    my ($rc, $out, $err) = $cl->run(@args);
    my $s = time - $t;
    die "bench: $name: exit $rc\n$out$err" if $rc != 0;
    my $sent = GVClient::bytes_in_since($gv, $from);
    my ($fetched) = $out =~ /; fetched (\d+)/;
    my (undef, $u) = GVClient::ctl($gv, 'usage', '--json');
    my $usage = (eval { decode_json($u) } || [{}])->[0] || {};
    push @rows, [$name, sprintf('%.2f', $s), $fetched // '-', sprintf('%.1f', $sent / 1048576),
                 sprintf('%.1f', ($usage->{unique_bytes} // 0) / 1048576), $usage->{blobs} // '-'];
    return $out;
}

step('full backup', 'backup', '--set', 'mail');
my $c = $dv->_imap('big');
$c->append('Bulk', GVDovecot::make_message(subject => "new $_"), flags => '', date => 1700000000 + $_) for 1 .. 10;
$c->logout;
step('incremental, 10 new', 'backup', '--set', 'mail');
step('incremental, none new', 'backup', '--set', 'mail');
my $out = step('mail ls (the mailbox)', 'mail', 'ls', '--set', 'mail', 'latest', 'big', 'Bulk');
my ($file) = $out =~ /^(\d+-\d+) .*bulk 5000\b/m;
($file) = $out =~ /^(\d+-\d+) /m unless defined $file;
step('restore 1 message', 'mail', 'restore', '--set', 'mail', '--to-folder', 'Restored', 'latest', 'big', 'Bulk', $file);

printf "\nmail set: 1 mailbox of %d messages (%.1f MiB as FETCHed, 1 in 10 with a 20 kB attachment); %s, %d cores\n",
       $N, $bytes / 1048576, `uname -sr` =~ s/\n//r, `nproc` + 0;
print "load average ", join(" ", (split " ", GV::_slurp("/proc/loadavg"))[0 .. 2]), "\n\n";
print "| step | s | fetched | sent MiB | stored MiB (total) | blobs (total) |\n|---|---|---|---|---|---|\n";
print '| ' . join(' | ', @$_) . " |\n" for @rows;
print "\nfetched: messages the client fetched through the helper (its \"mail:\" line);\n" .
      "sent: the daemon's bytes in over the step's sessions; stored: gigavaultctl usage\n" .
      "(unique_bytes: compressed, sealed, deduplicated) after the step.\n";
ok(1);
done_testing;
PERL
