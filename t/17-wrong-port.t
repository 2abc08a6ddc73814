#!/usr/bin/perl
# A client pointed at the UI bridge port or at the web console's port
# instead of the backup port is told so at once: the bridge answers a
# first line that cannot be JSON with a JSON error line, the console
# answers bytes that cannot start an HTTP request with 400, and the
# client names the service it reached.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use IO::Socket::INET;
use GV;
use GVClient;

my $gv = GV->start(GV::web_opts(Workers => 2));
my $cl = GVClient->new($gv, 'wrong', unregistered => 1);
my $ui = $gv->port('UI');
my $web = $gv->port('WebConsole');

# What the services answer to a backup client's hello (8-byte header first).
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ui, Timeout => 5);
    ok($s, 'connected to the UI port');
    print $s frame(T_CLIENT_HELLO, hello_payload());
    my $line = read_line($s, 5);
    like($line // '', qr/^\{.*"error":".*UI bridge \(Ports\.UI\)/, "UI bridge answers a JSON error at once: $line");
    ok(GV::wait_closed($s, 5), 'and closes');
}
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $web, Timeout => 5);
    ok($s, 'connected to the console port');
    print $s frame(T_CLIENT_HELLO, hello_payload());
    my $line = read_line($s, 5);
    like($line // '', qr{^HTTP/1\.[01] 400 }, "console answers 400 at once: " . ($line // 'nothing'));
}
# A JSON request and an HTTP request still work after the change.
{
    my $st = $gv->status;
    ok(ref $st eq 'HASH' && $st->{workers}, 'UI bridge status request still answered');
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $web, Timeout => 5);
    print $s "GET /api/hello HTTP/1.0\r\n\r\n";
    my $line = read_line($s, 5);
    like($line // '', qr{^HTTP/1\.[01] 200 }, 'console GET /api/hello: 200');
}

for my $case (['UI', $ui, qr/127\.0\.0\.1:\Q$ui\E is GigaVault's UI bridge \(Ports\.UI\), not the backup port/],
              ['WebConsole', $web, qr/127\.0\.0\.1:\Q$web\E is GigaVault's web console \(Ports\.WebConsole\), not the backup port/]) {
    my ($name, $port, $want) = @$case;
    my $t0 = time;
    my ($rc, $out, $err) = $cl->run('register', '-s', "127.0.0.1:$port", '--token', 'ab' x 16);
    my $dt = time - $t0;
    isnt($rc, 0, "gigavault register on Ports.$name fails");
    like($err, $want, "and says what it reached") or diag $err;
    ok($dt < 10, sprintf('within 10 s (took %.2f s)', $dt));
    diag(sprintf('wrong port Ports.%s: the client gave up after %.3f s', $name, $dt));
}

is($gv->stop, 0, 'clean stop');
done_testing();

sub read_line {
    my ($s, $timeout) = @_;
    my ($buf, $t0) = ('', time);
    $s->blocking(0);
    while (time - $t0 < $timeout) {
        my $k = sysread($s, my $chunk, 4096);
        if (defined $k && $k == 0) { last }
        if (defined $k) { $buf .= $chunk; last if $buf =~ /\n/; next }
        select(undef, undef, undef, 0.02);
    }
    return undef if $buf eq '';
    ($buf) = split /\r?\n/, $buf;
    return $buf;
}
