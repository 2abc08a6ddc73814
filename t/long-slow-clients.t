#!/usr/bin/perl
# t/16-slow-clients.t with 200 slow connections on each port (make
# check-long; skipped unless GV_LONG=1).
use strict;
use warnings;
use FindBin;
use Test::More;

plan skip_all => 'a long test: GV_LONG=1 (make check-long) runs it'
    unless $ENV{GV_LONG};
$ENV{GV_SLOW_N} = 200;
do "$FindBin::Bin/16-slow-clients.t";
die $@ if $@;
