package GVTmpfs;
# A daemon whose DataDir is a small tmpfs of its own (t/42, t/44):
#
#   plan skip_all => $why if my $why = GVTmpfs::cannot(qw(du));
#   my $fs = GVTmpfs->start('96m', Workers => 2, ...);   # GV options
#   my $gv = $fs->gv;  $fs->datadir;  $fs->du_kib;  $fs->in_ns(@cmd);
#
# gigavaultd runs in a private mount namespace (unshare -m) with a tmpfs
# of the given size mounted on DataDir, so the mount goes away with the
# daemon's processes; gigavaultctl (GVClient::ctl) is run in the same
# namespace through nsenter, so it sees the same DataDir.  start() sets
# $GV::BIN and $GVClient::CTL to these wrappers for the rest of the test.
use strict;
use warnings;
use File::Path qw(make_path);
use File::Temp ();
use GV;
use GVClient;

sub _have { my ($p) = @_; grep { -x "$_/$p" } split /:/, $ENV{PATH} }

# Why this machine cannot run such a test (a skip reason), or undef.
# @tools: further commands the test needs.
sub cannot {
    my (@tools) = @_;
    return 'needs root (mount namespace and tmpfs)' if $> != 0;
    for my $p ('unshare', 'nsenter', @tools) {
        return "needs $p(1)" unless _have($p);
    }
    return 'this machine does not allow a private mount namespace with tmpfs'
        if system('unshare -m --propagation private sh -c '
                  . '"mount -t tmpfs -o size=1m gvprobe /mnt" >/dev/null 2>&1') != 0;
    return;
}

sub _script {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "GVTmpfs: $path: $!";
    print $fh $text;
    close $fh;
    chmod 0755, $path;
}

sub start {
    my ($class, $size, %o) = @_;
    my $tmp = File::Temp::tempdir('gv-tmpfs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $tmp;
    make_path("$tmp/data");
    _script("$tmp/gigavaultd-on-tmpfs", <<"SH");
#!/bin/sh
exec unshare -m --propagation private sh -c 'mount -t tmpfs -o size=$size,mode=0755 gvtmpfs "\$0" && exec "\$@"' '$tmp/data' '$GV::BIN' "\$@"
SH
    # For the test's whole life: a restart must land on the tmpfs too.
    $GV::BIN = "$tmp/gigavaultd-on-tmpfs";
    my $gv = GV->start(%o, DataDir => "$tmp/data");
    _script("$tmp/gigavaultctl-in-ns",
            sprintf(qq(#!/bin/sh\nexec nsenter -t %d -m -- '%s' "\$@"\n), $gv->pid, $GVClient::CTL));
    $GVClient::CTL = "$tmp/gigavaultctl-in-ns";
    return bless { tmp => $tmp, gv => $gv }, $class;
}

sub gv      { $_[0]{gv} }
sub datadir { "$_[0]{tmp}/data" }

# Run a command in the daemon's mount namespace; its exit status.
sub in_ns {
    my ($self, @cmd) = @_;
    return system('nsenter', '-t', $self->{gv}->pid, '-m', '--', @cmd);
}

# du -sk of DataDir, seen in the daemon's namespace; -1 when it fails.
sub du_kib {
    my ($self) = @_;
    my $out = `nsenter -t @{[ $self->{gv}->pid ]} -m -- du -sk '$self->{tmp}/data' 2>/dev/null`;
    return $out =~ /^(\d+)/ ? $1 : -1;
}

1;
