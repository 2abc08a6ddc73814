/*
 * finder.c - finding peers for the client: the ones the local daemon
 * knows (its UI bridge's "peers" request), or those that answer our own
 * multicast query; and "-s auto", which picks the backup server from
 * them.  Discovery only chooses an address: the session still checks the
 * server id this client enrolled with.  "gigavault discover" is in
 * discover.c.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/discowire.h"
#include "common/mcast.h"
#include "common/monotime.h"
#include "common/sock.h"
#include "client.h"

/* The peers of the daemon at ui: its self entry first, then its peers. */
static json_t *
from_daemon(const char *ui, double wait, char *err, size_t errlen)
{
	char host[256];
	json_t *o, *list, *self;
	int port;

	if ((o = bridge_request(ui, DISC_UI_PORT, "{\"request\":\"peers\"}",
	    wait, err, errlen)) == NULL)
		return NULL;
	self = json_object_get(o, "self");
	if (!json_is_object(self) ||
	    !json_is_array(json_object_get(o, "peers")) ||
	    clientconf_parse_server(ui, host, sizeof(host), &port) == -1) {
		snprintf(err, errlen, "%s: not a peers reply", ui);
		json_decref(o);
		return NULL;
	}
	/* The daemon itself is reached at the address we asked. */
	json_object_set_new(self, "addresses", json_pack("[s]", host));
	list = json_array();
	json_array_append(list, self);
	json_array_extend(list, json_object_get(o, "peers"));
	json_decref(o);
	return list;
}

static json_t *
msg_json(const struct dw_msg *m, const char *addr)
{
	char hex[2 * SERVER_ID_LEN + 1];
	json_t *roles = json_array();

	hex_encode(m->id, SERVER_ID_LEN, hex);
	if (m->roles & DW_ROLE_SERVER)
		json_array_append_new(roles, json_string("server"));
	if (m->roles & DW_ROLE_CLIENT)
		json_array_append_new(roles, json_string("client"));
	return json_pack("{s:s, s:s, s:[s], s:{s:i, s:i, s:i, s:i, s:i}, "
	    "s:o, s:b, s:i, s:s, s:n, s:n, s:i}", "id", hex, "name", m->name,
	    "addresses", addr, "ports", "backup", m->port_backup,
	    "ssl", m->port_ssl, "ui", m->port_ui, "webconsole", m->port_web,
	    "webconsole_ssl", m->port_webssl, "roles", roles,
	    "tls", (m->flags & DW_FLAG_TLS) != 0, "age", 0,
	    "source", "multicast", "via", "via_name", "hops", 0);
}

/* Our own multicast query: whoever answers within wait seconds. */
static json_t *
direct(const struct disc_opts *o, char *err, size_t errlen)
{
	int64_t dl = mono_ms() + (int64_t)(o->wait * 1000);
	struct dw_msg q, m;
	struct in_addr group;
	uint8_t buf[2048];
	char host[256], addr[INET6_ADDRSTRLEN];
	unsigned char ttl = 1;
	size_t qlen;
	json_t *list;
	int fd;

	if (inet_pton(AF_INET, o->group, &group) != 1) {
		snprintf(err, errlen, "--group \"%s\" is not an IPv4 address",
		    o->group);
		return NULL;
	}
	memset(&q, 0, sizeof(q));
	q.type = DW_QUERY;
	q.roles = DW_ROLE_CLIENT;
	crypto_random(q.id, sizeof(q.id));
	crypto_random(&q.nonce, sizeof(q.nonce));
	host[DW_NAME_MAX] = '\0';
	if (gethostname(host, DW_NAME_MAX) == -1 || !dw_name_valid(host))
		snprintf(host, sizeof(host), "gigavault-client");
	memcpy(q.name, host, strlen(host) + 1);
	qlen = dw_encode(&q, buf, sizeof(buf));
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
	    sizeof(ttl)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (mcast_send_all(fd, buf, qlen, group, o->port) == 0) {
		snprintf(err, errlen, "no network interface can send multicast");
		close(fd);
		return NULL;
	}
	list = json_array();
	while (sock_wait(fd, POLLIN, dl) == 1) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
		    (struct sockaddr *)&from, &fl);
		char hex[2 * SERVER_ID_LEN + 1];
		int dup = 0;
		size_t i;
		json_t *e;

		if (n < 0 || dw_decode(buf, (size_t)n, &m) != DW_OK ||
		    m.type != DW_ANSWER || m.nonce != q.nonce)
			continue;
		if (getnameinfo((struct sockaddr *)&from, fl, addr,
		    sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		hex_encode(m.id, SERVER_ID_LEN, hex);
		json_array_foreach(list, i, e)
			dup |= strcmp(json_string_value(json_object_get(e,
			    "id")), hex) == 0;
		if (!dup && json_array_size(list) < 4096)
			json_array_append_new(list, msg_json(&m, addr));
	}
	close(fd);
	return list;
}

json_t *
client_find_peers(const struct disc_opts *o, char *err, size_t errlen)
{
	return o->direct ? direct(o, err, errlen) :
	    from_daemon(o->ui, o->wait, err, errlen);
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static json_int_t
jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

void
client_print_peer(FILE *f, json_t *p)
{
	json_t *ports = json_object_get(p, "ports"), *a, *r;
	size_t i;
	int first = 1;

	fprintf(f, "%-20s ", jstr(p, "name"));
	fprintf(f, "%.12s  ", jstr(p, "id"));
	a = json_array_get(json_object_get(p, "addresses"), 0);
	fprintf(f, "%-16s ", json_string_value(a) ? json_string_value(a) : "-");
	fprintf(f, "%5lld/%-5lld ", (long long)jint(ports, "backup"),
	    (long long)jint(ports, "ui"));
	fprintf(f, "%-4s ", json_is_true(json_object_get(p, "tls")) ? "tls" :
	    "-");
	json_array_foreach(json_object_get(p, "roles"), i, r) {
		fprintf(f, "%s%s", first ? "" : ",", json_string_value(r));
		first = 0;
	}
	fprintf(f, "%s %s", first ? "-" : "", jstr(p, "source"));
	if (json_is_string(json_object_get(p, "via_name")))
		fprintf(f, " via %s", jstr(p, "via_name"));
	fprintf(f, " (%llds ago)\n", (long long)jint(p, "age"));
}

/* The port of candidate p for our sessions: TLS or plain; 0: none. */
static long long
server_port(json_t *p, int tls)
{
	if (tls && !json_is_true(json_object_get(p, "tls")))
		return 0;
	return jint(json_object_get(p, "ports"), tls ? "ssl" : "backup");
}

/* "HOST:PORT" of candidate p into buf. */
static void
server_addr(json_t *p, int tls, char *buf, size_t len)
{
	const char *a = json_string_value(json_array_get(
	    json_object_get(p, "addresses"), 0));
	long long port = server_port(p, tls);

	snprintf(buf, len, strchr(a, ':') ? "[%s]:%lld" : "%s:%lld", a, port);
}

int
client_auto_server(struct client *c)
{
	static char chosen[300];
	struct disc_opts o = { DISC_UI, DISC_GROUP, DISC_PORT, DISC_WAIT_S, 0 };
	struct client_state st;
	char err[512], want[2 * SERVER_ID_LEN + 1] = "", line[32];
	json_t *list, *cand, *p;
	size_t i, n;
	int tls = c->ssl;

	if (client_state_read(c->conf->statefile, &st, err, sizeof(err)) == 0) {
		hex_encode(st.server_id, SERVER_ID_LEN, want);
		tls |= st.has_pin;	/* a pinned key means TLS */
	}
	crypto_wipe(&st, sizeof(st));
	if ((list = from_daemon(o.ui, o.wait, err, sizeof(err))) == NULL) {
		if (c->verbose)
			warnx("%s; asking by multicast", err);
		o.direct = 1;
		if ((list = direct(&o, err, sizeof(err))) == NULL) {
			warnx("-s auto: %s", err);
			return -1;
		}
	}
	cand = json_array();
	json_array_foreach(list, i, p) {
		json_t *r;
		size_t k;
		int server = 0;

		json_array_foreach(json_object_get(p, "roles"), k, r)
			server |= json_is_string(r) &&
			    strcmp(json_string_value(r), "server") == 0;
		if (server && server_port(p, tls) > 0 &&
		    json_is_string(json_array_get(json_object_get(p,
		    "addresses"), 0)) && (want[0] == '\0' ||
		    strcmp(jstr(p, "id"), want) == 0))
			json_array_append(cand, p);
	}
	json_decref(list);
	n = json_array_size(cand);
	if (n == 0) {
		warnx("-s auto: no backup server found by discovery%s%s",
		    want[0] ? " with the id this client registered with" : "",
		    tls ? " that serves TLS" : "");
		json_decref(cand);
		return -1;
	}
	i = 0;
	if (n > 1 && isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
		fprintf(stderr, "several backup servers found:\n");
		json_array_foreach(cand, i, p) {
			fprintf(stderr, "  %zu) ", i + 1);
			client_print_peer(stderr, p);
		}
		fprintf(stderr, "which one (1-%zu)? ", n);
		if (fgets(line, sizeof(line), stdin) == NULL ||
		    (i = strtoul(line, NULL, 10)) < 1 || i > n) {
			warnx("-s auto: no server chosen");
			json_decref(cand);
			return -1;
		}
		i--;
	} else if (n > 1) {
		warnx("-s auto: %zu backup servers found; choose one with -s:",
		    n);
		json_array_foreach(cand, i, p) {
			server_addr(p, tls, chosen, sizeof(chosen));
			fprintf(stderr, "  -s %s  (%s, id %s)\n", chosen,
			    jstr(p, "name"), jstr(p, "id"));
		}
		json_decref(cand);
		return -1;
	}
	server_addr(json_array_get(cand, i), tls, chosen, sizeof(chosen));
	if (c->verbose)
		warnx("-s auto: %s (%s)", chosen,
		    jstr(json_array_get(cand, i), "name"));
	c->server = chosen;
	json_decref(cand);
	return 0;
}
