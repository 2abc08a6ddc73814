#!/usr/bin/perl
# Reviewer 3, finding 1: with Store.Backend = s3, only the server that
# holds the bucket's lease writes its catalog (and so the bucket's
# journal): gigavaultctl's catalog-writing commands and the console's
# writes are refused on a standby (always), and on an active server that
# does not hold the lease (DataDir/lease.state); the bucket's journal
# segments are left as they were.
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
my %s3 = $ceph->gv_options(Bucket => 'writer', LeaseDuration => 10);
my %common = (Workers => 1, 'Prune.Interval' => 0, 'Scrub.Interval' => 0,
    DrainTimeout => 3, GV::web_opts('WebConsole.HTTP' => 'serve'));
sub lease_of { my $s = $_[0]->status or return ''; return ($s->{store} // {})->{lease} // '' }
sub segs { join ' ', sort map { m{journal/([0-9a-f]+)$} ? $1 : () }
    keys %{ $ceph->list('writer', 'gigavault/journal/') } }
sub web_add {
	my ($gv, $name) = @_;
	$gv->add_admin('adm', 'adm-pass-word');
	my $r = $gv->web(POST => '/api/login', json => { user => 'adm', password => 'adm-pass-word' });
	my ($cookie) = GV::session_cookie($r);
	my $csrf = $r->{json}{csrf} // '';
	return $gv->web(POST => '/api/clients', json => { name => $name },
	    cookie => $cookie, csrf => $csrf);
}

my $a = GV->start(%common, %s3);
ok(wait_until(sub { lease_of($a) eq 'held' }, 60), 'A holds the lease');
my ($rc, $out, $err) = $a->ctl('client', 'add', 'bob');
is($rc, 0, 'A (the writer): gigavaultctl client add') or diag($err);
my $r = web_add($a, 'carol');
ok($r->{status} =~ /^2/, "A: the console's client add") or diag("$r->{status} $r->{body}");

my $tmp = File::Temp::tempdir('writer-XXXXXX', TMPDIR => 1, CLEANUP => 1);
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

my $before = segs();
ok($before ne '', "the bucket's segments: $before");
($rc, $out, $err) = $c->ctl('client', 'add', 'mallory');
isnt($rc, 0, 'the standby: gigavaultctl client add is refused');
like($err, qr/refused: .*standby/, '... saying it is a standby');
($rc, $out, $err) = $c->ctl('client', 'disable', 'bob');
isnt($rc, 0, 'the standby: gigavaultctl client disable is refused');
($rc, $out, $err) = $c->ctl('prune');
isnt($rc, 0, 'the standby: gigavaultctl prune is refused');
($rc, $out, $err) = $c->ctl('client', 'list');
is($rc, 0, 'the standby: gigavaultctl client list (a read) still works') or diag($err);
$r = web_add($c, 'eve');
is($r->{status}, 503, "the standby: the console's client add answers 503");
like($r->{body}, qr/not the bucket's writer/, '... "not the bucket\'s writer"');
is(segs(), $before, "the bucket's segments are unchanged");

$c->stop;
$a->stop;
($rc, $out, $err) = $a->ctl('client', 'add', 'dave');
isnt($rc, 0, 'A stopped (lease released): gigavaultctl client add is refused');
like($err, qr/does not hold the bucket's lease/, '... it does not hold the lease');
is(segs(), $before, "the bucket's segments are still unchanged");
$ceph->stop;
ok(!$ceph->procs, 'no Ceph left');
done_testing;
