// SPDX-License-Identifier: GPL-2.0
/*
 * etpstat: "ss for ETP". Lists the ETP sockets of the current network
 * namespace from /proc/net/etp (with -i, each connection's RTO, RTT,
 * congestion window, windows, retransmissions, MSS and congestion phase),
 * or with -c the counters of /proc/net/etp_stat. -w refreshes the output
 * every few seconds, like watch(1). Run it in another namespace with
 * "ip netns exec NS etpstat".
 *
 * /proc/net/etp has the layout of /proc/net/tcp: addresses and ports in
 * hex (the address as the 32-bit word in memory, so it is read back the
 * same way on the same machine), the state in hex with TCP's numbers,
 * queues, timer and its remaining time in clock ticks, retransmissions,
 * uid, timeout and inode; then the internals in decimal, named in the
 * header line (rto srtt rttvar cwnd ssthresh snd_wnd rcv_wnd retrans mss
 * ca_state). The internals are found by their names in the header, so a
 * column added later does not confuse etpstat.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <linux/etp.h>

#define EXIT_USAGE	1	/* bad command line */
#define EXIT_PROC	2	/* /proc/net/etp or etp_stat unreadable */

#define PROC_SOCKS	"/proc/net/etp"
#define PROC_STATS	"/proc/net/etp_stat"

/* ETP_INFINITE_SSTHRESH in the module: no slow-start threshold yet. */
#define SSTHRESH_INF	0x7fffffffUL

#define MAX_PORTS	16
#define MAX_COUNTERS	128

static const char *prog = "etpstat";

/* Only --help is long; every other option has its one letter. */
static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *const state_names[] = {
	[ETP_ESTABLISHED] = "ESTABLISHED", [ETP_SYN_SENT] = "SYN_SENT",
	[ETP_SYN_RECV] = "SYN_RECV", [ETP_FIN_WAIT1] = "FIN_WAIT1",
	[ETP_FIN_WAIT2] = "FIN_WAIT2", [ETP_TIME_WAIT] = "TIME_WAIT",
	[ETP_CLOSE] = "CLOSE", [ETP_CLOSE_WAIT] = "CLOSE_WAIT",
	[ETP_LAST_ACK] = "LAST_ACK", [ETP_LISTEN] = "LISTEN",
	[ETP_CLOSING] = "CLOSING",
};
#define NSTATES	((int)(sizeof(state_names) / sizeof(state_names[0])))

/* The internals, in the order -i prints them, by their /proc header names. */
enum { I_RTO, I_SRTT, I_RTTVAR, I_CWND, I_SSTHRESH, I_SND_WND, I_RCV_WND,
       I_RETRANS, I_MSS, I_CA_STATE, I_MAX };
static const char *const internal_names[I_MAX] = {
	"rto", "srtt", "rttvar", "cwnd", "ssthresh", "snd_wnd", "rcv_wnd",
	"retrans", "mss", "ca_state",
};

struct options {
	bool internals;		/* -i */
	bool counters;		/* -c */
	bool all;		/* -a: zero counters too */
	bool no_header;		/* -H */
	unsigned int states;	/* -s: bit per state, 0 = all */
	unsigned short ports[MAX_PORTS];	/* -p */
	int nports;
	double watch;		/* -w SECS, 0 = once */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [-i] [-H] [-s STATE]... [-p PORT]... [-w SECS]\n"
		"       %s -c [-a] [-w SECS]\n"
		"\n"
		"ss for ETP (IP protocol %d): lists the ETP sockets of this network\n"
		"namespace from %s (listeners, connections, TIME_WAIT),\n"
		"or its counters from %s. For another namespace:\n"
		"ip netns exec NS %s ...\n"
		"\n"
		"Options:\n"
		"  -i        show each connection's internals on a second line: rto,\n"
		"            srtt and rttvar (ms), cwnd, ssthresh, snd_wnd, rcv_wnd\n"
		"            (bytes), retrans (segments), mss, phase (open, recovery,\n"
		"            loss)\n"
		"  -s STATE  only sockets in STATE (ESTABLISHED, SYN_SENT, SYN_RECV,\n"
		"            FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT,\n"
		"            LAST_ACK, LISTEN, CLOSING; any case, - or _); repeatable\n"
		"  -p PORT   only sockets with PORT at either end; repeatable\n"
		"  -H        no header line\n"
		"  -c        print the counters, one 'name value' per line, those\n"
		"            that are not zero\n"
		"  -a        with -c: all counters, zeros too\n"
		"  -w SECS   clear the screen and print again every SECS seconds\n"
		"            until interrupted (with -c: with the change since the\n"
		"            last refresh)\n"
		"  -h        print this help (also --help)\n"
		"\n"
		"Columns: State, Recv-Q and Send-Q (bytes not yet read, bytes not yet\n"
		"acknowledged; for a listener: connections waiting in accept() and\n"
		"the backlog), Local and Peer address:port, Timer (retransmit, probe,\n"
		"fin_wait2 or timewait, time left, retransmissions so far).\n"
		"\n"
		"Exit status: 0 ok, 1 usage error, 2 %s or %s not\n"
		"readable (is etp.ko loaded?)\n",
		prog, prog, IPPROTO_ETP, PROC_SOCKS, PROC_STATS, prog,
		PROC_SOCKS, PROC_STATS);
}

/* One clear line on stderr, exit 1. */
static void __attribute__((noreturn, format(printf, 1, 2)))
die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (try '%s -h')\n", prog);
	va_end(ap);
	exit(EXIT_USAGE);
}

static void __attribute__((noreturn)) die_proc(const char *path, int err)
{
	fprintf(stderr, "%s: %s: %s%s\n", prog, path, strerror(err),
		err == ENOENT ? " (is etp.ko loaded?)" : "");
	exit(EXIT_PROC);
}

/* "time_wait", "Time-Wait", "TIME_WAIT" and "closed" are all accepted. */
static int parse_state(const char *s)
{
	char buf[32];
	size_t i;
	int st;

	if (strlen(s) >= sizeof(buf))
		return -1;
	for (i = 0; s[i]; i++)
		buf[i] = s[i] == '-' ? '_' : s[i];
	buf[i] = '\0';
	if (!strcasecmp(buf, "CLOSED"))
		return ETP_CLOSE;
	for (st = 1; st < NSTATES; st++)
		if (!strcasecmp(buf, state_names[st]))
			return st;
	return -1;
}

static const char *state_name(unsigned int st)
{
	if (st > 0 && st < (unsigned int)NSTATES)
		return state_names[st];
	return "?";
}

static unsigned short parse_port(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || *s == '+' || v < 1 ||
	    v > 65535)
		die_usage("invalid port '%s' (want 1-65535)", s);
	return (unsigned short)v;
}

static double parse_secs(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || !*s || *end || !(v >= 0.1 && v <= 86400))
		die_usage("invalid interval '%s' (want 0.1 to 86400 seconds)", s);
	return v;
}

/* One line of /proc/net/etp, parsed. */
struct sock_line {
	struct in_addr laddr, raddr;
	unsigned int lport, rport, state;
	unsigned long txq, rxq;
	unsigned int timer;
	unsigned long when;	/* clock ticks left */
	unsigned long retrnsmt;
	bool has_internals;
	unsigned long internals[I_MAX];
};

/* Where each internal sits among the fields after the inode (-1: absent). */
static int internal_pos[I_MAX];

/*
 * The header names the columns; the first twelve are /proc/net/tcp's
 * (the tx_queue:rx_queue and tr:tm->when pairs are one field each in the
 * lines below it), the rest follow the inode.
 */
static void parse_header(char *line)
{
	char *tok, *save = NULL;
	int i, n = 0;
	bool after = false;

	for (i = 0; i < I_MAX; i++)
		internal_pos[i] = -1;
	for (tok = strtok_r(line, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (!after) {
			after = !strcmp(tok, "inode");
			continue;
		}
		for (i = 0; i < I_MAX; i++)
			if (!strcmp(tok, internal_names[i]))
				internal_pos[i] = n;
		n++;
	}
}

static bool parse_sock_line(const char *line, struct sock_line *s)
{
	unsigned int laddr, raddr, uid;
	unsigned long inode, extra[64];
	int timeout, off = 0, n = 0, i;

	memset(s, 0, sizeof(*s));
	if (sscanf(line, " %*d: %8X:%4X %8X:%4X %2X %8lX:%8lX %2X:%8lX %8lX %u %d %lu%n",
		   &laddr, &s->lport, &raddr, &s->rport, &s->state, &s->txq,
		   &s->rxq, &s->timer, &s->when, &s->retrnsmt, &uid, &timeout,
		   &inode, &off) < 13)
		return false;
	/* The word in memory, printed as a host integer: read it back so. */
	s->laddr.s_addr = laddr;
	s->raddr.s_addr = raddr;
	line += off;
	while (n < (int)(sizeof(extra) / sizeof(extra[0]))) {
		int used;

		if (sscanf(line, " %lu%n", &extra[n], &used) < 1)
			break;
		line += used;
		n++;
	}
	s->has_internals = true;
	for (i = 0; i < I_MAX; i++) {
		if (internal_pos[i] < 0 || internal_pos[i] >= n)
			s->has_internals = false;
		else
			s->internals[i] = extra[internal_pos[i]];
	}
	return true;
}

static bool selected(const struct options *o, const struct sock_line *s)
{
	int i;

	if (o->states && !(s->state < 32 && (o->states & (1U << s->state))))
		return false;
	if (!o->nports)
		return true;
	for (i = 0; i < o->nports; i++)
		if (s->lport == o->ports[i] || s->rport == o->ports[i])
			return true;
	return false;
}

static void endpoint(char *buf, size_t len, struct in_addr a, unsigned int port,
		     bool wildcard_port)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	if (wildcard_port && !port)
		snprintf(buf, len, "%s:*", ip);
	else
		snprintf(buf, len, "%s:%u", ip, port);
}

/* "retransmit,0.18s,2": the timer, the time left and retransmissions. */
static void timer_str(char *buf, size_t len, const struct sock_line *s)
{
	static const char *const names[] = {
		"", "retransmit", "fin_wait2", "timewait", "probe",
	};
	long hz = sysconf(_SC_CLK_TCK);
	const char *name;
	int n;

	if (hz <= 0)
		hz = 100;
	buf[0] = '\0';
	if (!s->timer)
		return;
	name = s->timer < sizeof(names) / sizeof(names[0]) ? names[s->timer] :
	       "?";
	n = snprintf(buf, len, "%s,%.2fs", name, (double)s->when / hz);
	if (s->retrnsmt && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, ",%lu", s->retrnsmt);
}

/* Microseconds as milliseconds, without trailing zeros: 3529 -> 3.529ms. */
static void ms_str(char *buf, size_t len, unsigned long us)
{
	char *p;

	snprintf(buf, len, "%lu.%03lu", us / 1000, us % 1000);
	p = buf + strlen(buf) - 1;
	while (*p == '0')
		*p-- = '\0';
	if (*p == '.')
		*p = '\0';
	strncat(buf, "ms", len - strlen(buf) - 1);
}

static void print_internals(const struct sock_line *s)
{
	static const char *const phases[] = { "open", "recovery", "loss" };
	const unsigned long *v = s->internals;
	char rto[32], srtt[32], rttvar[32], ssth[32];

	ms_str(rto, sizeof(rto), v[I_RTO]);
	ms_str(srtt, sizeof(srtt), v[I_SRTT]);
	ms_str(rttvar, sizeof(rttvar), v[I_RTTVAR]);
	if (v[I_SSTHRESH] >= SSTHRESH_INF)
		snprintf(ssth, sizeof(ssth), "inf");
	else
		snprintf(ssth, sizeof(ssth), "%lu", v[I_SSTHRESH]);
	printf("\t rto:%s srtt:%s rttvar:%s cwnd:%lu ssthresh:%s snd_wnd:%lu rcv_wnd:%lu retrans:%lu mss:%lu phase:%s\n",
	       rto, srtt, rttvar, v[I_CWND], ssth, v[I_SND_WND], v[I_RCV_WND],
	       v[I_RETRANS], v[I_MSS],
	       v[I_CA_STATE] < 3 ? phases[v[I_CA_STATE]] : "?");
}

static void list_sockets(const struct options *o)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	f = fopen(PROC_SOCKS, "r");
	if (!f)
		die_proc(PROC_SOCKS, errno);
	if (getline(&line, &cap, f) < 0)
		die_proc(PROC_SOCKS, ferror(f) ? errno : EIO);
	parse_header(line);
	if (!o->no_header)
		printf("%-11s %6s %6s %-21s %-21s %s\n", "State", "Recv-Q",
		       "Send-Q", "Local", "Peer", "Timer");
	while (getline(&line, &cap, f) >= 0) {
		char local[32], peer[32], timer[48];
		struct sock_line s;
		bool listener;

		if (!parse_sock_line(line, &s) || !selected(o, &s))
			continue;
		listener = s.state == ETP_LISTEN;
		endpoint(local, sizeof(local), s.laddr, s.lport, false);
		endpoint(peer, sizeof(peer), s.raddr, s.rport, listener);
		timer_str(timer, sizeof(timer), &s);
		/* /proc has tx_queue before rx_queue; ss shows Recv-Q first. */
		printf("%-11s %6lu %6lu %-21s ", state_name(s.state), s.rxq,
		       s.txq, local);
		if (timer[0])
			printf("%-21s %s\n", peer, timer);
		else
			printf("%s\n", peer);
		/* Listeners and TIME_WAIT entries have no internals (zeros). */
		if (o->internals && s.has_internals && !listener &&
		    s.state != ETP_TIME_WAIT)
			print_internals(&s);
	}
	if (ferror(f))
		die_proc(PROC_SOCKS, errno);
	free(line);
	fclose(f);
}

struct counter {
	char name[64];
	unsigned long long value;
};

static int read_counters(struct counter *c)
{
	char *names = NULL, *values = NULL, *sn = NULL, *sv = NULL, *tn, *tv;
	size_t cn = 0, cv = 0;
	int n = 0;
	FILE *f;

	f = fopen(PROC_STATS, "r");
	if (!f)
		die_proc(PROC_STATS, errno);
	if (getline(&names, &cn, f) < 0 || getline(&values, &cv, f) < 0)
		die_proc(PROC_STATS, ferror(f) ? errno : EIO);
	fclose(f);
	tn = strtok_r(names, " \n", &sn);
	tv = strtok_r(values, " \n", &sv);
	/* Both lines start with "Etp:". */
	while ((tn = strtok_r(NULL, " \n", &sn)) &&
	       (tv = strtok_r(NULL, " \n", &sv)) && n < MAX_COUNTERS) {
		snprintf(c[n].name, sizeof(c[n].name), "%s", tn);
		c[n].value = strtoull(tv, NULL, 10);
		n++;
	}
	free(names);
	free(values);
	return n;
}

static void print_counters(const struct options *o, bool show_delta)
{
	static struct counter prev[MAX_COUNTERS];
	static int nprev;
	struct counter cur[MAX_COUNTERS];
	int n, i, j;

	n = read_counters(cur);
	for (i = 0; i < n; i++) {
		unsigned long long before = cur[i].value;

		for (j = 0; j < nprev; j++)
			if (!strcmp(prev[j].name, cur[i].name))
				before = prev[j].value;
		if (!cur[i].value && !o->all)
			continue;
		if (show_delta && cur[i].value != before)
			printf("%-20s %llu (+%llu)\n", cur[i].name,
			       cur[i].value, cur[i].value - before);
		else
			printf("%-20s %llu\n", cur[i].name, cur[i].value);
	}
	memcpy(prev, cur, sizeof(cur[0]) * n);
	nprev = n;
}

static void show(const struct options *o, bool watching)
{
	if (o->counters)
		print_counters(o, watching);
	else
		list_sockets(o);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void watch(const struct options *o, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct timespec ts;
	char when[32];
	time_t now;
	int i;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		now = time(NULL);
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
		/* Home and clear, as watch(1) does. */
		printf("\033[H\033[2J");
		printf("Every %gs: %s", o->watch, prog);
		for (i = 1; i < argc; i++)
			printf(" %s", argv[i]);
		printf("    %s\n\n", when);
		show(o, true);
		fflush(stdout);
		ts.tv_sec = (time_t)o->watch;
		ts.tv_nsec = (long)((o->watch - (double)ts.tv_sec) * 1e9);
		while (!stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int opt, st;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hicaHs:p:w:", long_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'i':
			o.internals = true;
			break;
		case 'c':
			o.counters = true;
			break;
		case 'a':
			o.all = true;
			break;
		case 'H':
			o.no_header = true;
			break;
		case 's':
			st = parse_state(optarg);
			if (st < 0)
				die_usage("unknown state '%s'", optarg);
			o.states |= 1U << st;
			break;
		case 'p':
			if (o.nports == MAX_PORTS)
				die_usage("at most %d -p options", MAX_PORTS);
			o.ports[o.nports++] = parse_port(optarg);
			break;
		case 'w':
			o.watch = parse_secs(optarg);
			break;
		case ':':
			die_usage("option -%c needs an argument", optopt);
		default:
			if (!optopt || !strncmp(argv[optind - 1], "--", 2))
				die_usage("invalid option %s", argv[optind - 1]);
			die_usage("invalid option -%c", optopt);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (o.counters && (o.internals || o.states || o.nports || o.no_header))
		die_usage("-i, -s, -p and -H apply to the socket list, not to -c");
	if (o.all && !o.counters)
		die_usage("-a goes with -c (the socket list always shows all sockets)");

	if (o.watch > 0)
		watch(&o, argc, argv);
	else
		show(&o, false);
	return 0;
}
