#!/usr/bin/perl
# Browse and restore through the agent (protocol version 5,
# doc/protocol.md "Browsing and restoring through the agent"): the
# console's API queues a browse, the agent lists the directory with the
# client's keys and answers; a big directory comes in pages (truncated,
# next); a path that is not there is answered with a clear error; a
# restore to a target directory gives the same bytes; a restore to the
# original place keeps a changed file, and replaces it with overwrite,
# when Agent.AllowRestore is all; with its default, target, only a new or
# empty directory is restored into, reached without following symbolic
# links and without ".."; AllowRestore none and AllowBrowse 0 refuse;
# a set runs one thing at a time: a restore while its backup runs, or a
# backup while its restore runs, is refused;
# a .mailbox's long strings are cut, and a .mailbox read only where
# the files are messages;
# bad arguments are refused with a clear error (by the API, and by the
# agent for what only it can check); the agent polls every second after
# such a request; a version 4 agent (GIGAVAULT_TEST_PROTOCOL_MAX=4)
# never gets the new kinds, and an answer that is not JSON is refused by
# the console with 502.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use Time::HiRes qw(time sleep);
use GV;
use GVClient;
use GVAgent;
use JSON::PP ();

my $REPORT = "$GV::BUILDDIR/t/gv-report";
ok(-x $REPORT, 't/gv-report is built') or BAIL_OUT('run make check (t/gv-report)');
alarm($ENV{GV_TEST_TIMEOUT} || 300);

my ($ADMIN, $PASS) = ('browse-admin', 'browse pass phrase');

sub rdesc {
    my ($r) = @_;
    my $b = $r->{body} // '';
    $b = substr($b, 0, 400) . '...' if length $b > 400;
    return "got $r->{status}, body: $b";
}
sub api_ok {
    my ($r, $code, $what) = @_;
    my $ok = $r->{status} == $code && ref $r->{json} eq 'HASH';
    ok($ok, "$what -> $code") or diag(rdesc($r));
    return $ok ? $r->{json} : {};
}
sub api_error {
    my ($r, $code, $what, $re) = @_;
    my $ok = $r->{status} == $code && ref $r->{json} eq 'HASH' && defined $r->{json}{error};
    ok($ok, "$what -> $code {\"error\"}") or diag(rdesc($r));
    like($r->{json}{error}, $re, "... $what: the error says why") if $ok && $re;
}

my $gv = GV->start(GV::web_opts(Workers => 3));
ok($gv->wait_web(15), 'the console answers') or do { $gv->diag_logs; done_testing; exit };
$gv->add_admin($ADMIN, $PASS);
my $lr = $gv->web(POST => '/api/login', json => { user => $ADMIN, password => $PASS });
my $ld = api_ok($lr, 200, 'log in');
my ($cookie) = GV::session_cookie($lr);
my %AUTH = (cookie => $cookie, csrf => $ld->{csrf});

my $cl = GVClient->new($gv, 'bob');
my $src = $cl->dir . '/src';
make_path("$src/sub/deeper", "$src/big");
GV::_spit("$src/a.txt", "the original a\n" x 50);
GV::_spit("$src/sub/b.bin", join('', map { chr(($_ * 7 + ($_ >> 9)) % 256) } 0 .. 299_999));
GV::_spit("$src/sub/deeper/c.txt", "c\n");
# A directory of 2,500 entries with long names: more than one answer.
my $NBIG = 2500;
for my $i (1 .. $NBIG) {
    GV::_spit(sprintf("%s/big/entry-with-a-rather-long-name-to-fill-pages-%05d.txt", $src, $i), "$i\n");
}

# A mail set's mailbox directory (doc/mail.md): message files and the
# ".mailbox" that names their From, Subject and Date.
my $mbox = $cl->dir . '/mail/ann/INBOX';
make_path($mbox);
GV::_spit("$mbox/1733500000-42", "From: Alice <alice\@example.org>\r\nSubject: Minutes\r\n\r\nbody\r\n");
GV::_spit("$mbox/1733500000-43", "From: Bob\r\nSubject: Re: Minutes\r\n\r\nok\r\n");
GV::_spit("$mbox/.mailbox", JSON::PP->new->canonical->encode({
    name => 'INBOX', delimiter => '/', uidvalidity => 1733500000, uidnext => 44, special => undef,
    messages => [
        { file => '1733500000-42', uid => 42, flags => '\\Seen', date => 1733480000, tzoff => 60, size => 61,
          from => 'Alice <alice@example.org>', subject => 'Minutes',
          date_header => 'Fri, 6 Dec 2024 10:13:20 +0100' },
        { file => '1733500000-43', uid => 43, flags => '', date => 1733490000, tzoff => 0, size => 40,
          from => 'Bob', subject => 'Re: Minutes', date_header => undef },
    ] }));

# A mailbox whose .mailbox names itself and its message with 70,000
# bytes each: more than one answer may hold, unless the agent cuts them.
my $huge = $cl->dir . '/mail/ann/Huge';
make_path($huge);
GV::_spit("$huge/1733500001-1", "From: x\r\n\r\nbody\r\n");
GV::_spit("$huge/.mailbox", JSON::PP->new->utf8->canonical->encode({
    name => 'N' x 70_000, delimiter => '/', uidvalidity => 1733500001, uidnext => 2, special => undef,
    messages => [ { file => '1733500001-1', uid => 1, flags => '', date => 1733480000, tzoff => 0, size => 20,
                    from => 'F' x 70_000, subject => "\x{e9}" x 35_000, date_header => undef } ] }));
# A ".mailbox" in a directory whose files are not messages: not an index.
my $plain = $cl->dir . '/mail/plain';
make_path($plain);
GV::_spit("$plain/readme.txt", "not a message\n");
GV::_spit("$plain/.mailbox", '{"name":"NOT-A-MAILBOX","messages":[{"file":"readme.txt","subject":"no"}]}');

# Set slow: one big file, restored at LimitDownload, to cancel it.
my $slowsrc = $cl->dir . '/slow';
make_path($slowsrc);
srand(20);	# bytes that do not repeat: nothing to deduplicate
GV::_spit("$slowsrc/big.bin", pack('L*', map { int(rand(4294967296)) } 1 .. 750_000));
my $ag = GVAgent->start($cl, sets => { web => { Paths => [$src, $cl->dir . '/mail'], Schedule => '2099-01-01' },
                                       slow => { Paths => [$slowsrc], Schedule => '2099-01-01',
                                                 LimitDownload => '64K' } });
my $r = $ag->ask(request => 'run', set => 'web');
ok($r->{started}, 'a backup of set web started') or diag(explain($r));
my @h = $ag->wait_runs('web', 1, 60);
is($h[0]{result}, 'ok', 'the backup is saved') or diag(explain(\@h), $ag->log_text);
my $snap = $h[0]{snapshot};
ok($snap, "snapshot $snap");

# ask($method, $what, %json) and wait for the agent's final answer.
sub api { my ($m, $p, %o) = @_; return $gv->web($m => "/api/clients/bob/$p", %AUTH, %o) }
sub answer {
    my ($id, $final) = @_;
    my ($a, @seen);
    GV::wait_until(sub {
        my $x = api(GET => "answer?req=$id");
        return 0 unless $x->{status} == 200;
        $a = $x->{json};
        push @seen, $a->{state} unless @seen && $seen[-1] eq $a->{state};
        return $final ? $a->{state} =~ /^(done|failed)$/ : $a->{state} ne 'pending';
    }, 60, 0.2);
    return wantarray ? ($a, @seen) : $a;
}
sub browse {
    my (%args) = @_;
    my $q = api_ok(api(POST => 'browse', json => { snapshot => $snap, %args }), 200,
                   "browse " . ($args{path} // '/') . (defined $args{offset} ? " from $args{offset}" : ''));
    return answer($q->{id}, 1);
}

# ----------------------------------------------------------- browsing
my $q = api_ok(api(POST => 'browse', json => { snapshot => $snap, path => $src }), 200, 'queue a browse of the source');
ok($q->{id} > 0, 'it has a request id');
is($q->{set}, 'web', 'the set is the snapshot\'s');
ok(exists $q->{agent_seen}, 'the answer says when the agent last checked in');
my $a = answer($q->{id}, 1);
is($a->{state}, 'done', 'the agent answered') or diag(explain($a), $ag->log_text);
is($a->{kind}, 'browse', '... a browse');
my %e = map { $_->{name} => $_ } @{ $a->{answer}{entries} || [] };
is_deeply([sort keys %e], [qw(a.txt big sub)], 'the entries of the directory') or diag(explain($a));
is($e{'a.txt'}{type}, 'file', 'a.txt is a file');
is($e{'a.txt'}{size}, length("the original a\n" x 50), '... with its size');
is($e{sub}{type}, 'dir', 'sub is a directory');
ok($e{'a.txt'}{mtime} > 0 && defined $e{'a.txt'}{mode}, '... mtime and mode');
ok(!$a->{answer}{truncated}, 'not truncated');
{
	my $again = api(GET => "answer?req=$q->{id}");
	is($again->{status}, 200, 'an answer read can be read again (a read changes nothing)');
	is($again->{json}{state}, 'done', '... still done');
}
like($ag->log_text, qr/every 1 s for the next 300 s/, 'the agent polls every second after a browse');

# The root, and a directory one level down.
$a = browse(path => '/');
ok(@{ $a->{answer}{entries} || [] } >= 1, 'the root lists') or diag(explain($a));
$a = browse(path => "$src/sub");
is_deeply([sort map { $_->{name} } @{ $a->{answer}{entries} }], [qw(b.bin deeper)], 'sub lists');

# Pages of a big directory.
my (@names, $pages, $off);
$off = 0;
while (defined $off && $pages++ < 20) {
    $a = browse(path => "$src/big", offset => $off);
    last unless $a->{state} eq 'done';
    is($a->{answer}{total}, $NBIG, "page $pages: the total") if $pages == 1;
    push @names, map { $_->{name} } @{ $a->{answer}{entries} };
    $off = $a->{answer}{truncated} ? $a->{answer}{next} : undef;
}
ok($pages > 1, "a directory of $NBIG entries comes in $pages pages (truncated, next)");
is(scalar(@names), $NBIG, 'every entry once');
my %u = map { $_ => 1 } @names;
is(scalar(keys %u), $NBIG, 'no entry twice');

# Not there, not a directory: the agent says so.
$a = browse(path => "$src/nowhere");
is($a->{state}, 'failed', 'a path not in the snapshot: failed');
like($a->{answer}{error}, qr/nowhere: not in snapshot/, '... the agent says it is not there');
$a = browse(path => "$src/a.txt");
like($a->{answer}{error}, qr/not a directory/, 'a file: not a directory');

# A mailbox directory: its messages' From, Subject and Date.
$a = browse(path => $mbox);
is($a->{state}, 'done', 'a mailbox directory lists') or diag(explain($a));
is($a->{answer}{mailbox}{name}, 'INBOX', '... as mailbox INBOX (its .mailbox)');
my %m = map { $_->{name} => $_ } @{ $a->{answer}{entries} || [] };
is($m{'1733500000-42'}{from}, 'Alice <alice@example.org>', '... a message\'s From');
is($m{'1733500000-42'}{subject}, 'Minutes', '... its Subject');
is($m{'1733500000-42'}{date_header}, 'Fri, 6 Dec 2024 10:13:20 +0100', '... its Date');
is($m{'1733500000-42'}{flags}, '\\Seen', '... its flags');
is($m{'1733500000-43'}{subject}, 'Re: Minutes', '... and the other\'s');
ok(!exists $m{'1733500000-43'}{date_header}, '... without a Date it has none');
ok(!exists $e{'a.txt'}{subject}, 'a directory without .mailbox has no such fields');

# A .mailbox of 70,000-byte strings: cut to 1,000 bytes each, the answer
# sent, and the requests after it in the same poll answered too.
my $qh = api_ok(api(POST => 'browse', json => { snapshot => $snap, path => $huge }), 200, 'browse the huge mailbox');
my $qn = api_ok(api(POST => 'browse', json => { snapshot => $snap, path => "$src/sub" }), 200,
                '... and another directory right after');
$a = answer($qh->{id}, 1);
is($a->{state}, 'done', 'a mailbox with a 70,000-byte name lists') or diag(substr(JSON::PP->new->encode($a), 0, 300));
is(length($a->{answer}{mailbox}{name} // ''), 1000, '... its name cut to 1,000 bytes');
%m = map { $_->{name} => $_ } @{ $a->{answer}{entries} || [] };
is(length($m{'1733500001-1'}{from} // ''), 1000, '... a message\'s From too');
is($m{'1733500001-1'}{subject}, "\x{e9}" x 500, '... and its Subject, never inside a UTF-8 character');
ok(!$a->{answer}{truncated} && keys(%m) == 2, '... every entry in one page');
$a = answer($qn->{id}, 1);
is($a->{state}, 'done', 'the request after it is answered too') or diag(explain($a));
$a = browse(path => $plain);
is($a->{state}, 'done', 'a directory with a .mailbox but no messages lists');
ok(!exists $a->{answer}{mailbox}, '... not as a mailbox: its .mailbox is a file like others')
    or diag(explain($a->{answer}{mailbox}));
is(scalar(@{ $a->{answer}{entries} || [] }), 2, '... with both its files');

# ----------------------------------------------------------- restoring
my $target = $cl->dir . '/restored';
$q = api_ok(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/sub", "$src/a.txt"],
                                              where => 'directory', dir => $target }),
            200, 'queue a restore to a target directory');
my @seen;
($a, @seen) = answer($q->{id}, 1);
is($a->{state}, 'done', 'the restore is done') or diag(explain($a), $ag->log_text);
is($a->{kind}, 'restore', '... a restore');
is($a->{answer}{files}, 3, '... 3 files') or diag(explain($a));
ok($a->{answer}{bytes} >= 300_000, '... its bytes');
is($a->{answer}{problems}, 0, '... no problem');
for my $f ('a.txt', 'sub/b.bin', 'sub/deeper/c.txt') {
    is(GV::_slurp("$target$src/$f"), GV::_slurp("$src/$f"), "$f restored byte for byte");
}
ok(!-e "$target$src/big", 'what was not asked for is not restored');

# Agent.AllowRestore target (the default): only into a new or empty
# directory, reached without following a symbolic link, and no "..".
sub restore_refused {
    my ($args, $re, $what) = @_;
    my $q = api_ok(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/a.txt"], %$args }), 200,
                   "queue $what");
    my $a = answer($q->{id}, 1);
    is($a->{state}, 'failed', "... the agent refuses it") or diag(explain($a));
    like($a->{answer}{error} // '', $re, '... and says why: ' . ($a->{answer}{error} // ''));
}
GV::_spit("$src/a.txt", "changed since\n");
restore_refused({ where => 'original' }, qr/AllowRestore is target/, 'a restore to the original place');
restore_refused({ where => 'overwrite' }, qr/AllowRestore is target/, 'a restore overwriting the original place');
is(GV::_slurp("$src/a.txt"), "changed since\n", '... nothing was touched');
restore_refused({ where => 'directory', dir => $target }, qr/not empty/, 'a restore into a directory not empty');
symlink($target, $cl->dir . '/link') or die "symlink: $!";
restore_refused({ where => 'directory', dir => $cl->dir . '/link/new' }, qr/symbolic link/,
                'a restore through a symbolic link');
ok(!-e "$target/new", '... which made nothing there');
restore_refused({ where => 'directory', dir => $cl->dir . '/x/..' }, qr/"\.\." component/, 'a restore into x/..');

# Agent.AllowRestore all: the original place too.
is($ag->stop, 0, 'the agent stops');
$ag = GVAgent->start($cl, sets => { web => { Paths => [$src, $cl->dir . '/mail'], Schedule => '2099-01-01' },
                                    slow => { Paths => [$slowsrc], Schedule => '2099-01-01',
                                              LimitDownload => '64K', PreCommand => 'sleep 3' } },
                     agent => { AllowRestore => 'all' });

# The original place, without and with overwrite.
chmod 0701, $src;
utime 1_000_000_000, 1_000_000_000, $src;
$q = api_ok(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/a.txt"],
                                              where => 'original' }), 200,
            'queue a restore to the original place');
$a = answer($q->{id}, 1);
is($a->{state}, 'done', 'done') or diag(explain($a));
is($a->{answer}{problems}, 1, '... one problem: the file exists');
is(GV::_slurp("$src/a.txt"), "changed since\n", 'without overwrite the changed file is kept');
{
    my @st = stat $src;
    is(sprintf('%o %d', $st[2] & 07777, $st[9]), '701 1000000000',
       '... and the directory on its way keeps its mode and mtime');
}
$q = api_ok(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/a.txt"],
                                              where => 'overwrite' }), 200,
            'queue a restore to the original place, overwriting');
$a = answer($q->{id}, 1);
is($a->{state}, 'done', 'done') or diag(explain($a));
is($a->{answer}{problems}, 0, '... no problem');
is(GV::_slurp("$src/a.txt"), "the original a\n" x 50, 'with overwrite the file is replaced');

# ----------------------------------------------------------- bad arguments
api_error(api(POST => 'restore', json => { snapshot => $snap, paths => ['relative'], where => 'original' }),
          400, 'a relative path', qr/absolute/);
api_error(api(POST => 'restore', json => { snapshot => $snap, paths => [], where => 'original' }),
          400, 'no path', qr/1 to 64 paths/);
api_error(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/a.txt"], where => 'elsewhere' }),
          400, 'where elsewhere', qr/"where" must be/);
api_error(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/a.txt"], where => 'directory' }),
          400, 'a directory without dir', qr/"dir"/);
api_error(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/a.txt"], where => 'original',
                                          dir => '/tmp' }), 400, 'dir without "directory"', qr/"dir" goes with/);
api_error(api(POST => 'restore', json => { snapshot => 999, paths => ["$src/a.txt"], where => 'original' }),
          404, 'a snapshot that is not there', qr/no snapshot 999/);
api_error(api(POST => 'browse', json => { snapshot => $snap, path => "a\nb" }), 400, 'a control character',
          qr/control character/);
api_error(api(POST => 'browse', json => { path => '/' }), 400, 'no snapshot', qr/snapshot/);
api_error(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/a.txt"], where => 'original' },
              csrf => undef), 403, 'a restore without the CSRF token');
api_error(api(GET => 'answer?req=987654'), 404, 'an answer to no request', qr/no request 987654/);
# What only the agent can check: the target is a file.
$q = api_ok(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/a.txt"], where => 'directory',
                                              dir => "$src/a.txt" }), 200, 'a restore into a file');
$a = answer($q->{id}, 1);
is($a->{state}, 'failed', 'the agent refuses it') or diag(explain($a));
like($a->{answer}{error} // '', qr/a\.txt/, '... and says why: ' . ($a->{answer}{error} // ''));

# ----------------------------------------------------------- one at a time, cancel
$r = $ag->ask(request => 'run', set => 'slow');
my @hs = $ag->wait_runs('slow', 1, 120);
is($hs[0]{result}, 'ok', 'set slow is saved') or diag(explain(\@hs));
# One run of a set at a time: no restore while its backup runs (its
# PreCommand sleeps 3 s), no backup while a restore of it runs.
$r = $ag->ask(request => 'run', set => 'slow');
ok($r->{started}, 'another backup of set slow started') or diag(explain($r));
$q = api_ok(api(POST => 'restore', json => { snapshot => $hs[0]{snapshot}, paths => [$slowsrc],
                                              where => 'directory', dir => "$target-during" }),
            200, 'a restore of set slow while its backup runs');
$a = answer($q->{id}, 1);
is($a->{state}, 'failed', '... is refused') or diag(explain($a));
like($a->{answer}{error} // '', qr/set slow is running a backup/, '... and says why');
@hs = $ag->wait_runs('slow', 2, 120);
is($hs[0]{result}, 'ok', 'the backup ended') or diag(explain(\@hs));
my $q1 = api_ok(api(POST => 'restore', json => { snapshot => $hs[0]{snapshot}, paths => [$slowsrc],
                                                  where => 'directory', dir => "$target-slow" }),
                200, 'a slow restore (LimitDownload 64K)');
($a) = answer($q1->{id}, 0);
is($a->{state}, 'started', 'the agent answers "started" first') or diag(explain($a));
GV::wait_until(sub { $ag->log_text =~ /restore of set slow, snapshot \d+, .* \(request $q1->{id}\) started/ }, 20, 0.1);
$r = $ag->ask(request => 'run', set => 'slow');
ok(!$r->{started} && ($r->{error} // '') =~ /set slow is running a restore/,
   'a backup of set slow while its restore runs is refused, saying why') or diag(explain($r));
my $q2 = api_ok(api(POST => 'restore', json => { snapshot => $hs[0]{snapshot}, paths => [$slowsrc],
                                                  where => 'directory', dir => "$target-slow2" }),
                200, 'another restore of the same set');
$a = answer($q2->{id}, 1);
is($a->{state}, 'failed', 'one restore of a set at a time: the second is refused');
like($a->{answer}{error} // '', qr/a restore of set slow is under way/, '... and says why');
$r = $ag->ask(request => 'cancel', set => 'slow');
ok($r->{cancelled} && $r->{restore}, 'cancel of set slow (the UI port, as for jobs) cancels the restore')
    or diag(explain($r));
$a = answer($q1->{id}, 1);
is($a->{state}, 'failed', 'the cancelled restore is answered failed') or diag(explain($a));
is($a->{answer}{error}, 'cancelled', '... "cancelled"');
ok(!-e "$target-slow$slowsrc/big.bin" || -s "$target-slow$slowsrc/big.bin" < 3_000_000,
   '... and the file is not all there');

# ----------------------------------------------------------- AllowBrowse 0
is($ag->stop, 0, 'the agent stops');
$ag = GVAgent->start($cl, sets => { web => { Paths => [$src], Schedule => '2099-01-01' } },
                     agent => { AllowBrowse => 0, AllowRestore => 'none' });
$a = browse(path => $src);
is($a->{state}, 'failed', 'an agent with AllowBrowse 0 lists nothing');
like($a->{answer}{error} // '', qr/AllowBrowse is 0/, '... and says why');
ok(!exists $a->{answer}{entries}, '... no name leaves it');
$q = api_ok(api(POST => 'restore', json => { snapshot => $snap, paths => ["$src/a.txt"], where => 'directory',
                                              dir => "$target-none" }), 200, 'a restore, to an agent with AllowRestore none');
$a = answer($q->{id}, 1);
is($a->{state}, 'failed', '... refused');
like($a->{answer}{error} // '', qr/AllowRestore is none/, '... and it says why');
ok(!-e "$target-none", '... nothing restored');

# ----------------------------------------------------------- a version 4 agent
is($ag->stop, 0, 'the agent stops');
$q = api_ok(api(POST => 'browse', json => { snapshot => $snap, path => $src }), 200, 'a browse while no agent polls');
my $V4 = { GIGAVAULT_PASSPHRASE => $GVClient::PASS, GIGAVAULT_TEST_PROTOCOL_MAX => 4 };
my ($rc, $out, $err) = GVClient::run_cmd([$REPORT, '-c', $cl->dir . '/client.conf', '--poll'], $V4, 60);
is($rc, 0, 'a version 4 poll') or diag($err);
unlike($out, qr/^\d+ [23] /m, 'a version 4 agent never gets a browse or restore request') or diag($out);
$a = api_ok(api(GET => "answer?req=$q->{id}"), 200, 'the request still waits');
is($a->{state}, 'pending', '... pending');
ok(!defined $a->{taken}, '... not taken');
($rc, $out, $err) = GVClient::run_cmd([$REPORT, '-c', $cl->dir . '/client.conf', '--poll',
                                       '--answer', '0:this is not JSON'],
                                      { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
is($rc, 0, 'a version 5 poll') or diag($err);
like($out, qr/^$q->{id} 2 web \{.*"path":"\Q$src\E"/m, '... gets the browse, with its args') or diag($out);
api_error(api(GET => "answer?req=$q->{id}"), 502, 'an answer that is not JSON', qr/not JSON/);
# An answer to a request never handed out: the server refuses it.
($rc, $out, $err) = GVClient::run_cmd([$REPORT, '-c', $cl->dir . '/client.conf', '--poll',
                                       '--answer', '0:{}', '--answer-id', 424242],
                                      { GIGAVAULT_PASSPHRASE => $GVClient::PASS }, 60);
is($rc, 0, 'an answer to no request is acknowledged (and dropped)') or diag($err);
ok($gv->log_like(qr/answer to request 424242 dropped/), '... the server logs that it dropped it');
ok($gv->alive, 'the daemon is alive');

done_testing;
