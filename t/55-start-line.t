#!/usr/bin/perl
# The start-up line says where to go next: every port served (backup,
# UI bridge, UDP scan, the console's HTTP and HTTPS URLs; SSL and
# discovery when on), each once; and, while DataDir/admins lists nobody,
# how to add a console administrator (gigavaultctl -f FILE admin add).
# With SSL on, client add's register line says --ssl and the SSL port.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use GV;
use GVTLS;

my $gv = GV->start(GV::web_opts(Workers => 2, 'Server.Listen' => ['127.0.0.1']));
ok(GV::wait_until(sub { $gv->log_text =~ /started: / }, 10), 'the start-up line is logged');
my ($line) = $gv->log_text =~ /^(.*gigavaultd \d+\.\d+\.\d+ started: .*)$/m;
diag($line);
my %p = map { $_ => $gv->port($_) } qw(BackupServer UI UDPScan WebConsole WebConsoleSSL);
like($line, qr/started: 2 workers; ports: backup $p{BackupServer}, UI bridge $p{UI}, UDP scan $p{UDPScan}\/udp, console http:\/\/127\.0\.0\.1:$p{WebConsole}\/, console https:\/\/127\.0\.0\.1:$p{WebConsoleSSL}\/$/,
     'it names every port served, the console by its URLs');
unlike($line, qr/SSL|discovery/, 'SSL and discovery are off: not named');
my $conf = $gv->conf;
ok(GV::wait_until(sub { $gv->log_text =~ /no console administrator/ }, 5), 'no administrator: said');
like($gv->log_text, qr/warning: no console administrator exists yet: add one with `gigavaultctl -f \Q$conf\E admin add NAME`/,
     '... with the command to add one, -f naming this config');

$gv->add_admin('admin', 'pass word 1');
my $data = $gv->cfg->{Server}{DataDir};
is($gv->stop, 0, 'clean stop');

# The same DataDir, now with an administrator: no such line.
my $gv2 = GV->start(Workers => 1, 'Server.DataDir' => $data, 'WebConsole.Enabled' => 0);
ok(GV::wait_until(sub { $gv2->log_text =~ /started: / }, 10), 'second start logged');
($line) = $gv2->log_text =~ /^(.*started: .*)$/m;
like($line, qr/ports: backup \d+, UI bridge \d+, UDP scan \d+\/udp$/, 'without the console: not named');
sleep 1;
unlike($gv2->log_text, qr/no console administrator/, 'an administrator exists: no hint');
is($gv2->stop, 0, 'clean stop');

# DataDir belongs to Server.User: an admins that is a FIFO or a symbolic
# link is refused, never waited on nor followed, by the root supervisor
# at start-up and by the console's GET /api/session (admins.c's open:
# O_NOFOLLOW | O_NONBLOCK, then fstat and a regular file only).
my $adm = "$data/admins";
my $real = "$data/admins.real";
rename($adm, $real) or die "rename $adm: $!";
for my $kind ('FIFO', 'symlink') {
    unlink $adm;
    if ($kind eq 'FIFO') {
        system('mkfifo', $adm) == 0 or die "mkfifo $adm";
    } else {
        symlink($real, $adm) or die "symlink $adm: $!";
    }
    my $g = GV->start(GV::web_opts(Workers => 1, 'Server.DataDir' => $data));
    ok(GV::wait_until(sub { $g->log_text =~ /started: / }, 10), "admins a $kind: start-up logged");
    ok(GV::wait_until(sub { $g->log_text =~ /administrators: \Q$adm\E: (?:not a regular file|a symbolic link)/ }, 10),
       "... the supervisor says admins is refused") or diag $g->log_text;
    ok($g->wait_web, '... the console answers');
    my $r = $g->web(GET => '/api/session', timeout => 5);
    is($r->{status}, 401, "... GET /api/session answers (no hang on the $kind)") or diag $r->{body};
    is(($r->{json} || {})->{admins}, 0, '... and counts no administrator through it');
    is($g->stop, 0, "... clean stop");
}
unlink $adm;
rename($real, $adm) or die "rename $real: $!";

# With SSL on: its port is named, after backup; and client add's register
# line then says --ssl and that port.
my $t = GVTLS->prepare;
my $gv3 = $t->start(Workers => 1, 'WebConsole.Enabled' => 0);
ok(GV::wait_until(sub { $gv3->log_text =~ /started: / }, 10), 'SSL start logged');
($line) = $gv3->log_text =~ /^(.*started: .*)$/m;
my $ssl = $gv3->port('SSLServer');
like($line, qr/ports: backup \d+, SSL $ssl, UI bridge \d+, UDP scan \d+\/udp$/, 'SSL on: its port named') or diag $line;
my ($st, $out, $err) = $gv3->ctl('client', 'add', 'tlsclient');
chomp $out;
like($err, qr/^    gigavault register --ssl -s 127\.0\.0\.1:$ssl --token $out$/m, 'client add with SSL: --ssl and the SSL port') or diag $err;
is($gv3->stop, 0, 'clean stop');
done_testing;
