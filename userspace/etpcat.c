// SPDX-License-Identifier: GPL-2.0
/*
 * etpcat: netcat for ETP, the Educational Transport Protocol.
 *
 *   etpcat [options] HOST PORT          connect, then copy stdin <-> socket
 *   etpcat -l [options] [-s ADDR] PORT  accept one connection, then copy
 *
 * End of file on stdin half-closes the connection (shutdown(SHUT_WR), which
 * sends a FIN); etpcat keeps printing what the peer sends and exits 0 once
 * the peer has closed its side as well. Exit status tells what went wrong:
 * see usage().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/etp.h>

#define EXIT_USAGE	1	/* bad command line */
#define EXIT_SETUP	2	/* socket, bind, listen, accept or connect failed */
#define EXIT_XFER	3	/* error while moving data (reset, I/O error) */

#define BUFSZ		65536

static const char *prog = "etpcat";
static bool verbose;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options] HOST PORT\n"
		"       %s -l [options] [-s ADDR] PORT\n"
		"\n"
		"netcat for ETP (IP protocol %d): copies stdin to the connection and\n"
		"the connection to stdout. End of file on stdin half-closes the\n"
		"connection (sends FIN); %s exits once the peer has closed too.\n"
		"\n"
		"Options:\n"
		"  -l        listen and accept one connection, then stop listening\n"
		"  -s ADDR   local address to bind (default: any)\n"
		"  -p PORT   local port for an outgoing connection (default: ephemeral)\n"
		"  -w SECS   give up if connect (or, with -l, accept) takes longer\n"
		"  -T        use TCP instead of ETP (for comparison)\n"
		"  -v        print connection events and ETP state to stderr\n"
		"  -h        print this help (also --help)\n"
		"\n"
		"Exit status:\n"
		"  0  both directions closed cleanly\n"
		"  1  usage error\n"
		"  2  socket, bind, listen, accept or connect failed (refused, timed out)\n"
		"  3  transfer error (connection reset, read or write error)\n",
		prog, prog, IPPROTO_ETP, prog);
}

static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* "etpcat: what failed: strerror", then exit with @code. */
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

static void __attribute__((noreturn, format(printf, 1, 2)))
die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fprintf(stderr, "Try '%s -h' for help.\n", prog);
	exit(EXIT_USAGE);
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

static const char *state_name(int state)
{
	static const char *const names[] = {
		[ETP_ESTABLISHED] = "ESTABLISHED", [ETP_SYN_SENT] = "SYN_SENT",
		[ETP_SYN_RECV] = "SYN_RECV", [ETP_FIN_WAIT1] = "FIN_WAIT1",
		[ETP_FIN_WAIT2] = "FIN_WAIT2", [ETP_TIME_WAIT] = "TIME_WAIT",
		[ETP_CLOSE] = "CLOSE", [ETP_CLOSE_WAIT] = "CLOSE_WAIT",
		[ETP_LAST_ACK] = "LAST_ACK", [ETP_LISTEN] = "LISTEN",
		[ETP_CLOSING] = "CLOSING",
	};

	if (state > 0 && state < (int)(sizeof(names) / sizeof(names[0])))
		return names[state];
	return "?";
}

static int proto = IPPROTO_ETP;

/* Only --help is long; every other option has its one letter. */
static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* With -v, a one-line summary of getsockopt(ETP_INFO). */
static void log_info(int fd, const char *when)
{
	struct etp_info info;
	socklen_t len = sizeof(info);

	if (!verbose || proto != IPPROTO_ETP)
		return;
	memset(&info, 0, sizeof(info));
	if (getsockopt(fd, SOL_ETP, ETP_INFO, &info, &len) < 0) {
		vlog("%s: getsockopt ETP_INFO: %s", when, strerror(errno));
		return;
	}
	vlog("%s: state %s iss %u irs %u snd_una %u snd_nxt %u rcv_nxt %u "
	     "mss %u peer_mss %u snd_wnd %u rcv_wnd %u rto %uus srtt %uus "
	     "retrans %u sent %llu acked %llu received %llu",
	     when, state_name(info.etpi_state), info.etpi_iss, info.etpi_irs,
	     info.etpi_snd_una, info.etpi_snd_nxt, info.etpi_rcv_nxt,
	     info.etpi_mss, info.etpi_peer_mss, info.etpi_snd_wnd,
	     info.etpi_rcv_wnd, info.etpi_rto, info.etpi_srtt,
	     info.etpi_retrans,
	     (unsigned long long)info.etpi_bytes_sent,
	     (unsigned long long)info.etpi_bytes_acked,
	     (unsigned long long)info.etpi_bytes_received);
}

static unsigned short parse_port(const char *s, bool zero_ok)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > 65535 || (!v && !zero_ok))
		die_usage("invalid port '%s'", s);
	return (unsigned short)v;
}

static void resolve(const char *host, unsigned short port,
		    struct sockaddr_in *sin)
{
	struct addrinfo hints = { .ai_family = AF_INET };
	struct addrinfo *res;
	int err;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1)
		return;
	err = getaddrinfo(host, NULL, &hints, &res);
	if (err) {
		fprintf(stderr, "%s: resolve %s: %s\n", prog, host,
			gai_strerror(err));
		exit(EXIT_USAGE);
	}
	sin->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
}

static int new_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);

	if (fd < 0)
		die_errno(EXIT_SETUP, errno, "socket(AF_INET, SOCK_STREAM, %d)",
			  proto);
	return fd;
}

/* Wait up to @timeout_ms (-1: forever) for @events on @fd. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		die_errno(EXIT_SETUP, errno, "poll");
	return n;
}

static int do_listen(const struct sockaddr_in *local, int timeout_ms)
{
	struct sockaddr_in peer, me;
	socklen_t len;
	int one = 1;
	int lfd, fd;

	lfd = new_socket();
	/* Like most servers (and nc -l), allow restarting over TIME_WAIT. */
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die_errno(EXIT_SETUP, errno, "setsockopt SO_REUSEADDR");
	if (bind(lfd, (const struct sockaddr *)local, sizeof(*local)) < 0)
		die_errno(EXIT_SETUP, errno, "bind %s", addr_str(local));
	if (listen(lfd, 1) < 0)
		die_errno(EXIT_SETUP, errno, "listen %s", addr_str(local));
	len = sizeof(me);
	if (getsockname(lfd, (struct sockaddr *)&me, &len) < 0)
		die_errno(EXIT_SETUP, errno, "getsockname");
	vlog("listening on %s", addr_str(&me));

	if (timeout_ms >= 0 && !wait_fd(lfd, POLLIN, timeout_ms))
		die_errno(EXIT_SETUP, ETIMEDOUT, "accept on %s", addr_str(&me));
	len = sizeof(peer);
	do {
		fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die_errno(EXIT_SETUP, errno, "accept on %s", addr_str(&me));
	len = sizeof(me);
	if (getsockname(fd, (struct sockaddr *)&me, &len) < 0)
		die_errno(EXIT_SETUP, errno, "getsockname");
	vlog("connection from %s to %s", addr_str(&peer), addr_str(&me));
	log_info(fd, "accepted");
	/* One connection, like nc -l: later SYNs to this port are refused. */
	close(lfd);
	return fd;
}

static int do_connect(const struct sockaddr_in *local, bool bind_local,
		      const struct sockaddr_in *remote, int timeout_ms)
{
	struct sockaddr_in me;
	socklen_t len;
	int fd, err, flags;

	fd = new_socket();
	if (bind_local &&
	    bind(fd, (const struct sockaddr *)local, sizeof(*local)) < 0)
		die_errno(EXIT_SETUP, errno, "bind %s", addr_str(local));

	vlog("connecting to %s", addr_str(remote));
	flags = fcntl(fd, F_GETFL);
	if (timeout_ms >= 0)
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (const struct sockaddr *)remote, sizeof(*remote)) < 0) {
		if (errno != EINPROGRESS || timeout_ms < 0)
			die_errno(EXIT_SETUP, errno, "connect %s",
				  addr_str(remote));
		if (!wait_fd(fd, POLLOUT, timeout_ms))
			die_errno(EXIT_SETUP, ETIMEDOUT, "connect %s",
				  addr_str(remote));
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			die_errno(EXIT_SETUP, errno, "getsockopt SO_ERROR");
		if (err)
			die_errno(EXIT_SETUP, err, "connect %s",
				  addr_str(remote));
	}
	fcntl(fd, F_SETFL, flags);
	len = sizeof(me);
	if (getsockname(fd, (struct sockaddr *)&me, &len) < 0)
		die_errno(EXIT_SETUP, errno, "getsockname");
	vlog("connected to %s from %s", addr_str(remote), addr_str(&me));
	log_info(fd, "connected");
	return fd;
}

/* Write all of @buf to a blocking descriptor. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Copy stdin -> sock and sock -> stdout until both directions are done.
 * The socket is non-blocking so that a full send buffer never stops us from
 * draining the receive side (two etpcats piping into each other would
 * otherwise deadlock).
 */
static int relay(int sock)
{
	static char in_buf[BUFSZ], net_buf[BUFSZ];
	unsigned long long sent = 0, received = 0;
	size_t in_len = 0, in_off = 0;
	bool in_eof = false, wr_shut = false, peer_eof = false;
	struct pollfd pfd[2];
	ssize_t n;

	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	if (fcntl(STDIN_FILENO, F_GETFD) < 0)
		in_eof = true;

	while (!(wr_shut && peer_eof)) {
		pfd[0].fd = (!in_eof && !in_len) ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].events = (peer_eof ? 0 : POLLIN) |
				(in_len ? POLLOUT : 0);
		/* After the peer's FIN, only look at the socket to send. */
		pfd[1].fd = pfd[1].events ? sock : -1;

		if (in_eof && !in_len && !wr_shut) {
			if (shutdown(sock, SHUT_WR) < 0)
				die_errno(EXIT_XFER, errno, "shutdown");
			wr_shut = true;
			vlog("end of input after %llu bytes: sent FIN (half-closed)",
			     sent);
			log_info(sock, "half-closed");
			continue;
		}

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno(EXIT_XFER, errno, "poll");
		}

		if (pfd[0].revents) {
			n = read(STDIN_FILENO, in_buf, sizeof(in_buf));
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				die_errno(EXIT_XFER, errno, "read stdin");
			if (n == 0)
				in_eof = true;
			if (n > 0) {
				in_len = n;
				in_off = 0;
			}
		}

		if (pfd[1].revents & POLLERR && peer_eof) {
			int err = 0;
			socklen_t len = sizeof(err);

			getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len);
			die_errno(EXIT_XFER, err ? err : EPIPE, "connection");
		}

		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR) && !peer_eof) {
			n = recv(sock, net_buf, sizeof(net_buf), 0);
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				die_errno(EXIT_XFER, errno, "recv");
			if (n == 0) {
				peer_eof = true;
				vlog("peer closed its side (FIN received) after %llu bytes",
				     received);
				log_info(sock, "peer closed");
			}
			if (n > 0) {
				received += n;
				if (write_all(STDOUT_FILENO, net_buf, n) < 0)
					die_errno(EXIT_XFER, errno,
						  "write stdout");
			}
		}

		if (in_len && pfd[1].revents & (POLLOUT | POLLHUP | POLLERR)) {
			n = send(sock, in_buf + in_off, in_len, MSG_NOSIGNAL);
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				die_errno(EXIT_XFER, errno, "send");
			if (n > 0) {
				sent += n;
				in_off += n;
				in_len -= n;
			}
		}
	}
	vlog("done: sent %llu bytes, received %llu bytes", sent, received);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in local = { .sin_family = AF_INET };
	struct sockaddr_in remote;
	bool listen_mode = false, bind_local = false;
	int timeout_ms = -1;
	int opt, fd;

	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hls:p:w:Tv", long_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'l':
			listen_mode = true;
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &local.sin_addr) != 1)
				die_usage("invalid local address '%s'", optarg);
			bind_local = true;
			break;
		case 'p':
			local.sin_port = htons(parse_port(optarg, false));
			bind_local = true;
			break;
		case 'w': {
			char *end;
			double secs = strtod(optarg, &end);

			if (*end || !*optarg || secs <= 0 || secs > INT_MAX / 1000)
				die_usage("invalid timeout '%s'", optarg);
			timeout_ms = (int)(secs * 1000);
			break;
		}
		case 'T':
			proto = IPPROTO_TCP;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			if (!optopt || !strncmp(argv[optind - 1], "--", 2))
				fprintf(stderr, "%s: invalid option %s\n",
					prog, argv[optind - 1]);
			else if (strchr("hls:p:w:Tv", optopt))
				fprintf(stderr, "%s: option -%c needs an argument\n",
					prog, optopt);
			else
				fprintf(stderr, "%s: invalid option -%c\n",
					prog, optopt);
			fprintf(stderr, "Try '%s -h' for help.\n", prog);
			return EXIT_USAGE;
		}
	}

	if (listen_mode) {
		if (argc - optind != 1)
			die_usage("-l takes exactly one argument, the PORT");
		if (local.sin_port)
			die_usage("-p is for outgoing connections; give the PORT to -l");
		local.sin_port = htons(parse_port(argv[optind], true));
		fd = do_listen(&local, timeout_ms);
	} else {
		if (argc - optind != 2)
			die_usage("need HOST and PORT");
		resolve(argv[optind], parse_port(argv[optind + 1], false),
			&remote);
		fd = do_connect(&local, bind_local, &remote, timeout_ms);
	}

	relay(fd);
	log_info(fd, "closing");
	close(fd);
	return 0;
}
