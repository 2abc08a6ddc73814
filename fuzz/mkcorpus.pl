#!/usr/bin/perl
# fuzz/mkcorpus.pl - write the seed corpora fuzz/corpus/NAME/ of the
# harnesses fuzz/fuzz-NAME.c: a few small valid inputs and a few invalid
# ones each, built from the layouts in src/common/wire.h,
# src/common/discowire.h, src/client/tree.c, src/client/blob.c and the
# file formats.  Run from the source tree's top (the output is committed;
# run it again after a layout changes):  perl fuzz/mkcorpus.pl
# The zstd seeds of the blob harness need zstd(1).
use strict;
use warnings;

my $top = 'fuzz/corpus';

sub put {
	my ($name, $file, $bytes) = @_;
	mkdir $top;
	mkdir "$top/$name";
	open(my $f, '>:raw', "$top/$name/$file") or die "$top/$name/$file: $!";
	print $f $bytes;
	close($f) or die;
}

# ------------------------------------------------------------ wire frames
sub frame { my ($type, $p) = @_; pack('N n n', length($p), $type, 0) . $p }
sub str16 { pack('n', length($_[0])) . $_[0] }
my $hello = frame(0x0001, 'GVLT' . pack('n n', 1, 3) . str16('gigavault 0.3'));
my $id = "\x11" x 32;
put('wire', 'hello-ping-bye', $hello . frame(0x0003, 'ping') . frame(0x0005, ''));
put('wire', 'register', $hello . frame(0x0010, str16('token-abc')));
put('wire', 'auth-proof-have', $hello . frame(0x0012, str16('laptop')) .
    frame(0x0014, "\x22" x 32) . frame(0x0020, pack('N', 2) . $id . $id));
put('wire', 'commit', $hello . frame(0x0012, str16('laptop')) .
    frame(0x0014, "\x22" x 32) .
    frame(0x0024, str16('home') . pack('Q>', 1700000000) . $id . $id .
    pack('Q> Q>', 10, 4096)));
put('wire', 'server-hello', frame(0x0002, 'GVLT' . pack('n', 3) .
    ("\x42" x 16) . str16('gigavaultd 0.3')));
put('wire', 'error', frame(0x00ff, pack('n', 7) . str16('not authenticated')));
put('wire', 'bad-magic', frame(0x0001, 'GVXX' . pack('n n', 1, 3) . str16('x')));
put('wire', 'bad-flags', pack('N n n', 0, 3, 1));
put('wire', 'too-large', pack('N n n', 0x7fffffff, 0x22, 0));
put('wire', 'truncated-hello', substr($hello, 0, 13));
put('wire', 'long-software', frame(0x0001, 'GVLT' . pack('n n', 1, 3) .
    pack('n', 300) . ('s' x 300)));
put('wire', 'http', "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
# version 4: the agent's frames after AUTH, and the server's answers
my $hello4 = frame(0x0001, 'GVLT' . pack('n n', 1, 4) . str16('gigavault-agent 0.3'));
my $auth = frame(0x0012, str16('laptop')) . frame(0x0014, "\x22" x 32);
sub report { my ($set, $res, $err) = @_;
    frame(0x0040, str16($set) . pack('Q> Q> Q> C Q> Q> Q> Q> Q> Q> Q>', 0,
    1700000000, 1700000060, $res, 3, 10, 4096, 4096, 1024, 0, 1700003600) .
    str16($err)) }
sub job { str16($_[0]) . pack('Q> Q> C', 1700003600, 3600, $_[1]) }
put('wire', 'job-report', $hello4 . $auth . report('home', 0, ''));
put('wire', 'job-report-failed', $hello4 . $auth .
    report('home', 2, 'cannot read /home: permission denied'));
put('wire', 'job-report-bad-result', $hello4 . $auth . report('home', 7, ''));
put('wire', 'agent-poll', $hello4 . $auth .
    frame(0x0042, str16('laptop') . pack('N', 2) . job('home', 0) . job('etc', 1)));
put('wire', 'agent-poll-count', $hello4 . $auth .
    frame(0x0042, str16('laptop') . pack('N', 257) . job('home', 0)));
put('wire', 'agent-requests', frame(0x0043, pack('N', 2) .
    pack('Q> C', 7, 1) . str16('home') . pack('Q> C', 8, 9) . str16('etc')));
put('wire', 'job-reported', frame(0x0041, pack('Q>', 42)));
# version 5: browse and restore requests with args, the agent's answers
my $hello5 = frame(0x0001, 'GVLT' . pack('n n', 1, 5) . str16('gigavault-agent 0.4'));
put('wire', 'agent-answer', $hello5 . $auth .
    frame(0x0044, pack('Q> C N', 7, 0, 2) . '{}'));
put('wire', 'agent-answer-started', $hello5 . $auth .
    frame(0x0044, pack('Q> C N', 9, 1, 19) . '{"state":"started"}'));
put('wire', 'agent-answer-long', $hello5 . $auth .
    frame(0x0044, pack('Q> C N', 7, 0, 65537) . ('x' x 16)));
put('wire', 'agent-requests5', frame(0x0043, pack('N', 2) .
    pack('Q> C', 7, 2) . str16('home') . str16('{"snapshot":1,"path":"/"}') .
    pack('Q> C', 8, 3) . str16('etc') . str16('{}')));
put('wire', 'agent-answered', frame(0x0045, pack('Q>', 7)));

# ------------------------------------------------------------ tree blobs
sub node {
	my ($name, $type, $rest) = @_;
	return pack('n', length($name)) . $name .
	    pack('C N N N', $type, 0644, 1000, 1000) .
	    pack('q> N q> N q> N', 1700000000, 5, 1700000001, 6, 1700000002, 7) .
	    pack('Q> Q> Q> N', 4096, 2049, 123456, 1) . $rest;
}
my $file = node('a.txt', 1, pack('C N', 0, 2) . ("\x01" x 32) . ("\x02" x 32));
my $dir = node('dir', 2, "\x03" x 32);
my $link = node('link', 3, pack('n', 5) . 'a.txt');
my $fifo = node('pipe', 4, '');
my $chr = node('tty', 5, pack('Q>', 0x0501));
my $sock = node('zsock', 7, '');
put('tree', 'page', 'GVT2' . pack('N', 6) . $file . $dir . $link . $fifo .
    $chr . $sock);
put('tree', 'page-empty', 'GVT2' . pack('N', 0));
my $file1 = node('f', 1, pack('N', 1) . ("\x04" x 32));
put('tree', 'page-v1', 'GVT1' . pack('N', 1) . $file1);
put('tree', 'index', 'GVI2' . pack('C N', 1, 2) . str16('a') . ("\x05" x 32) .
    str16('m') . ("\x06" x 32));
put('tree', 'list', 'GVL2' . pack('C N', 1, 3) . ("\x07" x 96));
put('tree', 'unsorted', 'GVT2' . pack('N', 2) . $link . $file);
put('tree', 'bad-type', 'GVT2' . pack('N', 1) . node('x', 9, ''));
put('tree', 'truncated', substr('GVT2' . pack('N', 1) . $file, 0, 40));
put('tree', 'huge-count', 'GVT2' . pack('N', 0xffffffff) . $fifo);
put('tree', 'list-short', 'GVL2' . pack('C N', 1, 3) . ("\x07" x 95));
put('tree', 'name-slash', 'GVT2' . pack('N', 1) . node('a/b', 4, ''));
# Format 3: flags, xattrs (sorted), and a file's holes (within its size).
sub xattr { my ($n, $v) = @_; return pack('C', length($n)) . $n . pack('N', length($v)) . $v; }
my $meta = pack('N n', 0x10, 2) . xattr('security.capability', "\x01" x 20) .
    xattr('user.a', 'b');
put('tree', 'page-v3', 'GVT3' . pack('N', 3) .
    node('a.txt', 1, pack('C N', 0, 1) . ("\x01" x 32)) . $meta .
    pack('N', 2) . pack('Q> Q>', 0, 1024) . pack('Q> Q>', 2048, 1024) .
    node('dir', 2, "\x03" x 32) . $meta .
    node('link', 3, pack('n', 5) . 'a.txt') . pack('N n', 0, 1) .
    xattr('trusted.x', ''));
put('tree', 'holes-overlap', 'GVT3' . pack('N', 1) .
    node('f', 1, pack('C N', 0, 0)) . pack('N n', 0, 0) . pack('N', 2) .
    pack('Q> Q>', 0, 2048) . pack('Q> Q>', 1024, 1024));
put('tree', 'xattr-unsorted', 'GVT3' . pack('N', 1) . node('p', 4, '') .
    pack('N n', 0, 2) . xattr('user.b', '') . xattr('user.a', ''));

# ------------------------------------------------------------ discovery
sub dgram {
	my ($type, $flags, $roles, $reserved, $name) = @_;
	return pack('a4 C C n a16 C C n n n n n N C', 'GVDS', 1, $type, $flags,
	    "\x5a" x 16, $roles, $reserved, 32004, 32007, 32005, 6060, 6061,
	    0xdeadbeef, length($name)) . $name;
}
put('discowire', 'announce', dgram(1, 1, 1, 0, 'backup-1'));
put('discowire', 'query', dgram(2, 0, 2, 0, 'laptop'));
put('discowire', 'leave', dgram(6, 0, 3, 0, 'a.b_c-d'));
put('discowire', 'bad-version', 'GVDS' . pack('C', 2) . ("\0" x 40));
put('discowire', 'reserved', dgram(3, 0, 1, 1, 'x'));
put('discowire', 'bad-name', dgram(4, 0, 1, 0, "a b"));
put('discowire', 'short', substr(dgram(5, 0, 1, 0, 'x'), 0, 30));
put('discowire', 'oversize', dgram(1, 0, 1, 0, 'n' x 65));

# ------------------------------------------------------------ blobs
# [kind expected by blob_open() (byte % 3 + 1)] [kind] [compression] [body]
put('blob', 'data-raw', pack('C C C', 0, 1, 0) . 'hello, world');
put('blob', 'tree-raw', pack('C C C', 1, 2, 0) . 'GVT2' . pack('N', 1) . $fifo);
put('blob', 'meta-raw', pack('C C C', 2, 3, 0) . '{"set":"home"}');
put('blob', 'wrong-kind', pack('C C C', 0, 2, 0) . 'x');
put('blob', 'bad-compression', pack('C C C', 0, 1, 7) . 'x');
put('blob', 'empty', pack('C', 0));
if (open(my $z, '-|', 'sh', '-c',
    'printf "%s" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | zstd -q -c')) {
	binmode $z;
	local $/;
	my $frame = <$z>;
	close($z);
	if (defined $frame && length($frame) > 0) {
		put('blob', 'data-zstd', pack('C C C', 0, 1, 1) . $frame);
		put('blob', 'data-zstd-cut', pack('C C C', 0, 1, 1) .
		    substr($frame, 0, length($frame) - 2));
	}
}

# ------------------------------------------------------------ key file
my $salt = 'ab' x 32;
my $keys = 'cd' x 92;
put('keyfile', 'valid', qq({"version":1,"kdf":"scrypt","N":32768,"r":8,) .
    qq("p":1,"salt":"$salt","keys":"$keys"}\n));
put('keyfile', 'n-not-power', qq({"version":1,"kdf":"scrypt","N":32769,) .
    qq("r":8,"p":1,"salt":"$salt","keys":"$keys"}));
put('keyfile', 'huge-memory', qq({"version":1,"kdf":"scrypt","N":4194304,) .
    qq("r":32,"p":1,"salt":"$salt","keys":"$keys"}));
put('keyfile', 'unknown-member', qq({"version":1,"x":0}));
put('keyfile', 'short-salt', qq({"version":1,"kdf":"scrypt","N":16384,) .
    qq("r":1,"p":1,"salt":"abc","keys":"$keys"}));
put('keyfile', 'not-json', "version = 1\n");
put('keyfile', 'array', '[1,2,3]');

# ------------------------------------------------------------ state file
my $sid = '0f' x 16;
my $sec = '1e' x 32;
my $pin = '2d' x 32;
put('state', 'valid', qq({"server":"backup.example:32004","server_id":"$sid",) .
    qq("client":"laptop","secret":"$sec","tls_pin":"$pin"}\n));
put('state', 'no-pin', qq({"server":"10.0.0.1","server_id":"$sid",) .
    qq("client":"a","secret":"$sec"}));
put('state', 'bad-hex', qq({"server":"s","server_id":"zz","client":"a",) .
    qq("secret":"$sec"}));
put('state', 'extra-member', qq({"server":"s","server_id":"$sid","client":"a",) .
    qq("secret":"$sec","x":1}));
put('state', 'long-name', qq({"server":"s","server_id":"$sid","client":") .
    ('n' x 65) . qq(","secret":"$sec"}));
put('state', 'duplicate', qq({"server":"s","server":"t"}));

# ------------------------------------------------------------ UI bridge
put('uibridge', 'hello', qq({"request":"hello","id":1}\n));
put('uibridge', 'two', qq({"request":"clients","id":"x","token":"ab"}\n) .
    qq({"request":"status"}\n));
put('uibridge', 'unknown', qq({"request":"nope","id":[1]}\n));
put('uibridge', 'not-object', qq([1,2,3]\n"x"\n));
put('uibridge', 'not-json', "GET / HTTP/1.1\r\n\r\n");
put('agentui', 'hello', qq({"request":"hello","id":1}\n));
put('agentui', 'token', qq({"request":"jobs","token":"s3cret-token"}\n) .
    qq({"request":"status","token":"wrong"}\n));
put('agentui', 'history', qq({"request":"history","set":"web","limit":5}\n) .
    qq({"request":"history","set":"a b","limit":0}\n));
put('agentui', 'run', qq({"request":"run","set":"web","id":"x"}\n) .
    qq({"request":"cancel","set":7}\n));
put('agentargs', 'browse', '{"snapshot":3,"path":"/home/ann","offset":0}');
put('agentargs', 'browse-root', '{"snapshot":1}');
put('agentargs', 'restore-dir', '{"snapshot":2,"paths":["/etc/hosts","/home/ann/x"],"where":"directory","dir":"/tmp/r"}');
put('agentargs', 'restore-original', '{"snapshot":2,"paths":["/a"],"where":"overwrite"}');
put('agentargs', 'bad', '{"snapshot":0,"paths":["rel"],"where":"x","dir":"/","extra":1}');
put('agentargs', 'dup', '{"snapshot":1,"snapshot":2}');
put('agentui', 'bad', qq([1]\n{"request":1}\n{"request":"nope"}\nnot json\n));
put('uibridge', 'no-request', qq({"id":1,"request":5}\n\n{}\n));

# ------------------------------------------------------------ console HTTP
my $tok = 'a1' x 32;
put('http', 'get-api', "GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n");
put('http', 'post-json', "POST /api/clients HTTP/1.1\r\nHost: x\r\n" .
    "Content-Type: application/json\r\nCookie: a=b; gv_session=$tok\r\n" .
    "X-CSRF-Token: $tok\r\nContent-Length: 15\r\n\r\n{\"name\":\"box\"}");
put('http', 'delete-name', "DELETE /api/clients/box HTTP/1.1\r\n\r\n");
put('http', 'static', "GET /app.js HTTP/1.0\r\n\r\n");
put('http', 'root', "HEAD / HTTP/1.1\r\nHost: y\r\n\r\n");
put('http', 'absolute', "GET http://fuzz/api/status HTTP/1.1\r\n\r\n");
put('http', 'nul', "GET /api/clients/%00x HTTP/1.1\r\n\r\n");
put('http', 'dotdot', "GET /../etc/passwd HTTP/1.1\r\n\r\n");
put('http', 'wrong-type', "POST /api/clients HTTP/1.1\r\n" .
    "Content-Type: text/plain\r\n\r\nname=x");
put('http', 'bad-body', "POST /api/housekeeping/prune HTTP/1.1\r\n" .
    "Content-Type: application/json; charset=utf-8\r\n\r\n[1]");
put('http', 'query', "GET /api/log?level=warning&since=a%20b+c& HTTP/1.1\r\n\r\n");
put('http', 'query-nul', "GET /api/log?level=warning%00x HTTP/1.1\r\n\r\n");
put('http', 'query-dup', "GET /api/log?level=info&level=debug&x HTTP/1.1\r\n\r\n");
put('http', 'garbage', "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");

# ------------------------------------------------------------ pattern
# An exclude file, a NUL, then paths (one per line).
put('pattern', 'typical', "# build\n*.o\n**/node_modules\n/var/**/*.log\ntmp/\n" .
    "trailing\\ \n\0src/x.o\nvar/log/a/b.log\nhome/u/tmp\na/node_modules\n");
put('pattern', 'classes', "[[:digit:]]*\n*.[!oa]\nx[]]\n\\*\n\0" .
    "9lives\nx.c\nx]\n*\n");
put('pattern', 'bad-class', "*.o\n[oops\n\0a.o\n");
put('pattern', 'deep', "/a/**/b/**/c\n\0" . ("a/" x 200) . "b/c\n");
put('pattern', 'empty', "\0\n\n");

# ------------------------------------------------------------ schedule
# A schedule, a NUL, a time (8 bytes, big-endian) and a number of runs to
# chain (2 bytes).
sub when { pack('Q> n', $_[0], $_[1]) }
put('schedule', 'every-2s', "*:*:0/2\0" . when(1774745990, 20));   # spring forward
put('schedule', 'fall-back', "*:0/20:0,30\0" . when(1792889990, 64));
put('schedule', 'weekdays', "Mon..Fri,Sun 08:30\0" . when(1765000000, 10));
put('schedule', 'leap-day', "Mon *-02-29 12:00\0" . when(1765000000, 3));
put('schedule', 'dates', "2026..2199/7-1,3..12/2-28..31/3\0" . when(0, 5));
put('schedule', 'shorthand', "weekly\0" . when(1765000000, 2));
put('schedule', 'past', "2020-01-01\0" . when(1765000000, 1));
put('schedule', 'bad', "Fri..Mon 25:61:00\0");

# ------------------------------------------------------------ config
if (open(my $c, '<', 'conf/gigavault.conf')) {
	local $/;
	put('config', 'shipped', <$c>);
	close($c);
}
put('config', 'small', "Server {\n\tWorkers = 2\n\tDataDir = \"/tmp/gv\"\n}\n" .
    "Ports {\n\tMulticast = {6363, 6364}\n}\n");
put('config', 'out-of-range', "Server {\n\tWorkers = 0\n\tMaxFrame = 1\n}\n");
put('config', 'unknown', "Server {\n\tNoSuchOption = 1\n}\nNope {\n}\n");
put('config', 'syntax', "Server {\n\tWorkers = \n");
put('config', 'empty', '');

# ------------------------------------------------------------ s3xml
my $xh = qq(<?xml version="1.0" encoding="UTF-8"?>);
put('s3xml', 'error', $xh . '<Error><Code>SignatureDoesNotMatch</Code>' .
    '<Message>The request signature &amp; &lt;so on&gt;</Message>' .
    '<RequestId>tx1</RequestId></Error>');
put('s3xml', 'list', $xh . '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' .
    '<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount>' .
    '<IsTruncated>true</IsTruncated><NextContinuationToken>p/k1</NextContinuationToken>' .
    '<Contents><Key>p/k0</Key><Size>12</Size><ETag>&quot;0123abcd&quot;</ETag></Contents>' .
    '<Contents><Key>p/a&amp;b</Key><LastModified>2026-12-06T23:00:00.000Z</LastModified>' .
    '<Size>0</Size><ETag>"ff-2"</ETag></Contents></ListBucketResult>');
put('s3xml', 'list-bad-size', '<ListBucketResult><Contents><Key>k</Key>' .
    '<Size>18446744073709551616</Size></Contents></ListBucketResult>');
put('s3xml', 'delete', $xh . '<DeleteResult><Deleted><Key>a</Key></Deleted>' .
    '<Error><Key>b</Key><Code>AccessDenied</Code><Message>no</Message></Error>' .
    '</DeleteResult>');
put('s3xml', 'initiate', '<InitiateMultipartUploadResult><Bucket>b</Bucket>' .
    '<Key>k</Key><UploadId>2~abcdefghijklmnop</UploadId></InitiateMultipartUploadResult>');
put('s3xml', 'unclosed', '<ListBucketResult><Contents><Key>k&#x41;&#66;</Key><Size>1');
put('s3xml', 'creds', "# creds\naccess_key_id = AKIA0001\nsecret_access_key=abc/def+g\n");

# ------------------------------------------------------------ lease
put('lease', 'held', '{"duration":60,"generation":3,"holder":' .
    '"0123456789abcdef0123456789abcdef","host":"backup-1","pid":812,' .
    '"released":false,"renewal":17}');
put('lease', 'released', '{"duration":10,"generation":1,"holder":"ab",' .
    '"host":"h \\u00e9 \\"q\\"","pid":1,"released":true,"renewal":0}');
put('lease', 'no-released', '{"holder":"ab","host":"","pid":0,' .
    '"generation":0,"renewal":0,"duration":2}');
put('lease', 'bad-duration', '{"holder":"ab","host":"h","pid":1,' .
    '"generation":1,"renewal":0,"duration":3601}');
put('lease', 'twice', '{"holder":"ab","holder":"cd","host":"h","pid":1,' .
    '"generation":1,"renewal":0,"duration":5}');

# ------------------------------------------------------------ sync
my $src = '00112233445566778899aabbccddeeff';
put('sync', 'state', "gigavault-sync-state 1\nsource $src\njournal 1 12\n" .
    "journal 2 3\npack 1 0 4096\npack 2 7 100\n");
put('sync', 'state-bad', "gigavault-sync-state 1\nsource $src\npack 1 4294967296 0\n" .
    "journal 1 18446744073709551616\n");
put('sync', 'target', "# bucket B\nEndpoint = http://127.0.0.1:7480\nRegion = default\n" .
    "Bucket = \"b\"\nPrefix = off\nCredentialsFile = /etc/c\nPathStyle = no\n" .
    "CAFile = /ca.pem\n");
put('sync', 'target-bad', "Endpoint = http://h\nBucket\nFrob = 1\n");

# ------------------------------------------------------------ mailwire
# The mailbox helper's frames (src/common/mailwire.h, doc/protocol.md).
my $mw_app = str16('alice') . str16('Work/Projects') . str16('\\Seen $Label1') .
    pack('Q> N N', 1600000000, 120, 18) . "Subject: x\r\n\r\nbody";
put('mailwire', 'challenge-proof', frame(0x0101, 'GVMH' . pack('n', 2) . ("\x5a" x 32)) .
    frame(0x0102, ("\x44" x 32) . ("\x33" x 32)) . frame(0x0103, "\x66" x 32));
put('mailwire', 'requests', frame(0x0110, '') . frame(0x0112, str16('alice')) .
    frame(0x0114, str16('alice') . str16('INBOX') . pack('N', 77)) .
    frame(0x0116, str16('alice') . str16('INBOX') . pack('N N', 77, 5)) .
    frame(0x0118, str16('alice') . str16('Restored/Work')) .
    frame(0x011c, str16('alice') . str16('INBOX') . pack('N N', 77, 6)));
put('mailwire', 'append', frame(0x0119, $mw_app));
put('mailwire', 'answers', frame(0x0111, pack('N', 2) . str16('alice') . str16('bob')) .
    frame(0x0113, str16('Sent') . '/' . pack('N N N', 9, 5, 4) . str16('\\Sent')) .
    frame(0x0115, pack('N', 1) . pack('N Q> Q> N', 3, 1000, 1600000000, 4294967176) .
        str16('\\Seen')) .
    frame(0x011b, pack('N', 1)) . frame(0x011a, pack('N', 12)) .
    frame(0x011d, "From: a\@b\r\nSubject: x\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n") .
    frame(0x01ff, pack('n', 16) . str16('stale')));
put('mailwire', 'append-too-large', pack('N n n', 1 << 30, 0x0119, 0));
put('mailwire', 'bad-flags', frame(0x0119, str16('a') . str16('b') . str16('(x') .
    pack('Q> N N', 1, 0, 1) . 'x'));
put('mailwire', 'short-string', frame(0x0112, pack('n', 9) . 'ab'));
put('mailwire', 'count-too-big', frame(0x0115, pack('N', 100000)));

# ------------------------------------------------------------ mailsrc
put('mailsrc', 'message', "From: Alice <a\@x.test>\r\nTo: b\@x.test\r\n" .
    "Subject: a long\r\n\tfolded subject\r\nDate: Fri, 6 Dec 2024 10:13:20 +0100\r\n" .
    "\r\nSubject: not a header\r\n");
put('mailsrc', 'lf-only', "subject:x\nfrom:\n\nbody\n");
put('mailsrc', 'controls', "Subject: \x01\x1b[31m\xff\xfe\x00tail\r\n\r\n");
put('mailsrc', 'name', "%2E.hidden/Work%25/x%zz%");
# ------------------------------------------------------------ console users
# DataDir/admins and DataDir/apitokens (fuzz-users.c reads each input as
# both)
{
	my $salt = '00112233445566778899aabbccddeeff';
	my $key = '00112233445566778899aabbccddeeff' x 2;
	my $totp = 'ab' x 20;
	put('users', 'admins-old', "alice:scrypt:32768:8:1:$salt:$key:1700000000\n");
	put('users', 'admins-roles', "alice:scrypt:32768:8:1:$salt:$key:1\n" .
	    "bob:scrypt:32768:8:1:$salt:$key:2:operator\n# a comment\n\n");
	put('users', 'admins-totp', "alice:scrypt:32768:8:1:$salt:$key:1:admin:$totp:56000000\n");
	put('users', 'admins-bad-role', "alice:scrypt:32768:8:1:$salt:$key:1:root\n");
	put('users', 'admins-half-totp', "alice:scrypt:32768:8:1:$salt:$key:1:admin:$totp\n");
	put('users', 'admins-huge-n', "alice:scrypt:1048576000:8:1:$salt:$key:1\n");
	put('users', 'admins-ids', "alice:scrypt:32768:8:1:$salt:$key:1:admin::0:0123456789abcdef\n" .
	    "bob:scrypt:32768:8:1:$salt:$key:1:operator:$totp:56000000:fedcba9876543210\n");
	my $hash = 'cd' x 32;
	put('users', 'tokens', "0123456789abcdef:alice:full:1700000000:0:$hash:nightly script\n" .
	    "fedcba9876543210:bob:read:1700000001:1700000100:$hash:a: label: with colons\n");
	put('users', 'tokens-bad-scope', "0123456789abcdef:alice:all:1:0:$hash:x\n");
	put('users', 'tokens-short-hash', "0123456789abcdef:alice:read:1:0:cdcd:x\n");
	put('users', 'tokens-uid', "0123456789abcdef:alice/0123456789abcdef:full:1:0:$hash:x\n" .
	    "fedcba9876543210:bob/00000000000000zz:read:1:0:$hash:y\n");
	put('users', 'tokens-control', "0123456789abcdef:alice:read:1:0:$hash:a\x01b\n");
}
