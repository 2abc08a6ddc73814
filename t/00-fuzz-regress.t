#!/usr/bin/perl
# Replays the fuzzing harnesses' kept inputs without clang: for each
# harness fuzz/fuzz-NAME.c, fuzz/replay-NAME (the harness built by make
# check with the configured compiler and fuzz/driver.c) reads every file
# of fuzz/regress/NAME/ (inputs that once crashed it, kept after the
# fix) and of fuzz/corpus/NAME/ (its seeds).  A crash, an abort (a
# harness's own check) or a sanitizer report (the CI's ASan build) fails
# the test; so does a harness without a replay program or a corpus.
use strict;
use warnings;
use Test::More;

my $src = $ENV{GV_SRCDIR} // '.';
my $build = $ENV{GV_BUILDDIR} // '.';
opendir(my $d, "$src/fuzz") or die "$src/fuzz: $!";
my @names = sort map { /^fuzz-(.+)\.c$/ ? $1 : () } readdir($d);
closedir($d);
ok(@names >= 9, 'nine harnesses or more: ' . join(' ', @names));

for my $n (@names) {
	my $bin = "$build/fuzz/replay-$n";
	my @dirs = grep { -d } ("$src/fuzz/regress/$n", "$src/fuzz/corpus/$n");
	my @inputs = map { glob("$_/*") } @dirs;
	ok(-x $bin, "fuzz/replay-$n is built") or next;
	ok(scalar(grep { m{/corpus/} } @inputs) >= 3,
	    "fuzz/corpus/$n has seeds");
	my $out = `$bin @dirs 2>&1`;
	my $rc = $?;
	my $ran = () = $out =~ /: \d+ bytes$/mg;
	ok($rc == 0 && $ran == @inputs && $out !~ /runtime error|Sanitizer/,
	    "fuzz-$n: each of " . scalar(@inputs) . " inputs ran cleanly")
	    or diag($out);
}
done_testing();
