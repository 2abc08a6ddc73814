#!/usr/bin/perl
# The source layout's walls (HACKING, "Layout"), checked on every build:
#  - what each folder of src/ may include: common/ only common/; server/
#    and client/ themselves and common/; ctl/ itself, server/ and common/;
#    agent/ itself, client/ and common/; mailhelper/ itself and common/;
#    no include climbs out with "..";
#  - no cycle between modules: from the built objects (nm), module a
#    depends on b when a uses a symbol that b defines; a strongly
#    connected set of two or more modules is a cycle and fails the test;
#  - README's source map names every source file, and only those.
use strict;
use warnings;
use File::Basename qw(basename dirname);
use File::Find;

my $src = ($ENV{GV_SRCDIR} // '.');
my $build = ($ENV{GV_BUILDDIR} // '.');
my %may = (
	common => [qw(common)],
	server => [qw(server common)],
	client => [qw(client common)],
	ctl    => [qw(ctl server common)],
	agent  => [qw(agent client common)],
	mailhelper => [qw(mailhelper common)],
);
my $n = 0;
sub ok { my ($c, $what) = @_; $n++; print(($c ? '' : 'not '), "ok $n - $what\n"); $c }

# ------------------------------------------------------------ includes

my @files;
find(sub { push @files, $File::Find::name if /\.[ch]$/ }, "$src/src");
my @bad;
for my $f (sort @files) {
	(my $rel = $f) =~ s{^\Q$src\E/src/}{};
	my ($folder) = $rel =~ m{^([^/]+)/} or next;
	open my $fh, '<', $f or die "$f: $!";
	while (<$fh>) {
		next unless /^\s*#\s*include\s+"([^"]+)"/;
		my $inc = $1;
		next if $inc eq 'autoconf.h';
		if ($inc =~ m{\.\.}) {
			push @bad, "$rel:$.: \"$inc\" climbs out with ..";
		} elsif ($inc =~ m{^([^/]+)/}) {
			push @bad, "$rel:$.: \"$inc\": $folder/ may not include $1/"
			    unless grep { $_ eq $1 } @{ $may{$folder} || [] };
		} elsif (!-e dirname($f) . "/$inc" && !-e "$build/src/$folder/$inc") {
			push @bad, "$rel:$.: \"$inc\" is not in $folder/ (name its folder)";
		}
	}
}
ok(@files > 50, 'the sources are found (' . scalar(@files) . ' files)');
ok(!@bad, 'every include is allowed by the layout') or
    print map { "# $_\n" } @bad;

# --------------------------------------------------------------- cycles

my (%def, %use);
my @objs;
find(sub { push @objs, $File::Find::name if /\.o$/ }, "$build/src");
for my $o (sort @objs) {
	(my $rel = $o) =~ s{^\Q$build\E/src/}{};
	my ($folder, $base) = $rel =~ m{^([^/]+)/(?:[^/]*-)?([^/-]+)\.o$} or next;
	# Skip objects left over from sources that are gone.
	next unless -e "$src/src/$folder/$base.c" || -e "$build/src/$folder/$base.c";
	my $mod = "$folder/$base";
	open my $nm, '-|', 'nm', $o or die "nm $o: $!";
	while (<$nm>) {
		my @p = split;
		if (@p == 3 && $p[1] =~ /^[TDBRC]$/) {
			$def{$mod}{$p[2]} = 1;
		} elsif (@p == 2 && $p[0] eq 'U') {
			$use{$mod}{$p[1]} = 1;
		}
	}
	close $nm or die "nm $o failed\n";
	$def{$mod} ||= {};
}
my %owners;
for my $m (keys %def) {
	push @{ $owners{$_} }, $m for keys %{ $def{$m} };
}
# a -> b when a uses what b defines, b in a folder a may link.
my %edge;
for my $a (keys %use) {
	my ($fa) = split m{/}, $a;
	for my $sym (keys %{ $use{$a} }) {
		for my $b (@{ $owners{$sym} || [] }) {
			my ($fb) = split m{/}, $b;
			$edge{$a}{$b} = 1 if $b ne $a && grep { $_ eq $fb } @{ $may{$fa} };
		}
	}
}
ok(keys(%def) > 40, 'the objects are found (' . scalar(keys %def) .
    ' modules; build first)');

# Tarjan's strongly connected components.
my ($index, %idx, %low, @stack, %on, @cycles) = (0);
sub scc {
	my ($v) = @_;
	$idx{$v} = $low{$v} = $index++;
	push @stack, $v;
	$on{$v} = 1;
	for my $w (sort keys %{ $edge{$v} || {} }) {
		if (!exists $idx{$w}) {
			scc($w);
			$low{$v} = $low{$w} if $low{$w} < $low{$v};
		} elsif ($on{$w}) {
			$low{$v} = $idx{$w} if $idx{$w} < $low{$v};
		}
	}
	if ($low{$v} == $idx{$v}) {
		my @c;
		while (1) {
			my $w = pop @stack;
			delete $on{$w};
			push @c, $w;
			last if $w eq $v;
		}
		push @cycles, [sort @c] if @c > 1;
	}
}
for my $v (sort keys %def) {
	scc($v) unless exists $idx{$v};
}
ok(!@cycles, 'no cycle between modules') or
    print map { '# cycle: ' . join(' <-> ', @$_) . "\n" } @cycles;
for my $c (@cycles) {
	# Name the edges inside each cycle, with one symbol each.
	my %in = map { $_ => 1 } @$c;
	for my $a (@$c) {
		for my $b (sort grep { $in{$_} } keys %{ $edge{$a} || {} }) {
			my ($sym) = sort grep { grep { $_ eq $b } @{ $owners{$_} } }
			    keys %{ $use{$a} };
			print "#   $a -> $b ($sym)\n";
		}
	}
}

# ----------------------------------------------------- README's source map

# wwwdata.c is generated from www/ by the build (the map names its .h);
# so is common/paths.h, from paths.h.in (the map names the .in).
my %tree;
for my $f (@files) {
	(my $rel = $f) =~ s{^\Q$src\E/src/}{};
	next unless $rel =~ m{^[^/]+/[^/]+$} && $rel ne 'server/wwwdata.c' &&
	    $rel ne 'common/paths.h';
	$tree{$rel} = 1;
}
# A header is a file of its own in the map only when no .c goes with it.
for my $h (grep { /\.h$/ } keys %tree) {
	(my $c = $h) =~ s/\.h$/.c/;
	delete $tree{$h} if $tree{$c};
}
# The map is README's "Source layout" section: a line `src/FOLDER/`
# starts a folder, then "- `file.c`  what it is" lines, one file each.
open my $rd, '<', "$src/README" or die "README: $!";
my @lines = <$rd>;
my ($folder, %map);
my ($start) = grep { $lines[$_] =~ /^Source layout\s*$/ } 0 .. $#lines;
for (my $i = defined $start ? $start + 2 : @lines; $i < @lines; $i++) {
	last if $i + 1 < @lines && $lines[$i + 1] =~ /^-{3,}\s*$/;
	$folder = $1 if $lines[$i] =~ /^`src\/([a-z]+)\/`/;
	$map{"$folder/$1"} = 1
	    if defined $folder && $lines[$i] =~ /^- `([a-z0-9_]+\.[ch])`/;
}
my @missing = grep { !$map{$_} } sort keys %tree;
my @stale = grep { !$tree{$_} } sort keys %map;
ok(keys(%map) > 0, "README has a source map (" . scalar(keys %map) . " files)");
ok(!@missing, "README's source map names every source file") or
    print map { "# not in README: src/$_\n" } @missing;
ok(!@stale, "README's source map names no file that is gone") or
    print map { "# in README, not in src/: $_\n" } @stale;

print "1..$n\n";
