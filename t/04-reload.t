#!/usr/bin/perl
# SIGHUP reload: pool grows and shrinks without cutting sessions; a broken
# config is refused and the old one kept; the BackupServer port can move.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;

my $gv = GV->start(Workers => 4, IdleTimeout => 60);
my $pid = $gv->pid;

my ($a, $ha) = $gv->session;
is($ha->{type}, T_SERVER_HELLO, 'session A: hello');
my $a_port = $a->sockport;

# --- grow to 6
$gv->reload(Workers => 6);
my $s = $gv->wait_ready(6, 10);
ok($s, 'after Workers=6 + SIGHUP: pool_size 6 and 6 current workers, all ready')
    or diag explain $gv->status;
ok(ping($a), 'session A still answers PING after growing');
ok($gv->alive && $gv->pid == $pid, 'supervisor is the same process');

# --- shrink to 2
$gv->reload(Workers => 2);
$s = $gv->wait_ready(2, 10);
ok($s, 'after Workers=2 + SIGHUP: 2 current workers') or diag explain $gv->status;
ok(ping($a), 'session A still alive after shrinking (PING/PONG)');
my $busyA = $s && (grep { ($_->{peer} // '') eq "127.0.0.1:$a_port" } @{ $s->{workers} })[0];
ok($busyA, 'session A\'s worker is listed in status (current or retiring)')
    or diag explain $s;
send_frame($a, T_BYE);
my $bye = recv_frame($a, 5);
is($bye->{type}, T_BYE, 'session A ends with BYE');
ok(wait_closed($a, 5), 'session A closed by the server');
like($gv->session_end($a_port) // '', qr/client said bye/, 'log: session A ended: client said bye');

$s = wait_until(sub {
    my $s = $gv->ready(2) or return;
    return @{ $s->{workers} } == 2 ? $s : undef;
}, 10);
ok($s, 'retiring workers are gone: exactly 2 workers listed') or diag explain $gv->status;
unlike($gv->log_text, qr/killed by signal/, 'no worker was killed');

# --- broken config
my $good = $gv->conf_text;
$gv->reload_text("Server {\n\tWorkers = 0\n}\n");
ok($gv->log_like(qr/reload failed/, 5), 'broken config (Workers = 0): log says "reload failed"');
like($gv->log_text, qr/reload failed.*Workers|Workers.*reload failed/,
     'the reload failure names the option');
ok($gv->alive, 'daemon still running');
$s = $gv->wait_ready(2, 5);
ok($s, 'still 2 workers serving');
{
    my ($c, $h) = $gv->session;
    is($h->{type}, T_SERVER_HELLO, 'new session after failed reload gets hello');
    close $c;
}
my $fails = () = $gv->log_text =~ /reload failed/g;
$gv->reload_text("Server {\n\tWorkers = 3\n\tOops {\n");
ok($gv->log_like(qr/(?:reload failed[\s\S]*){${\($fails + 1)}}/, 5),
   'syntax error: another "reload failed"');
ok($gv->ready(2), 'still the old pool of 2');

# --- several SIGHUPs in a row settle on the last config
$gv->write_conf(Workers => 5);
$gv->signal('HUP') for 1 .. 3;
$gv->reload(Workers => 3);
$gv->signal('HUP');
ok($gv->wait_ready(3, 10), 'after a burst of SIGHUPs: 3 workers')
    or diag explain $gv->status;
ok(wait_until(sub { my $s = $gv->ready(3); $s && @{ $s->{workers} } == 3 }, 10),
   '... and no extra workers linger');
$gv->reload(Workers => 2);
ok($gv->wait_ready(2, 10), 'back to 2 workers');

# --- move BackupServer to another free port, with a session open
my ($B, $hb) = $gv->session;
is($hb->{type}, T_SERVER_HELLO, 'session B open before the port change');
my $b_port = $B->sockport;
my $old_port = $gv->port('BackupServer');
my $new_port = free_ports(1);
$gv->reload(BackupServer => $new_port);
my $ok = wait_until(sub {
    my $c = $gv->connect(port => $new_port) or return;
    my $h = do_hello($c);
    close $c;
    ($h->{type} // 0) == T_SERVER_HELLO;
}, 10);
ok($ok, "new BackupServer port $new_port answers hello");
ok(wait_until(sub { !$gv->connect(port => $old_port, timeout => 1) }, 10),
   "old port $old_port refuses connections");
$s = $gv->wait_ready(2, 5);
ok($s, 'pool still 2 after the port change');
my ($bw) = grep { ($_->{peer} // '') eq "127.0.0.1:$b_port" } @{ ($s // {})->{workers} || [] };
ok($bw && $bw->{retiring}, 'session B\'s worker (old generation) is listed with "retiring":true')
    or diag explain $s;
ok(ping($B), 'session B still answers PING on the old generation');
send_frame($B, T_BYE);
is(recv_frame($B, 5)->{type}, T_BYE, 'session B ends with BYE');
ok(wait_until(sub { my $s = $gv->ready(2); $s && @{ $s->{workers} } == 2 }, 10),
   'the retiring worker exits after its session');
is($gv->pid, $pid, 'supervisor never restarted');
unlike($gv->log_text, qr/killed by signal/, 'no worker crashed');

is($gv->stop, 0, 'SIGTERM: exit status 0');
is_deeply([$gv->leftovers], [], 'no children left behind');
done_testing;
