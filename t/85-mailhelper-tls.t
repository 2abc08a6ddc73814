#!/usr/bin/perl
# gigavault-mailhelper to a Dovecot with TLS (t/lib/GVDovecot.pm with
# tls => 1: a CA of the test's own signed the server's certificate for
# 127.0.0.1): IMAP.Security starttls and imaps work with IMAP.CAFile that
# CA, a CA that signed nothing is refused with the reason, and the error
# reaches the client while the helper goes on serving.
use strict;
use warnings;
use Test::More;
use GV;
use GVDovecot;
use GVMailHelper;

plan skip_all => 'needs the openssl command (Debian package openssl)'
    unless (GVDovecot::run(['openssl', 'version'], 20))[0] == 0;

my $dv = GVDovecot->start(users => [qw(alice bob)], tls => 1);
my $m = GVDovecot::make_message(subject => 'over TLS', attach => 'T' x 4000);
my $uid = $dv->append('alice', 'INBOX', $m, flags => '\Seen', date => 1600000000);

for my $case (['starttls', $dv->port], ['imaps', $dv->imaps_port]) {
    my ($sec, $port) = @$case;
    my $mh = GVMailHelper->start($dv, imap => { Security => $sec, Port => $port,
                                                CAFile => $dv->ca_file });
    my ($rc, $out, $err) = $mh->gv_mh('mailboxes', 'alice');
    is($rc, 0, "$sec: mailboxes") or diag $err;
    my ($uv) = $out =~ /^INBOX\t\/\t(\d+)\t/m;
    ($rc, $out, $err) = $mh->gv_mh('fetch', 'alice', 'INBOX', $uv, $uid);
    is($out, $m, "$sec: a message fetched byte for byte") or diag $err;
    ($rc, $out, $err) = $mh->gv_mh('append', 'alice', 'INBOX', '\Flagged', 1500000000, 60,
                                   { stdin => $m });
    is($rc, 0, "$sec: append") or diag $err;
    $mh->stop;
}
like($dv->log_text, qr/Login: user=<alice>.*TLS/, 'Dovecot saw logins over TLS');

my $mh = GVMailHelper->start($dv, imap => { Security => 'imaps', Port => $dv->imaps_port,
                                            CAFile => $dv->other_ca_file });
my ($rc, $out, $err) = $mh->gv_mh('mailboxes', 'alice');
is($rc, 1, 'a CA that did not sign the server certificate: refused');
like($err, qr/certificate is not trusted \(IMAP\.CAFile .*other-ca\.pem\): unable to get local issuer certificate \(imap\)/,
     'the reason reaches the client');
($rc, $out, $err) = $mh->gv_mh('users');
is($out, "alice\nbob\n", 'the helper goes on serving');
$mh->stop;
$dv->stop;
done_testing;
