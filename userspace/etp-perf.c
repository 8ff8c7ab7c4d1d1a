// SPDX-License-Identifier: GPL-2.0
/*
 * etp-perf: throughput, request/response latency and connection rate of
 * ETP, and with -T of TCP, so that one tool measures both the same way.
 * Its options are iperf3's where iperf3 has the same meaning:
 *
 *   etp-perf -s [-p PORT] [-1] [-4|-6] [-T]
 *   etp-perf -c HOST [-p PORT] [-t SECS] [-P N] [-R] [-l LEN] [-i SECS]
 *            [-J] [-m bulk|rr|crr] [-T] [-4|-6]
 *
 * How client and server agree on a test
 * -------------------------------------
 * The client opens a control connection, always over TCP, to the server's
 * PORT. On it both send lines of ASCII text ending in '\n':
 *
 *   1. client: ETPPERF 1 proto=etp mode=bulk reverse=0 parallel=N len=L
 *              time=SECS interval=SECS
 *   2. server: OK cookie=HEX             (or ERR reason, and it closes)
 *   3. bulk and rr: the client opens N data connections over the test's
 *      protocol (ETP or TCP) to the same PORT; each first sends 13 bytes:
 *      0x01, the cookie (8 bytes, big endian), its index 0..N-1 (4 bytes,
 *      big endian). crr opens none here.
 *   4. server: GO                         (when all N have said hello; crr:
 *      right after OK). Both ends start their clocks and CPU counters.
 *   5. server: INTERVAL START END BYTES   (with -i, in bulk without -R: the
 *      server is the receiver, and it reports what it received)
 *   6. The end. bulk: after SECS the sending end shuts down the write side
 *      of every data connection and the receiver reads each to its end.
 *      rr: after SECS the client sends no new request, waits for those
 *      outstanding and shuts down. crr: after SECS the client opens no new
 *      connection and waits for those under way. Then the client says
 *      DONE (bulk: once it has shut down, or with -R read, every data
 *      connection), so that a client that vanished, whose connections end
 *      as well, is never taken for one that finished.
 *   7. server: RESULT key=value..., one line STREAM INDEX BYTES_IN
 *      BYTES_OUT SECS per data connection, END; then it closes everything.
 *
 * In crr each connection carries one request of L bytes, the first of which
 * is 0x02, and the server answers L bytes and closes first; the client reads
 * the answer and the end of the stream, and closes. On a newly accepted
 * connection the server therefore tells the three kinds apart by the first
 * byte: 'E' (a control connection, TCP only), 0x01 (a data connection) and
 * 0x02 (a crr request). The server runs one test at a time and answers
 * "ERR busy" to others; either end ends a test when the control connection
 * closes, and the server ends one with "ERR reason" when a data connection
 * fails.
 *
 * Every rate is measured where the bytes arrive: bytes handed to the
 * receiving application over the time from GO until it read the end of
 * the stream. At the end the client checks that each data connection
 * delivered exactly what the other end wrote into it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/etp.h>

#define EXIT_FAIL	1	/* refused, a connection broke, data lost, stalled */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_NET	3	/* resolve, socket, bind, listen or connect failed */
#define EXIT_NOETP	4	/* ETP not available (etp.ko not loaded; IPv6) */

#define DEFAULT_PORT	5253
#define DEFAULT_TIME	10.0
#define BULK_LEN	(128 * 1024)	/* iperf3's default for TCP */
#define MAX_LEN		(16 * 1024 * 1024)
#define MAX_PARALLEL	10000
#define MAX_TIME	86400.0
#define MIN_INTERVAL	0.1
#define SPARE_FDS	32	/* beyond the data connections */
#define MAX_EVENTS	1024
#define CONNECT_WINDOW	64	/* data connections being opened at once */
#define REPLY_SECS	30	/* for an answer on the control connection */
#define END_GRACE	60	/* seconds past -t a test may take to end */
#define HELLO_DATA	0x01	/* first byte of a data connection */
#define HELLO_CRR	0x02	/* first byte of a crr request */
#define HELLO_LEN	13	/* HELLO_DATA, cookie (8), index (4) */
#define PROTO_VERSION	1
#define LINE_CAP	4096	/* longest control line */

enum { MODE_BULK, MODE_RR, MODE_CRR };

static const char *const mode_names[] = {
	[MODE_BULK] = "bulk", [MODE_RR] = "rr", [MODE_CRR] = "crr",
};

/* What the client asks for; the server learns it from the request line. */
struct params {
	int proto;		/* IPPROTO_ETP or IPPROTO_TCP */
	int mode;		/* MODE_* */
	bool reverse;		/* bulk: the server sends */
	unsigned int parallel;	/* data connections (crr: at once) */
	unsigned int len;	/* bytes per read/write, request, response */
	double duration;	/* seconds */
	double interval;	/* seconds between reports, 0 for none */
};

enum kind {
	K_LISTEN,	/* server: a listening socket */
	K_NEW,		/* server: accepted, first byte not read yet */
	K_CTL,		/* the control connection */
	K_HELLO,	/* server: reading a data connection's hello */
	K_DATA,		/* a data connection of bulk or rr */
	K_CRR,		/* one connection of crr */
	K_DEAD,		/* server: closed, freed after the current events */
};

struct conn {
	int fd;
	enum kind kind;
	int proto;
	unsigned int id;		/* data connection index */
	uint32_t events;		/* what epoll watches */
	uint64_t bytes_in, bytes_out;
	uint64_t transactions;
	double t_start;			/* rr, crr: when this request began */
	double t_end;			/* receiver: when the end of stream came */
	size_t todo;			/* rr, crr: bytes left to send or receive */
	bool writing;			/* rr, crr: sending (else receiving) */
	bool connecting;		/* crr client: connect() under way */
	bool eof;
	unsigned char hello[HELLO_LEN];
	size_t hello_len;
	char *line;			/* K_CTL: bytes not yet made into lines */
	size_t line_len;
	struct sockaddr_storage peer;
	struct conn *next_dead;
};

static const char *prog = "etp-perf";
static bool json_out;		/* -J: also errors go out as JSON */
static int epfd = -1;

/* ---- messages ------------------------------------------------------------ */

static void json_error(const char *msg);

static void __attribute__((noreturn))
vdie(int code, int err, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (err)
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", prog, msg);
	if (json_out && code != EXIT_USAGE)
		json_error(msg);
	exit(code);
}

/* "etp-perf: what: strerror(err)" (without ": ..." when err is 0), exit. */
static void __attribute__((noreturn, format(printf, 3, 4)))
die(int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(code, err, fmt, ap);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_USAGE, 0, fmt, ap);
}

static void __attribute__((format(printf, 1, 2))) warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s -s [-p PORT] [-1] [-4|-6] [-T]\n"
		"       %s -c HOST [-p PORT] [-t SECS] [-P N] [-R] [-l LEN] [-i SECS] [-J]\n"
		"                [-m bulk|rr|crr] [-T] [-4|-6]\n"
		"\n"
		"Measures ETP (IP protocol %d), or TCP with -T: throughput, request/response\n"
		"latency, connection rate. Options as iperf3's.\n"
		"\n"
		"  -s, --server         serve tests, one at a time (ETP and TCP)\n"
		"  -c, --client HOST    run a test against the server on HOST\n"
		"  -p, --port PORT      server port (default %d)\n"
		"  -1, --one-off        server: exit after one test\n"
		"  -t, --time SECS      duration of the test (default %g)\n"
		"  -P, --parallel N     connections at once (default 1, at most %d)\n"
		"  -R, --reverse        bulk: the server sends, the client receives\n"
		"  -l, --length LEN     bytes per read and write (bulk, default 128K), or\n"
		"                       of each request and response (rr, crr, default 1);\n"
		"                       suffix K or M: 1024^n\n"
		"  -i, --interval SECS  report every SECS seconds (0: no reports, default)\n"
		"  -J, --json           one JSON document on stdout at the end\n"
		"  -m, --mode MODE      bulk (default): bytes/s per connection and in all,\n"
		"                       fairness (slowest/fastest connection);\n"
		"                       rr: request/response, one outstanding per\n"
		"                       connection: transactions/s, latency percentiles;\n"
		"                       crr: connect, request, response, close: connections/s\n"
		"  -T, --tcp            use TCP instead of ETP (server: serve TCP only)\n"
		"  -4, --version4       IPv4 only\n"
		"  -6, --version6       IPv6 only (ETP does not speak IPv6 yet: with -T)\n"
		"  -h, --help           print this help\n"
		"\n"
		"Every figure comes with the CPU time (user + system) each end used\n"
		"during the test, per MiB moved and per transaction.\n"
		"\n"
		"Exit status:\n"
		"  0  the test ran and every byte arrived\n"
		"  1  the test failed: refused by the server, a connection broke, bytes\n"
		"     missing, the test did not end, crr connections failed\n"
		"  2  usage error\n"
		"  3  network error: resolve, socket, bind, listen or connect failed\n"
		"  4  ETP not available (is etp.ko loaded?), or asked over IPv6\n",
		prog, prog, IPPROTO_ETP, DEFAULT_PORT, DEFAULT_TIME, MAX_PARALLEL);
}

/* ---- JSON ---------------------------------------------------------------- */

static int jdepth;
static bool jcomma;

static void jstring(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* Start a member (with @key) or an array element (@key NULL). */
static void jkey(const char *key)
{
	if (jcomma)
		putchar(',');
	jcomma = true;
	if (jdepth)
		printf("\n%*s", 2 * jdepth, "");
	if (key) {
		jstring(key);
		fputs(": ", stdout);
	}
}

static void jopen(const char *key, char brace)
{
	jkey(key);
	putchar(brace);
	jdepth++;
	jcomma = false;
}

static void jclose(char brace)
{
	jdepth--;
	if (jcomma)
		printf("\n%*s", 2 * jdepth, "");
	putchar(brace);
	jcomma = true;
	if (!jdepth)
		putchar('\n');
}

static void jstr(const char *key, const char *v)
{
	jkey(key);
	jstring(v);
}

static void ju64(const char *key, uint64_t v)
{
	jkey(key);
	printf("%" PRIu64, v);
}

static void jdbl(const char *key, double v)
{
	jkey(key);
	if (isfinite(v))
		printf("%.9g", v);
	else
		fputs("null", stdout);
}

static void jbool(const char *key, bool v)
{
	jkey(key);
	fputs(v ? "true" : "false", stdout);
}

static void json_error(const char *msg)
{
	if (jdepth)
		return;		/* never inside a document half written */
	jopen(NULL, '{');
	jstr("error", msg);
	jclose('}');
	fflush(stdout);
}

/* ---- numbers, time, units ------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Milliseconds from now until @t for epoll_wait (rounded up, at least 0). */
static int ms_until(double t)
{
	double left = t - now();

	if (left <= 0)
		return 0;
	if (left > INT_MAX / 1000)
		return INT_MAX;
	return (int)(left * 1000) + 1;
}

/* The sooner of two epoll timeouts (-1: none). */
static int sooner(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static double tv_secs(const struct timeval *tv)
{
	return tv->tv_sec + tv->tv_usec / 1e6;
}

/* CPU time (user and system) of this process between two getrusage(). */
struct cpu {
	double user, sys;
};

static struct cpu cpu_between(const struct rusage *a, const struct rusage *b)
{
	struct cpu c = {
		.user = tv_secs(&b->ru_utime) - tv_secs(&a->ru_utime),
		.sys = tv_secs(&b->ru_stime) - tv_secs(&a->ru_stime),
	};

	return c;
}

static void rusage_now(struct rusage *ru)
{
	getrusage(RUSAGE_SELF, ru);
}

static const char *fmt_bytes(double b)
{
	static char buf[4][32];
	static int which;
	char *s = buf[which++ % 4];

	if (b >= 1 << 30)
		snprintf(s, 32, "%.2f GiB", b / (1 << 30));
	else if (b >= 1 << 20)
		snprintf(s, 32, "%.2f MiB", b / (1 << 20));
	else if (b >= 1 << 10)
		snprintf(s, 32, "%.2f KiB", b / (1 << 10));
	else
		snprintf(s, 32, "%.0f B", b);
	return s;
}

static const char *fmt_bits(double bps)
{
	static char buf[4][32];
	static int which;
	char *s = buf[which++ % 4];

	if (bps >= 1e9)
		snprintf(s, 32, "%.2f Gbit/s", bps / 1e9);
	else if (bps >= 1e6)
		snprintf(s, 32, "%.2f Mbit/s", bps / 1e6);
	else if (bps >= 1e3)
		snprintf(s, 32, "%.2f kbit/s", bps / 1e3);
	else
		snprintf(s, 32, "%.0f bit/s", bps);
	return s;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

static const char *proto_name(int proto)
{
	return proto == IPPROTO_ETP ? "ETP" : "TCP";
}

/* ---- parsing --------------------------------------------------------------- */

static bool parse_ulong(const char *s, unsigned long min, unsigned long max,
			unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && *s >= '0' && *s <= '9' && !*end && *v >= min &&
	       *v <= max;
}

static bool parse_double(const char *s, double min, double max, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return !errno && end != s && !*end && isfinite(*v) && *v >= min &&
	       *v <= max;
}

/* A length with an optional K or M suffix (1024^n), 1 to MAX_LEN. */
static bool parse_len(const char *s, unsigned int *len)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *s < '0' || *s > '9')
		return false;
	if (*end == 'k' || *end == 'K') {
		v <<= 10;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v <<= 20;
		end++;
	}
	if (*end || !v || v > MAX_LEN)
		return false;
	*len = (unsigned int)v;
	return true;
}

static bool parse_interval(const char *s, double *v)
{
	return parse_double(s, 0, MAX_TIME, v) && (*v == 0 || *v >= MIN_INTERVAL);
}

/* The value of "key=" in a line of space-separated key=value words. */
static const char *kv(const char *line, const char *key)
{
	size_t klen = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=')
			return p + klen + 1;
		p += klen;
	}
	return NULL;
}

/* The numbers of a control line; false when one is missing or malformed. */
static bool kv_u64(const char *line, const char *key, uint64_t *v)
{
	const char *s = kv(line, key);
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && (!*end || *end == ' ');
}

static bool kv_dbl(const char *line, const char *key, double *v)
{
	const char *s = kv(line, key);
	char *end;

	if (!s)
		return false;
	*v = strtod(s, &end);
	return end != s && (!*end || *end == ' ') && isfinite(*v);
}

/* The request line of step 1; NULL when @p is valid, else why not. */
static const char *parse_request(const char *line, struct params *p)
{
	const char *s;
	uint64_t v;

	if (strncmp(line, "ETPPERF ", 8) || atoi(line + 8) != PROTO_VERSION)
		return "unknown request (etp-perf differs between client and server)";
	memset(p, 0, sizeof(*p));
	s = kv(line, "proto");
	if (s && !strncmp(s, "etp", 3))
		p->proto = IPPROTO_ETP;
	else if (s && !strncmp(s, "tcp", 3))
		p->proto = IPPROTO_TCP;
	else
		return "bad proto";
	s = kv(line, "mode");
	for (p->mode = MODE_BULK; p->mode <= MODE_CRR; p->mode++) {
		size_t n = strlen(mode_names[p->mode]);

		if (s && !strncmp(s, mode_names[p->mode], n) &&
		    (!s[n] || s[n] == ' '))
			break;
	}
	if (p->mode > MODE_CRR)
		return "bad mode";
	if (!kv_u64(line, "reverse", &v) || v > 1 ||
	    (v && p->mode != MODE_BULK))
		return "bad reverse";
	p->reverse = v;
	if (!kv_u64(line, "parallel", &v) || !v || v > MAX_PARALLEL)
		return "bad parallel";
	p->parallel = v;
	if (!kv_u64(line, "len", &v) || !v || v > MAX_LEN)
		return "bad len";
	p->len = v;
	if (!kv_dbl(line, "time", &p->duration) || p->duration <= 0 ||
	    p->duration > MAX_TIME)
		return "bad time";
	if (!kv_dbl(line, "interval", &p->interval) || p->interval < 0 ||
	    p->interval > MAX_TIME || (p->interval && p->interval < MIN_INTERVAL))
		return "bad interval";
	return NULL;
}

/* ---- addresses and sockets ------------------------------------------------- */

static const char *addr_str(const struct sockaddr_storage *ss)
{
	static char buf[4][INET6_ADDRSTRLEN + 16];
	static int which;
	char *s = buf[which++ % 4];
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], a,
				  sizeof(a));
			snprintf(s, sizeof(buf[0]), "%s:%u", a,
				 ntohs(sin6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
			snprintf(s, sizeof(buf[0]), "[%s]:%u", a,
				 ntohs(sin6->sin6_port));
		}
	} else {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(s, sizeof(buf[0]), "%s:%u", a, ntohs(sin->sin_port));
	}
	return s;
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					   sizeof(struct sockaddr_in);
}

static const char *family_name(int family)
{
	return family == AF_INET6 ? "AF_INET6" : "AF_INET";
}

static bool etp_missing(int err)
{
	return err == EPROTONOSUPPORT || err == ESOCKTNOSUPPORT ||
	       err == EAFNOSUPPORT;
}

static int new_socket(int family, int proto)
{
	return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
}

/*
 * Why socket(@family, SOCK_STREAM, @proto) failed with @err, in words:
 * for ETP, whether the module is missing or only IPv6 is.
 */
static const char *socket_error(int family, int proto, int err)
{
	static char msg[160];
	int fd;

	if (proto == IPPROTO_ETP && etp_missing(err) && family == AF_INET6) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_ETP);
		if (fd >= 0) {
			close(fd);
			return "ETP does not speak IPv6 yet (use -4, or -T for TCP over IPv6)";
		}
	}
	snprintf(msg, sizeof(msg), "socket(%s, SOCK_STREAM, %d): %s%s",
		 family_name(family), proto, strerror(err),
		 proto == IPPROTO_ETP && etp_missing(err) ?
		 ": is etp.ko loaded?" : "");
	return msg;
}

static void __attribute__((noreturn))
die_socket(int family, int proto, int err)
{
	die(proto == IPPROTO_ETP && etp_missing(err) ? EXIT_NOETP : EXIT_NET,
	    0, "%s", socket_error(family, proto, err));
}

static int so_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/* Segments the sender retransmitted on @fd (ETP_INFO, TCP_INFO), or -1. */
static long long retransmits(int fd, int proto)
{
	if (proto == IPPROTO_ETP) {
		struct etp_info i;
		socklen_t len = sizeof(i);

		memset(&i, 0, sizeof(i));
		if (getsockopt(fd, SOL_ETP, ETP_INFO, &i, &len) < 0)
			return -1;
		return i.etpi_retrans;
	} else {
		struct tcp_info i;
		socklen_t len = sizeof(i);

		memset(&i, 0, sizeof(i));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &i, &len) < 0)
			return -1;
		return i.tcpi_total_retrans;
	}
}

/* Raise the soft limit of open files towards @want; returns the limit. */
static rlim_t raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

/* Send all of @buf on a non-blocking socket, waiting up to REPLY_SECS. */
static int send_all(int fd, const void *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	double until = now() + REPLY_SECS;
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n >= 0) {
			p += n;
			len -= n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		if (poll(&pfd, 1, ms_until(until)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

static int __attribute__((format(printf, 2, 3)))
ctl_send(struct conn *c, const char *fmt, ...)
{
	char line[LINE_CAP];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return send_all(c->fd, line, n < (int)sizeof(line) ? (size_t)n :
					      sizeof(line) - 1);
}

/*
 * Read what the control connection has into its line buffer: > 0 read,
 * 0 end of stream, -1 error (errno), -2 nothing there now or no room.
 */
static int ctl_fill(struct conn *c)
{
	ssize_t n;

	if (c->line_len >= LINE_CAP)
		return -2;
	n = recv(c->fd, c->line + c->line_len, LINE_CAP - c->line_len, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -2 : -1;
	c->line_len += n;
	return n ? 1 : 0;
}

/* The next whole line received (without '\n'), or NULL. */
static char *ctl_line(struct conn *c)
{
	static char line[LINE_CAP];
	char *nl = memchr(c->line, '\n', c->line_len);
	size_t n;

	if (!nl)
		return NULL;
	n = nl - c->line;
	memcpy(line, c->line, n);
	line[n] = 0;
	c->line_len -= n + 1;
	memmove(c->line, nl + 1, c->line_len);
	return line;
}

static void ep_set(struct conn *c, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
		die(EXIT_FAIL, errno, "epoll_ctl");
	c->events = events;
}

/* Watch @events on a registered connection (no call when unchanged). */
static void ep_want(struct conn *c, uint32_t events)
{
	if (c->events != events)
		ep_set(c, EPOLL_CTL_MOD, events);
}

static void ep_forget(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void fill_random(unsigned char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = getrandom(buf + off, len - off, 0);
		if (n <= 0)
			die(EXIT_FAIL, errno, "getrandom");
		off += n;
	}
}

/* ---- interval reports ------------------------------------------------------ */

/*
 * Counts what one end moved (bytes in bulk, transactions in rr and crr)
 * and hands each finished interval to @emit; the last one ends with the
 * test and may be short, so that the intervals add up to the total.
 */
struct ticker {
	double every;		/* 0: no reports */
	double t0, start, next;	/* the interval under way: start to next */
	uint64_t count, reported;
	void (*emit)(double start, double end, uint64_t count);
};

static void tick_start(struct ticker *t, double every, double t0,
		       void (*emit)(double, double, uint64_t))
{
	memset(t, 0, sizeof(*t));
	t->every = every;
	t->t0 = t0;
	t->start = t0;
	t->next = t0 + every;
	t->emit = emit;
}

static void tick_check(struct ticker *t, double at)
{
	while (t->every && at >= t->next) {
		t->emit(t->start - t->t0, t->next - t->t0,
			t->count - t->reported);
		t->reported = t->count;
		t->start = t->next;
		t->next += t->every;
	}
}

static void tick_final(struct ticker *t, double at)
{
	tick_check(t, at);
	/* An empty remainder shorter than a tenth of an interval is noise. */
	if (t->every && at > t->start &&
	    (t->count > t->reported || at - t->start >= t->every / 10))
		t->emit(t->start - t->t0, at - t->t0, t->count - t->reported);
	t->reported = t->count;
	t->every = 0;
}

static int tick_timeout(const struct ticker *t)
{
	return t->every ? ms_until(t->next) : -1;
}

/* ---- server ---------------------------------------------------------------- */

static struct {
	unsigned short port;
	int family;		/* -4, -6: AF_INET, AF_INET6; else AF_UNSPEC */
	bool one_off, tcp_only;
	struct conn *tcp, *etp;	/* listeners (etp NULL: ETP not served) */
	rlim_t nofile;
	bool accept_paused;	/* out of file descriptors */
	struct conn *dead;	/* closed, to free after the current events */
} sv;

/* The test being served. */
static struct {
	bool active, running;
	bool stopped;		/* data connections ended (shut down, read) */
	bool done;		/* the client said DONE */
	struct conn *ctl;
	struct params p;
	uint64_t cookie;
	struct conn **s;	/* data connections by index */
	unsigned int ready, ended;
	double t0, t_end;
	struct rusage ru0;
	struct ticker tick;
	uint64_t transactions;
	unsigned char *buf;
	char peer[INET6_ADDRSTRLEN + 16];
} st;

static struct conn *conn_new(int fd, enum kind kind, int proto)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		die(EXIT_FAIL, ENOMEM, "connection");
	c->fd = fd;
	c->kind = kind;
	c->proto = proto;
	return c;
}

static void conn_close(struct conn *c)
{
	if (c->kind == K_DEAD)
		return;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->kind = K_DEAD;
	c->next_dead = sv.dead;
	sv.dead = c;
	if (sv.accept_paused) {
		sv.accept_paused = false;
		ep_want(sv.tcp, EPOLLIN);
		if (sv.etp)
			ep_want(sv.etp, EPOLLIN);
	}
}

static void free_dead(void)
{
	struct conn *c;

	while ((c = sv.dead)) {
		sv.dead = c->next_dead;
		free(c->line);
		free(c);
	}
}

static void test_clear(void)
{
	unsigned int i;

	for (i = 0; st.s && i < st.p.parallel; i++)
		if (st.s[i])
			conn_close(st.s[i]);
	if (st.ctl)
		conn_close(st.ctl);
	free(st.s);
	free(st.buf);
	memset(&st, 0, sizeof(st));
}

static void __attribute__((format(printf, 1, 2))) test_abort(const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ctl_send(st.ctl, "ERR %s\n", why);
	warn("test from %s: %s", st.peer, why);
	test_clear();
	if (sv.one_off)
		exit(EXIT_FAIL);
}

static void server_emit(double start, double end, uint64_t bytes)
{
	ctl_send(st.ctl, "INTERVAL %.6f %.6f %" PRIu64 "\n", start, end, bytes);
}

/* Step 4: every data connection is there (crr: none are needed). */
static void test_start(void)
{
	bool server_sends = st.p.mode == MODE_BULK && st.p.reverse;
	unsigned int i;

	st.running = true;
	rusage_now(&st.ru0);
	st.t0 = now();
	if (st.p.mode == MODE_BULK && !st.p.reverse)
		tick_start(&st.tick, st.p.interval, st.t0, server_emit);
	if (ctl_send(st.ctl, "GO\n") < 0) {
		test_abort("control connection: %s", strerror(errno));
		return;
	}
	for (i = 0; i < st.p.parallel && st.p.mode != MODE_CRR; i++) {
		st.s[i]->todo = st.p.len;
		ep_want(st.s[i], server_sends ? EPOLLOUT : EPOLLIN);
	}
}

/* Step 7. */
static void test_finish(void)
{
	struct rusage ru1;
	struct cpu cpu;
	long long retrans = 0, r;
	uint64_t in = 0, out = 0;
	unsigned int i;
	char *msg = NULL;
	size_t msg_len = 0;
	FILE *f;

	rusage_now(&ru1);
	cpu = cpu_between(&st.ru0, &ru1);
	for (i = 0; i < st.p.parallel && st.p.mode != MODE_CRR; i++) {
		in += st.s[i]->bytes_in;
		out += st.s[i]->bytes_out;
		r = retransmits(st.s[i]->fd, st.p.proto);
		retrans = r < 0 || retrans < 0 ? -1 : retrans + r;
	}
	f = open_memstream(&msg, &msg_len);
	if (!f)
		die(EXIT_FAIL, errno, "open_memstream");
	fprintf(f, "RESULT seconds=%.6f cpu_user=%.6f cpu_sys=%.6f bytes_in=%" PRIu64
		" bytes_out=%" PRIu64 " transactions=%" PRIu64,
		st.t_end - st.t0, cpu.user, cpu.sys, in, out, st.transactions);
	if (st.p.mode == MODE_BULK && st.p.reverse && retrans >= 0)
		fprintf(f, " retransmits=%lld", retrans);
	fputc('\n', f);
	for (i = 0; i < st.p.parallel && st.p.mode != MODE_CRR; i++) {
		struct conn *c = st.s[i];

		fprintf(f, "STREAM %u %" PRIu64 " %" PRIu64 " %.6f\n", i,
			c->bytes_in, c->bytes_out,
			(c->eof ? c->t_end : st.t_end) - st.t0);
	}
	fputs("END\n", f);
	fclose(f);
	if (send_all(st.ctl->fd, msg, msg_len) < 0)
		warn("test from %s: sending the results: %s", st.peer,
		     strerror(errno));
	free(msg);

	printf("Test from %s done in %.2f s: ", st.peer, st.t_end - st.t0);
	if (st.p.mode == MODE_BULK)
		printf("%s %s, %s", st.p.reverse ? "sent" : "received",
		       fmt_bytes(st.p.reverse ? out : in),
		       fmt_bits((st.p.reverse ? out : in) * 8.0 /
				(st.t_end - st.t0)));
	else
		printf("%" PRIu64 " %s", st.transactions,
		       st.p.mode == MODE_RR ? "transactions" : "connections");
	printf("; CPU %.3f s\n", cpu.user + cpu.sys);
	fflush(stdout);
	test_clear();
	if (sv.one_off)
		exit(0);
}

/* Step 1 on a new control connection. */
static void test_request(struct conn *c, const char *line)
{
	const char *why;
	struct params p;

	if (st.active) {
		ctl_send(c, "ERR busy: the server is running another test\n");
		conn_close(c);
		return;
	}
	why = parse_request(line, &p);
	if (!why && p.proto == IPPROTO_ETP && !sv.etp)
		why = "this server does not serve ETP (is etp.ko loaded there?)";
	if (!why && p.parallel + SPARE_FDS > sv.nofile)
		why = "the server cannot open that many files (ulimit -n)";
	if (why) {
		ctl_send(c, "ERR %s\n", why);
		warn("request from %s refused: %s", addr_str(&c->peer), why);
		conn_close(c);
		return;
	}
	st.active = true;
	st.ctl = c;
	st.p = p;
	snprintf(st.peer, sizeof(st.peer), "%s", addr_str(&c->peer));
	fill_random((unsigned char *)&st.cookie, sizeof(st.cookie));
	st.s = calloc(p.parallel, sizeof(*st.s));
	st.buf = malloc(p.len);
	if (!st.s || !st.buf)
		die(EXIT_FAIL, ENOMEM, "test");
	fill_random(st.buf, p.len);
	printf("Test from %s: %s %s, %u connection%s, %s%g s, %u-byte %s\n",
	       st.peer, proto_name(p.proto), mode_names[p.mode], p.parallel,
	       p.parallel == 1 ? "" : "s",
	       p.mode != MODE_BULK ? "" : p.reverse ? "server sends, " :
	       "client sends, ", p.duration, p.len,
	       p.mode == MODE_BULK ? "buffers" : "requests");
	fflush(stdout);
	if (ctl_send(c, "OK cookie=%016" PRIx64 "\n", st.cookie) < 0) {
		test_abort("control connection: %s", strerror(errno));
		return;
	}
	if (p.mode == MODE_CRR)
		test_start();
}

static void server_ctl(struct conn *c)
{
	bool ours = st.active && st.ctl == c;
	char *line;
	int r = ctl_fill(c);

	while ((line = ctl_line(c))) {
		if (!strncmp(line, "ETPPERF ", 8) && !ours) {
			test_request(c, line);
			return;
		}
		if (ours && !strcmp(line, "DONE") && st.running && !st.done) {
			st.done = true;
			if (st.p.mode == MODE_CRR) {
				st.stopped = true;
				st.t_end = now();
			}
			if (st.stopped)
				test_finish();
			return;
		}
		if (ours) {
			test_abort("unexpected message from the client");
		} else {
			ctl_send(c, "ERR unexpected message\n");
			conn_close(c);
		}
		return;
	}
	if (r > 0 || (r == -2 && c->line_len < LINE_CAP))
		return;
	if (ours)
		test_abort("the client closed the control connection");
	else
		conn_close(c);
}

/* A data connection said hello (step 3): join it to the test. */
static void server_hello(struct conn *c)
{
	uint64_t cookie = 0;
	uint32_t id = 0;
	ssize_t n;
	int i;

	n = recv(c->fd, c->hello + c->hello_len, HELLO_LEN - c->hello_len, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->hello_len += n;
	if (c->hello_len < HELLO_LEN)
		return;
	for (i = 1; i <= 8; i++)
		cookie = cookie << 8 | c->hello[i];
	for (i = 9; i < HELLO_LEN; i++)
		id = id << 8 | c->hello[i];
	/* Not this test's: another client's, late, or a stranger. */
	if (!st.active || st.running || cookie != st.cookie ||
	    c->proto != st.p.proto || id >= st.p.parallel || st.s[id]) {
		conn_close(c);
		return;
	}
	c->kind = K_DATA;
	c->id = id;
	st.s[id] = c;
	if (++st.ready == st.p.parallel)
		test_start();
}

/* A data connection read to its end (bulk receiver, rr). */
static void server_eof(struct conn *c)
{
	c->eof = true;
	c->t_end = now();
	ep_forget(c);
	if (++st.ended < st.p.parallel)
		return;
	st.stopped = true;
	st.t_end = c->t_end;
	tick_final(&st.tick, st.t_end);
	if (st.done)
		test_finish();
}

/*
 * rr and crr on the server: read a request of len bytes, answer len bytes,
 * and wait for the next (rr) or close (crr).
 */
static void server_rr(struct conn *c)
{
	size_t len = st.p.len;
	ssize_t n;

	if (!c->writing) {
		n = recv(c->fd, st.buf, c->todo, 0);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 && c->kind == K_CRR) {
			conn_close(c);
		} else if (n < 0) {
			test_abort("%s connection %u: recv: %s",
				   proto_name(c->proto), c->id, strerror(errno));
		} else if (n == 0 && c->todo != len) {
			test_abort("%s connection %u: closed in the middle of a request",
				   proto_name(c->proto), c->id);
		} else if (n == 0) {
			server_eof(c);
		}
		if (n <= 0)
			return;
		c->bytes_in += n;
		c->todo -= n;
		if (c->todo)
			return;
		c->writing = true;
		c->todo = len;
	}
	n = send(c->fd, st.buf, c->todo, MSG_NOSIGNAL);
	if (n < 0 && errno == EAGAIN) {
		ep_want(c, EPOLLOUT);
		return;
	}
	if (n < 0) {
		if (c->kind == K_CRR)
			conn_close(c);
		else
			test_abort("%s connection %u: send: %s",
				   proto_name(c->proto), c->id, strerror(errno));
		return;
	}
	c->bytes_out += n;
	c->todo -= n;
	if (c->todo) {
		ep_want(c, EPOLLOUT);
		return;
	}
	c->transactions++;
	st.transactions++;
	if (c->kind == K_CRR) {
		conn_close(c);
		return;
	}
	c->writing = false;
	c->todo = len;
	ep_want(c, EPOLLIN);
}

static void server_data(struct conn *c)
{
	ssize_t n;

	if (!st.running) {
		test_abort("%s connection %u closed before the test started",
			   proto_name(c->proto), c->id);
		return;
	}
	if (st.p.mode == MODE_RR) {
		server_rr(c);
		return;
	}
	if (st.p.reverse) {
		n = send(c->fd, st.buf, st.p.len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			test_abort("%s connection %u: send: %s",
				   proto_name(c->proto), c->id, strerror(errno));
		if (n > 0)
			c->bytes_out += n;
		return;
	}
	n = recv(c->fd, st.buf, st.p.len, 0);
	if (n > 0) {
		c->bytes_in += n;
		st.tick.count += n;
	} else if (n == 0) {
		server_eof(c);
	} else if (errno != EAGAIN) {
		test_abort("%s connection %u: recv: %s", proto_name(c->proto),
			   c->id, strerror(errno));
	}
}

/* bulk -R: after -t seconds the server shuts down its sending side. */
static void server_stop_sending(void)
{
	unsigned int i;

	st.stopped = true;
	st.t_end = now();
	for (i = 0; i < st.p.parallel; i++) {
		shutdown(st.s[i]->fd, SHUT_WR);
		ep_forget(st.s[i]);
	}
}

/* The first byte of an accepted connection says what it is. */
static void server_new(struct conn *c)
{
	unsigned char b;
	ssize_t n = recv(c->fd, &b, 1, 0);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_close(c);
	} else if (b == 'E' && c->proto == IPPROTO_TCP) {
		c->kind = K_CTL;
		c->line = malloc(LINE_CAP);
		if (!c->line)
			die(EXIT_FAIL, ENOMEM, "connection");
		c->line[0] = 'E';
		c->line_len = 1;
		server_ctl(c);
	} else if (b == HELLO_DATA) {
		c->kind = K_HELLO;
		c->hello[0] = b;
		c->hello_len = 1;
		server_hello(c);
	} else if (b == HELLO_CRR && st.running && st.p.mode == MODE_CRR &&
		   c->proto == st.p.proto) {
		c->kind = K_CRR;
		c->bytes_in = 1;
		c->todo = st.p.len - 1;
		c->writing = !c->todo;
		if (c->writing)
			c->todo = st.p.len;
		server_rr(c);
	} else {
		conn_close(c);
	}
}

static void server_accept(struct conn *l)
{
	struct sockaddr_storage peer;
	socklen_t len;
	struct conn *c;
	int fd;

	for (;;) {
		len = sizeof(peer);
		fd = accept4(l->fd, (struct sockaddr *)&peer, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			c = conn_new(fd, K_NEW, l->proto);
			c->peer = peer;
			ep_set(c, EPOLL_CTL_ADD, EPOLLIN);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE) {
			/* Accept again once a connection has closed. */
			warn("accept: %s", strerror(errno));
			sv.accept_paused = true;
			ep_want(sv.tcp, 0);
			if (sv.etp)
				ep_want(sv.etp, 0);
			return;
		}
		if (errno == EAGAIN)
			return;
		if (errno != EINTR && errno != ECONNABORTED)
			warn("accept: %s", strerror(errno));
	}
}

static void server_event(struct conn *c)
{
	switch (c->kind) {
	case K_LISTEN:
		server_accept(c);
		break;
	case K_NEW:
		server_new(c);
		break;
	case K_CTL:
		server_ctl(c);
		break;
	case K_HELLO:
		server_hello(c);
		break;
	case K_DATA:
		server_data(c);
		break;
	case K_CRR:
		server_rr(c);
		break;
	case K_DEAD:
		break;
	}
}

/* A listener on PORT of @family and @proto, or NULL with errno set. */
static struct conn *server_listen(int family, int proto)
{
	struct sockaddr_storage ss = { .ss_family = family };
	int one = 1, v6only = sv.family == AF_INET6;
	int fd;

	if (family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(sv.port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons(sv.port);
	fd = new_socket(family, proto);
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
			   sizeof(v6only));
	if (bind(fd, (struct sockaddr *)&ss, addr_len(&ss)) < 0)
		die(EXIT_NET, errno, "bind %s port %u", proto_name(proto),
		    sv.port);
	if (listen(fd, 4096) < 0)
		die(EXIT_NET, errno, "listen %s port %u", proto_name(proto),
		    sv.port);
	return conn_new(fd, K_LISTEN, proto);
}

static int run_server(void)
{
	struct epoll_event evs[MAX_EVENTS];
	int family, n, i, timeout, err;

	sv.nofile = raise_nofile(RLIM_INFINITY);
	/* TCP: both families unless told one (IPv4 when IPv6 is absent). */
	family = sv.family == AF_INET ? AF_INET : AF_INET6;
	sv.tcp = server_listen(family, IPPROTO_TCP);
	if (!sv.tcp && sv.family == AF_UNSPEC && errno == EAFNOSUPPORT)
		sv.tcp = server_listen(AF_INET, IPPROTO_TCP);
	if (!sv.tcp)
		die(EXIT_NET, 0, "%s", socket_error(family, IPPROTO_TCP, errno));
	ep_set(sv.tcp, EPOLL_CTL_ADD, EPOLLIN);
	family = sv.family == AF_INET6 ? AF_INET6 : AF_INET;
	if (!sv.tcp_only) {
		sv.etp = server_listen(family, IPPROTO_ETP);
		if (!sv.etp) {
			err = errno;
			warn("%s; serving TCP tests only",
			     socket_error(family, IPPROTO_ETP, err));
		} else {
			ep_set(sv.etp, EPOLL_CTL_ADD, EPOLLIN);
		}
	}
	printf("Server listening on port %u (%s)\n", sv.port,
	       sv.etp ? "ETP and TCP" : "TCP");
	fflush(stdout);

	for (;;) {
		timeout = -1;
		if (st.running && st.p.mode == MODE_BULK && st.p.reverse &&
		    !st.stopped)
			timeout = ms_until(st.t0 + st.p.duration);
		if (st.running)
			timeout = sooner(timeout, tick_timeout(&st.tick));
		n = epoll_wait(epfd, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			die(EXIT_FAIL, errno, "epoll_wait");
		for (i = 0; i < n; i++)
			server_event(evs[i].data.ptr);
		free_dead();
		if (!st.running)
			continue;
		if (st.p.mode == MODE_BULK && st.p.reverse && !st.stopped &&
		    now() >= st.t0 + st.p.duration)
			server_stop_sending();
		tick_check(&st.tick, now());
	}
}

/* ---- client ---------------------------------------------------------------- */

struct interval {
	double start, end;
	uint64_t count;		/* bytes (bulk) or transactions */
};

static struct {
	struct params p;
	const char *host;
	unsigned short port;
	int family;		/* -4, -6, or AF_UNSPEC */
	struct sockaddr_storage srv;
	struct conn ctl;
	struct conn *s;		/* data connections; crr: the slots */
	unsigned char *buf;	/* what is sent; buf[0] is HELLO_CRR */
	unsigned char *rbuf;
	uint64_t cookie;
	bool go;
	double t0, t_stop, t_end;
	struct rusage ru0, ru1;
	struct ticker tick;
	struct interval *iv;
	size_t niv, iv_cap;
	uint64_t *lat;		/* rr, crr: each transaction's time, ns */
	size_t nlat, lat_cap;
	uint64_t transactions;
	uint64_t failed;	/* crr connections that failed */
	char first_failure[200];
	/* The server's RESULT and STREAM lines. */
	struct {
		bool done;
		double secs, cpu_user, cpu_sys;
		uint64_t bytes_in, bytes_out, transactions;
		long long retrans;
		uint64_t *in, *out;
		double *secs_each;
	} res;
} cl;

static void client_emit(double start, double end, uint64_t count)
{
	struct interval *iv;
	double secs = end - start;

	if (cl.niv == cl.iv_cap) {
		cl.iv_cap = cl.iv_cap ? 2 * cl.iv_cap : 64;
		cl.iv = realloc(cl.iv, cl.iv_cap * sizeof(*cl.iv));
		if (!cl.iv)
			die(EXIT_FAIL, ENOMEM, "intervals");
	}
	iv = &cl.iv[cl.niv++];
	iv->start = start;
	iv->end = end;
	iv->count = count;
	if (json_out)
		return;
	if (cl.p.mode == MODE_BULK)
		printf("[SUM] %7.2f-%-7.2f sec  %12s  %14s\n", start, end,
		       fmt_bytes(count), fmt_bits(ratio(count * 8.0, secs)));
	else
		printf("[SUM] %7.2f-%-7.2f sec  %10" PRIu64 " %s  %10.1f/s\n",
		       start, end, count,
		       cl.p.mode == MODE_RR ? "transactions" : "connections",
		       ratio(count, secs));
	fflush(stdout);
}

static void client_line(const char *line)
{
	struct interval iv;
	uint64_t id, in, out;
	double secs;

	if (!strncmp(line, "ERR ", 4))
		die(EXIT_FAIL, 0, "server: %s", line + 4);
	if (!strcmp(line, "GO")) {
		cl.go = true;
	} else if (sscanf(line, "INTERVAL %lf %lf %" SCNu64, &iv.start,
			  &iv.end, &iv.count) == 3) {
		client_emit(iv.start, iv.end, iv.count);
	} else if (!strncmp(line, "RESULT ", 7)) {
		cl.res.retrans = -1;
		if (!kv_dbl(line, "seconds", &cl.res.secs) ||
		    !kv_dbl(line, "cpu_user", &cl.res.cpu_user) ||
		    !kv_dbl(line, "cpu_sys", &cl.res.cpu_sys) ||
		    !kv_u64(line, "bytes_in", &cl.res.bytes_in) ||
		    !kv_u64(line, "bytes_out", &cl.res.bytes_out) ||
		    !kv_u64(line, "transactions", &cl.res.transactions))
			die(EXIT_FAIL, 0, "malformed results from the server: '%.80s'",
			    line);
		if (kv_u64(line, "retransmits", &id))
			cl.res.retrans = id;
	} else if (sscanf(line, "STREAM %" SCNu64 " %" SCNu64 " %" SCNu64 " %lf",
			  &id, &in, &out, &secs) == 4 && id < cl.p.parallel) {
		cl.res.in[id] = in;
		cl.res.out[id] = out;
		cl.res.secs_each[id] = secs;
	} else if (!strcmp(line, "END")) {
		cl.res.done = true;
	} else {
		die(EXIT_FAIL, 0, "unexpected message from the server: '%.80s'",
		    line);
	}
}

/* Handle what the control connection brought. */
static void client_ctl(void)
{
	int r = ctl_fill(&cl.ctl);
	char *line;

	while ((line = ctl_line(&cl.ctl)))
		client_line(line);
	if (r == 0)
		die(EXIT_FAIL, 0, "the server closed the control connection");
	if (r == -1)
		die(EXIT_FAIL, errno, "control connection");
	if (r == -2 && cl.ctl.line_len >= LINE_CAP)
		die(EXIT_FAIL, 0, "the server sent a line longer than %d bytes",
		    LINE_CAP);
}

/*
 * A data connection failed: the server may have said why (it ends a test
 * with ERR and closes its end), which is the better message.
 */
static void __attribute__((noreturn))
stream_failed(const struct conn *c, const char *what, int err)
{
	struct pollfd pfd = { .fd = cl.ctl.fd, .events = POLLIN };
	double until = now() + 2;
	char *line;

	while (poll(&pfd, 1, ms_until(until)) > 0 && ctl_fill(&cl.ctl) > 0)
		while ((line = ctl_line(&cl.ctl)))
			if (!strncmp(line, "ERR ", 4))
				client_line(line);
	die(EXIT_FAIL, err, "%s connection %u: %s", proto_name(c->proto), c->id,
	    what);
}

/* Wait for events on the control connection and the data connections. */
static int client_wait(struct epoll_event *evs, int timeout)
{
	int n = epoll_wait(epfd, evs, MAX_EVENTS, timeout);

	if (n < 0 && errno != EINTR)
		die(EXIT_FAIL, errno, "epoll_wait");
	return n < 0 ? 0 : n;
}

/* Step 3: open the data connections, CONNECT_WINDOW at a time. */
static void client_connect_streams(void)
{
	struct epoll_event evs[MAX_EVENTS];
	unsigned int next = 0, pending = 0, ready = 0, i;
	unsigned char hello[HELLO_LEN];
	struct conn *c;
	int n, k, err;

	hello[0] = HELLO_DATA;
	for (i = 0; i < 8; i++)
		hello[1 + i] = cl.cookie >> (56 - 8 * i);
	while (ready < cl.p.parallel) {
		while (next < cl.p.parallel && pending < CONNECT_WINDOW) {
			c = &cl.s[next++];
			c->fd = new_socket(cl.srv.ss_family, cl.p.proto);
			if (c->fd < 0)
				die_socket(cl.srv.ss_family, cl.p.proto, errno);
			if (connect(c->fd, (struct sockaddr *)&cl.srv,
				    addr_len(&cl.srv)) < 0 && errno != EINPROGRESS)
				die(EXIT_NET, errno, "connect %s (%s connection %u)",
				    addr_str(&cl.srv), proto_name(c->proto), c->id);
			ep_set(c, EPOLL_CTL_ADD, EPOLLOUT);
			pending++;
		}
		n = client_wait(evs, -1);
		for (k = 0; k < n; k++) {
			c = evs[k].data.ptr;
			if (c == &cl.ctl) {
				client_ctl();
				continue;
			}
			err = so_error(c->fd);
			if (err)
				die(EXIT_NET, err, "connect %s (%s connection %u)",
				    addr_str(&cl.srv), proto_name(c->proto), c->id);
			for (i = 0; i < 4; i++)
				hello[9 + i] = c->id >> (24 - 8 * i);
			if (send(c->fd, hello, HELLO_LEN, MSG_NOSIGNAL) != HELLO_LEN)
				stream_failed(c, "sending the hello", errno);
			/* Until GO only errors and hang-ups are reported. */
			ep_want(c, 0);
			pending--;
			ready++;
		}
	}
}

/* Step 4: wait for GO, then start the clock. */
static void client_wait_go(void)
{
	struct epoll_event evs[MAX_EVENTS];
	double until = now() + REPLY_SECS;
	char *line;
	int n, k;

	while (!cl.go && (line = ctl_line(&cl.ctl)))
		client_line(line);
	while (!cl.go) {
		if (now() >= until)
			die(EXIT_FAIL, 0, "the server did not start the test within %d s",
			    REPLY_SECS);
		n = client_wait(evs, ms_until(until));
		for (k = 0; k < n; k++) {
			if (evs[k].data.ptr == &cl.ctl)
				client_ctl();
			else
				stream_failed(evs[k].data.ptr,
					      "closed before the test started",
					      so_error(((struct conn *)evs[k].data.ptr)->fd));
		}
	}
	rusage_now(&cl.ru0);
	cl.t0 = now();
	cl.t_stop = cl.t0 + cl.p.duration;
}

/* Steps 6 and 7: say DONE, wait for the server's results. */
static void client_done(void)
{
	struct epoll_event evs[MAX_EVENTS];
	double until = cl.t_stop + (cl.p.duration > END_GRACE ? cl.p.duration :
				    END_GRACE);
	char *line;
	int n, k;

	if (ctl_send(&cl.ctl, "DONE\n") < 0)
		die(EXIT_FAIL, errno, "control connection");
	while (!cl.res.done && (line = ctl_line(&cl.ctl)))
		client_line(line);
	while (!cl.res.done) {
		if (now() >= until)
			die(EXIT_FAIL, 0, "the test did not end: no results from the server %.0f s after its end",
			    until - cl.t_stop);
		n = client_wait(evs, ms_until(until));
		for (k = 0; k < n; k++)
			if (evs[k].data.ptr == &cl.ctl)
				client_ctl();
	}
}

/*
 * The client's loop where it counts (bulk -R, rr, crr): each ready data
 * connection goes to @step, which returns false once that connection is
 * finished. The test ends when none of the @open is left, and must end
 * within END_GRACE (or -t) seconds after -t.
 */
static void client_run(unsigned int open, bool (*step)(struct conn *c))
{
	double grace = cl.p.duration > END_GRACE ? cl.p.duration : END_GRACE;
	struct epoll_event evs[MAX_EVENTS];
	struct conn *c;
	double at;
	int n, k;

	tick_start(&cl.tick, cl.p.interval, cl.t0, client_emit);
	while (open) {
		at = now() < cl.t_stop ? cl.t_stop : cl.t_stop + grace;
		if (now() >= cl.t_stop + grace)
			die(EXIT_FAIL, 0, "the test did not end: %u connections still open %.0f s after its end",
			    open, grace);
		n = client_wait(evs, sooner(ms_until(at), tick_timeout(&cl.tick)));
		for (k = 0; k < n; k++) {
			c = evs[k].data.ptr;
			if (c == &cl.ctl)
				client_ctl();
			else if (!step(c))
				open--;
		}
		tick_check(&cl.tick, now());
	}
	cl.t_end = now();
	tick_final(&cl.tick, cl.t_end);
	rusage_now(&cl.ru1);
	client_done();
}

/* bulk: the client sends for -t seconds, then shuts down its side. */
static void client_bulk_send(void)
{
	struct epoll_event evs[MAX_EVENTS];
	unsigned int i;
	struct conn *c;
	ssize_t w;
	int n, k;

	for (i = 0; i < cl.p.parallel; i++)
		ep_want(&cl.s[i], EPOLLOUT);
	while (now() < cl.t_stop) {
		n = client_wait(evs, ms_until(cl.t_stop));
		for (k = 0; k < n && now() < cl.t_stop; k++) {
			c = evs[k].data.ptr;
			if (c == &cl.ctl) {
				client_ctl();
				continue;
			}
			w = send(c->fd, cl.buf, cl.p.len, MSG_NOSIGNAL);
			if (w > 0)
				c->bytes_out += w;
			else if (w < 0 && errno != EAGAIN)
				stream_failed(c, "send", errno);
		}
	}
	cl.t_end = now();
	for (i = 0; i < cl.p.parallel; i++) {
		shutdown(cl.s[i].fd, SHUT_WR);
		ep_forget(&cl.s[i]);
	}
	client_done();
	rusage_now(&cl.ru1);
}

/* bulk -R: the client reads each data connection to its end. */
static bool bulk_receive_step(struct conn *c)
{
	ssize_t r = recv(c->fd, cl.rbuf, cl.p.len, 0);

	if (r < 0 && errno != EAGAIN)
		stream_failed(c, "recv", errno);
	if (r > 0) {
		c->bytes_in += r;
		cl.tick.count += r;
	}
	if (r)
		return true;
	c->eof = true;
	c->t_end = now();
	ep_forget(c);
	return false;
}

static void client_bulk_receive(void)
{
	unsigned int i;

	for (i = 0; i < cl.p.parallel; i++)
		ep_want(&cl.s[i], EPOLLIN);
	client_run(cl.p.parallel, bulk_receive_step);
}

static void add_latency(double secs)
{
	if (cl.nlat == cl.lat_cap) {
		cl.lat_cap = cl.lat_cap ? 2 * cl.lat_cap : 4096;
		cl.lat = realloc(cl.lat, cl.lat_cap * sizeof(*cl.lat));
		if (!cl.lat)
			die(EXIT_FAIL, ENOMEM, "latencies");
	}
	cl.lat[cl.nlat++] = (uint64_t)(secs * 1e9 + 0.5);
	cl.transactions++;
	cl.tick.count++;
}

/* rr: send a request of len bytes; returns false when it is all sent. */
static bool rr_send(struct conn *c)
{
	ssize_t w = send(c->fd, cl.buf, c->todo, MSG_NOSIGNAL);

	if (w < 0 && errno == EAGAIN)
		return true;
	if (w < 0)
		stream_failed(c, "send", errno);
	c->bytes_out += w;
	c->todo -= w;
	if (c->todo)
		return true;
	c->writing = false;
	c->todo = cl.p.len;
	return false;
}

static void rr_request(struct conn *c)
{
	c->t_start = now();
	c->writing = true;
	c->todo = cl.p.len;
	ep_want(c, rr_send(c) ? EPOLLOUT : EPOLLIN);
}

/* rr: the response, then the next request until -t seconds passed. */
static bool rr_step(struct conn *c)
{
	ssize_t r;

	if (c->writing) {
		if (!rr_send(c))
			ep_want(c, EPOLLIN);
		return true;
	}
	r = recv(c->fd, cl.rbuf, c->todo, 0);
	if (r < 0 && errno == EAGAIN)
		return true;
	if (r <= 0)
		stream_failed(c, r ? "recv" : "closed by the server", r ? errno : 0);
	c->bytes_in += r;
	c->todo -= r;
	if (c->todo)
		return true;
	c->transactions++;
	add_latency(now() - c->t_start);
	if (now() < cl.t_stop) {
		rr_request(c);
		return true;
	}
	shutdown(c->fd, SHUT_WR);
	ep_forget(c);
	return false;
}

/* rr: one request outstanding per connection. */
static void client_rr(void)
{
	unsigned int i;

	for (i = 0; i < cl.p.parallel; i++)
		rr_request(&cl.s[i]);
	client_run(cl.p.parallel, rr_step);
}

/* crr: a connection that failed is counted, and its slot stops. */
static void crr_failed(struct conn *c, const char *what, int err)
{
	if (!cl.failed++)
		snprintf(cl.first_failure, sizeof(cl.first_failure), "%s%s%s",
			 what, err ? ": " : "", err ? strerror(err) : "");
	close(c->fd);
	c->fd = -1;
}

/* crr: open the slot's next connection; false if that failed at once. */
static bool crr_start(struct conn *c)
{
	c->t_start = now();
	c->fd = new_socket(cl.srv.ss_family, cl.p.proto);
	if (c->fd < 0) {
		if (cl.p.proto == IPPROTO_ETP && etp_missing(errno))
			die_socket(cl.srv.ss_family, cl.p.proto, errno);
		crr_failed(c, "socket", errno);
		return false;
	}
	c->connecting = true;
	c->writing = true;
	c->todo = cl.p.len;
	if (connect(c->fd, (struct sockaddr *)&cl.srv, addr_len(&cl.srv)) < 0 &&
	    errno != EINPROGRESS) {
		crr_failed(c, "connect", errno);
		return false;
	}
	ep_set(c, EPOLL_CTL_ADD, EPOLLOUT);
	return true;
}

/* crr: one step of a slot's connection; false when the slot stops. */
static bool crr_step(struct conn *c)
{
	ssize_t n;
	int err;

	if (c->connecting) {
		err = so_error(c->fd);
		if (err) {
			crr_failed(c, "connect", err);
			return false;
		}
		c->connecting = false;
	}
	if (c->writing) {
		n = send(c->fd, cl.buf + (cl.p.len - c->todo), c->todo,
			 MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n < 0) {
			crr_failed(c, "send", errno);
			return false;
		}
		c->bytes_out += n;
		c->todo -= n;
		if (!c->todo) {
			c->writing = false;
			c->todo = cl.p.len;
			ep_want(c, EPOLLIN);
		}
		return true;
	}
	/* The answer, then the end of the stream (todo 0). */
	n = recv(c->fd, cl.rbuf, c->todo ? c->todo : 1, 0);
	if (n < 0 && errno == EAGAIN)
		return true;
	if (n < 0 || (n == 0 && c->todo) || (n > 0 && !c->todo)) {
		crr_failed(c, n < 0 ? "recv" : n ? "the server sent too much" :
			   "the server closed before it answered",
			   n < 0 ? errno : 0);
		return false;
	}
	if (n > 0) {
		c->bytes_in += n;
		c->todo -= n;
		return true;
	}
	close(c->fd);
	c->fd = -1;
	c->transactions++;
	add_latency(now() - c->t_start);
	return now() < cl.t_stop && crr_start(c);
}

/* crr: -P slots, each opening one connection after the other. */
static void client_crr(void)
{
	unsigned int i, open = 0;

	for (i = 0; i < cl.p.parallel; i++)
		open += crr_start(&cl.s[i]);
	client_run(open, crr_step);
}

/* ---- the client's report ----------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Where the @pct percentile of @n sorted values is, by the nearest-rank
 * rule: the smallest value with at least @pct % of them at or below it.
 */
static size_t rank_index(size_t n, unsigned int pct)
{
	size_t rank = (pct * n + 99) / 100;

	return rank ? rank - 1 : 0;
}

/* The @pct percentile of @n sorted samples in ns, in us. */
static double percentile_us(const uint64_t *v, size_t n, unsigned int pct)
{
	return n ? v[rank_index(n, pct)] / 1e3 : NAN;
}

static void json_start(void)
{
	jopen(NULL, '{');
	jstr("version", "etp-perf 1");
	jopen("start", '{');
	jstr("protocol", proto_name(cl.p.proto));
	jstr("mode", mode_names[cl.p.mode]);
	jbool("reverse", cl.p.reverse);
	ju64("connections", cl.p.parallel);
	ju64("length", cl.p.len);
	jdbl("duration", cl.p.duration);
	jdbl("interval", cl.p.interval);
	jstr("host", cl.host);
	jstr("server", addr_str(&cl.srv));
	ju64("timestamp", (uint64_t)time(NULL));
	jclose('}');
	jopen("intervals", '[');
	for (size_t i = 0; i < cl.niv; i++) {
		const struct interval *iv = &cl.iv[i];
		double secs = iv->end - iv->start;

		jopen(NULL, '{');
		jdbl("start", iv->start);
		jdbl("end", iv->end);
		jdbl("seconds", secs);
		if (cl.p.mode == MODE_BULK) {
			ju64("bytes", iv->count);
			jdbl("bits_per_second", ratio(iv->count * 8.0, secs));
		} else {
			ju64(cl.p.mode == MODE_RR ? "transactions" : "connections",
			     iv->count);
			jdbl("per_second", ratio(iv->count, secs));
		}
		jclose('}');
	}
	jclose(']');
}

/* CPU of one end: seconds, per MiB moved, per transaction (rr, crr). */
static void report_cpu(const char *side, struct cpu cpu, double mib,
		       uint64_t transactions)
{
	double total = cpu.user + cpu.sys;

	if (json_out) {
		jopen(side, '{');
		jdbl("user", cpu.user);
		jdbl("system", cpu.sys);
		jdbl("seconds", total);
		jdbl("seconds_per_mib", ratio(total, mib));
		if (cl.p.mode != MODE_BULK)
			jdbl("us_per_transaction", ratio(total * 1e6, transactions));
		jclose('}');
		return;
	}
	printf("CPU %-6s %.3f s (user %.3f, system %.3f), ", side, total,
	       cpu.user, cpu.sys);
	if (cl.p.mode == MODE_BULK)
		printf("%.3f ms/MiB\n", ratio(total * 1e3, mib));
	else
		printf("%.2f us/%s\n", ratio(total * 1e6, transactions),
		       cl.p.mode == MODE_RR ? "transaction" : "connection");
}

static void report_cpus(double mib, uint64_t transactions)
{
	struct cpu server = { cl.res.cpu_user, cl.res.cpu_sys };

	if (json_out) {
		jopen("cpu", '{');
		jdbl("mib", mib);
	}
	report_cpu("client", cpu_between(&cl.ru0, &cl.ru1), mib, transactions);
	report_cpu("server", server, mib, transactions);
	if (json_out)
		jclose('}');
}

/* Each data connection delivered exactly what the other end wrote. */
static void check_bytes(void)
{
	unsigned int i;

	for (i = 0; i < cl.p.parallel; i++) {
		const struct conn *c = &cl.s[i];

		if (c->bytes_out != cl.res.in[i] || c->bytes_in != cl.res.out[i])
			die(EXIT_FAIL, 0, "%s connection %u: the client sent %" PRIu64
			    " bytes and received %" PRIu64 ", the server received %"
			    PRIu64 " and sent %" PRIu64, proto_name(cl.p.proto), i,
			    c->bytes_out, c->bytes_in, cl.res.in[i], cl.res.out[i]);
	}
}

static void report_side(const char *name, const char *side, uint64_t bytes,
			double secs, long long retrans)
{
	if (json_out) {
		jopen(name, '{');
		jstr("side", side);
		ju64("bytes", bytes);
		jdbl("seconds", secs);
		jdbl("bytes_per_second", ratio(bytes, secs));
		jdbl("bits_per_second", ratio(bytes * 8.0, secs));
		if (retrans >= 0)
			ju64("retransmits", retrans);
		jclose('}');
		return;
	}
	printf("[SUM] %7.2f-%-7.2f sec  %12s  %14s  %s (%s)", 0.0, secs,
	       fmt_bytes(bytes), fmt_bits(ratio(bytes * 8.0, secs)), name, side);
	if (retrans >= 0)
		printf(", %lld retransmits", retrans);
	putchar('\n');
}

static void report_bulk(void)
{
	unsigned int n = cl.p.parallel, i;
	bool rev = cl.p.reverse;
	uint64_t rx_total = 0, tx_total = 0, b;
	double *rate = calloc(n, sizeof(*rate)), secs, rx_secs, tx_secs;
	long long retrans = rev ? cl.res.retrans : 0, r;

	if (!rate)
		die(EXIT_FAIL, ENOMEM, "report");
	rx_secs = rev ? cl.t_end - cl.t0 : cl.res.secs;
	tx_secs = rev ? cl.res.secs : cl.t_end - cl.t0;
	if (json_out)
		jopen("streams", '[');
	else
		printf("- - - - - - - - - - - - - - - - - - - - - - - - - - - - - -\n%s",
		       n <= 20 ? "[ ID]  Interval            Transfer        Bitrate\n" : "");
	for (i = 0; i < n; i++) {
		b = rev ? cl.s[i].bytes_in : cl.res.in[i];
		secs = rev ? cl.s[i].t_end - cl.t0 : cl.res.secs_each[i];
		rate[i] = ratio(b * 8.0, secs);
		rx_total += b;
		tx_total += rev ? cl.res.out[i] : cl.s[i].bytes_out;
		if (!rev) {
			r = retransmits(cl.s[i].fd, cl.p.proto);
			retrans = r < 0 || retrans < 0 ? -1 : retrans + r;
		}
		if (json_out) {
			jopen(NULL, '{');
			ju64("id", i);
			ju64("bytes", b);
			jdbl("seconds", secs);
			jdbl("bits_per_second", rate[i]);
			jclose('}');
		} else if (n <= 20) {
			printf("[%3u] %7.2f-%-7.2f sec  %12s  %14s\n", i, 0.0,
			       secs, fmt_bytes(b), fmt_bits(rate[i]));
		}
	}
	if (json_out)
		jclose(']');
	qsort(rate, n, sizeof(*rate), cmp_dbl);
	report_side("receiver", rev ? "client" : "server", rx_total, rx_secs, -1);
	report_side("sender", rev ? "server" : "client", tx_total, tx_secs,
		    retrans);
	if (json_out) {
		jdbl("fairness", ratio(rate[0], rate[n - 1]));
		jdbl("slowest_bits_per_second", rate[0]);
		jdbl("median_bits_per_second", rate[rank_index(n, 50)]);
		jdbl("fastest_bits_per_second", rate[n - 1]);
	} else if (n > 1) {
		printf("Fairness (slowest/fastest connection) %.3f: slowest %s, median %s, fastest %s\n",
		       ratio(rate[0], rate[n - 1]), fmt_bits(rate[0]),
		       fmt_bits(rate[rank_index(n, 50)]), fmt_bits(rate[n - 1]));
	}
	report_cpus(rx_total / 1048576.0, 0);
	free(rate);
}

/* rr and crr. */
static void report_transactions(void)
{
	bool rr = cl.p.mode == MODE_RR;
	const char *what = rr ? "transactions" : "connections";
	double secs = cl.t_end - cl.t0, mean = 0;
	uint64_t in = 0, out = 0;
	unsigned int i;
	size_t k;

	for (i = 0; i < cl.p.parallel; i++) {
		in += cl.s[i].bytes_in;
		out += cl.s[i].bytes_out;
	}
	qsort(cl.lat, cl.nlat, sizeof(*cl.lat), cmp_u64);
	for (k = 0; k < cl.nlat; k++)
		mean += cl.lat[k] / 1e3;
	mean = ratio(mean, cl.nlat);
	if (json_out) {
		ju64(what, cl.transactions);
		if (!rr) {
			ju64("failed", cl.failed);
			if (cl.failed)
				jstr("first_failure", cl.first_failure);
		}
		jdbl("seconds", secs);
		jdbl("per_second", ratio(cl.transactions, secs));
		ju64("bytes_sent", out);
		ju64("bytes_received", in);
		jopen("latency_us", '{');
		jdbl("min", percentile_us(cl.lat, cl.nlat, 0));
		jdbl("mean", mean);
		jdbl("median", percentile_us(cl.lat, cl.nlat, 50));
		jdbl("p90", percentile_us(cl.lat, cl.nlat, 90));
		jdbl("p99", percentile_us(cl.lat, cl.nlat, 99));
		jdbl("max", percentile_us(cl.lat, cl.nlat, 100));
		jclose('}');
		if (rr) {
			jopen("streams", '[');
			for (i = 0; i < cl.p.parallel; i++) {
				jopen(NULL, '{');
				ju64("id", i);
				ju64("transactions", cl.s[i].transactions);
				jclose('}');
			}
			jclose(']');
		}
	} else {
		printf("- - - - - - - - - - - - - - - - - - - - - - - - - - - - - -\n"
		       "%" PRIu64 " %s in %.2f s: %.1f/s (%u at a time, %u-byte requests and responses)\n",
		       cl.transactions, what, secs, ratio(cl.transactions, secs),
		       cl.p.parallel, cl.p.len);
		printf("Latency (us%s): median %.1f, p90 %.1f, p99 %.1f (min %.1f, mean %.1f, max %.1f)\n",
		       rr ? "" : ", connect to close",
		       percentile_us(cl.lat, cl.nlat, 50),
		       percentile_us(cl.lat, cl.nlat, 90),
		       percentile_us(cl.lat, cl.nlat, 99),
		       percentile_us(cl.lat, cl.nlat, 0), mean,
		       percentile_us(cl.lat, cl.nlat, 100));
		if (cl.failed)
			printf("%" PRIu64 " connections failed; the first: %s\n",
			       cl.failed, cl.first_failure);
	}
	report_cpus((in + out) / 1048576.0, cl.transactions);
}

static void client_report(void)
{
	/* Checked before a line of the report is out. */
	if (cl.p.mode != MODE_CRR)
		check_bytes();
	else if (!cl.failed && cl.res.transactions != cl.transactions)
		die(EXIT_FAIL, 0, "the client completed %" PRIu64
		    " connections, the server answered %" PRIu64,
		    cl.transactions, cl.res.transactions);
	if (json_out) {
		json_start();
		jopen("end", '{');
	}
	if (cl.p.mode == MODE_BULK)
		report_bulk();
	else
		report_transactions();
	if (json_out)
		jclose('}');
	if (json_out)
		jclose('}');
	fflush(stdout);
}

/* ---- the client's setup -------------------------------------------------------- */

static void resolve(void)
{
	struct addrinfo hints = {
		.ai_family = cl.family, .ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res, *ai, *pick;
	char port[8];
	int err;

	snprintf(port, sizeof(port), "%u", cl.port);
	err = getaddrinfo(cl.host, port, &hints, &res);
	if (err)
		die(EXIT_NET, 0, "resolve %s: %s", cl.host,
		    err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
	/* ETP speaks IPv4: prefer an IPv4 address for it. */
	pick = res;
	for (ai = res; ai && cl.p.proto == IPPROTO_ETP; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			pick = ai;
			break;
		}
	}
	memcpy(&cl.srv, pick->ai_addr, pick->ai_addrlen);
	freeaddrinfo(res);
}

/* Steps 1 and 2: the control connection and the server's answer. */
static void client_request(void)
{
	struct pollfd pfd;
	double until = now() + REPLY_SECS;
	const char *s;
	char *line;
	int err, r;

	cl.ctl.fd = new_socket(cl.srv.ss_family, IPPROTO_TCP);
	if (cl.ctl.fd < 0)
		die_socket(cl.srv.ss_family, IPPROTO_TCP, errno);
	cl.ctl.proto = IPPROTO_TCP;
	cl.ctl.kind = K_CTL;
	cl.ctl.line = malloc(LINE_CAP);
	if (!cl.ctl.line)
		die(EXIT_FAIL, ENOMEM, "control connection");
	pfd.fd = cl.ctl.fd;
	pfd.events = POLLOUT;
	if (connect(cl.ctl.fd, (struct sockaddr *)&cl.srv, addr_len(&cl.srv)) < 0) {
		if (errno != EINPROGRESS)
			die(EXIT_NET, errno, "connect %s", addr_str(&cl.srv));
		if (poll(&pfd, 1, REPLY_SECS * 1000) == 0)
			die(EXIT_NET, ETIMEDOUT, "connect %s", addr_str(&cl.srv));
		err = so_error(cl.ctl.fd);
		if (err)
			die(EXIT_NET, err, "connect %s", addr_str(&cl.srv));
	}
	if (ctl_send(&cl.ctl, "ETPPERF %d proto=%s mode=%s reverse=%d parallel=%u len=%u time=%.6f interval=%.6f\n",
		     PROTO_VERSION, cl.p.proto == IPPROTO_ETP ? "etp" : "tcp",
		     mode_names[cl.p.mode], cl.p.reverse, cl.p.parallel,
		     cl.p.len, cl.p.duration, cl.p.interval) < 0)
		die(EXIT_NET, errno, "control connection to %s",
		    addr_str(&cl.srv));
	pfd.events = POLLIN;
	while (!(line = ctl_line(&cl.ctl))) {
		r = poll(&pfd, 1, ms_until(until));
		if (r == 0)
			die(EXIT_NET, 0, "%s: no answer within %d s (is etp-perf -s running there?)",
			    addr_str(&cl.srv), REPLY_SECS);
		r = ctl_fill(&cl.ctl);
		if (r == 0 || r == -1 || cl.ctl.line_len >= LINE_CAP)
			die(EXIT_NET, r == -1 ? errno : 0,
			    "%s: the server closed the control connection without an answer",
			    addr_str(&cl.srv));
	}
	if (!strncmp(line, "ERR ", 4))
		die(EXIT_FAIL, 0, "the server at %s refused the test: %s",
		    addr_str(&cl.srv), line + 4);
	s = kv(line, "cookie");
	if (strncmp(line, "OK ", 3) || !s)
		die(EXIT_NET, 0, "%s does not speak etp-perf's protocol",
		    addr_str(&cl.srv));
	cl.cookie = strtoull(s, NULL, 16);
	ep_set(&cl.ctl, EPOLL_CTL_ADD, EPOLLIN);
}

static int run_client(void)
{
	unsigned int i;
	rlim_t need = cl.p.parallel + SPARE_FDS;
	int fd;

	if (cl.p.proto == IPPROTO_ETP) {
		/* Say at once that ETP is missing, before asking the server. */
		fd = new_socket(cl.family == AF_INET6 ? AF_INET6 : AF_INET,
				IPPROTO_ETP);
		if (fd < 0)
			die_socket(cl.family == AF_INET6 ? AF_INET6 : AF_INET,
				   IPPROTO_ETP, errno);
		close(fd);
	}
	if (raise_nofile(need) < need)
		die(EXIT_NET, 0, "-P %u needs %llu open files, the limit is %llu (ulimit -n)",
		    cl.p.parallel, (unsigned long long)need,
		    (unsigned long long)raise_nofile(need));
	resolve();
	if (cl.p.proto == IPPROTO_ETP && cl.srv.ss_family == AF_INET6)
		die(EXIT_NOETP, 0, "%s", socket_error(AF_INET6, IPPROTO_ETP,
						      EPROTONOSUPPORT));
	cl.s = calloc(cl.p.parallel, sizeof(*cl.s));
	cl.res.in = calloc(cl.p.parallel, sizeof(*cl.res.in));
	cl.res.out = calloc(cl.p.parallel, sizeof(*cl.res.out));
	cl.res.secs_each = calloc(cl.p.parallel, sizeof(*cl.res.secs_each));
	cl.buf = malloc(cl.p.len);
	cl.rbuf = malloc(cl.p.len);
	if (!cl.s || !cl.res.in || !cl.res.out || !cl.res.secs_each ||
	    !cl.buf || !cl.rbuf)
		die(EXIT_FAIL, ENOMEM, "buffers");
	fill_random(cl.buf, cl.p.len);
	cl.buf[0] = HELLO_CRR;
	for (i = 0; i < cl.p.parallel; i++) {
		cl.s[i].fd = -1;
		cl.s[i].id = i;
		cl.s[i].proto = cl.p.proto;
		cl.s[i].kind = cl.p.mode == MODE_CRR ? K_CRR : K_DATA;
	}

	client_request();
	if (!json_out) {
		printf("Connecting to %s port %u (%s): %s %s, %u connection%s, %g s",
		       cl.host, cl.port, addr_str(&cl.srv),
		       proto_name(cl.p.proto), mode_names[cl.p.mode],
		       cl.p.parallel, cl.p.parallel == 1 ? "" : "s",
		       cl.p.duration);
		if (cl.p.mode == MODE_BULK)
			printf(", %u-byte buffers, %s sends\n", cl.p.len,
			       cl.p.reverse ? "server" : "client");
		else
			printf(", %u-byte requests and responses\n", cl.p.len);
		fflush(stdout);
	}
	if (cl.p.mode != MODE_CRR)
		client_connect_streams();
	client_wait_go();
	if (cl.p.mode == MODE_BULK && cl.p.reverse)
		client_bulk_receive();
	else if (cl.p.mode == MODE_BULK)
		client_bulk_send();
	else if (cl.p.mode == MODE_RR)
		client_rr();
	else
		client_crr();
	client_report();
	if (cl.failed) {
		warn("%" PRIu64 " of %" PRIu64 " connections failed; the first: %s",
		     cl.failed, cl.failed + cl.transactions, cl.first_failure);
		return EXIT_FAIL;
	}
	return 0;
}

/* ---- options ----------------------------------------------------------------- */

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "server", no_argument, NULL, 's' },
	{ "client", required_argument, NULL, 'c' },
	{ "port", required_argument, NULL, 'p' },
	{ "one-off", no_argument, NULL, '1' },
	{ "time", required_argument, NULL, 't' },
	{ "parallel", required_argument, NULL, 'P' },
	{ "reverse", no_argument, NULL, 'R' },
	{ "length", required_argument, NULL, 'l' },
	{ "interval", required_argument, NULL, 'i' },
	{ "json", no_argument, NULL, 'J' },
	{ "mode", required_argument, NULL, 'm' },
	{ "tcp", no_argument, NULL, 'T' },
	{ "version4", no_argument, NULL, '4' },
	{ "version6", no_argument, NULL, '6' },
	{ NULL, 0, NULL, 0 },
};

#define OPTSTRING ":hsc:p:1t:P:Rl:i:Jm:T46"

int main(int argc, char **argv)
{
	bool server = false, len_set = false;
	char client_only[16] = "", *co = client_only;
	unsigned long v;
	int opt;

	cl.p.proto = IPPROTO_ETP;
	cl.p.mode = MODE_BULK;
	cl.p.parallel = 1;
	cl.p.duration = DEFAULT_TIME;
	cl.port = DEFAULT_PORT;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, OPTSTRING, long_opts, NULL)) != -1) {
		if (strchr("tPRliJm", opt) && !strchr(client_only, opt) &&
		    co < client_only + sizeof(client_only) - 1)
			*co++ = opt;
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 's':
			server = true;
			break;
		case 'c':
			cl.host = optarg;
			break;
		case 'p':
			if (!parse_ulong(optarg, 1, 65535, &v))
				usage_error("invalid port '%s' (1-65535)", optarg);
			cl.port = v;
			break;
		case '1':
			sv.one_off = true;
			break;
		case 't':
			if (!parse_double(optarg, 0, MAX_TIME, &cl.p.duration) ||
			    cl.p.duration <= 0)
				usage_error("invalid duration '%s' (seconds, above 0, at most %g)",
					    optarg, MAX_TIME);
			break;
		case 'P':
			if (!parse_ulong(optarg, 1, MAX_PARALLEL, &v))
				usage_error("invalid number of connections '%s' (1-%d)",
					    optarg, MAX_PARALLEL);
			cl.p.parallel = v;
			break;
		case 'R':
			cl.p.reverse = true;
			break;
		case 'l':
			if (!parse_len(optarg, &cl.p.len))
				usage_error("invalid length '%s' (1 to 16M bytes)",
					    optarg);
			len_set = true;
			break;
		case 'i':
			if (!parse_interval(optarg, &cl.p.interval))
				usage_error("invalid interval '%s' (0, or %g to %g seconds)",
					    optarg, MIN_INTERVAL, MAX_TIME);
			break;
		case 'J':
			json_out = true;
			break;
		case 'm':
			for (cl.p.mode = MODE_BULK; cl.p.mode <= MODE_CRR; cl.p.mode++)
				if (!strcmp(optarg, mode_names[cl.p.mode]))
					break;
			if (cl.p.mode > MODE_CRR)
				usage_error("invalid mode '%s' (bulk, rr or crr)",
					    optarg);
			break;
		case 'T':
			cl.p.proto = IPPROTO_TCP;
			break;
		case '4':
		case '6':
			if (cl.family && cl.family != (opt == '4' ? AF_INET : AF_INET6))
				usage_error("-4 and -6 exclude each other");
			cl.family = opt == '4' ? AF_INET : AF_INET6;
			break;
		case ':':
			if (strncmp(argv[optind - 1], "--", 2))
				usage_error("option -%c needs an argument", optopt);
			usage_error("option %s needs an argument", argv[optind - 1]);
		default:
			if (optopt && strncmp(argv[optind - 1], "--", 2))
				usage_error("invalid option -%c", optopt);
			usage_error("invalid option %s", argv[optind - 1]);
		}
	}
	json_out = json_out && !server;
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (server && cl.host)
		usage_error("-s and -c exclude each other");
	if (!server && !cl.host)
		usage_error("give -s (server) or -c HOST (client)");
	if (server && *client_only)
		usage_error("-%c is an option of the client (-c)", client_only[0]);
	if (!server && sv.one_off)
		usage_error("-1 is an option of the server (-s)");
	if (cl.p.reverse && cl.p.mode != MODE_BULK)
		usage_error("-R is for -m bulk (rr and crr go both ways)");
	if (!len_set)
		cl.p.len = cl.p.mode == MODE_BULK ? BULK_LEN : 1;

	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die(EXIT_FAIL, errno, "epoll_create1");
	if (server) {
		sv.port = cl.port;
		sv.family = cl.family;
		sv.tcp_only = cl.p.proto == IPPROTO_TCP;
		return run_server();
	}
	return run_client();
}
