#!/usr/bin/perl
# With Store.Backend = s3, a browse through the agent queues a request
# in the catalog, so only the server that holds the bucket's lease takes
# it: client_browse is a read for the roles but a QUEUES row for the
# lease (uiapi.c), and a standby answers it 503 "not the bucket's
# writer" (before, it was let through and the standby wrote its
# catalog).  A read (client_answer) still answers on the standby.
use strict;
use warnings;
BEGIN { $ENV{GV_TEST_TIMEOUT} //= 600 }
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use GVCeph;
use GV qw(wait_until);
use GVClient;

GVCeph::skip_unless_ceph();
my $ceph = GVCeph->start;
my %s3 = $ceph->gv_options(Bucket => 'browse', LeaseDuration => 10);
my %common = (Workers => 1, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
    DrainTimeout => 3, GV::web_opts('WebConsole.HTTP' => 'serve'));
sub lease_of { my $s = $_[0]->status or return ''; return ($s->{store} // {})->{lease} // '' }

my $a = GV->start(%common, %s3);
ok(wait_until(sub { lease_of($a) eq 'held' }, 60), 'A holds the lease');
my ($rc, $out, $err) = $a->ctl('client', 'add', 'bob');
is($rc, 0, 'A: client bob') or diag($err);

my $tmp = File::Temp::tempdir('browse-standby-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
my $cdata = "$tmp/c-data";
GV::_spit("$tmp/c.conf", GV::make_conf(%common, %s3, 'S3.Role' => 'standby',
    'Server.DataDir' => $cdata, -dir => $tmp));
($rc, $out, $err) = GVClient::run_cmd([$GVClient::CTL, '-f', "$tmp/c.conf",
    'rebuild-catalog', '--from-bucket'], {}, 120);
is($rc, 0, 'a standby DataDir from the bucket') or diag("$out$err");
my $c = GV->start(%common, %s3, 'S3.Role' => 'standby',
    'S3.FollowInterval' => 600, 'Server.DataDir' => $cdata);
ok(wait_until(sub { lease_of($c) eq 'standby' }, 30), 'C is a standby');

$c->add_admin('adm', 'adm-pass-word');
my $r = $c->web(POST => '/api/login', json => { user => 'adm', password => 'adm-pass-word' });
my ($cookie) = GV::session_cookie($r);
my %AUTH = (cookie => $cookie, csrf => $r->{json}{csrf} // '');
$r = $c->web(POST => '/api/clients/bob/browse', json => { snapshot => 1, path => '/' }, %AUTH);
is($r->{status}, 503, "the standby: a browse answers 503") or diag($r->{body});
like($r->{body}, qr/not the bucket's writer/, '... "not the bucket\'s writer"');
$r = $c->web(GET => '/api/clients/bob/answer?req=1', %AUTH);
is($r->{status}, 404, 'the standby: client_answer (a read) answers (404: no request 1)')
    or diag($r->{body});

$c->stop;
$a->stop;
$ceph->stop;
ok(!$ceph->procs, 'no Ceph left');
done_testing;
