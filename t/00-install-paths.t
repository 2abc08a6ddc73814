#!/usr/bin/perl
# Installation paths follow configure (--sysconfdir, --localstatedir,
# --runstatedir): the build's Makefile (written by config.status) says
# where things go; src/common/paths.h, conf/gigavault.conf, the init
# script and the systemd unit must carry exactly those paths, the three
# programs must have them compiled in, no -D flag may carry a path
# beside the header, and every object that uses the header must depend
# on it (so that running configure again, which rewrites the Makefile
# that paths.h depends on, rebuilds them), and no source spells such a
# path as a literal.  Needs a built tree.
use strict;
use warnings;
use Test::More;

my $src = $ENV{GV_SRCDIR} // '.';
my $build = $ENV{GV_BUILDDIR} // '.';

sub slurp {
	my ($f) = @_;
	open my $fh, '<', $f or return undef;
	local $/;
	return scalar <$fh>;
}

# The Makefile's own expansion of the directories.
my $show = "gv-show-paths:\n\t\@echo '\$(sysconfdir)|\$(localstatedir)|" .
    "\$(runstatedir)|\$(sbindir)'\n";
my $tmp = "$build/t-out/00-install-paths";
system('mkdir', '-p', $tmp) == 0 or die "mkdir $tmp\n";
open my $fh, '>', "$tmp/show.mk" or die "$tmp/show.mk: $!";
print $fh $show;
close $fh;
# Not as a sub-make of "make -jN check": no jobserver, no directory lines.
delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL)};
my $out = `make -s --no-print-directory -C '$build' -f Makefile -f '$tmp/show.mk' gv-show-paths 2>&1`;
chomp $out;
$out = $1 if $out =~ /^([^\n]*\|[^\n]*)$/m;
my ($etc, $var, $run, $sbin) = split /\|/, $out;
ok(defined $sbin && $etc =~ m{^/} && $var =~ m{^/} && $run =~ m{^/},
    "the Makefile names absolute directories ($out)") or
    BAIL_OUT('cannot read the directories from the Makefile');

my %want = (
	GV_CONFDIR => "$etc/gigavault",
	GV_DATADIR => "$var/lib/gigavault",
	GV_PIDFILE => "$run/gigavaultd.pid",
);
my $h = slurp("$build/src/common/paths.h");
ok(defined $h, 'src/common/paths.h is generated');
for my $m (sort keys %want) {
	like($h // '', qr/^#define\s+$m\s+"\Q$want{$m}\E"\s*$/m,
	    "paths.h: $m is $want{$m}");
}
unlike($h // '', qr/\@[a-z]+\@/, 'paths.h: no @variable@ left');

my $conf = slurp("$build/conf/gigavault.conf");
ok(defined $conf, 'conf/gigavault.conf is generated');
like($conf // '', qr/^\s*DataDir\s*=\s*"\Q$var\E\/lib\/gigavault"/m,
    'gigavault.conf: DataDir under localstatedir');
like($conf // '', qr/^\s*PidFile\s*=\s*"\Q$run\E\/gigavaultd\.pid"/m,
    'gigavault.conf: PidFile under runstatedir');
like($conf // '', qr/^\s*Certificate\s*=\s*"\Q$etc\E\/gigavault\/server\.crt"/m,
    'gigavault.conf: SSL.Certificate under sysconfdir');
like($conf // '', qr/^\s*Key\s*=\s*"\Q$etc\E\/gigavault\/server\.key"/m,
    'gigavault.conf: SSL.Key under sysconfdir');
unlike($conf // '', qr/\@[a-z]+\@/, 'gigavault.conf: no @variable@ left');

# The init script and the unit (made by make all).
system('make', '-s', '-C', $build, 'conf/gigavaultd',
    'conf/gigavaultd.service') == 0 or diag('make conf/gigavaultd failed');
my $init = slurp("$build/conf/gigavaultd") // '';
like($init, qr/^PIDFILE=\Q$run\E\/gigavaultd\.pid$/m,
    'init script: PIDFILE under runstatedir');
like($init, qr/^CONFFILE=\Q$etc\E\/gigavault\/gigavault\.conf$/m,
    'init script: CONFFILE under sysconfdir');
like($init, qr/^DAEMON=\Q$sbin\E\/gigavaultd$/m, 'init script: DAEMON in sbindir');
my $unit = slurp("$build/conf/gigavaultd.service") // '';
like($unit, qr/^ExecStart=\Q$sbin\E\/gigavaultd -d -f \Q$etc\E\/gigavault\/gigavault\.conf$/m,
    'unit: ExecStart with the configured paths');

# Compiled in: each program holds its default file's path.
my %prog = (
	'src/gigavaultd' => "$etc/gigavault/gigavault.conf",
	'src/gigavaultctl' => "$etc/gigavault/gigavault.conf",
	'src/gigavault' => "$etc/gigavault/client.conf",
);
for my $p (sort keys %prog) {
	my $bin = slurp("$build/$p");
	ok(defined $bin && index($bin, "$prog{$p}\0") >= 0,
	    "$p has $prog{$p} compiled in");
}
my $d = slurp("$build/src/gigavaultd") // '';
ok(index($d, "$var/lib/gigavault\0") >= 0 && index($d, "$run/gigavaultd.pid\0") >= 0,
    'gigavaultd has the default DataDir and PidFile compiled in');

# No path reaches the compiler through -D: only through the header.
my $mk = slurp("$build/Makefile") // '';
my ($cpp) = $mk =~ /^AM_CPPFLAGS\s*=\s*((?:.*\\\n)*.*)$/m;
ok(defined $cpp && $cpp !~ /-D\S*(?:CONF|DIR|FILE)/,
    'AM_CPPFLAGS carries no path macro') or diag($cpp // 'no AM_CPPFLAGS');
like($mk, qr{^src/common/paths\.h:.*\bMakefile\b}m,
    'paths.h is remade when config.status rewrites the Makefile');

# No source spells an installation path itself (a literal would ignore
# configure; the header is the one place).
my @literal;
for my $f (grep { !m{/common/paths\.h$} } glob("$src/src/*/*.[ch]")) {
	open my $in, '<', $f or next;
	while (<$in>) {
		push @literal, "$f:$.: $1"
		    if m{("/(?:etc/gigavault|var/lib/gigavault|run/gigavaultd)[^"]*")};
	}
}
ok(!@literal, 'no installation path is a literal in src/') or
    diag(join "\n", @literal);

# Every object that includes common/paths.h depends on it (automake's
# dependency files, written when the object was compiled).
my @users;
for my $c (glob("$src/src/*/*.c")) {
	my $text = slurp($c) // '';
	push @users, $c if $text =~ /^#include "common\/paths\.h"/m;
}
ok(@users >= 4, 'four or more sources use paths.h (' . scalar(@users) . ')');
for my $c (@users) {
	my ($folder, $base) = $c =~ m{/src/([^/]+)/([^/]+)\.c$};
	my @po = glob("$build/src/$folder/.deps/*$base.Po");
	@po = grep { m{/(?:[^/]*-)?\Q$base\E\.Po$} } @po;
	ok(@po > 0 && !grep({ (slurp($_) // '') !~ m{src/common/paths\.h} } @po),
	    "objects of $folder/$base.c depend on src/common/paths.h");
}

done_testing();
