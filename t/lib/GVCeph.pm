package GVCeph;

# t/lib/GVCeph.pm - one single-node Ceph with radosgw per test file, for
# the tests of issue 21 (t/9x-*.t), on t/lib/ceph-start.sh.
#
#   use GVCeph;
#   GVCeph::skip_unless_ceph();            # plan skip_all when ceph-mon,
#                                          # ceph-osd or radosgw is missing
#   my $ceph = GVCeph->start;              # in a temp dir, on free ports;
#                                          # dies (BAIL_OUT) when it fails
#   $ceph->endpoint;                       # "http://127.0.0.1:PORT"
#   $ceph->region;                         # "default"
#   $ceph->cred_file;                      # mode 0600 credentials file
#                                          # (s3_creds_load()); owned by
#                                          # Server.User when run as root
#   my %o = $ceph->gv_options(Bucket => 'b1', Prefix => 'gv/');
#   my $gv = GV->start(%o);                # Store.Backend = s3 and the
#                                          # S3 section, as GV overrides
#   $ceph->s3_section(Bucket => 'b1');     # the same as config text
#   my ($rc, $out, $err) = $ceph->s3('b1', 'list', 'gv/', 1000);
#                                          # t/gv-s3 against this Ceph
#   $ceph->rgw_stop; $ceph->rgw_start;     # radosgw only
#   $ceph->stop;                           # also done in END and on
#                                          # INT/TERM/HUP
#   $ceph->procs;                          # its processes still running
#
# Everything lives in one temp dir (removed unless GV_KEEP is set).  The
# stop runs in every case: END, a die, or a signal; GV.pm's own signal
# handlers die, which runs END too.

use strict;
use warnings;
use File::Temp ();
use Time::HiRes qw(time sleep);
use Test::More ();
use POSIX ();

my @LIVE;	# started clusters, stopped in END

sub skip_unless_ceph {
	for my $p (qw(ceph-mon ceph-osd radosgw)) {
		Test::More::plan(skip_all =>
		    "$p not installed (tools/deps --test)")
		    unless grep { -x "$_/$p" } split /:/, $ENV{PATH};
	}
	return 1;
}

sub _free_ports {
	my ($n) = @_;
	require GV;
	return GV::free_ports($n);
}

sub _slurp {
	open(my $f, '<:raw', $_[0]) or return undef;
	local $/;
	my $d = <$f>;
	close $f;
	return $d;
}

# start(user => NAME): NAME owns the credentials file (default: the
# Server.User GV.pm uses, "nobody" when root, else the current user).
sub start {
	my ($class, %o) = @_;
	my $src = $ENV{GV_SRCDIR} // '.';
	my $self = bless {
		script => "$src/t/lib/ceph-start.sh",
		gvs3 => ($ENV{GV_BUILDDIR} // '.') . '/t/gv-s3',
	}, $class;
	$self->{tmp} = File::Temp::tempdir('gv-ceph-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{GV_KEEP});
	chmod 0755, $self->{tmp};
	$self->{dir} = "$self->{tmp}/ceph";
	mkdir $self->{dir} or die "$self->{dir}: $!";
	my ($monport, $rgwport) = _free_ports(2);
	$self->{started} = 1;
	push @LIVE, $self;
	my $t0 = time;
	my $out = `sh $self->{script} start $self->{dir} $monport $rgwport 2>&1`;
	if ($?) {
		Test::More::diag($out);
		$self->stop;
		Test::More::BAIL_OUT('Ceph did not start');
	}
	$self->{start_s} = time - $t0;
	open(my $ef, '<', "$self->{dir}/s3.env") or
	    die "$self->{dir}/s3.env: $!";
	while (<$ef>) { $self->{env}{$1} = $2 if /^(\w+)=(.*)$/ }
	close $ef;
	my $cred = "$self->{tmp}/s3.cred";
	open(my $f, '>', $cred) or die "$cred: $!";
	print $f "# GVCeph test credentials\n" .
	    "access_key_id = $self->{env}{S3_ACCESS_KEY}\n" .
	    "secret_access_key = $self->{env}{S3_SECRET_KEY}\n";
	close $f;
	chmod 0600, $cred;
	my $user = $o{user} // ($> == 0 ? 'nobody' : undef);
	if (defined $user && length $user) {
		my (undef, undef, $uid, $gid) = getpwnam($user);
		chown $uid, $gid, $cred if defined $uid;
	}
	$self->{cred} = $cred;
	return $self;
}

sub dir        { $_[0]{dir} }
sub tmp        { $_[0]{tmp} }
sub endpoint   { $_[0]{env}{S3_ENDPOINT} }
sub region     { $_[0]{env}{S3_REGION} }
sub access_key { $_[0]{env}{S3_ACCESS_KEY} }
sub secret_key { $_[0]{env}{S3_SECRET_KEY} }
sub cred_file  { $_[0]{cred} }
sub start_seconds { $_[0]{start_s} }

# The S3 section's options for bucket (and Prefix etc. from %o), as
# "Section.Option" => value pairs for GV->start/make_conf.
sub gv_options {
	my ($self, %o) = @_;
	my %r = (
		'Store.Backend' => 's3',
		'S3.Endpoint' => $self->endpoint,
		'S3.Region' => $self->region,
		'S3.Bucket' => delete $o{Bucket} // 'gigavault',
		'S3.CredentialsFile' => $self->cred_file,
		'S3.PathStyle' => 1,
	);
	$r{"S3.$_"} = $o{$_} for keys %o;
	return %r;
}

# The same as gigavault.conf text (a Store and an S3 section).
sub s3_section {
	my ($self, %o) = @_;
	my %r = $self->gv_options(%o);
	my $t = "Store {\n\tBackend = s3\n}\nS3 {\n";
	for my $k (sort grep { /^S3\./ } keys %r) {
		my $v = $r{$k};
		(my $n = $k) =~ s/^S3\.//;
		$v = qq("$v") unless $v =~ /^\d+$/;
		$t .= "\t$n = $v\n";
	}
	return $t . "}\n";
}

# s3(BUCKET, [opts], ARGS...): runs t/gv-s3 against this Ceph; returns
# (exit code, stdout, stderr).
sub s3 {
	my ($self, $bucket, @args) = @_;
	my @opts;
	@opts = @{ shift @args } if ref $args[0] eq 'ARRAY';
	die "$self->{gvs3} is not built (make check)" unless -x $self->{gvs3};
	my $errf = "$self->{tmp}/gv-s3.err";
	my $pid = open(my $o, '-|') // die "fork: $!";
	if (!$pid) {
		open(STDERR, '>', $errf) or POSIX::_exit(126);
		no warnings "exec";
		exec { $self->{gvs3} } $self->{gvs3}, '-e', $self->endpoint,
		    '-r', $self->region, '-b', $bucket, '-k', $self->{cred},
		    @opts, @args;
		POSIX::_exit(127);
	}
	local $/;
	my $stdout = <$o> // '';
	close $o;
	my $rc = $? >> 8;
	return ($rc, $stdout, _slurp($errf) // '');
}

# The keys under prefix in bucket: a hash key => size.
sub list {
	my ($self, $bucket, $prefix) = @_;
	my ($rc, $o, $e) = $self->s3($bucket, 'list', $prefix // '', 1000);
	die "GVCeph: list $bucket/$prefix: $e" if $rc;
	my %k;
	$k{$1} = $2 while $o =~ /^(\S+) (\d+) /mg;
	return \%k;
}

sub rgw_stop {
	my ($self) = @_;
	system('sh', $self->{script}, 'rgw-stop', $self->{dir});
}

sub rgw_start {
	my ($self) = @_;
	system('sh', $self->{script}, 'rgw-start', $self->{dir});
	return $? == 0;
}

# The pids of this cluster's processes still running.
sub procs {
	my ($self) = @_;
	my @p;
	for my $pid (grep { /^\d+$/ } map { s{.*/}{}r } glob '/proc/[0-9]*') {
		open(my $f, '<', "/proc/$pid/cmdline") or next;
		local $/;
		my $c = <$f> // '';
		close $f;
		next unless index($c, $self->{dir}) >= 0;
		open(my $s, '<', "/proc/$pid/stat") or next;
		my $st = <$s> // '';
		close $s;
		next if $st =~ /^\d+ \(.*\) Z /;
		push @p, $pid;
	}
	return @p;
}

sub stop {
	my ($self) = @_;
	return unless $self->{started};
	$self->{started} = 0;
	local $?;
	system('sh', $self->{script}, 'stop', $self->{dir});
	my $deadline = time + 10;
	sleep 0.1 while $self->procs && time < $deadline;
}

END {
	local $?;
	$_->stop for @LIVE;
}

1;
