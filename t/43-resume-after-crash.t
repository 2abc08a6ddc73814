#!/usr/bin/perl
# Resume after a crash of the server side: blobs uploaded more than
# STORE_BATCH_SECONDS (5 s) before a worker is SIGKILLed are indexed, so
# the next session's HAVE finds them and they are not sent again; no
# snapshot comes of the cut session.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep);
use GV;

my $gv = GV->start(Workers => 1, IdleTimeout => 60);
my $token = $gv->add_client('crashy');
my ($s, $h) = $gv->session;
my (undef, $secret) = GV::proto_register($s, $token);
ok($secret, 'registered') or BAIL_OUT('no secret');
close $s;

$s = $gv->login('crashy', $secret) or BAIL_OUT('login failed');
my @early = map { GV::rand_id() } 1 .. 20;
GV::proto_put($s, $_, 'x' x 100_000) for @early;
sleep 5.5;                          # older than STORE_BATCH_SECONDS
my $late = GV::rand_id();
GV::proto_put($s, $late, 'y' x 1000);   # this put flushes the early ones
ok(GV::wait_until(sub { my @m = GV::proto_have($s, @early); !@m }, 5),
   'the session itself sees its uploads');
my ($busy) = grep { $_->{state} eq 'busy' } @{ $gv->status->{workers} };
ok($busy, 'the worker serving the upload is busy');
kill 'KILL', $busy->{pid};
close $s;
ok($gv->wait_ready(undef, 10), 'the worker is replaced');

$s = $gv->login('crashy', $secret) or BAIL_OUT('login after crash failed');
my @missing = GV::proto_have($s, @early);
is(scalar @missing, 0, 'after the crash, all 20 early blobs are still there: not sent again');
my @list = GV::proto_list_all($s, '');
is(scalar @list, 0, 'and no snapshot came of the cut session');
close $s;
is($gv->stop, 0, 'daemon stops cleanly');
done_testing;
