// SPDX-License-Identifier: GPL-2.0
/*
 * etp-xfer: a transfer helper for ETP tests, one binary for both ends.
 *
 * It sends a file or N pseudo-random bytes, receives whatever the peer
 * sends (optionally into a file), and prints a SHA-256 of each direction so
 * that scripts can check a transfer byte for byte. Options let one end
 * echo, reply with the digest of what it received (-H), or check such a
 * reply against what it sent (-C), which is how two machines that cannot
 * compare files agree on a result. Exit status says what went wrong.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/etp.h>

#include "sha256.h"

#define EXIT_USAGE	1
#define EXIT_SETUP	2	/* socket, bind, listen, accept, connect */
#define EXIT_XFER	3	/* reset, I/O error, short reply */
#define EXIT_TIMEOUT	4	/* -t deadline passed */
#define EXIT_MISMATCH	5	/* bytes or digest differ from what was expected */

#define BUFSZ		(256 * 1024)

static const char *prog = "etp-xfer";
static bool quiet;
static int proto = IPPROTO_ETP;
static double deadline;		/* CLOCK_MONOTONIC seconds */

/* Only --help is long; every other option has its one letter. */
static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the connection looked like when a transfer went wrong. */
static void print_info(int fd)
{
	struct etp_info i;
	socklen_t len = sizeof(i);

	if (proto != IPPROTO_ETP ||
	    getsockopt(fd, SOL_ETP, ETP_INFO, &i, &len) < 0)
		return;
	fprintf(stderr,
		"%s: state %u snd_una %u snd_nxt %u rcv_nxt %u snd_wnd %u rcv_wnd %u "
		"cwnd %u ssthresh %u in_flight %u ca_state %u rto %u backoff %u "
		"retrans %u timeouts %u fast_retrans %u dup_acks %u ooo_segs %u "
		"ooo_bytes %u probes %u\n",
		prog, i.etpi_state, i.etpi_snd_una, i.etpi_snd_nxt, i.etpi_rcv_nxt,
		i.etpi_snd_wnd, i.etpi_rcv_wnd, i.etpi_cwnd, i.etpi_ssthresh,
		i.etpi_in_flight, i.etpi_ca_state, i.etpi_rto, i.etpi_backoff,
		i.etpi_retrans, i.etpi_timeouts, i.etpi_fast_retrans,
		i.etpi_dup_acks, i.etpi_ooo_segs, i.etpi_ooo_bytes, i.etpi_probes);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options] HOST PORT\n"
		"       %s -l [options] PORT\n"
		"\n"
		"Moves bytes over one ETP (or TCP) connection and prints a SHA-256\n"
		"of each direction.\n"
		"\n"
		"  -l          listen, accept one connection\n"
		"  -s ADDR     local address to bind\n"
		"  -p PORT     local port of an outgoing connection\n"
		"  -P PROTO    etp (default) or tcp\n"
		"  -i FILE     send the contents of FILE\n"
		"  -n BYTES    send BYTES pseudo-random bytes (suffix k, M, G: 1024^n)\n"
		"  -S SEED     seed for -n (default: random)\n"
		"  -o FILE     write the received bytes to FILE\n"
		"  -x BYTES    expect to receive exactly BYTES\n"
		"  -E          echo everything received back to the peer\n"
		"  -e          expect the received stream to equal the sent one\n"
		"              (against a peer running -E)\n"
		"  -H          when the peer has finished, reply with the line\n"
		"              'sha256 HEX BYTES' describing what was received\n"
		"  -C          after sending, read the peer's -H reply and check it\n"
		"  -r SECS     keep retrying a refused or unanswered connect for SECS\n"
		"  -c SECS     limit for one connect attempt (default 5)\n"
		"  -t SECS     give up after SECS in total (default 300)\n"
		"  -q          print only the result lines\n"
		"  -h          print this help (also --help)\n"
		"\n"
		"Result lines on stdout:\n"
		"  sent BYTES sha256 HEX\n"
		"  received BYTES sha256 HEX\n"
		"  peer-received BYTES sha256 HEX      (with -C)\n"
		"  elapsed SECS rate MB/s\n"
		"\n"
		"Exit status: 0 ok, 1 usage, 2 socket/bind/listen/accept/connect failed,\n"
		"3 transfer error (reset, I/O error, bad reply), 4 timeout,\n"
		"5 data mismatch (-x, -e, -C)\n",
		prog, prog);
}

static void __attribute__((noreturn, format(printf, 3, 4)))
die_errno(int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", strerror(err));
	va_end(ap);
	exit(code);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (code == EXIT_USAGE)
		fprintf(stderr, "Try '%s -h' for help.\n", prog);
	exit(code);
}

static void __attribute__((format(printf, 1, 2))) info(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Milliseconds left before @until (at least 0), for poll(). */
static int ms_left(double until)
{
	double left = until - now();

	if (left <= 0)
		return 0;
	if (left > INT_MAX / 1000)
		return INT_MAX;
	return (int)(left * 1000) + 1;
}

static unsigned long long parse_size(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		die(EXIT_USAGE, "invalid size '%s'", s);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		die(EXIT_USAGE, "invalid size '%s'", s);
	return v;
}

static double parse_secs(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v <= 0)
		die(EXIT_USAGE, "invalid time '%s'", s);
	return v;
}

static unsigned short parse_port(const char *s, bool zero_ok)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 65535 || (!v && !zero_ok))
		die(EXIT_USAGE, "invalid port '%s'", s);
	return (unsigned short)v;
}

static const char *addr_str(const struct sockaddr_in *sin)
{
	static char buf[2][INET_ADDRSTRLEN + 8];
	static int which;
	char a[INET_ADDRSTRLEN];

	which ^= 1;
	inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
	snprintf(buf[which], sizeof(buf[which]), "%s:%u", a,
		 ntohs(sin->sin_port));
	return buf[which];
}

/* xorshift64*: fast, and the same seed gives the same bytes everywhere. */
static uint64_t prng_state;

static void prng_fill(uint8_t *p, size_t len)
{
	while (len) {
		uint64_t x = prng_state;
		size_t n = len < 8 ? len : 8;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		prng_state = x;
		x *= 0x2545f4914f6cdd1dULL;
		memcpy(p, &x, n);
		p += n;
		len -= n;
	}
}

static int xfer_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);

	if (fd < 0)
		die_errno(EXIT_SETUP, errno, "socket(AF_INET, SOCK_STREAM, %d)",
			  proto);
	return fd;
}

static int do_listen(struct sockaddr_in *local)
{
	struct sockaddr_in peer;
	struct pollfd pfd;
	socklen_t len;
	int one = 1, lfd, fd, n;

	lfd = xfer_socket();
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)local, sizeof(*local)) < 0)
		die_errno(EXIT_SETUP, errno, "bind %s", addr_str(local));
	if (listen(lfd, 4) < 0)
		die_errno(EXIT_SETUP, errno, "listen");
	len = sizeof(*local);
	getsockname(lfd, (struct sockaddr *)local, &len);
	info("listening on %s", addr_str(local));

	pfd.fd = lfd;
	pfd.events = POLLIN;
	do {
		n = poll(&pfd, 1, ms_left(deadline));
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		die(EXIT_TIMEOUT, "timeout waiting for a connection on %s",
		    addr_str(local));
	len = sizeof(peer);
	fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	if (fd < 0)
		die_errno(EXIT_SETUP, errno, "accept");
	info("connection from %s", addr_str(&peer));
	close(lfd);
	return fd;
}

/* One connect attempt bounded by @limit seconds; returns fd or -errno. */
static int try_connect(const struct sockaddr_in *local, bool bind_local,
		       const struct sockaddr_in *remote, double limit)
{
	struct pollfd pfd;
	socklen_t len;
	int fd, err = 0, n;

	fd = xfer_socket();
	if (bind_local) {
		int one = 1;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)local, sizeof(*local)) < 0)
			die_errno(EXIT_SETUP, errno, "bind %s", addr_str(local));
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (const struct sockaddr *)remote, sizeof(*remote)) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			n = poll(&pfd, 1, ms_left(now() + limit));
		} while (n < 0 && errno == EINTR);
		if (n == 0) {
			err = ETIMEDOUT;
			goto fail;
		}
		len = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -err;
}

static int do_connect(const struct sockaddr_in *local, bool bind_local,
		      const struct sockaddr_in *remote, double retry_for,
		      double attempt_limit)
{
	double retry_until = now() + retry_for;
	int fd, attempts = 0;

	for (;;) {
		double limit = attempt_limit;

		if (limit > deadline - now())
			limit = deadline - now();
		fd = try_connect(local, bind_local, remote, limit > 0 ? limit : 0.001);
		attempts++;
		if (fd >= 0)
			break;
		if (retry_for <= 0 || now() + 0.2 >= retry_until ||
		    now() + 0.2 >= deadline ||
		    (fd != -ECONNREFUSED && fd != -ETIMEDOUT &&
		     fd != -EHOSTUNREACH && fd != -ENETUNREACH &&
		     fd != -ECONNRESET))
			die_errno(fd == -ETIMEDOUT && now() >= deadline ?
				  EXIT_TIMEOUT : EXIT_SETUP, -fd,
				  "connect %s (%d attempts)", addr_str(remote),
				  attempts);
		usleep(200 * 1000);
	}
	info("connected to %s after %d attempt(s)", addr_str(remote), attempts);
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

struct opts {
	const char *in_file, *out_file;
	unsigned long long gen_bytes, expect_bytes;
	bool gen, expect, echo, expect_echo, reply_hash, check_reply;
};

int main(int argc, char **argv)
{
	static uint8_t sbuf[BUFSZ], rbuf[BUFSZ];
	struct sockaddr_in local = { .sin_family = AF_INET }, remote;
	struct sha256 sent_sha, recv_sha;
	char sent_hex[65], recv_hex[65], reply[256];
	unsigned long long sent = 0, received = 0, gen_left = 0;
	bool listen_mode = false, bind_local = false, have_seed = false;
	bool src_eof, wr_shut = false, peer_eof = false, reply_queued = false;
	double retry_for = 0, attempt_limit = 5, total = 300, start;
	size_t s_off = 0, s_len = 0, reply_len = 0;
	int opt, fd, in_fd = -1, out_fd = -1, rc = 0;
	struct opts o = { 0 };
	uint64_t seed = 0;

	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hls:p:P:i:n:S:o:x:EeHCr:c:t:q",
				  long_opts, NULL)) != -1) {
		switch (opt) {
		case 'h': usage(stdout); return 0;
		case 'l': listen_mode = true; break;
		case 's':
			if (inet_pton(AF_INET, optarg, &local.sin_addr) != 1)
				die(EXIT_USAGE, "invalid address '%s'", optarg);
			bind_local = true;
			break;
		case 'p':
			local.sin_port = htons(parse_port(optarg, false));
			bind_local = true;
			break;
		case 'P':
			if (!strcmp(optarg, "etp"))
				proto = IPPROTO_ETP;
			else if (!strcmp(optarg, "tcp"))
				proto = IPPROTO_TCP;
			else
				die(EXIT_USAGE, "unknown protocol '%s'", optarg);
			break;
		case 'i': o.in_file = optarg; break;
		case 'n': o.gen = true; o.gen_bytes = parse_size(optarg); break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 'o': o.out_file = optarg; break;
		case 'x': o.expect = true; o.expect_bytes = parse_size(optarg); break;
		case 'E': o.echo = true; break;
		case 'e': o.expect_echo = true; break;
		case 'H': o.reply_hash = true; break;
		case 'C': o.check_reply = true; break;
		case 'r': retry_for = parse_secs(optarg); break;
		case 'c': attempt_limit = parse_secs(optarg); break;
		case 't': total = parse_secs(optarg); break;
		case 'q': quiet = true; break;
		default:
			if (!optopt || !strncmp(argv[optind - 1], "--", 2))
				fprintf(stderr, "%s: invalid option %s\n",
					prog, argv[optind - 1]);
			else if (strchr("hls:p:P:i:n:S:o:x:EeHCr:c:t:q", optopt))
				fprintf(stderr, "%s: option -%c needs an argument\n",
					prog, optopt);
			else
				fprintf(stderr, "%s: invalid option -%c\n",
					prog, optopt);
			fprintf(stderr, "Try '%s -h' for help.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (listen_mode ? argc - optind != 1 : argc - optind != 2)
		die(EXIT_USAGE, listen_mode ? "-l takes one argument, the PORT" :
		    "need HOST and PORT");
	if (o.in_file && o.gen)
		die(EXIT_USAGE, "-i and -n are exclusive");
	if ((o.echo || o.reply_hash) && (o.in_file || o.gen || o.check_reply))
		die(EXIT_USAGE, "-E and -H send only what they are given by the peer");
	if (o.echo && o.reply_hash)
		die(EXIT_USAGE, "-E and -H are exclusive");
	if (o.check_reply && o.expect_echo)
		die(EXIT_USAGE, "-C and -e are exclusive");

	if (o.in_file) {
		in_fd = open(o.in_file, O_RDONLY | O_CLOEXEC);
		if (in_fd < 0)
			die_errno(EXIT_USAGE, errno, "open %s", o.in_file);
	}
	if (o.out_file) {
		out_fd = open(o.out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);
		if (out_fd < 0)
			die_errno(EXIT_USAGE, errno, "open %s", o.out_file);
	}
	if (o.gen) {
		if (!have_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		prng_state = seed ? seed : 1;
		gen_left = o.gen_bytes;
	}
	src_eof = !o.in_file && !o.gen && !o.echo && !o.reply_hash;

	deadline = now() + total;
	if (listen_mode) {
		local.sin_port = htons(parse_port(argv[optind], true));
		fd = do_listen(&local);
	} else {
		memset(&remote, 0, sizeof(remote));
		remote.sin_family = AF_INET;
		remote.sin_port = htons(parse_port(argv[optind + 1], false));
		if (inet_pton(AF_INET, argv[optind], &remote.sin_addr) != 1)
			die(EXIT_USAGE, "invalid address '%s'", argv[optind]);
		fd = do_connect(&local, bind_local, &remote, retry_for,
				attempt_limit);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);

	sha256_init(&sent_sha);
	sha256_init(&recv_sha);
	start = now();

	while (!(wr_shut && peer_eof)) {
		struct pollfd pfd = { .fd = fd };
		ssize_t n;

		/* Refill the send buffer from the source. */
		if (!s_len && !src_eof) {
			s_off = 0;
			if (in_fd >= 0) {
				n = read(in_fd, sbuf, sizeof(sbuf));
				if (n < 0)
					die_errno(EXIT_XFER, errno, "read %s",
						  o.in_file);
				if (n == 0)
					src_eof = true;
				s_len = n;
			} else if (o.gen) {
				s_len = gen_left < sizeof(sbuf) ? gen_left :
								  sizeof(sbuf);
				prng_fill(sbuf, s_len);
				gen_left -= s_len;
				if (!gen_left)
					src_eof = true;
			} else if (o.reply_hash && reply_queued) {
				memcpy(sbuf, reply, reply_len);
				s_len = reply_len;
				src_eof = true;
			} else if ((o.echo || o.reply_hash) && peer_eof) {
				src_eof = true;
			}
		}
		if (!s_len && src_eof && !wr_shut) {
			if (shutdown(fd, SHUT_WR) < 0)
				die_errno(EXIT_XFER, errno, "shutdown");
			wr_shut = true;
			continue;
		}

		/* An echo server reads only when it can send the data back. */
		if (!peer_eof && !(o.echo && s_len))
			pfd.events |= POLLIN;
		if (s_len)
			pfd.events |= POLLOUT;
		if (!pfd.events) {
			/* Only -H waiting for its reply to be queued. */
			continue;
		}
		n = poll(&pfd, 1, ms_left(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno(EXIT_XFER, errno, "poll");
		if (n == 0) {
			fprintf(stderr, "%s: timeout after %.1f s: sent %llu received %llu\n",
				prog, total, sent, received);
			print_info(fd);
			return EXIT_TIMEOUT;
		}

		if (pfd.revents & (POLLIN | POLLHUP | POLLERR) && !peer_eof &&
		    !(o.echo && s_len)) {
			n = recv(fd, rbuf, sizeof(rbuf), 0);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				die_errno(EXIT_XFER, errno,
					  "recv after %llu bytes received, %llu sent",
					  received, sent);
			if (n == 0) {
				peer_eof = true;
				if (o.reply_hash) {
					struct sha256 tmp = recv_sha;

					sha256_hex(&tmp, recv_hex);
					reply_len = snprintf(reply, sizeof(reply),
							     "sha256 %s %llu\n",
							     recv_hex, received);
					reply_queued = true;
				}
			}
			if (n > 0) {
				if (o.check_reply && received < sizeof(reply) - 1) {
					size_t k = sizeof(reply) - 1 - received;

					memcpy(reply + received, rbuf,
					       (size_t)n < k ? (size_t)n : k);
				}
				received += n;
				sha256_update(&recv_sha, rbuf, n);
				if (out_fd >= 0 && write_all(out_fd, rbuf, n) < 0)
					die_errno(EXIT_XFER, errno, "write %s",
						  o.out_file);
				if (o.echo) {
					memcpy(sbuf, rbuf, n);
					s_off = 0;
					s_len = n;
				}
			}
		}
		if (s_len && pfd.revents & (POLLOUT | POLLERR | POLLHUP)) {
			n = send(fd, sbuf + s_off, s_len, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				die_errno(EXIT_XFER, errno,
					  "send after %llu bytes sent, %llu received",
					  sent, received);
			if (n > 0) {
				sha256_update(&sent_sha, sbuf + s_off, n);
				sent += n;
				s_off += n;
				s_len -= n;
			}
		}
	}

	{
		double secs = now() - start;
		unsigned long long moved = sent > received ? sent : received;

		sha256_hex(&sent_sha, sent_hex);
		sha256_hex(&recv_sha, recv_hex);
		printf("sent %llu sha256 %s\n", sent, sent_hex);
		printf("received %llu sha256 %s\n", received, recv_hex);
		if (o.check_reply) {
			char hex[65];
			unsigned long long bytes;

			reply[received < sizeof(reply) ? received :
			      sizeof(reply) - 1] = 0;
			if (sscanf(reply, "sha256 %64[0-9a-f] %llu", hex,
				   &bytes) != 2) {
				fprintf(stderr, "%s: no digest in the peer's reply\n",
					prog);
				return EXIT_XFER;
			}
			printf("peer-received %llu sha256 %s\n", bytes, hex);
			if (bytes != sent || strcmp(hex, sent_hex)) {
				fprintf(stderr, "%s: peer received %llu bytes sha256 %s, "
					"but %llu bytes sha256 %s were sent\n",
					prog, bytes, hex, sent, sent_hex);
				rc = EXIT_MISMATCH;
			}
		}
		printf("elapsed %.3f rate %.2f MB/s\n", secs,
		       secs > 0 ? moved / secs / 1e6 : 0.0);
		fflush(stdout);
		if (o.expect && received != o.expect_bytes) {
			fprintf(stderr, "%s: received %llu bytes, expected %llu\n",
				prog, received, o.expect_bytes);
			rc = EXIT_MISMATCH;
		}
		if (o.expect_echo &&
		    (received != sent || strcmp(sent_hex, recv_hex))) {
			fprintf(stderr, "%s: echo differs: sent %llu sha256 %s, "
				"received %llu sha256 %s\n", prog, sent,
				sent_hex, received, recv_hex);
			rc = EXIT_MISMATCH;
		}
	}
	if (out_fd >= 0 && close(out_fd) < 0)
		die_errno(EXIT_XFER, errno, "close %s", o.out_file);
	close(fd);
	return rc;
}
