#!/usr/bin/perl
# The gigavault command line against a real gigavaultd: config errors
# with file:line, usage errors, key file handling, listings as JSON, an
# unchanged file not read again, a server whose id changed refused,
# unreadable entries skipped with exit 1; every option of each command
# (its getopt table in the source) named in its usage row.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use JSON::PP ();
use GV;
use GVClient;

my $gv = GV->start(Workers => 2);
my $cl = GVClient->new($gv, 'cli');
my $dir = $cl->dir;
my ($rc, $out, $err);

# --- config and usage errors: exit 2, FILE:LINE
sub with_conf {
    my ($text, @args) = @_;
    my $f = "$dir/test.conf";
    GVClient::_spit_bytes($f, $text);
    return GVClient::run_cmd([$GVClient::CLIENT, '-c', $f, @args],
                             { GIGAVAULT_PASSPHRASE => 'x' }, 30);
}
($rc, $out, $err) = with_conf("# comment\n\nCompression = 25\n", 'snapshots');
is($rc, 2, 'Compression out of range: exit 2');
like($err, qr{test\.conf:3: Compression = 25 is out of range 0\.\.19}, '... with file:line');
($rc, $out, $err) = with_conf("Bogus = 1\n", 'snapshots');
is($rc, 2, 'unknown option: exit 2');
like($err, qr{test\.conf:1: .*Bogus}, '... named with its line');
($rc, $out, $err) = with_conf("Server = \"host:0\"\n", 'snapshots');
like($err, qr{test\.conf:1: Server}, 'bad Server port refused');
($rc, $out, $err) = with_conf("Set = \"has space\"\n", 'snapshots');
like($err, qr{test\.conf:1: Set}, 'bad Set refused');
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', "$dir/none.conf", 'snapshots'], {}, 30);
is($rc, 2, 'a missing -c file is an error');
($rc, $out, $err) = $cl->run('frobnicate');
is($rc, 2, 'unknown command: exit 2');
($rc, $out, $err) = $cl->run('backup');
is($rc, 2, 'backup without a path: exit 2');
like($err, qr/usage: gigavault backup/, '... with its usage');
($rc, $out, $err) = $cl->run('ls');
is($rc, 2, 'ls without a snapshot: exit 2');

# --- help and version, for every command in the table
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '--help'], {}, 30);
is($rc, 0, 'gigavault --help: exit 0');
my @cmds = $out =~ /^  ([a-z][a-z-]*) /mg;
ok(scalar(grep { $_ eq 'backup' } @cmds) && @cmds >= 10, "--help lists the commands (@cmds)");
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '--version'], {}, 30);
like($out, qr/^gigavault \d+\.\d+\.\d+$/m, 'gigavault --version');
($rc, $out) = GVClient::run_cmd([$GVClient::CLIENT, '-V'], {}, 30);
like($out, qr/^gigavault \d+\.\d+\.\d+$/m, 'gigavault -V');
($rc, $out) = GVClient::run_cmd([$GVClient::CLIENT, 'help'], {}, 30);
is($rc, 0, 'gigavault help: exit 0');
like($out, qr/^  backup +save a snapshot/m, '... lists the commands');
for my $cmd (@cmds) {
    ($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, 'help', $cmd], {}, 30);
    is($rc, 0, "gigavault help $cmd: exit 0");
    like($out, qr/^usage: gigavault .*\b\Q$cmd\E\b/m, '... prints its usage');
    # The command itself must not run: a missing config would fail it.
    ($rc, my $out2, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', "$dir/none.conf", $cmd, 'x', '--help'], {}, 30);
    is($rc, 0, "gigavault $cmd x --help: exit 0, the command not run") or diag $err;
    is($out2, $out, '... the same usage');
}
# Every option a command takes (its getopt table in the source, less
# the ones every command takes) is in its usage row.
my %fn;                                 # cmd_X function -> command name
{
    my $src = GV::_slurp("$ENV{GV_SRCDIR}/src/client/gigavault.c");
    $fn{$2} = $1 while $src =~ /\{ "([a-z-]+)", (cmd_\w+),/g;
}
ok(keys %fn >= 10, 'the command table parsed (' . join(' ', sort values %fn) . ')');
my %common = map { $_ => 1 } qw(config server set verbose passphrase-file json ssl);
for my $file (glob "$ENV{GV_SRCDIR}/src/client/*.c") {
    my $src = GV::_slurp($file);
    while ($src =~ /^(cmd_\w+)\(struct client \*\w*, int \w*, char \*\*\w*\)\n\{(.*?)^\}/msg) {
        my ($f, $body) = ($1, $2);
        next if !$fn{$f};
        my ($table) = $body =~ /longopts\[\] = \{(.*?)\n\t\};/s;
        my ($short) = $body =~ /getopt_long\(argc, argv, CLIENT_SHORTOPTS(?: "(\w+)")?/;
        ok(defined $table, "$fn{$f}: its getopt table found") or next;
        # name -> what getopt returns: options that return the same
        # (an alias, or a long name of a short option) count as one.
        my %val = $table =~ /\{ "([a-z-]+)", \w+, NULL, ([^ }]+) \}/g;
        $val{strict} = 'OPT_STRICT' if $table =~ /CLIENT_STRICT_OPT/;
        $val{"-$_"} = "'$_'" for split //, $short // '';
        delete $val{$_} for keys %common;
        ($rc, $out) = GVClient::run_cmd([$GVClient::CLIENT, 'help', $fn{$f}], {}, 30);
        my %shown;
        for my $o (keys %val) {
            my $in = $o =~ /^-(\w)$/ ? $out =~ /\[-[a-zA-Z]*\Q$1\E[a-zA-Z]*\]|-\Q$1\E\b/
                                     : $out =~ /--\Q$o\E\b/;
            $shown{$val{$o}} = 1 if $in;
        }
        my @want = sort keys %val;
        my @missing = grep { !$shown{$val{$_}} } @want;
        is("@missing", '', "gigavault help $fn{$f}: names each of its options (@want)") or diag($out);
    }
}

($rc, $out) = $cl->run('backup', '-h');
like($out, qr/^usage: gigavault .*backup \[-qx\]/m, 'backup -h: its usage');
($rc, $out, $err) = $cl->run('ls', '--', '--help');
isnt($rc, 0, 'ls -- --help: an operand after --, not help');
unlike($out, qr/^usage:/m, '... no usage printed');
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, 'help', 'frobnicate'], {}, 30);
is($rc, 2, 'help of an unknown command: exit 2');
like($err, qr/no such command/, '... says so');

# --- key file
($rc, $out, $err) = $cl->run('init');
is($rc, 2, 'init refuses to replace the key file');
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', $cl->{conf}, 'snapshots'],
                                      { GIGAVAULT_PASSPHRASE => 'wrong' }, 30);
is($rc, 0, 'snapshots needs no passphrase');
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', $cl->{conf}, 'ls', 'latest'],
                                      { GIGAVAULT_PASSPHRASE => 'wrong' }, 30);
is($rc, 2, 'a wrong passphrase: exit 2');
like($err, qr/wrong passphrase/, '... said so');
my $pf = "$dir/passfile";
GVClient::_spit_bytes($pf, "$GVClient::PASS\n");

# --- backup, listings, unchanged files
my $src = $gv->dir . '/src';
make_path("$src/d");
GVClient::_spit_bytes("$src/a", "alpha\n");
GVClient::_spit_bytes("$src/d/b", GVClient::pseudo_bytes(600_000, 'b'));
symlink('a', "$src/l") or die;
($rc, $out, $err) = $cl->run('backup', '--set', 'cli', $src);
is($rc, 0, 'backup exits 0') or diag($err);
like($out, qr/^snapshot (\d+) saved: /m, 'prints the snapshot id');
my ($id) = $out =~ /snapshot (\d+) saved/;

($rc, $out, $err) = GVClient::run_cmd([$GVClient::CLIENT, '-c', $cl->{conf},
    '--passphrase-file', $pf, 'ls', '--json', $id, "$src/d"], {}, 30);
is($rc, 0, 'ls with --passphrase-file and no GIGAVAULT_PASSPHRASE') or diag($err);
my $ls = eval { JSON::PP->new->decode($out) };
is(ref $ls, 'ARRAY', 'ls --json is an array');
is_deeply([map { $_->{path} } @{ $ls || [] }], ["$src/d/b"], '... of the entries below the path');
is($ls->[0]{size}, 600_000, '... with sizes');
($rc, $out, $err) = $cl->run('ls', 'latest', $src);
like($out, qr{^lrwxrwxrwx .* \Q$src\E/l -> a$}m, 'ls shows a symlink and its target');
($rc, $out, $err) = $cl->run('ls', 'latest', "$src/nothere");
is($rc, 2, 'ls of a path not in the snapshot: exit 2');

my @s = $cl->snapshots('--set', 'cli');
is(scalar @s, 1, 'snapshots --set lists the set');
is($s[0]{set}, 'cli', '... with its name');
ok($s[0]{files} >= 1 && $s[0]{bytes} > 0 && $s[0]{new_bytes} > 0,
   '... files, bytes and new bytes');

# A second backup: nothing changed, nothing read.
($rc, $out, $err) = $cl->run('-v', 'backup', '--set', 'cli', $src);
is($rc, 0, 'second backup exits 0') or diag($err);
like($err, qr/3 files \(3 unchanged\)|2 files \(2 unchanged\)/, 'unchanged files are not read again')
    or diag($err);
like($err, qr/read 0 B/, '... 0 bytes read');

# --- unreadable entries: skipped, named, exit 1 (needs a non-root user)
SKIP: {
    skip 'root reads everything', 3 if $> == 0;
    GVClient::_spit_bytes("$src/secret", "no\n");
    chmod 0, "$src/secret";
    ($rc, $out, $err) = $cl->run('backup', '--set', 'cli', $src);
    is($rc, 1, 'an unreadable file: exit 1');
    like($err, qr{cannot read \Q$src\E/secret: Permission denied}, '... named');
    like($out, qr/snapshot \d+ saved/, '... and the snapshot is saved');
    chmod 0600, "$src/secret";
}

# --- a server whose id changed is refused
my $state = "$dir/state.json";
my $st = JSON::PP->new->decode(GV::_slurp($state));
my $real = $st->{server_id};
(my $fake = $real) =~ tr/0-9a-f/1-9a-f0/;
$st->{server_id} = $fake;
GVClient::_spit_bytes($state, JSON::PP->new->encode($st));
($rc, $out, $err) = $cl->run('snapshots');
is($rc, 2, 'a changed server id: exit 2');
like($err, qr/server id changed/, '... said clearly');
$st->{server_id} = $real;
GVClient::_spit_bytes($state, JSON::PP->new->encode($st));
($rc, $out, $err) = $cl->run('snapshots');
is($rc, 0, 'the right id works again') or diag($err);

# The shipped client.conf example: as installed (all commented out) and
# with every line uncommented, it is a valid configuration.
{
	my $src = ($ENV{GV_SRCDIR} // "$FindBin::Bin/..") . '/conf/client.conf';
	my $text = GV::_slurp($src);
	(my $open = $text) =~ s/^#(?=[A-Z\t}])//mg;
	for my $case (['as shipped', $text], ['uncommented', $open]) {
		my $d = "$dir/example-" . ($case->[0] =~ tr/ /-/r);
		make_path($d);
		GVClient::_spit_bytes("$d/client.conf", $case->[1]);
		my ($erc, undef, $eerr) = GVClient::run_cmd([$GVClient::CLIENT,
		    '-c', "$d/client.conf", 'snapshots'], {}, 30);
		like($eerr, qr/not registered/,
		    "conf/client.conf $case->[0]: read without a complaint, then the registration is missing")
		    or diag $eerr;
	}
}

is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
