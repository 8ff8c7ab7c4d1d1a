// SPDX-License-Identifier: GPL-2.0
/*
 * etp_hold: keep ETP sockets open for a shell test (e.g. to show that
 * rmmod is refused while a socket exists).
 *
 *   etp_hold [-r READYFILE] [-t SECS] KIND...
 *
 * KIND is one of
 *   socket   an unbound socket
 *   bound    a socket bound to 127.0.0.1, port 0
 *   listen   a listener on 127.0.0.1, port 0
 *   pair     a connected pair on 127.0.0.1 (both ends held)
 *   sink:PORT  a listener on 0.0.0.0:PORT that accepts connections and
 *            never reads from them: closing them at exit, with data
 *            unread, resets them (RFC 9293, 3.6)
 *
 * When everything is open it writes "ready" to READYFILE (if given) and to
 * stdout, then waits until SIGTERM/SIGINT or SECS (default 60) seconds, and
 * closes everything. Exit status: 0 ok, 1 usage, 2 a socket call failed.
 */
#define _GNU_SOURCE
#include <signal.h>
#include "etp_common.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void fail(const char *what)
{
	fprintf(stderr, "etp_hold: %s: %s\n", what, strerror(errno));
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ready = NULL;
	int fds[256], nfds = 0, secs = 60, opt, i, sink = -1;
	struct sigaction sa = { .sa_handler = on_signal };
	long long end;

	while ((opt = getopt(argc, argv, "r:t:")) != -1) {
		switch (opt) {
		case 'r': ready = optarg; break;
		case 't': secs = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: etp_hold [-r READYFILE] [-t SECS] socket|bound|listen|pair...\n");
			return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "etp_hold: no KIND given\n");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	for (i = optind; i < argc && nfds < 250; i++) {
		const char *k = argv[i];
		unsigned short port;
		int fd, c, s;

		if (!strcmp(k, "socket")) {
			fd = etp_socket();
			if (fd < 0)
				fail("socket");
			fds[nfds++] = fd;
		} else if (!strcmp(k, "bound")) {
			fd = etp_socket();
			if (fd < 0 || etp_bind(fd, "127.0.0.1", 0) < 0)
				fail("bind");
			fds[nfds++] = fd;
		} else if (!strcmp(k, "listen")) {
			fd = etp_listener("127.0.0.1", &port);
			if (fd < 0)
				fail("listen");
			fds[nfds++] = fd;
			printf("listen %u\n", port);
		} else if (!strcmp(k, "pair")) {
			if (etp_pair(&c, &s) < 0)
				fail("connected pair");
			fds[nfds++] = c;
			fds[nfds++] = s;
			printf("pair %u %u\n", etp_local_port(c), etp_local_port(s));
		} else if (!strncmp(k, "sink:", 5)) {
			fd = etp_socket();
			if (fd < 0 || etp_bind(fd, "0.0.0.0", atoi(k + 5)) < 0 ||
			    listen(fd, 8) < 0)
				fail("sink listener");
			fds[nfds++] = fd;
			sink = fd;
		} else {
			fprintf(stderr, "etp_hold: unknown KIND '%s'\n", k);
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f)
			fail(ready);
		fprintf(f, "ready\n");
		fclose(f);
	}
	end = etp_now_ms() + secs * 1000LL;
	while (!stop && etp_now_ms() < end) {
		struct pollfd pfd = { .fd = sink, .events = POLLIN };

		if (sink >= 0 && poll(&pfd, 1, 20) == 1 && nfds < 250) {
			int fd = accept(sink, NULL, NULL);

			if (fd >= 0)
				fds[nfds++] = fd;
		} else if (sink < 0) {
			etp_sleep_ms(20);
		}
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return 0;
}
