#!/usr/bin/perl
# Mail sets (doc/mail.md) end to end, with a real Dovecot (t/lib/GVDovecot.pm),
# the real gigavault-mailhelper and gigavaultd: two users with nested
# folders and a few hundred messages (some with attachments, some the
# same in two folders and for both users) backed up; identical messages
# stored once; `mail ls`; a folder and a single message deleted on the
# Dovecot side and restored through the helper, compared byte for byte
# with their flags and internal dates; --to-folder; an incremental after
# 10 new messages fetches only those; a flag change shows in .mailbox
# only; the mail set run as an agent job.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GVDovecot;      # skip_all without Dovecot or root
use GV;
use GVClient;
use GVAgent;
use GVMailHelper;
use JSON::PP;

my $dv = GVDovecot->start(users => [qw(alice bob)]);
my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'mailer');
my $dir = $cl->dir;

# ------------------------------------------------------------ the helper
my $mh = GVMailHelper->start($dv);
my ($mhport, $secret) = ($mh->port, $mh->secret_file);

# The client's mail options, and the mail set.
open my $fh, '>>', $cl->{conf} or die;
print $fh qq(Ports {\n\tBackupServer = ) . $gv->port('BackupServer') . qq(\n\tMAPI32Bit = $mhport\n}\n) .
          qq(Mail {\n\tHost = "127.0.0.1"\n\tSecretFile = "$secret"\n}\n) .
          qq(BackupSet "mail" {\n\tType = "mail"\n}\n);
close $fh;

# ------------------------------------------------------------ the mail
my @flags = ('', '\Seen', '\Seen \Flagged', '\Answered \Seen', '$Label1', '\Draft');
my @tz = ('+0000', '+0100', '-0500', '+0530');
my $n = 0;
sub fill {
    my ($user, $mbox, $count, %o) = @_;
    my $c = $dv->_imap($user);
    my @made;
    for my $i (1 .. $count) {
        $n++;
        my $date = 1700000000 + $n * 3600;
        my $bytes = $o{copy} ? $o{copy}[$i - 1]
                  : GVDovecot::make_message(
                        from => "Sender $n <s$n\@gv.test>",
                        subject => "$mbox message $i of $user",
                        date => $date,
                        ($i % 7 == 0 ? (attach => join('', map { chr int rand 256 } 1 .. 20000 + $i * 100)) : ()));
        $c->append($mbox, $bytes, flags => $flags[$n % @flags], date => $date, tz => $tz[$n % @tz]);
        push @made, $bytes;
    }
    $c->logout;
    return @made;
}
my @inbox = fill('alice', 'INBOX', 80);
fill('alice', 'Work/Projects', 40);
fill('alice', 'Work/Projects/Old', 25);
fill('alice', 'Work/Same', 20, copy => [@inbox[0 .. 19]]);    # 20 identical
fill('bob', 'INBOX', 60);
fill('bob', 'Archive/2024', 35);
fill('bob', 'Shared', 20, copy => [@inbox[0 .. 19]]);         # and for bob
my %count = ('alice' => { 'INBOX' => 80, 'Work/Projects' => 40, 'Work/Projects/Old' => 25, 'Work/Same' => 20 },
             'bob' => { 'INBOX' => 60, 'Archive/2024' => 35, 'Shared' => 20 });
my $total = 0;
$total += $_ for map { values %$_ } values %count;
my $distinct = $total - 40;
is($total, 280, "$total messages in 7 mailboxes of 2 users");

# ------------------------------------------------------------ backup
my ($rc, $out, $err) = $cl->run('backup', '--set', 'mail');
is($rc, 0, 'backup --set mail: exit 0') or diag "$out\n$err";
like($out, qr/^mail: 2 users, 7 mailboxes, $total messages; fetched $total\b.*, the header fields of $total$/m,
     '... every message fetched once, its header fields alone for .mailbox') or diag $out;
my $files = $total + 7;                 # and a .mailbox each
like($out, qr/^snapshot \d+ saved: $files files/m, "... $files files saved");

# Identical messages are stored once: the data blobs are the distinct
# messages (each below the smallest chunk) and the .mailbox files; the
# rest are the trees (root, 2 users, 7 mailboxes) and the meta.
($rc, my $usage) = GVClient::ctl($gv, 'usage', '--json');
my ($blobs) = $usage =~ /"blobs"\s*:\s*(\d+)/;
ok(defined $blobs, 'gigavaultctl usage counts the blobs') or diag $usage;
my $want = $distinct + 7 + (1 + 2 + 7) + 1;
cmp_ok($blobs, '<=', $want, "identical messages stored once: $blobs blobs, at most $want ($total messages, $distinct distinct)");

# ------------------------------------------------------------ mail ls
($rc, $out, $err) = $cl->run('mail', 'ls', '--set', 'mail', 'latest');
is($rc, 0, 'mail ls SNAPSHOT: exit 0') or diag $err;
is($out, "alice\nbob\n", '... the users');
($rc, $out, $err) = $cl->run('mail', 'ls', '--set', 'mail', '--json', 'latest', 'alice');
my $mbs = eval { decode_json($out) } || [];
is_deeply({ map { $_->{mailbox} => $_->{messages} } @$mbs }, $count{alice},
          'mail ls SNAPSHOT alice --json: the mailboxes with their message counts') or diag $out;
($rc, $out, $err) = $cl->run('mail', 'ls', '--set', 'mail', 'latest', 'bob');
like($out, qr{^\s+35  Archive/2024$}m, 'mail ls SNAPSHOT bob: a count and a name per line') or diag $out;
my @orig = $dv->messages('alice', 'Work/Projects');
($rc, $out, $err) = $cl->run('mail', 'ls', '--set', 'mail', '--json', 'latest', 'alice', 'Work/Projects');
my $msgs = eval { decode_json($out) } || [];
is(scalar @$msgs, 40, 'mail ls SNAPSHOT alice Work/Projects --json: 40 messages') or diag $err;
is_deeply([map { [$_->{uid}, $_->{flags}, $_->{date}, $_->{tzoff}, $_->{size}] } @$msgs],
          [map { [$_->{uid}, $_->{flags}, $_->{date}, $_->{tz}, $_->{size}] } @orig],
          '... with the UIDs, flags, internal dates, zones and sizes Dovecot has');
is($msgs->[2]{subject}, 'Work/Projects message 3 of alice', '... and the Subject');
like($msgs->[2]{from}, qr/^Sender \d+ <s\d+\@gv\.test>$/, '... and the From');
($rc, $out, $err) = $cl->run('mail', 'ls', '--set', 'mail', 'latest', 'alice', 'Work/Projects');
like($out, qr/^\d+-\d+ +\d{4}-\d\d-\d\d \d\d:\d\d .*Sender .*Work\/Projects message 1 of alice/m,
     'mail ls: file, date, size, From, Subject per message') or diag $out;

# ------------------------------------------------------------ delete, restore
# A folder deleted through IMAP (DELETE), a message expunged with doveadm.
my $FOLDER = 'Work/Projects/Old';
@orig = $dv->messages('alice', $FOLDER);
my %bytes = map { $_->{uid} => $dv->fetch('alice', $FOLDER, $_->{uid}) } @orig;
my @inb = $dv->messages('alice', 'INBOX');
my $gone = $inb[14];
my $gone_bytes = $dv->fetch('alice', 'INBOX', $gone->{uid});
{
    my $c = $dv->_imap('alice');
    ok(eval { $c->cmd(qq(DELETE "$FOLDER")); 1 }, "IMAP DELETE $FOLDER") or diag $@;
    my @list = $c->cmd('LIST "" "*"');
    ok(!grep(m{"\Q$FOLDER\E"?$}, @list), '... it is gone') or diag "@list";
    $c->logout;
}
my ($drc, $dout, $derr) = $dv->doveadm('expunge', '-u', 'alice', 'mailbox', 'INBOX', 'uid', $gone->{uid});
is($drc, 0, "one INBOX message (uid $gone->{uid}) expunged") or diag $derr;
is(scalar(my @l = $dv->messages('alice', 'INBOX')), 79, '... 79 left');

($rc, $out, $err) = $cl->run('mail', 'restore', '--set', 'mail', 'latest', 'alice', $FOLDER);
is($rc, 0, "mail restore SNAPSHOT alice $FOLDER: exit 0") or diag "$out\n$err";
like($out, qr/^25 messages restored, 0 problems$/m, '... 25 messages restored');
my @back = $dv->messages('alice', $FOLDER);
is(scalar @back, 25, "Dovecot has 25 messages in $FOLDER again");
is_deeply([map { [$_->{flags}, $_->{date}, $_->{tz}, $_->{size}] } @back],
          [map { [$_->{flags}, $_->{date}, $_->{tz}, $_->{size}] } @orig],
          '... with their flags, internal dates and zones, in their order');
my $same = grep { $dv->fetch('alice', $FOLDER, $back[$_]{uid}) eq $bytes{ $orig[$_]{uid} } } 0 .. $#orig;
is($same, 25, '... each byte for byte as FETCHed before (headers and body)');

my $file = (grep { $_->{uid} == $gone->{uid} } @{ decode_json(($cl->run('mail', 'ls', '--set', 'mail', '--json', 'latest', 'alice', 'INBOX'))[1]) })[0]{file};
ok(defined $file, "the expunged message is $file in the snapshot");
($rc, $out, $err) = $cl->run('mail', 'restore', '--set', 'mail', 'latest', 'alice', 'INBOX', $file);
is($rc, 0, 'mail restore SNAPSHOT alice INBOX MESSAGE: exit 0') or diag "$out\n$err";
like($out, qr/^restored alice INBOX\/\Q$file\E -> INBOX \(uid \d+\)$/m, '... says what it restored');
like($out, qr/^1 message restored, 0 problems$/m, '... one message');
my @inb2 = $dv->messages('alice', 'INBOX');
is(scalar @inb2, 80, 'INBOX has 80 messages again');
my $new = $inb2[-1];
is_deeply([$new->{flags}, $new->{date}, $new->{tz}, $new->{size}],
          [$gone->{flags}, $gone->{date}, $gone->{tz}, $gone->{size}],
          '... the restored one with its flags, internal date and zone');
ok($dv->fetch('alice', 'INBOX', $new->{uid}) eq $gone_bytes, '... byte for byte');

($rc, $out, $err) = $cl->run('mail', 'restore', '--set', 'mail', 'latest', 'alice', 'INBOX', '1-999999');
is($rc, 1, 'a MESSAGE not in the snapshot: exit 1') or diag "$out\n$err";
like($err, qr/no message 1-999999 in snapshot/, '... named');

($rc, $out, $err) = $cl->run('mail', 'restore', '--set', 'mail', '--to-folder', 'Restored', 'latest', 'bob');
is($rc, 0, 'mail restore SNAPSHOT bob --to-folder Restored: exit 0') or diag "$out\n$err";
like($out, qr/^115 messages restored, 0 problems$/m, '... all of bob\'s 115 messages');
is(scalar(my @ra = $dv->messages('bob', 'Restored/Archive/2024')), 35, '... Archive/2024 into Restored/Archive/2024');
is(scalar(my @a = $dv->messages('bob', 'Archive/2024')), 35, '... the original left as it was');

# ------------------------------------------------------------ incremental
# The restores made 25 + 1 + 115 new messages (new UIDs): fetched once.
($rc, $out, $err) = $cl->run('backup', '--set', 'mail');
is($rc, 0, 'backup after the restores: exit 0') or diag "$out\n$err";
like($out, qr/; fetched 141\b/m, '... fetched the 141 restored messages (new UIDs), no other') or diag $out;

fill('alice', 'INBOX', 10);
{
    my $c = $dv->_imap('alice');
    $c->cmd('SELECT "Work/Same"');
    $c->cmd("UID STORE 3 +FLAGS (\\Flagged)");
    $c->logout;
}
my $from = GVClient::log_size($gv);
($rc, $out, $err) = $cl->run('backup', '--set', 'mail');
is($rc, 0, 'backup after 10 new messages and a flag change: exit 0') or diag "$out\n$err";
like($out, qr/; fetched 10 \(.*, the header fields of 10$/m, '... fetched only the 10 new messages') or diag $out;
my ($last_files) = $out =~ /^snapshot \d+ saved: (\d+) files/m;
my $sent = GVClient::bytes_in_since($gv, $from);
cmp_ok($sent, '<', 200_000, "... and sent little ($sent bytes)");
($rc, $out) = $cl->run('mail', 'ls', '--set', 'mail', '--json', 'latest', 'alice', 'Work/Same');
my $l3 = eval { decode_json($out) } || [];
my ($m3) = grep { $_->{uid} == 3 } @$l3;
like($m3->{flags} // '', qr/\\Flagged/, 'the flag change is in .mailbox');

# ------------------------------------------------------------ agent job
my $ag = GVAgent->start($cl, sets => { mail => { Type => 'mail', Schedule => '2099-01-01' } },
                        ports => { MAPI32Bit => $mhport },
                        extra => qq(Mail {\n\tHost = "127.0.0.1"\n\tSecretFile = "$secret"\n}\n));
my $r = $ag->ask(request => 'run', set => 'mail');
my @h = $ag->wait_runs('mail', 1, 120);
is($h[0]{result}, 'ok', 'the mail set as an agent job: ok') or diag(explain(\@h), $ag->log_text);
is($h[0]{files}, $last_files, "... its report counts the messages (and .mailbox files) as files ($last_files)")
    or diag(explain($h[0]));
$ag->stop;

# ------------------------------------------------------------ excludes
# A set's Exclude patterns (and --exclude) match the snapshot's paths:
# /USER/MAILBOX with the mailbox's name encoded (Work/Same: Work%2FSame).
($rc, $out, $err) = $cl->run('backup', '--set', 'mail', '--exclude', '/bob/Shared',
                             '--exclude', '/*/Work%2FSame');
is($rc, 0, 'backup --exclude /bob/Shared --exclude /*/Work%2FSame: exit 0') or diag "$out\n$err";
like($out, qr/; fetched 0 \(/m, '... nothing fetched');
($rc, $out) = $cl->run('mail', 'ls', '--set', 'mail', '--json', 'latest', 'bob');
my $bl = eval { decode_json($out) } || [];
my %bm = map { $_->{mailbox} => 1 } @$bl;
ok(!$bm{Shared} && $bm{INBOX}, '... bob\'s Shared left out, his INBOX kept') or diag $out;
($rc, $out) = $cl->run('mail', 'ls', '--set', 'mail', '--json', 'latest', 'alice');
my $al = eval { decode_json($out) } || [];
my %am = map { $_->{mailbox} => 1 } @$al;
ok(!$am{'Work/Same'} && $am{'Work/Projects'}, '... alice\'s Work/Same left out') or diag $out;

# ------------------------------------------------------------ errors
# A wrong secret: the helper refuses, the backup says so and saves nothing.
my $bad = "$dir/bad.secret";
GVClient::_spit_bytes($bad, ('ab' x 32) . "\n");
chmod 0600, $bad;
(my $conf = GV::_slurp($cl->{conf})) =~ s/SecretFile = "[^"]*"/SecretFile = "$bad"/;
GVClient::_spit_bytes("$dir/bad.conf", $conf);
my @before = $cl->snapshots('--set', 'mail');
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', "$dir/bad.conf", 'backup', '--set', 'mail'],
                                      { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
is($rc, 2, 'a secret the helper refuses: exit 2') or diag "$out\n$err";
like($err, qr/BackupSet mail: .*secret/, '... the reason named') or diag $err;
is(scalar(my @after = $cl->snapshots('--set', 'mail')), scalar @before, '... no snapshot saved');
($rc, $out, $err) = $cl->run('backup', '--set', 'mail', '/etc');
is($rc, 2, 'a PATH given for a mail set: exit 2');
like($err, qr/mail set .*takes no PATH/, '... refused with the reason');

$mh->stop;

done_testing();
