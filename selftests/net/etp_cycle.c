// SPDX-License-Identifier: GPL-2.0
/*
 * etp_cycle: many short lives, for etp_lifecycle.sh.
 *
 *   etp_cycle conn N [BYTES]
 *       N connections on 127.0.0.1 in the current network namespace:
 *       connect, accept, BYTES (default 1000) each way, close. One worker
 *       process per CPU, each with its own listener, makes its share one
 *       after another. The way they close rotates: the client first (the
 *       client ends in TIME_WAIT), the server first (the server does), a
 *       RST (SO_LINGER 0, no TIME_WAIT), and a client closing with unread
 *       data (RST, RFC 2525, 2.17).
 *
 *   etp_cycle load N MODULE
 *       N unload/load cycles of the module (delete_module, finit_module:
 *       what rmmod and insmod do) in a network namespace of its own, each
 *       after four connections that leave TIME_WAIT entries for the unload
 *       to reap. Before each unload the module's reference count must come
 *       back to 0; after it /sys/module/etp, ETP's slab and its line in
 *       /proc/net/protocols must be gone; after each load there must be no
 *       ETP socket and no object in ETP's slab. The module is loaded when
 *       it ends, whatever happened.
 *
 *   etp_cycle netns N
 *       N network namespaces, one after another, each made by a child
 *       process (unshare(CLONE_NEWNET)) that opens in it a listener, a
 *       connection with data unread at both ends, an idle connection, a
 *       half-closed one (FIN_WAIT2 / CLOSE_WAIT), a connection accepted
 *       but never taken from the listener's queue, and four TIME_WAIT
 *       entries, checks /proc/net/etp shows them, and is then killed
 *       (SIGKILL) with everything open: the namespace goes away with its
 *       connections and TIME_WAIT entries.
 *
 * Prints what it did and how long it took. Exit status: 0 ok, 1 usage, 2
 * a step failed.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "etp_raw.h"

static int fail(const char *what, int i)
{
	fprintf(stderr, "etp_cycle: %s (round %d): %s\n", what, i, strerror(errno));
	return 2;
}

/* Cycles of one worker; returns 0 or 2. */
static int conn_worker(long n, size_t bytes, long tally[3])
{
	static uint8_t out[65536], in[65536];
	unsigned short port;
	long i;
	int lfd;

	if (bytes > sizeof(out))
		bytes = sizeof(out);
	lfd = etp_listener("127.0.0.1", &port);
	if (lfd < 0)
		return fail("listener", 0);
	if (listen(lfd, 64))
		return fail("listen", 0);
	for (i = 0; i < n; i++) {
		int c = etp_socket(), s;	/* every call bounded: 5 s */
		char b;

		/* on loopback connect() returns with the child queued */
		if (c < 0 || etp_connect(c, "127.0.0.1", port))
			return fail("connect", i);
		s = accept(lfd, NULL, NULL);
		if (s < 0 || etp_set_timeouts(s, ETP_IO_TIMEOUT_MS))
			return fail("accept", i);
		etp_fill(out, bytes, i, 7);
		if (etp_send_all(c, out, bytes) || etp_recv_all(s, in, bytes) ||
		    etp_check(in, bytes, i, 7) >= 0)
			return fail("client to server", i);
		if (etp_send_all(s, in, bytes) || etp_recv_all(c, in, bytes) ||
		    etp_check(in, bytes, i, 7) >= 0)
			return fail("server to client", i);
		switch (i % 4) {
		case 0:	/* client first: FIN, FIN; the client's TIME_WAIT */
			close(c);
			if (recv(s, &b, 1, 0) != 0)
				return fail("end of stream at the server", i);
			close(s);
			tally[0]++;
			break;
		case 1:	/* server first */
			close(s);
			if (recv(c, &b, 1, 0) != 0)
				return fail("end of stream at the client", i);
			close(c);
			tally[1]++;
			break;
		case 2:	/* abort */
			etp_close_abort(c);
			close(s);
			tally[2]++;
			break;
		default:	/* unread data: RST */
			if (send(s, "unread", 6, 0) != 6)
				return fail("send", i);
			for (int k = 0; recv(c, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 1; k++) {
				if (k == 5000)
					return fail("unread data never came", i);
				etp_sleep_ms(1);
			}
			close(c);
			close(s);
			tally[2]++;
		}
	}
	close(lfd);
	return 0;
}

static int conn_cycles(long n, size_t bytes)
{
	long jobs = sysconf(_SC_NPROCESSORS_ONLN), j, tally[3] = { 0 };
	long (*shared)[3];
	double t0 = etp_now_s(), dt;
	int rc = 0, st;

	if (jobs < 1)
		jobs = 1;
	shared = mmap(NULL, jobs * sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return fail("mmap", 0);
	memset(shared, 0, jobs * sizeof(*shared));
	for (j = 0; j < jobs; j++) {
		pid_t pid = fork();

		if (pid < 0)
			return fail("fork", 0);
		if (!pid)
			_exit(conn_worker(n / jobs + (j < n % jobs), bytes, shared[j]));
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = 2;
	for (j = 0; j < jobs; j++) {
		tally[0] += shared[j][0];
		tally[1] += shared[j][1];
		tally[2] += shared[j][2];
	}
	dt = etp_now_s() - t0;
	printf("%ld connect/transfer/close cycles (%zu bytes each way) by %ld workers in %.1f s, %.0f per second: %ld client TIME_WAIT, %ld server TIME_WAIT, %ld RST\n",
	       tally[0] + tally[1] + tally[2], bytes, jobs, dt,
	       (tally[0] + tally[1] + tally[2]) / dt, tally[0], tally[1], tally[2]);
	if (tally[0] + tally[1] + tally[2] != n)
		rc = 2;
	return rc;
}

/* In a new namespace: open everything, report, wait to be killed. */
static int netns_child(int ready)
{
	static uint8_t junk[100000];
	unsigned short port;
	int lfd, c[8], s[8], i, tw, est;
	char b = 0;

	if (etp_private_netns())
		return fail("unshare(CLONE_NEWNET)", 0);
	lfd = etp_listener("127.0.0.1", &port);
	if (lfd < 0)
		return fail("listener", 0);
	for (i = 0; i < 5; i++) {
		c[i] = etp_socket();
		if (c[i] < 0 || etp_connect(c[i], "127.0.0.1", port))
			return fail("connect", i);
		s[i] = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
		if (s[i] < 0)
			return fail("accept", i);
	}
	/* 0: data unread at both ends */
	if (send(c[0], junk, sizeof(junk), 0) <= 0 ||
	    send(s[0], junk, sizeof(junk), 0) <= 0)
		return fail("send", 0);
	/* 1: idle. 2: half-closed. 3 to 6: TIME_WAIT at the client. */
	shutdown(c[2], SHUT_WR);
	for (i = 3; i < 7; i++) {
		if (i >= 5) {
			c[i] = etp_socket();
			if (c[i] < 0 || etp_connect(c[i], "127.0.0.1", port))
				return fail("connect", i);
			s[i] = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
			if (s[i] < 0)
				return fail("accept", i);
		}
		close(c[i]);
		if (recv(s[i], &b, 1, 0) != 0)
			return fail("end of stream", i);
		close(s[i]);
	}
	/* 7: established, still in the listener's accept queue */
	c[7] = etp_socket();
	if (c[7] < 0 || etp_connect(c[7], "127.0.0.1", port))
		return fail("connect", 7);
	/* all of it visible in /proc/net/etp */
	for (i = 0; i < 200; i++) {
		tw = etp_proc_count(ETP_TIME_WAIT);
		est = etp_proc_count(ETP_ESTABLISHED);
		if (tw == 4 && est >= 6 && etp_proc_count(ETP_FIN_WAIT2) == 1)
			break;
		etp_sleep_ms(5);
	}
	if (i == 200) {
		fprintf(stderr, "etp_cycle: namespace holds %d TIME_WAIT, %d ESTABLISHED, %d FIN_WAIT2\n",
			tw, est, etp_proc_count(ETP_FIN_WAIT2));
		return 2;
	}
	b = 'r';
	if (write(ready, &b, 1) != 1)
		return 2;
	pause();
	return 0;
}

static int netns_cycles(long n)
{
	double t0 = etp_now_s(), dt;
	long i;

	for (i = 0; i < n; i++) {
		int p[2], st;
		pid_t pid;
		char b = 0;

		if (pipe(p))
			return fail("pipe", i);
		pid = fork();
		if (pid < 0)
			return fail("fork", i);
		if (!pid) {
			close(p[0]);
			_exit(netns_child(p[1]));
		}
		close(p[1]);
		if (read(p[0], &b, 1) != 1 || b != 'r') {
			waitpid(pid, &st, 0);
			fprintf(stderr, "etp_cycle: namespace %ld was not set up\n", i);
			return 2;
		}
		close(p[0]);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	dt = etp_now_s() - t0;
	printf("%ld namespaces, each with a listener, 4 connections (data unread, idle, half-closed, not accepted) and 4 TIME_WAIT entries, killed with all of it open: %.1f s\n",
	       n, dt);
	return 0;
}

static bool module_loaded(void)
{
	return !access("/sys/module/etp", F_OK);
}

static long refcnt(void)
{
	char buf[32];

	if (etp_read_file("/sys/module/etp/refcnt", buf, sizeof(buf)) <= 0)
		return -1;
	return atol(buf);
}

/* Is there a line starting with @name in @path? */
static bool has_line(const char *path, const char *name)
{
	char line[512];
	size_t l = strlen(name);
	bool found = false;
	FILE *f = fopen(path, "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, name, l) && line[l] == ' ';
	if (f)
		fclose(f);
	return found;
}

/* ETP's socket count in /proc/net/protocols as seen from @proc_net. */
static long proto_sockets(const char *path)
{
	char line[512], n[32];
	long size, s;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %ld %ld", n, &size, &s) == 3 &&
		    !strcmp(n, "ETP")) {
			fclose(f);
			return s;
		}
	}
	if (f)
		fclose(f);
	return -1;
}

static int load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static int load_cycles(long n, const char *path)
{
	double t0 = etp_now_s(), t_unload = 0, t_load = 0, t_traffic = 0;
	long i, tally[3];
	int rc = 0;

	if (!module_loaded() && load(path))
		return fail("finit_module", 0);
	if (etp_private_netns())
		return fail("unshare(CLONE_NEWNET)", 0);
	for (i = 1; i <= n && !rc; i++) {
		double t = etp_now_s();
		long long end;

		if (conn_worker(4, 100, tally)) {
			rc = 2;
			break;
		}
		if (etp_proc_count(ETP_TIME_WAIT) < 1) {
			fprintf(stderr, "etp_cycle: cycle %ld: no TIME_WAIT entry left for the unload\n", i);
			rc = 2;
			break;
		}
		t_traffic += etp_now_s() - t;
		t = etp_now_s();
		end = etp_now_ms() + 10000;
		while (syscall(SYS_delete_module, "etp", O_NONBLOCK)) {
			if ((errno != EWOULDBLOCK && errno != EBUSY) ||
			    etp_now_ms() > end) {
				fail("delete_module (refcnt below)", i);
				fprintf(stderr, "etp_cycle: refcnt %ld\n", refcnt());
				rc = 2;
				break;
			}
			etp_sleep_ms(20);
		}
		if (rc)
			break;
		t_unload += etp_now_s() - t;
		if (module_loaded() || has_line("/proc/slabinfo", "ETP") ||
		    has_line("/proc/1/net/protocols", "ETP")) {
			fprintf(stderr, "etp_cycle: cycle %ld: after the unload: /sys/module/etp %s, ETP slab %s, ETP protocol %s\n",
				i, module_loaded() ? "present" : "gone",
				has_line("/proc/slabinfo", "ETP") ? "present" : "gone",
				has_line("/proc/1/net/protocols", "ETP") ? "present" : "gone");
			rc = 2;
		}
		t = etp_now_s();
		if (load(path))
			return fail("finit_module", i);
		t_load += etp_now_s() - t;
		if (rc)
			break;
		if (refcnt() != 0 || etp_slab_active("ETP") != 0 ||
		    proto_sockets("/proc/net/protocols") != 0 ||
		    proto_sockets("/proc/1/net/protocols") != 0 ||
		    etp_proc_count(0) != 0) {
			fprintf(stderr, "etp_cycle: cycle %ld: fresh module: refcnt %ld, ETP slab %ld, sockets %ld here and %ld in the init namespace, %d lines in /proc/net/etp\n",
				i, refcnt(), etp_slab_active("ETP"),
				proto_sockets("/proc/net/protocols"),
				proto_sockets("/proc/1/net/protocols"), etp_proc_count(0));
			rc = 2;
		}
	}
	if (!module_loaded())
		load(path);
	printf("%ld load/unload cycles in %.1f s: traffic %.1f s, unloads %.1f s, loads %.1f s\n",
	       i - 1, etp_now_s() - t0, t_traffic, t_unload, t_load);
	return rc;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && !strcmp(argv[1], "conn"))
		return conn_cycles(atol(argv[2]), argc > 3 ? atol(argv[3]) : 1000);
	if (argc == 3 && !strcmp(argv[1], "netns"))
		return netns_cycles(atol(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "load"))
		return load_cycles(atol(argv[2]), argv[3]);
	fprintf(stderr, "usage: etp_cycle conn N [BYTES] | etp_cycle netns N | etp_cycle load N MODULE\n");
	return 1;
}
