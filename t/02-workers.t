#!/usr/bin/perl
# The supervisor forks Server.Workers workers; the status, the hello and the
# pidfile agree with each other.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

my $gv = GV->start(Workers => 3);
my $s = $gv->status;
ok($s, 'status answers') or BAIL_OUT('no status');

is($s->{pool_size}, 3, 'pool_size is 3');
my @w = $gv->current_workers($s);
is(scalar @w, 3, '3 current workers');
is(scalar(grep { $_->{retiring} } @{ $s->{workers} }), 0, 'no retiring workers');
my %pids = map { $_->{pid} => 1 } @w;
is(scalar keys %pids, 3, 'worker pids are distinct');
ok(!$pids{ $gv->pid }, 'no worker has the supervisor pid');
for my $p (sort keys %pids) {
    ok(GV::pid_alive($p), "worker $p exists");
    my $st = GV::_proc_stat($p);
    is($st && $st->{ppid}, $gv->pid, "worker $p is a child of the supervisor");
}
ok(!(grep { $_->{state} ne 'idle' } @w), 'all workers idle') or diag explain \@w;

# privileges dropped in the children when started as root
SKIP: {
    skip 'not running as root', 2 unless $> == 0;
    my $nobody = getpwnam('nobody');
    my ($p) = sort keys %pids;
    my ($uid) = GV::_slurp("/proc/$p/status") =~ /^Uid:\s+(\d+)\s+(\d+)/m;
    is($uid, $nobody, 'worker runs as User "nobody"');
    my ($euid) = GV::_slurp("/proc/$p/status") =~ /^Uid:\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)/m;
    is($euid, $nobody, 'worker effective uid is nobody too');
}

# hello
my ($c, $h) = $gv->session;
ok($c, 'connect to Ports.BackupServer');
is($h->{type}, T_SERVER_HELLO, 'got SERVER_HELLO') or diag explain $h;
is($h->{magic}, 'GVLT', 'magic GVLT');
is($h->{version}, 1, 'protocol version 1');
is(length($h->{id_raw} // ''), 16, 'server id is 16 bytes');
is($h->{server_id}, lc($s->{server_id} // ''), 'server id equals status server_id');
like($s->{server_id} // '', qr/^[0-9a-f]{32}$/, 'status server_id is 32 hex digits');
ok(length($h->{software} // '') > 0, "server software string: '" . ($h->{software} // '') . "'");
ok(ping($c), 'PING -> PONG');
send_frame($c, T_BYE);
my $bye = recv_frame($c, 5);
is($bye->{type}, T_BYE, 'BYE answered with BYE');
ok(wait_closed($c, 5), 'server closes after BYE');

# the server id persists in DataDir: same id on a second hello
my ($c2, $h2) = $gv->session;
is($h2->{server_id}, $h->{server_id}, 'same server id for the next session');
close $c2;

# pidfile
my $pf = GV::_slurp($gv->pidfile);
like($pf, qr/^\d+\n?$/, 'pidfile holds a number');
is(($pf =~ /(\d+)/)[0], $gv->pid, 'pidfile holds the daemon pid');

# -V agrees with status
my ($st, $out) = run_daemon(['-V']);
like($out, qr/\Q$s->{version}\E/, "-V prints the status version $s->{version}");

is($gv->stop, 0, 'SIGTERM: exit status 0');
is_deeply([$gv->leftovers], [], 'no children left behind');

done_testing;
