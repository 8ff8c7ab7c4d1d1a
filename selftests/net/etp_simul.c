// SPDX-License-Identifier: GPL-2.0
/*
 * etp_simul: drive a simultaneous open or a simultaneous close between two
 * network namespaces from one process, so both ends act within
 * microseconds of each other (the shell test adds a netem delay on the
 * link that is much longer, which makes the crossing deterministic).
 *
 *   etp_simul open  NS1 ADDR1 PORT1 NS2 ADDR2 PORT2
 *   etp_simul close NS1 ADDR1 PORT1 NS2 ADDR2 PORT2
 *
 * open:  socket 1 in NS1 bound to ADDR1:PORT1 and socket 2 in NS2 bound
 *        to ADDR2:PORT2 connect to each other (no listener anywhere).
 *        RFC 9293, 3.5, figure 7: both SYNs cross, both ends go
 *        SYN_SENT -> SYN_RECV -> ESTABLISHED.
 * close: a normal connection from socket 1 to a listener in NS2; then
 *        both ends call shutdown(SHUT_WR) at once. RFC 9293, 3.6, figure
 *        13: both FINs cross, both ends go FIN_WAIT1 -> CLOSING -> TIME_WAIT.
 *
 * The states ETP_INFO reports are sampled every millisecond and printed as
 * "sock1: SYN_SENT SYN_RECV ESTABLISHED"; in close mode the /proc/net/etp
 * state of each end follows as "proc1: 06". Exit status: 0 the expected
 * sequence was seen on both ends (and, for open, data flowed both ways
 * byte for byte), 1 usage, 2 setup failed, 3 unexpected states, 4 data
 * mismatch.
 */
#define _GNU_SOURCE
#include "etp_common.h"

struct end {
	const char *ns, *addr;
	unsigned short port;
	int fd;
	int seen[16];		/* states in the order first seen */
	int nseen;
};

static void __attribute__((noreturn)) die(int code, const char *what)
{
	fprintf(stderr, "etp_simul: %s: %s\n", what, strerror(errno));
	exit(code);
}

static void enter(const char *ns)
{
	if (etp_enter_netns(ns) < 0)
		die(2, ns);
}

static void note(struct end *e, int idx, long long t0)
{
	int s = etp_state(e->fd);

	if (s < 0 || (e->nseen && e->seen[e->nseen - 1] == s) || e->nseen == 16)
		return;
	e->seen[e->nseen++] = s;
	printf("%.3f sock%d %s\n", (etp_now_ms() - t0) / 1000.0, idx,
	       etp_state_name(s));
}

static void print_seen(const struct end *e, int idx)
{
	int i;

	printf("sock%d:", idx);
	for (i = 0; i < e->nseen; i++)
		printf(" %s", etp_state_name(e->seen[i]));
	printf("\n");
}

static bool seen(const struct end *e, int state)
{
	int i;

	for (i = 0; i < e->nseen; i++)
		if (e->seen[i] == state)
			return true;
	return false;
}

static int last(const struct end *e)
{
	return e->nseen ? e->seen[e->nseen - 1] : -1;
}

/* Sample both ends until done() says so or @ms pass. */
static void watch(struct end *e, long long t0, int ms,
		  bool (*done)(const struct end *))
{
	long long end = etp_now_ms() + ms;

	while (etp_now_ms() < end) {
		note(&e[0], 1, t0);
		note(&e[1], 2, t0);
		if (done(e))
			break;
		etp_sleep_ms(1);
	}
}

static bool both_established(const struct end *e)
{
	return last(&e[0]) == ETP_ESTABLISHED && last(&e[1]) == ETP_ESTABLISHED;
}

static bool both_closed(const struct end *e)
{
	int a = last(&e[0]), b = last(&e[1]);

	return (a == ETP_TIME_WAIT || a == ETP_CLOSE) &&
	       (b == ETP_TIME_WAIT || b == ETP_CLOSE);
}

static int bound_socket(struct end *e)
{
	int one = 1, fd;

	enter(e->ns);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ETP);
	if (fd < 0)
		die(2, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (etp_bind(fd, e->addr, e->port) < 0)
		die(2, "bind");
	return fd;
}

static int simul_open(struct end *e)
{
	struct etp_info i1, i2;
	char why[160] = "";
	long long t0;
	int rc = 0, err;
	socklen_t len;

	e[0].fd = bound_socket(&e[0]);
	e[1].fd = bound_socket(&e[1]);
	t0 = etp_now_ms();
	if (etp_connect(e[0].fd, e[1].addr, e[1].port) == 0 || errno != EINPROGRESS)
		die(2, "connect 1");
	if (etp_connect(e[1].fd, e[0].addr, e[0].port) == 0 || errno != EINPROGRESS)
		die(2, "connect 2");
	watch(e, t0, 15000, both_established);
	print_seen(&e[0], 1);
	print_seen(&e[1], 2);
	if (!both_established(e)) {
		printf("not both ESTABLISHED\n");
		return 3;
	}
	if (!seen(&e[0], ETP_SYN_RECV) || !seen(&e[1], ETP_SYN_RECV)) {
		printf("SYN_RECV not seen on both ends: the SYNs did not cross\n");
		rc = 3;
	}
	for (int i = 0; i < 2; i++) {
		len = sizeof(err);
		getsockopt(e[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			printf("sock%d SO_ERROR %s\n", i + 1, strerror(err));
			rc = 3;
		}
	}
	etp_get_info(e[0].fd, &i1);
	etp_get_info(e[1].fd, &i2);
	printf("sock1 iss %u irs %u, sock2 iss %u irs %u\n", i1.etpi_iss,
	       i1.etpi_irs, i2.etpi_iss, i2.etpi_irs);
	if (i1.etpi_iss != i2.etpi_irs || i2.etpi_iss != i1.etpi_irs) {
		printf("sequence numbers do not match crosswise\n");
		rc = 3;
	}
	if (etp_exchange(e[0].fd, e[1].fd, 256 * 1024, 5, 30000, why, sizeof(why))) {
		printf("data exchange failed: %s\n", why);
		return 4;
	}
	printf("256 KiB each way, byte-exact\n");
	return rc;
}

static int simul_close(struct end *e)
{
	struct pollfd pfd;
	long long t0;
	int lfd, rc = 0, i;
	unsigned short lport;

	lfd = bound_socket(&e[1]);
	if (listen(lfd, 1) < 0)
		die(2, "listen");
	e[0].fd = bound_socket(&e[0]);
	if (etp_connect(e[0].fd, e[1].addr, e[1].port) == 0 || errno != EINPROGRESS)
		die(2, "connect");
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	if (poll(&pfd, 1, 10000) != 1)
		die(2, "no connection to accept");
	e[1].fd = accept(lfd, NULL, NULL);
	if (e[1].fd < 0)
		die(2, "accept");
	close(lfd);
	if (etp_wait_state(e[0].fd, ETP_ESTABLISHED, 10000) != ETP_ESTABLISHED ||
	    etp_wait_state(e[1].fd, ETP_ESTABLISHED, 10000) != ETP_ESTABLISHED)
		die(2, "connection not established");
	lport = etp_local_port(e[0].fd);
	if (lport != e[0].port)
		die(2, "wrong local port");

	t0 = etp_now_ms();
	if (shutdown(e[0].fd, SHUT_WR) < 0 || shutdown(e[1].fd, SHUT_WR) < 0)
		die(2, "shutdown");
	watch(e, t0, 15000, both_closed);
	print_seen(&e[0], 1);
	print_seen(&e[1], 2);
	for (i = 0; i < 2; i++) {
		if (!seen(&e[i], ETP_FIN_WAIT1) || !seen(&e[i], ETP_CLOSING)) {
			printf("sock%d did not pass FIN_WAIT1 and CLOSING\n", i + 1);
			rc = 3;
		}
		if (seen(&e[i], ETP_FIN_WAIT2)) {
			printf("sock%d went through FIN_WAIT2: the FINs did not cross\n",
			       i + 1);
			rc = 3;
		}
	}
	if (!both_closed(e)) {
		printf("not both in TIME_WAIT (or CLOSE after handing over to a TIME_WAIT entry)\n");
		rc = 3;
	}
	/* Each end's TIME_WAIT entry, as /proc/net/etp of its namespace shows it. */
	for (i = 0; i < 2; i++) {
		int st;

		enter(e[i].ns);
		st = etp_proc_state(e[i].port, e[1 - i].port);
		printf("proc%d: %02X\n", i + 1, st < 0 ? 0 : st);
		if (st != ETP_TIME_WAIT) {
			printf("sock%d: no TIME_WAIT line in /proc/net/etp\n", i + 1);
			rc = 3;
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct end e[2] = { 0 };
	int rc;

	if (argc != 8 || (strcmp(argv[1], "open") && strcmp(argv[1], "close"))) {
		fprintf(stderr, "usage: etp_simul open|close NS1 ADDR1 PORT1 NS2 ADDR2 PORT2\n");
		return 1;
	}
	e[0].ns = argv[2];
	e[0].addr = argv[3];
	e[0].port = atoi(argv[4]);
	e[1].ns = argv[5];
	e[1].addr = argv[6];
	e[1].port = atoi(argv[7]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = !strcmp(argv[1], "open") ? simul_open(e) : simul_close(e);
	close(e[0].fd);
	close(e[1].fd);
	return rc;
}
