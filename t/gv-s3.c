/*
 * gv-s3.c - drives src/server/s3.c from the command line, for
 * t/90-s3.t and the measurements of doc/ceph-tests.md.  Not installed.
 *
 *   gv-s3 -e ENDPOINT -r REGION -b BUCKET -k CREDFILE [-V] [-C CAFILE]
 *         [-P PARTSIZE] [-R RETRIES] [-D BASE_MS] [-T STALL_S] CMD ARGS
 *
 * -V uses virtual-host addressing (BUCKET.HOST), default path-style.
 * Commands:
 *   mkbucket | rmbucket
 *   put KEY FILE          s3_put_fd() of the whole file; prints the ETag
 *   putmem KEY FILE       the file read into memory, s3_put(); the ETag
 *   putn PREFIX N [SIZE]  N objects PREFIX%07d of SIZE bytes (default 1)
 *   cput KEY FILE absent|match ETAG   conditional s3_put(); the ETag
 *   get KEY FILE          s3_get_fd() into FILE (created, truncated)
 *   getmem KEY MAX FILE   s3_get() with the cap MAX, written to FILE
 *   range KEY OFF LEN     s3_get_range(); the bytes to stdout
 *   head KEY              "SIZE ETAG MTIME"
 *   list PREFIX PAGESIZE [STOPAFTER]  "KEY SIZE ETAG" lines, "keys N"
 *   delete KEY
 *   mdelete KEY...|-      s3_delete_many() (- : keys from stdin lines);
 *                         each refused key "failed KEY CODE"
 * Exit: 0 done, 1 error (s3's message on stderr), 2 usage, 3 no such key
 * (S3_NOTFOUND), 4 the key exists (S3_EXISTS), 5 changed (S3_CHANGED),
 * 6 stopped (S3_STOPPED).  Last on stderr: "retries N" (s3_retries()).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/s3.h"

static char err[1024];
static long stop_after;

static int
usage(void)
{
	fprintf(stderr, "usage: gv-s3 -e ENDPOINT -r REGION -b BUCKET -k "
	    "CREDFILE [-V] [-C CAFILE] [-P PARTSIZE] [-R RETRIES] "
	    "[-D BASE_MS] [-T STALL_S] CMD ARGS (see t/gv-s3.c)\n");
	return 2;
}

static int
result(int rc)
{
	switch (rc) {
	case S3_OK:
		return 0;
	case S3_NOTFOUND:
		fprintf(stderr, "%s\n", err);
		return 3;
	case S3_EXISTS:
		printf("exists\n");
		return 4;
	case S3_CHANGED:
		printf("changed\n");
		return 5;
	case S3_STOPPED:
		return 6;
	default:
		fprintf(stderr, "%s\n", err);
		return 1;
	}
}

static int
on_key(const char *key, uint64_t size, const char *etag, void *arg)
{
	long *n = arg;

	printf("%s %" PRIu64 " %s\n", key, size, etag);
	++*n;
	return stop_after > 0 && *n >= stop_after;
}

static void
on_delerr(const char *key, const char *code, const char *msg, void *arg)
{
	(void)arg;
	printf("failed %s %s %s\n", key, code, msg);
}

static int
read_file(const char *path, char **p, size_t *n)
{
	struct stat st;
	int fd;
	ssize_t r;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	*n = (size_t)st.st_size;
	if ((*p = malloc(*n ? *n : 1)) == NULL ||
	    (r = read(fd, *p, *n)) != (ssize_t)*n) {
		fprintf(stderr, "%s: short read\n", path);
		return -1;
	}
	close(fd);
	return 0;
}

static int
run(struct s3 *s, int argc, char **argv)
{
	char etag[S3_ETAG_MAX + 1];
	const char *cmd = argv[0];
	struct stat st;
	int fd, rc;

	if (strcmp(cmd, "mkbucket") == 0 && argc == 1) {
		rc = s3_bucket_create(s, err, sizeof(err));
		return rc == S3_EXISTS ? 0 : result(rc);
	}
	if (strcmp(cmd, "rmbucket") == 0 && argc == 1)
		return result(s3_bucket_delete(s, err, sizeof(err)));
	if (strcmp(cmd, "put") == 0 && argc == 3) {
		if ((fd = open(argv[2], O_RDONLY)) == -1 ||
		    fstat(fd, &st) == -1) {
			fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		rc = s3_put_fd(s, argv[1], fd, 0, (uint64_t)st.st_size, etag,
		    err, sizeof(err));
		close(fd);
		if (rc == S3_OK)
			printf("%s\n", etag);
		return result(rc);
	}
	if ((strcmp(cmd, "putmem") == 0 && argc == 3) ||
	    (strcmp(cmd, "cput") == 0 && argc >= 4)) {
		enum s3_cond c = S3_COND_NONE;
		const char *if_etag = NULL;
		char *p;
		size_t n;

		if (cmd[0] == 'c') {
			if (strcmp(argv[3], "absent") == 0 && argc == 4)
				c = S3_COND_ABSENT;
			else if (strcmp(argv[3], "match") == 0 && argc == 5) {
				c = S3_COND_MATCH;
				if_etag = argv[4];
			} else
				return usage();
		}
		if (read_file(argv[2], &p, &n) == -1)
			return 1;
		rc = s3_put(s, argv[1], p, n, c, if_etag, etag, err,
		    sizeof(err));
		free(p);
		if (rc == S3_OK)
			printf("%s\n", etag);
		return result(rc);
	}
	if (strcmp(cmd, "putn") == 0 && (argc == 3 || argc == 4)) {
		long i, n = atol(argv[2]);
		size_t size = argc == 4 ? (size_t)atol(argv[3]) : 1;
		char key[S3_KEY_MAX + 1], *body;

		if ((body = calloc(1, size + 1)) == NULL)
			return 1;
		memset(body, 'x', size);
		for (i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "%s%07ld", argv[1], i);
			rc = s3_put(s, key, body, size, S3_COND_NONE, NULL,
			    NULL, err, sizeof(err));
			if (rc != S3_OK) {
				free(body);
				return result(rc);
			}
		}
		free(body);
		return 0;
	}
	if (strcmp(cmd, "get") == 0 && argc == 3) {
		uint64_t n;

		if ((fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC,
		    0644)) == -1) {
			fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		rc = s3_get_fd(s, argv[1], fd, &n, err, sizeof(err));
		close(fd);
		return result(rc);
	}
	if (strcmp(cmd, "getmem") == 0 && argc == 4) {
		void *p;
		size_t n;
		FILE *f;

		rc = s3_get(s, argv[1], (size_t)strtoull(argv[2], NULL, 10),
		    &p, &n, err, sizeof(err));
		if (rc != S3_OK)
			return result(rc);
		if ((f = fopen(argv[3], "w")) == NULL ||
		    fwrite(p, 1, n, f) != n || fclose(f) != 0) {
			fprintf(stderr, "%s: cannot write\n", argv[3]);
			return 1;
		}
		free(p);
		return 0;
	}
	if (strcmp(cmd, "range") == 0 && argc == 4) {
		size_t len = (size_t)strtoull(argv[3], NULL, 10), n;
		char *buf;

		if ((buf = malloc(len ? len : 1)) == NULL)
			return 1;
		rc = s3_get_range(s, argv[1], strtoull(argv[2], NULL, 10),
		    len, buf, &n, err, sizeof(err));
		if (rc == S3_OK)
			fwrite(buf, 1, n, stdout);
		free(buf);
		return result(rc);
	}
	if (strcmp(cmd, "head") == 0 && argc == 2) {
		struct s3_objinfo oi;

		rc = s3_head(s, argv[1], &oi, err, sizeof(err));
		if (rc == S3_OK)
			printf("%" PRIu64 " %s %lld\n", oi.size, oi.etag,
			    (long long)oi.mtime);
		return result(rc);
	}
	if (strcmp(cmd, "list") == 0 && (argc == 3 || argc == 4)) {
		long n = 0;

		stop_after = argc == 4 ? atol(argv[3]) : 0;
		rc = s3_list(s, argv[1], atoi(argv[2]), on_key, &n, err,
		    sizeof(err));
		printf("keys %ld\n", n);
		return result(rc);
	}
	if (strcmp(cmd, "delete") == 0 && argc == 2)
		return result(s3_delete(s, argv[1], err, sizeof(err)));
	if (strcmp(cmd, "mdelete") == 0 && argc >= 2) {
		char **keys, line[S3_KEY_MAX + 2];
		size_t n = 0, cap = 0, failed;

		if (strcmp(argv[1], "-") != 0) {
			keys = argv + 1;
			n = (size_t)argc - 1;
		} else {
			keys = NULL;
			while (fgets(line, sizeof(line), stdin) != NULL) {
				line[strcspn(line, "\n")] = '\0';
				if (n == cap) {
					cap = cap ? 2 * cap : 1024;
					keys = realloc(keys,
					    cap * sizeof(*keys));
					if (keys == NULL)
						return 1;
				}
				if ((keys[n++] = strdup(line)) == NULL)
					return 1;
			}
		}
		rc = s3_delete_many(s, (const char *const *)keys, n, on_delerr,
		    NULL, &failed, err, sizeof(err));
		printf("failed %zu\n", failed);
		if (keys != argv + 1) {		/* read from stdin: ours */
			for (size_t i = 0; i < n; i++)
				free(keys[i]);
			free(keys);
		}
		return result(rc);
	}
	return usage();
}

int
main(int argc, char **argv)
{
	struct s3_config c;
	struct s3 *s;
	int ch, rc;
	uint64_t part = 0;

	memset(&c, 0, sizeof(c));
	c.path_style = 1;
	c.retries = -1;
	while ((ch = getopt(argc, argv, "e:r:b:k:VC:P:R:D:T:")) != -1) {
		switch (ch) {
		case 'e': c.endpoint = optarg; break;
		case 'r': c.region = optarg; break;
		case 'b': c.bucket = optarg; break;
		case 'k': c.cred_file = optarg; break;
		case 'V': c.path_style = 0; break;
		case 'C': c.ca_file = optarg; break;
		case 'P': part = strtoull(optarg, NULL, 10); break;
		case 'R': c.retries = atoi(optarg); break;
		case 'D': c.retry_base_ms = atol(optarg); break;
		case 'T': c.stall_timeout_s = atol(optarg); break;
		default: return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage();
	c.part_size = part;
	if (s3_open(&c, &s, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rc = run(s, argc, argv);
	fflush(stdout);
	fprintf(stderr, "retries %" PRIu64 "\n", s3_retries(s));
	s3_close(s);
	return rc;
}
