#!/usr/bin/perl
# gigavault-mailhelper against a real Dovecot (t/lib/GVDovecot.pm): the
# users (IMAP.Users and UserListCommand with doveadm), mailboxes with
# nested folders, special-use and UIDVALIDITY, messages with flags,
# internal dates and sizes, fetch byte for byte without setting \Seen,
# create and append (flags and date kept, nothing replaced), a stale
# UIDVALIDITY and a message gone, a wrong secret, garbage, short and
# oversized frames (each refused with an error, and the helper serves
# the next connection), MaxConnections, and that Dovecot's log shows no
# message expunged or deleted by any of it.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use IO::Socket::INET;
use Digest::SHA qw(hmac_sha256);
use GV;
use GVDovecot;
use GVMailHelper;

my $dv = GVDovecot->start(users => [qw(alice bob)]);

# ---------------------------------------------------------------- mailboxes

# alice: INBOX, Sent, Work/Projects/2026 (nested), Archive; bob: INBOX.
my (%sent, @appended);
my $i = 0;
for my $mb ('INBOX', 'Sent', 'Work', 'Work/Projects', 'Work/Projects/2026') {
    for my $k (1 .. 8) {
        $i++;
        my $m = GVDovecot::make_message(subject => "$mb $k",
                                        date => 1600000000 + $i * 3600,
                                        $k % 3 == 0 ? (attach => join('', map { chr(($_ * 7 + $i) % 256) } 1 .. 3000)) : ());
        my $flags = $k % 2 ? '\Seen' : $k % 4 == 0 ? '\Flagged $Label1' : '';
        my $uid = $dv->append('alice', $mb, $m, flags => $flags,
                              date => 1600000000 + $i * 3600,
                              tz => $k % 2 ? '+0200' : '-0500');
        push @appended, { mb => $mb, uid => $uid, bytes => $m, flags => $flags,
                          date => 1600000000 + $i * 3600 };
    }
}
# The same message in two folders (a message id and bytes alike).
my $twin = GVDovecot::make_message(subject => 'twin', id => '<twin@gv.test>');
$dv->append('alice', 'Archive', $twin, date => 1650000000);
$dv->append('alice', 'INBOX', $twin, date => 1650000000);
$dv->append('bob', 'INBOX', GVDovecot::make_message(subject => 'for bob'));

# Flags as a set: IMAP servers write them in an order of their own.
sub fl { join ' ', sort split ' ', $_[0] // '' }

my $mh = GVMailHelper->start($dv);
my ($rc, $out, $err) = $mh->gv_mh('users');
is($rc, 0, 'users: exit 0') or diag $err;
is($out, "alice\nbob\n", 'users: IMAP.Users, in order');

($rc, $out, $err) = $mh->gv_mh('mailboxes', 'alice');
is($rc, 0, 'mailboxes: exit 0') or diag $err;
my %mb;
for (split /\n/, $out) {
    my ($name, $delim, $uv, $next, $n, $special) = split /\t/, $_, -1;
    $mb{$name} = { delim => $delim, uv => $uv, next => $next, n => $n, special => $special };
}
is_deeply([sort keys %mb], [sort('Archive', 'INBOX', 'Sent', 'Work', 'Work/Projects', 'Work/Projects/2026')],
          'mailboxes: every folder, nested ones too') or diag $out;
is($mb{'Work/Projects/2026'}{delim}, '/', 'mailboxes: the hierarchy delimiter');
is($mb{Sent}{special}, '\\Sent', 'mailboxes: special-use \\Sent');
is($mb{INBOX}{special}, '', 'mailboxes: INBOX has no special use');
is($mb{INBOX}{n}, 9, 'mailboxes: message count');
is($mb{Work}{next}, 9, 'mailboxes: UIDNEXT');
ok($mb{INBOX}{uv} > 0 && $mb{INBOX}{uv} ne $mb{Sent}{uv} || $mb{INBOX}{uv} > 0,
   'mailboxes: UIDVALIDITY');

# ---------------------------------------------------------------- messages

for my $box ('INBOX', 'Work/Projects/2026') {
    ($rc, $out, $err) = $mh->gv_mh('messages', 'alice', $box, $mb{$box}{uv});
    is($rc, 0, "messages $box: exit 0") or diag $err;
    my @got = map { my @f = split /\t/, $_, -1; { uid => $f[0], size => $f[1], date => $f[2], tz => $f[3], flags => $f[4] } }
              split /\n/, $out;
    my @want = $dv->messages('alice', $box);
    is_deeply([map { [@$_{qw(uid size date)}, fl($_->{flags})] } @got],
              [map { [@$_{qw(uid size date)}, fl($_->{flags})] } @want],
              "messages $box: UIDs, sizes, internal dates and flags as IMAP has them")
        or diag explain \@got;
}
my @inbox = grep { $_->{mb} eq 'INBOX' } @appended;
($rc, $out) = $mh->gv_mh('messages', 'alice', 'INBOX', $mb{INBOX}{uv});
my %line = map { (split /\t/)[0] => $_ } split /\n/, $out;
is((split /\t/, $line{ $inbox[0]{uid} })[2], $inbox[0]{date}, 'messages: the internal date appended');
is(fl((split /\t/, $line{ $inbox[3]{uid} })[4]), fl('\Flagged $Label1'), 'messages: a keyword with a system flag');

# The list stops when the callback says so, and the connection goes on.
($rc, $out, $err) = $mh->gv_mh('messages', 'alice', 'INBOX', $mb{INBOX}{uv}, 3);
is($rc, 0, 'messages stopped by the callback: the connection still serves') or diag $err;
like($out, qr/^stopped after 3\nusers 2\n\z/m, 'messages stopped after 3, then users on the same connection');

# ---------------------------------------------------------------- fetch

my $same = 1;
for my $a (@appended) {
    ($rc, $out, $err) = $mh->gv_mh('fetch', 'alice', $a->{mb}, $mb{ $a->{mb} }{uv}, $a->{uid});
    $same = 0, diag("$a->{mb} $a->{uid}: rc $rc $err") unless $rc == 0 && $out eq $a->{bytes};
}
ok($same, 'fetch: ' . scalar(@appended) . ' messages (some multipart with attachments) byte for byte');
my @after = $dv->messages('alice', 'Work');
ok(!grep({ $_->{flags} =~ /\\Seen/ } grep { $_->{uid} % 2 == 0 } @after),
   'fetch: BODY.PEEK[] set no \\Seen');

($rc, $out, $err) = $mh->gv_mh('fetch', 'alice', 'INBOX', $mb{INBOX}{uv} + 1, 1);
is($rc, 3, 'fetch with another UIDVALIDITY: stale (exit 3)');
like($mh->log_text, qr/UIDVALIDITY is \d+, not \d+.*\(stale\)/, 'stale: logged');
($rc, $out, $err) = $mh->gv_mh('messages', 'alice', 'INBOX', $mb{INBOX}{uv} + 1);
is($rc, 3, 'messages with another UIDVALIDITY: stale (exit 3)');
($rc, $out, $err) = $mh->gv_mh('fetch', 'alice', 'INBOX', $mb{INBOX}{uv}, 999);
is($rc, 4, 'fetch of a UID that is not there: gone (exit 4)');
($rc, $out, $err) = $mh->gv_mh('mailboxes', 'nobody');
is($rc, 1, 'mailboxes of a user the server does not know: an error');
like($err, qr/login for nobody/, 'no such user: the error says so');
($rc, $out, $err) = $mh->gv_mh('fetch', 'alice', 'No/Such', 1, 1);
like($err, qr/EXAMINE No\/Such.*no mailbox/, 'fetch from a mailbox that is not there: no mailbox');

# ---------------------------------------------------------------- create, append

my $new = GVDovecot::make_message(subject => 'restored', attach => 'A' x 5000);
($rc, $out, $err) = $mh->gv_mh('append', 'alice', 'INBOX', '\Seen \Answered $Restored',
                              1500000000, 120, { stdin => $new });
is($rc, 0, 'append into an existing folder: exit 0') or diag $err;
my $nuid = $out + 0;
is($nuid, $mb{INBOX}{next}, 'append: the new UID (APPENDUID)');
my ($m) = grep { $_->{uid} == $nuid } $dv->messages('alice', 'INBOX');
is(fl($m->{flags}), fl('\Seen \Answered $Restored'), 'append: the flags kept');
is($m->{date}, 1500000000, 'append: the internal date kept');
is($dv->fetch('alice', 'INBOX', $nuid), $new, 'append: the bytes kept');
is(scalar(() = $dv->messages('alice', 'INBOX')), 10, 'append added one message, replaced none');
($rc, $out) = $mh->gv_mh('append', 'alice', 'INBOX', '', 1500000000, 0, { stdin => $new });
is($out + 0, $nuid + 1, 'append of the same bytes again: another UID');
is(scalar(() = $dv->messages('alice', 'INBOX')), 11, 'the same message twice: both kept');
is($dv->fetch('alice', 'INBOX', $inbox[0]{uid}), $inbox[0]{bytes}, 'the old messages are untouched');

($rc, $out, $err) = $mh->gv_mh('create', 'alice', 'Restored 2026-12-07/Work');
is($rc, 0, 'create of a new nested folder: exit 0') or diag $err;
($rc, $out, $err) = $mh->gv_mh('create', 'alice', 'Restored 2026-12-07/Work');
is($rc, 0, 'create of a folder that exists: fine') or diag $err;
($rc, $out, $err) = $mh->gv_mh('append', 'alice', 'Restored 2026-12-07/Work', '\Flagged',
                              1400000000, -300, { stdin => $twin });
is($rc, 0, 'append into the new folder') or diag $err;
my @r = $dv->messages('alice', 'Restored 2026-12-07/Work');
is_deeply([map { [$_->{flags}, $_->{date}] } @r], [['\Flagged', 1400000000]],
          'append into the new folder: flags and date kept');
($rc, $out, $err) = $mh->gv_mh('append', 'alice', 'Not/There', '', 1400000000, 0, { stdin => $twin });
is($rc, 1, 'append into a folder that does not exist: an error (create first)');
($rc, $out, $err) = $mh->gv_mh('append', 'alice', 'INBOX', '\Bogus', 1400000000, 0, { stdin => $twin });
like($err, qr/not IMAP flags/, 'append with a flag IMAP does not have: refused');

# ------------------------------------------------------ a few hundred (bob)

my $made = $dv->populate('bob', n => 300);
($rc, $out, $err) = $mh->gv_mh('mailboxes', 'bob');
my %bmb = map { my @f = split /\t/, $_, -1; ($f[0] => { uv => $f[2], n => $f[4] }) } split /\n/, $out;
is($bmb{'Work/Projects/2026'}{n}, 60, 'populate: 300 messages over five folders, nested ones too');
is($bmb{INBOX}{n}, 62, 'populate: INBOX has its 60, the twin and the message bob had');
my ($ok, $seen) = (0, 0);
for my $p (@$made) {
    ($rc, $out) = $mh->gv_mh('fetch', 'bob', $p->{mailbox}, $bmb{ $p->{mailbox} }{uv}, $p->{uid});
    $ok++ if $rc == 0 && $out eq $p->{bytes};
    $seen++;
    last if $seen >= 40;
}
is($ok, 40, 'populate: 40 of them fetched through the helper byte for byte');

# A mailbox deleted and made again (doveadm, as an administrator would)
# has a new UIDVALIDITY: its old UIDs are stale, not other messages.
my ($drc, $dout, $derr) = $dv->doveadm('mailbox', 'delete', '-u', 'bob', '-s', 'Work/Projects/2026');
is($drc, 0, 'doveadm deletes bob\'s Work/Projects/2026') or diag $derr;
$dv->append('bob', 'Work/Projects/2026', GVDovecot::make_message(subject => 'new one'));
($rc, $out, $err) = $mh->gv_mh('fetch', 'bob', 'Work/Projects/2026', $bmb{'Work/Projects/2026'}{uv}, 1);
is($rc, 3, 'the mailbox made again: its old UIDVALIDITY is stale (exit 3), UID 1 is not served');
($rc, $out, $err) = $mh->gv_mh('mailboxes', 'bob');
my ($newuv, $newn) = $out =~ /^Work\/Projects\/2026\t\/\t(\d+)\t\d+\t(\d+)/m;
ok($newuv && $newuv != $bmb{'Work/Projects/2026'}{uv} && $newn == 1,
   'mailboxes: the new UIDVALIDITY and its one message');

# One connection, one IMAP session that keeps INBOX examined: the
# mailbox deleted and made again between two requests is noticed (its
# UIDVALIDITY asked again), so UID 1 is stale, not the new message 1.
{
    use IPC::Open2 qw(open2);
    $dv->append('bob', 'Replaced', GVDovecot::make_message(subject => 'old one'));
    ($rc, $out) = $mh->gv_mh('mailboxes', 'bob');
    my ($ruv) = $out =~ /^Replaced\t\/\t(\d+)\t/m;
    my $pid = open2(my $from, my $to, $GVMailHelper::GVMH, '-p', $mh->port,
                    '-s', $mh->secret_file, 'session');
    print $to "fetch bob Replaced $ruv 1\n";
    $to->flush;
    like(scalar <$from>, qr/^ok \d+ [0-9a-f]{64}$/, 'session: UID 1 of Replaced fetched');
    my ($drc) = $dv->doveadm('mailbox', 'delete', '-u', 'bob', '-s', 'Replaced');
    $dv->append('bob', 'Replaced', GVDovecot::make_message(subject => 'the new one'));
    print $to "fetch bob Replaced $ruv 1\n";
    $to->flush;
    is(scalar <$from>, "stale\n", 'session: after it was made again, UID 1 of the old UIDVALIDITY is stale');
    like($mh->log_text, qr/IMAP session of bob broke: logging in again/,
         'session: Dovecot ended the session that had it examined; the helper logged in again');
    # Dovecot restarted: the kept session is gone; the next request
    # logs in again and is answered.
    print $to "count bob INBOX $bmb{INBOX}{uv}\n";
    $to->flush;
    is(scalar <$from>, "ok 62\n", 'session: a list on the kept session');
    $dv->restart;
    my $broke = () = $mh->log_text =~ /IMAP session of bob broke/g;
    print $to "count bob INBOX $bmb{INBOX}{uv}\n";
    $to->flush;
    is(scalar <$from>, "ok 62\n", 'session: Dovecot restarted, the list comes all the same');
    is(scalar(() = $mh->log_text =~ /IMAP session of bob broke/g), $broke + 1,
       'session: ... on a new IMAP session (logged)');
    print $to "count bob INBOX 1\ncount bob Nothing 1\n";
    $to->flush;
    is(scalar <$from>, "stale\n", 'session: another mailbox, another UIDVALIDITY: stale');
    like(scalar <$from>, qr/^error .*EXAMINE Nothing.*\(no mailbox\)$/,
         'session: no such mailbox, and the connection goes on');
    close $to;
    waitpid $pid, 0;
    is($? >> 8, 0, 'session: ends cleanly');
}

# ------------------------------------------------------ names IMAP must quote

# Entwürfe (modified UTF-7 on the wire) and a name with a quote and a
# backslash: listed raw, read, created and appended to as they are.
my $utf7 = 'Entw&APw-rfe';
my $odd = 'Say "hi" \\ bye';
my $mu = GVDovecot::make_message(subject => 'odd names');
$dv->append('alice', $utf7, $mu, date => 1610000000);
$dv->append('alice', $odd, $mu, date => 1610000000);
($rc, $out, $err) = $mh->gv_mh('mailboxes', 'alice');
my %odd = map { my @f = split /\t/, $_, -1; ($f[0] => $f[2]) } split /\n/, $out;
ok(exists $odd{$utf7}, 'a name with non-ASCII letters is listed as the server gives it (modified UTF-7)')
    or diag $out;
ok(exists $odd{$odd}, 'a name with a quote and a backslash is listed') or diag $out;
for my $name ($utf7, $odd) {
    ($rc, $out, $err) = $mh->gv_mh('fetch', 'alice', $name, $odd{$name}, 1);
    is($out, $mu, "fetch from \"$name\"") or diag $err;
    ($rc, $out, $err) = $mh->gv_mh('create', 'alice', "$name/Sub");
    is($rc, 0, "create \"$name/Sub\"") or diag $err;
    ($rc, $out, $err) = $mh->gv_mh('append', 'alice', "$name/Sub", '', 1610000000, 0, { stdin => $mu });
    is($rc, 0, "append to \"$name/Sub\"") or diag $err;
    is($dv->fetch('alice', "$name/Sub", 1), $mu, "\"$name/Sub\" has the message");
}
($rc, $out, $err) = $mh->gv_mh('mailboxes', "alice*$dv->{master}");
like($err, qr/holds IMAP\.MasterSeparator/, 'a user name with the master separator: refused');
($rc, $out, $err) = $mh->gv_mh('create', 'alice', "x\r\nA1 DELETE INBOX");
like($err, qr/control character.*\(malformed\)/, 'a mailbox name with CR LF: refused (no IMAP injection)');

# ---------------------------------------------------------------- the users' command

my $mh2 = GVMailHelper->start($dv, user_cmd => 1);
($rc, $out, $err) = $mh2->gv_mh('users');
is($out, "alice\nbob\n", "users: UserListCommand (doveadm user '*')") or diag $err;
$mh2->stop;
my $mh3 = GVMailHelper->start($dv, imap => { UserListCommand => '/bin/false', Users => undef });
($rc, $out, $err) = $mh3->gv_mh('users');
like($err, qr/UserListCommand \/bin\/false failed \(exit status 1\).*\(users\)/,
     'a UserListCommand that fails: its error');
($rc, $out, $err) = $mh3->gv_mh('mailboxes', 'bob');
is($rc, 0, '... and the helper serves the next request');
$mh3->stop;
my $mh8 = GVMailHelper->start($dv, imap => { UserListCommand => '/usr/bin/seq 1 20000', Users => undef });
($rc, $out, $err) = $mh8->gv_mh('users');
is($out, join('', map { "$_\n" } 1 .. 20000),
   'users: 20,000 lines of UserListCommand, sent 256 names a frame') or diag $err;
$mh8->stop;
my $mh9 = GVMailHelper->start($dv, imap => { UserListCommand => '/usr/bin/yes', Users => undef });
($rc, $out, $err) = $mh9->gv_mh('users');
like($err, qr/UserListCommand printed more than 16777216 bytes \(users\)/,
     'a UserListCommand that never stops: cut at 16 MiB, an error');
$mh9->stop;

# ---------------------------------------------------------------- bad input

($rc, $out, $err) = $mh->gv_mh('users', { secret => do {
    my $f = $mh->dir . '/wrong.secret';
    GVDovecot::_spit($f, "not-the-secret-at-all-0123456789\n", 0600);
    $f } });
is($rc, 1, 'a wrong secret: refused');
like($err, qr/wrong proof/, 'a wrong secret: the client is told');
like($mh->log_text, qr/wrong proof: the client does not have Helper\.SecretFile's secret \(auth\): closing/,
     'a wrong secret: logged');

sub raw {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $mh->port,
                                  Proto => 'tcp', Timeout => 10) or die "connect: $!";
    $s->autoflush(1);
    return $s;
}
sub rd {
    my ($s) = @_;
    my ($h, $st) = GV::read_exact($s, 8, time + 10);
    return unless $st eq 'ok';
    my ($len, $type, $flags) = unpack('N n n', $h);
    my $p = '';
    ($p, $st) = GV::read_exact($s, $len, time + 10) if $len;
    return unless $st eq 'ok';
    return { type => $type, len => $len, p => $p };
}
sub authed {
    my $s = raw();
    my $c = rd($s);
    my $nonce = substr($c->{p}, 6, 32);
    my $secret = GVDovecot::_slurp($mh->secret_file);
    $secret =~ s/\s+\z//;
    my $cn = 'C' x 32;
    print $s pack('N n n', 64, 0x0102, 0), $cn, hmac_sha256("client$nonce$cn", $secret);
    my $r = rd($s);
    die "not READY" unless $r && $r->{type} == 0x0103;
    die "READY without the helper's proof"
        unless $r->{p} eq hmac_sha256("helper$cn$nonce", $secret);
    return $s;
}
sub error_of {
    my ($f) = @_;
    return unless $f && $f->{type} == 0x01ff;
    my ($code, $n) = unpack('n n', $f->{p});
    return ($code, substr($f->{p}, 4, $n));
}
sub closed {
    my ($s) = @_;
    my $b;
    return GV::wait_until(sub { my $n = sysread($s, $b, 1); defined $n && $n == 0 }, 5);
}

my $s = raw();
my $c = rd($s);
is($c->{type}, 0x0101, 'a connection gets a CHALLENGE first');
is(substr($c->{p}, 0, 4), 'GVMH', 'CHALLENGE: the magic');
print $s "GET / HTTP/1.0\r\n\r\n";
my ($code, $text) = error_of(rd($s));
is($code, 3, 'garbage instead of a frame: an error (unexpected)');
like($text, qr/unknown frame type/, 'garbage: the reason');
ok(closed($s), 'garbage: the connection is closed');

$s = raw();
rd($s);
print $s "\0\0";
close $s;
ok(GV::wait_until(sub { $mh->log_text =~ /closed inside a frame header/ }, 5),
   'a short frame: logged');

$s = authed();
print $s pack('N n n', 0xfffffff0, 0x0119, 0);
($code, $text) = error_of(rd($s));
is($code, 2, 'an APPEND above Helper.MaxMessageSize: too large');
like($text, qr/APPEND frame too large.*MaxMessageSize/, 'too large: the reason names the limit');
ok(closed($s), 'too large: the connection is closed');

$s = authed();
print $s pack('N n n', 2, 0x0112, 0), "\0\x09";
($code, $text) = error_of(rd($s));
is($code, 1, 'a MAILBOXES whose string runs past its end: malformed');
ok(closed($s), 'malformed: the connection is closed');

$s = authed();
print $s pack('N n n', 4, 0x0101, 0), "abcd";
($code, $text) = error_of(rd($s));
is($code, 3, 'a CHALLENGE from the client: unexpected');

$s = raw();
rd($s);
print $s pack('N n n', 31, 0x0102, 0), 'x' x 31;
($code, $text) = error_of(rd($s));
is($code, 1, 'a proof of 31 bytes: malformed');

ok(eval { authed(); 1 }, "READY carries the helper's proof: HMAC(secret, \"helper\" . client nonce . helper nonce)")
    or diag $@;

# A fake helper on another port (the helper down, its port taken) that
# does not have the secret: it answers READY with a wrong proof, or an
# empty READY as version 1 did.  The client refuses it and sends it
# nothing after its PROOF (no request, no message).
for my $ready ('W' x 32, '') {
    my $ls = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1,
                                   Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my $got = $mh->dir . '/fake.got';
    unlink $got;
    my $fpid = fork // die;
    if (!$fpid) {
        alarm 30;
        my $a = $ls->accept or POSIX::_exit(1);
        print $a pack('N n n', 38, 0x0101, 0), 'GVMH', pack('n', 2), 'N' x 32;
        my ($proof) = GV::read_exact($a, 8 + 64, time + 10);
        print $a pack('N n n', length $ready, 0x0103, 0), $ready;
        my ($more) = GV::read_exact($a, 1, time + 3);
        GVDovecot::_spit($got, length($proof) . ' ' . length($more // ''), 0600);
        POSIX::_exit(0);
    }
    ($rc, $out, $err) = $mh->gv_mh('users', { port => $ls->sockport });
    waitpid $fpid, 0;
    close $ls;
    is($rc, 1, 'a fake helper with ' . (length $ready ? 'a wrong proof' : 'an empty READY') . ': refused');
    like($err, qr/is not the mailbox helper: it does not prove Mail\.SecretFile's secret/, '... the client says why')
        or diag $err;
    is(GVDovecot::_slurp($got), '72 0', '... and sends it nothing after its PROOF');
}

# Before the proof nothing but a PROOF header of exactly 64 bytes is read
# (no payload of a frame that says 200 MiB), within 10 s of the challenge
# whatever Helper.IdleTimeout (300 s here) is.
$s = raw();
rd($s);
print $s pack('N n n', 200 << 20, 0x0119, 0);
($code, $text) = error_of(rd($s));
is($code, 3, 'an APPEND header of 200 MiB before the proof: unexpected, at once');
like($text // '', qr/APPEND before the proof/, '... the reason');
ok(closed($s), '... and the connection is closed');
$s = raw();
rd($s);
print $s pack('N n n', 1 << 20, 0x0102, 0);
($code, $text) = error_of(rd($s));
is($code, 1, 'a PROOF header of 1 MiB: malformed, its payload never waited for');
$s = raw();
rd($s);
{
    my ($h, $st) = GV::read_exact($s, 8, time + 30);
    my ($len, $type) = unpack('N n', $h // '');
    my ($p) = $st eq 'ok' && $len ? GV::read_exact($s, $len, time + 5) : ('');
    ($code) = $st eq 'ok' && $type == 0x01ff ? unpack('n', $p) : ();
    is($code, 6, 'a connection silent after the challenge: a timeout error well before IdleTimeout');
}

($rc, $out, $err) = $mh->gv_mh('users');
is($out, "alice\nbob\n", 'after all that, the helper serves the next connection') or diag $err;
ok($mh->alive, 'the helper is still running');

# ---------------------------------------------------------------- limits

my $mh4 = GVMailHelper->start($dv, helper => { MaxConnections => 1, IdleTimeout => 2 });
my $hold = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $mh4->port, Proto => 'tcp')
    or die "connect: $!";
ok(GV::wait_until(sub { $mh4->log_text =~ /authenticated|listening/ }, 5), 'one connection held');
my $first = rd($hold);
($rc, $out, $err) = $mh4->gv_mh('users');
like($err, qr/MaxConnections \(1\).*\(busy\)/, 'MaxConnections: the next connection is told busy');
($code, $text) = error_of(rd($hold));
is($code, 6, 'IdleTimeout: a connection that sends nothing gets a timeout error');
close $hold;
ok(GV::wait_until(sub { my ($r, $o) = $mh4->gv_mh('users'); $o eq "alice\nbob\n" }, 10),
   'then the next connection is served');
$mh4->stop;

# ------------------------------------------- Helper.User, MaxMessageSize, Listen

# Started as root, it reads the secret (0600, root's) and the master
# password, then becomes Helper.User; a message above MaxMessageSize is
# refused and the connection goes on; the default Listen has ::1 too.
my $mh5 = GVMailHelper->start($dv, helper => { User => 'dovenull', MaxMessageSize => '2K',
                                               Listen => undef });
my $status = GVDovecot::_slurp('/proc/' . $mh5->pid . '/status');
my ($uid) = $status =~ /^Uid:\s+(\d+)/m;
is($uid, scalar getpwnam('dovenull'), 'Helper.User: the helper runs as dovenull');
like($mh5->log_text, qr/listening on port \d+ \((2 addresses|1 addresses)\)/,
     'the default Listen: 127.0.0.1 and ::1 (::1 skipped where IPv6 is off)');
my ($big) = grep { length($_->{bytes}) > 2048 } @appended;
my ($small) = grep { length($_->{bytes}) <= 2048 } @appended;
($rc, $out, $err) = $mh5->gv_mh('fetch', 'alice', $big->{mb}, $mb{ $big->{mb} }{uv}, $big->{uid});
like($err, qr/more than Helper\.MaxMessageSize.*\(message too large\)/,
     'fetch of a message above MaxMessageSize: refused, the option named');
($rc, $out, $err) = $mh5->gv_mh('header', 'alice', $big->{mb}, $mb{ $big->{mb} }{uv}, $big->{uid});
like($err, qr/more than Helper\.MaxMessageSize.*\(message too large\)/,
     'FETCH_HEADER of a message above MaxMessageSize: refused as its FETCH');
($rc, $out, $err) = $mh5->gv_mh('fetch', 'alice', $small->{mb}, $mb{ $small->{mb} }{uv}, $small->{uid});
is($out, $small->{bytes}, 'a message below it: fetched as Helper.User');
($rc, $out, $err) = $mh5->gv_mh('header', 'alice', $small->{mb}, $mb{ $small->{mb} }{uv}, $small->{uid});
{
    my ($hdr) = split /\r?\n\r?\n/, $small->{bytes}, 2;
    my @want = grep { /^(From|Subject|Date):/i } split /\r?\n/, $hdr;
    my @got = grep { length } split /\r?\n/, $out;
    is_deeply([sort @got], [sort @want], 'FETCH_HEADER: the From, Subject and Date fields, no other, no body')
        or diag "$out\n$err";
}
($rc, $out, $err) = $mh5->gv_mh('append', 'alice', 'INBOX', '', 1500000000, 0, { stdin => 'x' x 3000 });
like($err, qr/3000 bytes, more than Helper\.MaxMessageSize \(2048\) \(message too large\)/,
     'append above MaxMessageSize: refused');
($rc, $out, $err) = $mh5->gv_mh('append', 'alice', 'INBOX', '', 1500000000, 0, { stdin => 'x' x 9000 });
like($err, qr/APPEND frame too large.*MaxMessageSize is 2048 bytes.*\(too large\)/,
     'an APPEND frame above what MaxMessageSize allows: refused before it is read');
($rc, $out, $err) = $mh5->gv_mh('append', 'alice', 'INBOX', '', 1500000000, 0, { stdin => 'y' x (8 << 20) });
like($err, qr/APPEND frame too large.*\(too large\)/,
     'an APPEND of 8 MiB refused: the client still reads why (the helper drains before it closes)');
$mh5->stop;

my $pidfile = $mh->dir . '/mh.pid';
my $mh6 = GVMailHelper->new($dv, helper => { User => 'dovenull' });
my ($st6) = GVDovecot::run([$GVMailHelper::BIN, '-c', $mh6->conf, '-p', $pidfile], 20);
is($st6, 0, 'without -d it daemonizes and the start exits 0');
ok(GV::wait_until(sub { -s $pidfile }, 10), '-p: the pidfile is written');
my $dpid = GVDovecot::_slurp($pidfile) + 0;
ok($dpid > 1 && kill(0, $dpid), '-p: the pid of the running helper');
($rc, $out) = $mh6->gv_mh('users');
is($out, "alice\nbob\n", 'the daemon serves');
kill 'TERM', $dpid;
ok(GV::wait_until(sub { !kill(0, $dpid) }, 10), 'SIGTERM: the daemon exits');

# An IMAP server that is not there: the request gets the reason, the
# connection and the helper go on.
my $mh7 = GVMailHelper->start($dv, imap => { Port => scalar GV::free_ports(1) });
($rc, $out, $err) = $mh7->gv_mh('mailboxes', 'alice');
like($err, qr/IMAP 127\.0\.0\.1:\d+: cannot connect.*\(imap\)/, 'no IMAP server: the reason');
($rc, $out, $err) = $mh7->gv_mh('users');
is($out, "alice\nbob\n", 'no IMAP server: users still come (from IMAP.Users)');
$mh7->stop;

# ---------------------------------------------------------------- flags

($rc, $out, $err) = GVDovecot::run([$GVMailHelper::BIN, '-n', '-c', $mh->conf], 20);
is($rc, 0, '-n: the configuration checks') or diag $err;
like($err, qr/configuration OK/, '-n: says so');
($rc, $out, $err) = GVDovecot::run([$GVMailHelper::BIN, '-k', '-c', $mh->conf], 20);
is($rc, 1, '--new-secret (-k) keeps an existing secret without -f');
like($err, qr/exists: keeping it/, '-k: says why');
my $before = GVDovecot::_slurp($mh->secret_file);
($rc, $out, $err) = GVDovecot::run([$GVMailHelper::BIN, '--new-secret', '-f', '-c', $mh->conf], 20);
is($rc, 0, '--new-secret -f replaces it');
my $after = GVDovecot::_slurp($mh->secret_file);
ok($after ne $before && $after =~ /^[0-9a-f]{64}\n\z/, 'a new secret: 64 hex digits');
is((stat $mh->secret_file)[2] & 07777, 0600, 'the secret file is mode 0600');
($rc, $out, $err) = $mh->gv_mh('users');
is($rc, 1, 'the running helper keeps the secret it read at start: the new one is refused');
my $bad = $mh->dir . '/bad.conf';
GVDovecot::_spit($bad, "IMAP {\n\tMasterUser = \"m\"\n}\n");
($rc, $out, $err) = GVDovecot::run([$GVMailHelper::BIN, '-n', '-c', $bad], 20);
like($err, qr/MasterPasswordFile/, '-n: a configuration without MasterPasswordFile is refused');
GVDovecot::_spit($bad, "Helper {\n\tSecretFile = \"" . $mh->dir . "/new.secret\"\n}\n");
($rc, $out, $err) = GVDovecot::run([$GVMailHelper::BIN, '-k', '-c', $bad], 20);
is($rc, 0, '-k with an IMAP section still to be filled in: the secret is written') or diag $err;
ok(-s $mh->dir . '/new.secret', '-k: the file is there');
GVDovecot::_spit($bad, "IMAP {\n\tPort = 0\n}\n");
($rc, $out, $err) = GVDovecot::run([$GVMailHelper::BIN, '-n', '-c', $bad], 20);
like($err, qr/bad\.conf:2: Port = 0 is out of range/, '-n: errors name the line') or diag $err;
GVDovecot::_spit($bad, "IMAP {\n\tSecurity = \"imaps\"\n}\n");
($rc, $out, $err) = GVDovecot::run([$GVMailHelper::BIN, '-n', '-c', $bad], 20);
like($err, qr/needs IMAP\.CAFile|MasterUser/, '-n: TLS without CAFile is refused') or diag $err;
$mh->stop;

# ---------------------------------------------------------------- never expunges

my $log = $dv->log_text;
my @sessions = $log =~ /Disconnected:.*?(deleted=\d+ expunged=\d+)/g;
ok(@sessions > 20, 'Dovecot logged ' . scalar(@sessions) . ' sessions');
is_deeply([grep { !/deleted=0 expunged=0/ } @sessions], [],
          'no session deleted or expunged a message');
my $total = 0;
$total += scalar(() = $dv->messages('alice', $_)) for keys %mb;
is($total, 42 + 2, 'every message appended is still there (and the 2 the helper added)');
is(scalar(() = $dv->messages('alice', $utf7)), 1, 'and the one in Entwürfe');

$dv->stop;
done_testing;
