#!/usr/bin/perl
# t/90-s3.t - src/server/s3.c against a real radosgw: a single-node Ceph
# (t/lib/ceph-start.sh) on free loopback ports inside this test's temp
# dir, driven through t/gv-s3.  Round trips of 0 B, 1 B, 1 MiB and a
# 150 MiB multipart object (parts of 16 MiB), ranged GETs at the edges,
# HEAD, list paging over 2,500 keys with pages of 100, multi-delete,
# If-None-Match and If-Match as radosgw 16.2 does them, virtual-host
# addressing, a wrong secret, and radosgw stopped: a call fails after
# its retries, a multipart upload stopped mid-way leaves no object, a
# call in its back-off succeeds when radosgw returns, the next works.
# Skips only when ceph-mon, ceph-osd or radosgw is missing.  Ceph is
# stopped in every case (END), and the test checks that none of its
# processes is left.
use strict;
use warnings;
use Test::More;
use File::Temp ();
use Time::HiRes qw(time sleep);
use lib 't/lib';
use GV qw(free_ports wait_until);
use POSIX ();

for my $p (qw(ceph-mon ceph-osd radosgw)) {
	plan skip_all => "$p not installed (tools/deps --test)"
	    unless grep { -x "$_/$p" } split /:/, $ENV{PATH};
}

my $src = $ENV{GV_SRCDIR} // '.';
my $bin = ($ENV{GV_BUILDDIR} // '.') . '/t/gv-s3';
my $start = "$src/t/lib/ceph-start.sh";
die "$bin is not built (make check)" unless -x $bin;

my $tmp = File::Temp::tempdir('gv-s3-XXXXXX', TMPDIR => 1,
    CLEANUP => !$ENV{GV_KEEP});
my $dir = "$tmp/ceph";
mkdir $dir or die "$dir: $!";
my $started = 0;

sub ceph_procs {
	my @p;
	for my $pid (grep { /^\d+$/ } map { s{.*/}{}r } glob '/proc/[0-9]*') {
		open(my $f, '<', "/proc/$pid/cmdline") or next;
		local $/;
		my $c = <$f> // '';
		close $f;
		next unless index($c, $dir) >= 0;
		open(my $s, '<', "/proc/$pid/stat") or next;
		my $st = <$s> // '';
		close $s;
		next if $st =~ /^\d+ \(.*\) Z /;	# reaped soon; not running
		push @p, $pid;
	}
	return @p;
}

sub stop_ceph {
	return unless $started;
	$started = 0;
	system('sh', $start, 'stop', $dir);
}
END { stop_ceph() }
$SIG{$_} = sub { stop_ceph(); exit 1 } for qw(INT TERM HUP);

my ($monport, $rgwport) = free_ports(2);
$started = 1;
my $t0 = time;
my $out = `sh $start start $dir $monport $rgwport 2>&1`;
is($?, 0, sprintf('Ceph started in %.1f s', time - $t0)) or do {
	diag($out);
	BAIL_OUT('no Ceph');
};
my %env;
open(my $ef, '<', "$dir/s3.env") or die "$dir/s3.env: $!";
while (<$ef>) { $env{$1} = $2 if /^(\w+)=(.*)$/ }
close $ef;

our $cred = "$tmp/cred";
sub write_cred {
	my ($path, $secret) = @_;
	open(my $f, '>', $path) or die "$path: $!";
	print $f "# test credentials\naccess_key_id = $env{S3_ACCESS_KEY}\n" .
	    "secret_access_key = $secret\n";
	close $f;
	chmod 0600, $path;
}
write_cred($cred, $env{S3_SECRET_KEY});

# s3(opts => [...], args): (exit code, stdout, stderr, retries)
sub s3 {
	my (@args) = @_;
	my @opts;
	@opts = @{ shift @args } if ref $args[0] eq 'ARRAY';
	my $ep = $env{S3_ENDPOINT};
	my @cmd = ($bin, '-e', $ep, '-r', $env{S3_REGION}, '-b', 'gvtest',
	    '-k', $cred, @opts, @args);
	my $pid = open(my $o, '-|') // die "fork: $!";
	if (!$pid) {
		open(STDERR, '>', "$tmp/stderr") or die;
		exec @cmd or die "exec $bin: $!";
	}
	local $/;
	my $stdout = <$o> // '';
	close $o;
	my $rc = $? >> 8;
	open(my $e, '<', "$tmp/stderr") or die;
	my $stderr = <$e> // '';
	close $e;
	my ($retries) = $stderr =~ /^retries (\d+)$/m;
	return ($rc, $stdout, $stderr, $retries);
}

sub file {
	my ($name, $size, $seed) = @_;
	my $path = "$tmp/$name";
	open(my $f, '>:raw', $path) or die "$path: $!";
	my $block = join('', map { chr(($_ * 31 + $seed) % 251) } 0 .. 65535);
	my $left = $size;
	while ($left > 0) {
		my $n = $left < length($block) ? $left : length($block);
		print $f substr($block, 0, $n);
		$left -= $n;
		$block = substr($block, 7) . substr($block, 0, 7);
	}
	close $f;
	return $path;
}

sub slurp {
	open(my $f, '<:raw', $_[0]) or return undef;
	local $/;
	my $d = <$f>;
	close $f;
	return $d;
}

my ($rc, $o, $e, $r) = s3('mkbucket');
is($rc, 0, 'bucket made') or diag($e);

# Round trips: 0 B, 1 B, 1 MiB (one request each), 150 MiB multipart.
my $mib = 1024 * 1024;
for my $t ([0, 'zero'], [1, 'one'], [$mib, 'mib']) {
	my ($size, $name) = @$t;
	my $f = file($name, $size, $size % 7);
	($rc, $o, $e) = s3('put', "obj/$name", $f);
	is($rc, 0, "put $size bytes") or diag($e);
	chomp(my $etag = $o);
	like($etag, qr/^[0-9a-f]{32}$/, "  its ETag, without quotes");
	($rc, $o, $e) = s3('get', "obj/$name", "$tmp/$name.back");
	ok($rc == 0 && slurp("$tmp/$name.back") eq slurp($f),
	    "  read back equal (s3_get_fd)") or diag($e);
	($rc, $o, $e) = s3('getmem', "obj/$name", $size, "$tmp/$name.mem");
	ok($rc == 0 && slurp("$tmp/$name.mem") eq slurp($f),
	    "  read back equal (s3_get, cap = size)") or diag($e);
	($rc, $o, $e) = s3('head', "obj/$name");
	like($o, qr/^$size $etag \d{9,}$/, "  head: size, ETag, mtime");
}
($rc, $o, $e) = s3('getmem', 'obj/mib', $mib - 1, "$tmp/x");
ok($rc == 1 && $e =~ /GET obj\/mib: larger than 1048575 bytes/,
    's3_get with a cap below the size: error naming the cap') or diag($e);

my $big = file('big', 150 * $mib + 12345, 3);
($rc, $o, $e) = s3(['-P', 16 * $mib], 'put', 'obj/big', $big);
is($rc, 0, 'put 150 MiB in parts of 16 MiB (multipart)') or diag($e);
chomp(my $bigetag = $o);
like($bigetag, qr/^[0-9a-f]{32}-10$/,
    '  the ETag of a 10-part upload (from HEAD: radosgw completes with none)');
($rc, $o, $e) = s3('get', 'obj/big', "$tmp/big.back");
ok($rc == 0 && -s "$tmp/big.back" == -s $big &&
    slurp("$tmp/big.back") eq slurp($big), '  read back equal') or diag($e);
unlink "$tmp/big.back";
($rc, $o, $e) = s3(['-P', 16 * $mib], 'putmem', 'obj/bigm', $big);
is($rc, 0, 'the same from memory (s3_put)') or diag($e);
is($o, "$bigetag\n", '  same ETag');

# Ranged GETs at the edges, also across a part boundary.
my $data = slurp($big);
my $size = length $data;
for my $t ([0, 1], [0, 100], [16 * $mib - 2, 4], [$size - 1, 1],
    [$size - 10, 10], [$size - 10, 100], [12345, 0]) {
	my ($off, $len) = @$t;
	($rc, $o, $e) = s3('range', 'obj/big', $off, $len);
	my $want = $len ? substr($data, $off, $len) : '';
	ok($rc == 0 && $o eq $want, "range $off+$len: " . length($want) .
	    ' bytes') or diag($e);
}
($rc, $o, $e) = s3('range', 'obj/big', $size, 1);
ok($rc == 1 && $e =~ /HTTP 416 InvalidRange/, 'a range past the end: 416 ' .
    'InvalidRange named') or diag($e);
($rc, $o, $e) = s3('range', 'obj/one', 0, 10);
ok($rc == 0 && length($o) == 1, 'a range longer than a 1-byte object: 1');
($rc, $o, $e) = s3('range', 'obj/none', 0, 10);
is($rc, 3, 'a range of a missing key: not found');
undef $data;

($rc, $o, $e) = s3('get', 'obj/none', "$tmp/none");
ok($rc == 3 && $e =~ /GET obj\/none: HTTP 404/, 'get a missing key: 3, named');
($rc, $o, $e) = s3('head', 'obj/none');
is($rc, 3, 'head a missing key: 3');

# Keys with characters that need encoding.
my $odd = 'odd/a b+c=d&e%f~g(ü).txt';
($rc, $o, $e) = s3('putmem', $odd, "$tmp/one");
is($rc, 0, 'a key with spaces, +, =, &, %, UTF-8') or diag($e);
($rc, $o, $e) = s3('list', 'odd/', 10);
is($o, "$odd 1 " . `md5sum < $tmp/one | cut -c1-32` . "keys 1\n",
    '  listed back as it was');

# Paging: 2,500 keys in pages of 100 (4 writers at once).
my @pids;
for my $w (0 .. 3) {
	my $pid = fork // die;
	if (!$pid) {
		my ($rc2, undef, $e2) = s3('putn', "page/w$w-", 625);
		print STDERR $e2 if $rc2;
		POSIX::_exit($rc2);
	}
	push @pids, $pid;
}
my $bad = 0;
for (@pids) { waitpid($_, 0); $bad++ if $? }
is($bad, 0, '2,500 keys written by 4 processes');
($rc, $o, $e) = s3('list', 'page/', 100);
my @keys = $o =~ /^(page\/\S+) 1 /mg;
ok($rc == 0 && @keys == 2500 && $o =~ /^keys 2500$/m,
    'listed in pages of 100: 2,500 keys') or diag($e);
is_deeply(\@keys, [sort @keys], '  in order, each once') &&
    is(scalar(keys %{{ map { $_ => 1 } @keys }}), 2500, '  no key twice');
($rc, $o, $e) = s3('list', 'page/', 7, 20);
ok($rc == 6 && $o =~ /^keys 20$/m, 'the callback stops the list: 20 keys');

# Multi-delete: 2,500 keys (3 requests) and two missing ones.
{
	open(my $in, '|-', "$bin -e $env{S3_ENDPOINT} -r $env{S3_REGION} " .
	    "-b gvtest -k $cred mdelete - > $tmp/md.out 2>&1") or die;
	print $in "$_\n" for @keys, 'page/none1', 'page/none2';
	close $in;
	is($? >> 8, 0, 'multi-delete of 2,502 keys');
	like(slurp("$tmp/md.out"), qr/^failed 0$/m, '  none failed');
}
($rc, $o, $e) = s3('list', 'page/', 1000);
is($o, "keys 0\n", '  the prefix is empty');

# Conditional puts.
my $h1 = "$tmp/one";
($rc, $o, $e) = s3('cput', 'lease', $h1, 'absent');
is($rc, 0, 'If-None-Match: * on a new key: written') or diag($e);
chomp(my $letag = $o);
($rc, $o, $e) = s3('cput', 'lease', "$tmp/zero", 'absent');
ok($rc == 4 && $o eq "exists\n", '  again: 412, S3_EXISTS');
($rc, $o, $e) = s3('head', 'lease');
like($o, qr/^1 $letag /, '  the first one stays');
($rc, $o, $e) = s3('cput', 'lease', "$tmp/zero", 'match', $letag);
is($rc, 0, 'If-Match with the ETag: written') or diag($e);
chomp(my $l2 = $o);
($rc, $o, $e) = s3('cput', 'lease', $h1, 'match', "\"$l2\"");
is($rc, 0, '  a quoted ETag works too (s3.c sends it bare: radosgw ' .
    'matches only that)') or diag($e);
chomp(my $l3 = $o);
($rc, $o, $e) = s3('cput', 'lease', "$tmp/zero", 'match', $l2);
ok($rc == 5 && $o eq "changed\n", 'If-Match with an old ETag: 412, ' .
    'S3_CHANGED');
($rc, $o, $e) = s3('head', 'lease');
like($o, qr/^1 $l3 /, '  not written');
($rc, $o, $e) = s3('cput', 'lease-gone', $h1, 'match', $l3);
is($rc, 5, 'If-Match on a missing key: 412 on radosgw, S3_CHANGED');
($rc, $o, $e) = s3('cput', 'lease', $h1, 'match', '*');
is($rc, 0, 'If-Match: * on an existing key: written');
($rc, $o, $e) = s3('cput', 'lease-gone', $h1, 'match', '*');
is($rc, 5, 'If-Match: * on a missing key: S3_CHANGED');
($rc, $o, $e) = s3('head', 'lease-gone');
is($rc, 3, '  and not written');

# Virtual-host addressing (rgw_dns_name = localhost; curl resolves
# *.localhost to the loopback address itself).
{
	local $env{S3_ENDPOINT} = "http://localhost:$rgwport";
	($rc, $o, $e) = s3(['-V'], 'putmem', 'vhost/k', $h1);
	is($rc, 0, 'virtual-host style: put') or diag($e);
	($rc, $o, $e) = s3(['-V'], 'list', 'vhost/', 10);
	like($o, qr/^vhost\/k 1 /m, '  listed');
}
($rc, $o, $e) = s3('head', 'vhost/k');
is($rc, 0, '  the same bucket path-style');

# A wrong secret: 403 with S3's code, never the secret.
my $badcred = "$tmp/badcred";
write_cred($badcred, 'WRONGSECRETwrongsecret');
{
	local $cred = $badcred;
	($rc, $o, $e) = s3('get', 'obj/one', "$tmp/x");
	ok($rc == 1 && $e =~ /GET obj\/one: HTTP 403 SignatureDoesNotMatch/,
	    'a wrong secret: 403 SignatureDoesNotMatch named') or diag($e);
	unlike($e, qr/WRONGSECRET|$env{S3_SECRET_KEY}/, '  no secret in it');
	($rc, $o, $e, $r) = s3('putmem', 'obj/x', $h1);
	ok($rc == 1 && $e =~ /HTTP 403 SignatureDoesNotMatch/ && $r == 0,
	    '  put too, and a 4xx is not retried');
}
chmod 0644, $cred;
($rc, $o, $e) = s3('head', 'obj/one');
ok($rc == 1 && $e =~ /mode 0644/, 'a credentials file others may read: ' .
    'refused') or diag($e);
chmod 0600, $cred;

# radosgw stopped: a call fails after its retries.
system('sh', $start, 'rgw-stop', $dir);
($rc, $o, $e, $r) = s3(['-R', 3, '-D', 50], 'get', 'obj/one', "$tmp/x");
ok($rc == 1 && $e =~ /GET obj\/one: Couldn't connect to server \(http:\/\/127\.0\.0\.1:$rgwport; 4 attempts\)/,
    'radosgw stopped: fails after 3 retries, saying so') or diag($e);
is($r, 3, '  3 retries counted');
# A call in its back-off succeeds when radosgw comes back.
my $t1 = time;
my $bg = fork // die;
if (!$bg) {
	my ($rc2, undef, $e2, $r2) = s3(['-R', 8, '-D', 500], 'get',
	    'obj/mib', "$tmp/mib.retry");
	open(my $f, '>', "$tmp/retry.out") or die;
	print $f "$rc2 $r2\n$e2";
	close $f;
	POSIX::_exit(0);
}
sleep 1;
system('sh', $start, 'rgw-start', $dir);
waitpid($bg, 0);
my ($brc, $br) = (slurp("$tmp/retry.out") // '') =~ /^(\d+) (\d+)/;
ok(defined $brc && $brc == 0 && $br >= 1 &&
    slurp("$tmp/mib.retry") eq slurp("$tmp/mib"),
    "a get retried while radosgw restarted: done after $br retries") or
    diag(slurp("$tmp/retry.out"));
($rc, $o, $e, $r) = s3('head', 'obj/one');
ok($rc == 0 && $r == 0, 'the next call works at once');
note(slurp("$tmp/retry.out"));

# Stopped mid-way through a multipart upload: the put fails, and no
# object is left under the key.
my $mp = fork // die;
if (!$mp) {
	my ($rc2, undef, $e2, $r2) = s3(['-P', 5 * $mib, '-R', 1, '-D', 50],
	    'put', 'obj/cut', $big);
	open(my $f, '>', "$tmp/cut.out") or die;
	print $f "$rc2\n$e2";
	close $f;
	POSIX::_exit(0);
}
my $seen = wait_until(sub {
	my $l = slurp("$dir/log/client.rgw.log") // '';
	$l =~ /obj\/cut\?partNumber=3&/;
}, 60, 0.02);
system('sh', $start, 'rgw-stop', $dir);
waitpid($mp, 0);
my $cut = slurp("$tmp/cut.out") // '';
ok($seen && $cut =~ /^1\n/ && $cut =~ /upload part \d+ of obj\/cut: / &&
    $cut =~ /Couldn't connect|Recv failure|Send failure|Server returned nothing/,
    'radosgw stopped after part 3 of 30: the put fails, naming the part') or
    diag($cut);
note($cut);
like($cut, qr/abort upload .* left/, '  the abort could not reach it: ' .
    'the upload id is named');
system('sh', $start, 'rgw-start', $dir);
($rc, $o, $e) = s3('head', 'obj/cut');
is($rc, 3, '  no object obj/cut after radosgw is back');

# Clean up the bucket through the client, then stop Ceph.
($rc, $o, $e) = s3('list', '', 1000);
my @all = $o =~ /^(\S+) \d+ /mg;
($rc, $o, $e) = s3('mdelete', @all);
is($rc, 0, 'every key deleted (' . scalar(@all) . ')') or diag($e);
($rc, $o, $e) = s3('rmbucket');
ok($rc == 0 || $e =~ /BucketNotEmpty/, 'bucket removed (or holds the ' .
    'unfinished upload)') or diag($e);

stop_ceph();
ok(wait_until(sub { !ceph_procs() }, 10), 'no Ceph process left') or
    diag(`ps -o pid,stat,args -p @{[join(',', ceph_procs())]}`);
done_testing();
