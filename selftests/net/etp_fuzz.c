// SPDX-License-Identifier: GPL-2.0
/*
 * etp_fuzz: random and mutated ETP segments against a listener and two
 * established connections, from raw sockets, seeded and reproducible.
 *
 *   etp_fuzz -l ADDR:PORT [-t SECS] [-r READYFILE]
 *       The target: an echo server. It listens on ADDR:PORT, accepts any
 *       number of connections and sends back whatever each one sends (a
 *       connection whose first bytes are "CLOSE!" it closes at once,
 *       so its TIME_WAIT is on this side), until SIGTERM/SIGINT or SECS
 *       seconds (default 600); then it aborts
 *       every connection (RST), so nothing is left holding the module.
 *
 *   etp_fuzz -d ADDR -p PORT [-s SEED] [-n COUNT] [-F A.B] [-P FILE]
 *       The attacker. It connects two victims to the echo server:
 *
 *       A  receives only malformed segments (short, bad data offset, bad
 *          checksum, bad flags, bad options), each carrying A's 4-tuple and
 *          exactly the sequence and acknowledgment numbers the server
 *          expects next, with payload, RST or FIN. None may be taken: A must
 *          stay ESTABLISHED, nothing may arrive on it, and afterwards an
 *          echo through it must come back byte for byte.
 *       B  receives well-formed segments near its sequence numbers (data,
 *          FIN, RST, SYN, options), and bit-flipped or truncated ones: B is
 *          allowed to break, and is connected again when it does (and
 *          every 2000 segments).
 *
 *       The rest go to the listener (SYNs with and without options, ACKs
 *       that must fail the SYN cookie check, RSTs, data, from random ports
 *       and, with -F A.B, from forged sources A.B.0.0/16 whose replies the
 *       target routes into the void), to the half-open connections those
 *       forged SYNs left (SYN_RECV: the SYN again, RSTs, ACKs, data, FIN),
 *       to TIME_WAIT entries on the target (connections the echo server
 *       closed first when asked with "CLOSE!": SYNs above and below the
 *       old numbers, FINs again, RSTs, data), to ports nobody listens on,
 *       with IP options, odd TOS/TTL/ID/DF, and as oversized segments (up
 *       to 60000 octets, sent as IP fragments). COUNT (default 100000) segments in
 *       all; SEED (default: from the clock) fixes every choice, and is
 *       printed, so a run can be repeated with -s SEED -n COUNT.
 *
 *       For every segment the kernel accepted for sending, the attacker
 *       predicts which of the receiver's drop counters it moves (the checks
 *       of protocol.rst, "What the receiver drops", in their order) and
 *       prints the totals ("# predicted InCsumErrors 1234"; with -P also to
 *       FILE as "InCsumErrors 1234" lines) for the caller to compare with
 *       /proc/net/etp_stat of the target's namespace.
 *
 * Exit status: 0 ok, 1 usage, 2 setup failed (socket, connect), 3 victim A
 * was harmed (a malformed segment was taken).
 */
#define _GNU_SOURCE
#include <signal.h>
#include "etp_raw.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(int code, const char *what)
{
	fprintf(stderr, "etp_fuzz: %s: %s\n", what, strerror(errno));
	exit(code);
}

/* ------------------------------------------------------------------ */
/* The echo server                                                     */
/* ------------------------------------------------------------------ */

#define SINK_MAX	512

struct echo_conn {
	int fd;
	bool fresh;		/* nothing read yet */
	size_t off, len;
	uint8_t buf[16384];
};

/* A connection that starts with this is closed by the server first. */
#define CLOSE_FIRST	"CLOSE!"

static void conn_abort(struct echo_conn *c)
{
	etp_close_abort(c->fd);
	c->fd = -1;
}

static int sink(const char *spec, int secs, const char *ready)
{
	static struct echo_conn conns[SINK_MAX];
	static struct pollfd pfd[SINK_MAX + 1];
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long accepted = 0, echoed = 0, errors = 0;
	char addr[64], *colon;
	long long end;
	int lfd, i, n;

	snprintf(addr, sizeof(addr), "%s", spec);
	colon = strchr(addr, ':');
	if (!colon) {
		fprintf(stderr, "etp_fuzz: -l wants ADDR:PORT\n");
		return 1;
	}
	*colon = 0;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ETP);
	if (lfd < 0)
		die(2, "socket");
	n = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &n, sizeof(n));
	if (etp_bind(lfd, addr, atoi(colon + 1)) < 0)
		die(2, "bind");
	if (listen(lfd, 64) < 0)
		die(2, "listen");
	for (i = 0; i < SINK_MAX; i++)
		conns[i].fd = -1;
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f) {
			fputs("ready\n", f);
			fclose(f);
		}
	}
	printf("# etp_fuzz: echo server on %s\n", spec);
	fflush(stdout);

	end = etp_now_ms() + secs * 1000LL;
	while (!stop && etp_now_ms() < end) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < SINK_MAX; i++) {
			struct echo_conn *c = &conns[i];

			pfd[i + 1].fd = c->fd;
			pfd[i + 1].events = c->off < c->len ? POLLOUT : POLLIN;
			pfd[i + 1].revents = 0;
		}
		n = poll(pfd, SINK_MAX + 1, 200);
		if (n <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			int fd;

			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				accepted++;
				for (i = 0; i < SINK_MAX && conns[i].fd >= 0; i++)
					;
				if (i == SINK_MAX) {
					etp_close_abort(fd);
					continue;
				}
				conns[i].fd = fd;
				conns[i].fresh = true;
				conns[i].off = conns[i].len = 0;
			}
		}
		for (i = 0; i < SINK_MAX; i++) {
			struct echo_conn *c = &conns[i];
			short ev = pfd[i + 1].revents;
			ssize_t r;

			if (c->fd < 0 || !ev)
				continue;
			if (c->off == c->len && (ev & (POLLIN | POLLERR | POLLHUP))) {
				r = recv(c->fd, c->buf, sizeof(c->buf), 0);
				if (r == 0) {
					close(c->fd);	/* peer finished: FIN */
					c->fd = -1;
					continue;
				}
				if (r < 0) {
					if (errno != EAGAIN) {
						errors++;
						conn_abort(c);
					}
					continue;
				}
				if (c->fresh && r == sizeof(CLOSE_FIRST) - 1 &&
				    !memcmp(c->buf, CLOSE_FIRST, r)) {
					/* our FIN first: TIME_WAIT on this side */
					close(c->fd);
					c->fd = -1;
					continue;
				}
				c->fresh = false;
				c->off = 0;
				c->len = r;
			}
			if (c->off < c->len) {
				r = send(c->fd, c->buf + c->off, c->len - c->off,
					 MSG_NOSIGNAL);
				if (r < 0 && errno != EAGAIN) {
					errors++;
					conn_abort(c);
					continue;
				}
				if (r > 0) {
					c->off += r;
					echoed += r;
				}
			}
		}
	}
	for (i = 0; i < SINK_MAX; i++)
		if (conns[i].fd >= 0)
			conn_abort(&conns[i]);
	close(lfd);
	printf("# etp_fuzz: echo server: %llu connections, %llu bytes echoed, %llu ended in errors\n",
	       accepted, echoed, errors);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The attacker                                                        */
/* ------------------------------------------------------------------ */

enum seg_class {
	C_MAL_A,	/* malformed, at victim A's exact numbers */
	C_MAL_OTHER,	/* malformed, at the listener or victim B */
	C_LISTENER,	/* well-formed, at the listener */
	C_VICTIM_B,	/* well-formed, near victim B's numbers */
	C_MUTATED,	/* bit flips or truncation of a well-formed one */
	C_NOSOCK,	/* to a port nobody listens on */
	C_HALFOPEN,	/* to a half-open child a forged SYN left */
	C_TIMEWAIT,	/* to a TIME_WAIT entry of the target */
	C_OVERSIZED,	/* larger than the MTU: leaves as IP fragments */
	C_MAX
};

static const char *const class_name[C_MAX] = {
	"malformed at A", "malformed at listener/B", "listener",
	"victim B", "mutated", "no socket", "half-open (SYN_RECV)",
	"TIME_WAIT", "oversized",
};

struct victim {
	int fd;
	uint16_t port;		/* local (client) port */
	struct etp_info info;
};

/* A 4-tuple the target holds, seen from our side. */
struct tuple {
	uint32_t saddr;		/* ours, maybe forged */
	uint16_t sport;
	uint32_t seq, ack;	/* what the target expects next, and sent */
};

#define RING	64

struct fuzz {
	struct etp_rng rng;
	uint32_t laddr, raddr;	/* network order */
	uint16_t lport;		/* the listener's port */
	uint8_t forged_a, forged_b;	/* forged sources A.B.x.y; 0: none */
	struct victim a, b;
	unsigned int mtu;
	unsigned long long verdicts[ETP_V_MAX], classes[C_MAX], unsent;
	unsigned int b_reconnects, b_segs;
	struct tuple half[RING], tw[RING];	/* forged SYNs, TIME_WAITs */
	unsigned int nhalf, ntw, tw_made, tw_failed;
};

/* A blocking connect to the target, retried while it is not there yet. */
static int victim_connect(struct fuzz *f, struct victim *v)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	long long end = etp_now_ms() + 20000;

	sin.sin_addr.s_addr = f->raddr;
	sin.sin_port = htons(f->lport);
	for (;;) {
		v->fd = etp_socket();
		if (v->fd < 0)
			return -1;
		if (!connect(v->fd, (struct sockaddr *)&sin, sizeof(sin)))
			break;
		etp_close_abort(v->fd);
		v->fd = -1;
		if (etp_now_ms() > end)
			return -1;
		etp_sleep_ms(100);
	}
	v->port = etp_local_port(v->fd);
	fcntl(v->fd, F_SETFL, fcntl(v->fd, F_GETFL) | O_NONBLOCK);
	return etp_get_info(v->fd, &v->info);
}

/*
 * A connection the echo server closes first, so that the TIME_WAIT entry
 * is the target's; remembered with the numbers the entry holds.
 */
static void make_tw(struct fuzz *f)
{
	struct victim v = { .fd = -1 };
	struct etp_info info;
	long long end;
	struct tuple *t;
	char b;

	if (victim_connect(f, &v))
		goto fail;
	if (send(v.fd, CLOSE_FIRST, sizeof(CLOSE_FIRST) - 1, MSG_NOSIGNAL) !=
	    sizeof(CLOSE_FIRST) - 1)
		goto fail;
	end = etp_now_ms() + 5000;
	for (;;) {
		ssize_t n = recv(v.fd, &b, 1, 0);

		if (!n)
			break;		/* the server's FIN */
		if (n < 0 && errno == EAGAIN && etp_now_ms() < end) {
			etp_sleep_ms(2);
			continue;
		}
		goto fail;
	}
	if (etp_get_info(v.fd, &info))
		goto fail;
	close(v.fd);	/* our FIN; its ACK puts the server in TIME_WAIT */
	t = &f->tw[f->ntw++ % RING];
	t->saddr = f->laddr;
	t->sport = v.port;
	t->seq = info.etpi_snd_nxt + 1;	/* after our FIN */
	t->ack = info.etpi_rcv_nxt;	/* after the server's FIN */
	f->tw_made++;
	return;
fail:
	etp_close_abort(v.fd);
	f->tw_failed++;
}

/* Read and forget whatever arrived on @v (B: echoes of anything). */
static void victim_drain(struct victim *v)
{
	static uint8_t buf[65536];

	while (v->fd >= 0 && recv(v->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Bidirectional echo of @len pattern bytes through @fd, blocking. */
static int echo_check(int fd, size_t len, uint32_t seed, char *why, size_t wl)
{
	static uint8_t buf[65536];
	size_t sent = 0, rcvd = 0;
	long long end = etp_now_ms() + 60000;

	while (rcvd < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - etp_now_ms());

		if (sent < len)
			p.events |= POLLOUT;
		if (left <= 0 || poll(&p, 1, left) <= 0) {
			snprintf(why, wl, "echo timed out: sent %zu, received %zu of %zu",
				 sent, rcvd, len);
			return -1;
		}
		if ((p.revents & POLLOUT) && sent < len) {
			size_t n = len - sent > 4096 ? 4096 : len - sent;
			ssize_t r;

			etp_fill(buf, n, sent, seed);
			r = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r < 0 && errno != EAGAIN) {
				snprintf(why, wl, "send: %s", strerror(errno));
				return -1;
			}
			if (r > 0)
				sent += r;
		}
		if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
			ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			long long bad;

			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				snprintf(why, wl, "recv after %zu bytes: %s", rcvd,
					 r ? strerror(errno) : "end of stream");
				return -1;
			}
			if (r > 0) {
				if (rcvd + r > len) {
					snprintf(why, wl, "%zu bytes more than sent came back",
						 rcvd + r - len);
					return -1;
				}
				bad = etp_check(buf, r, rcvd, seed);
				if (bad >= 0) {
					snprintf(why, wl, "echoed byte %lld differs", bad);
					return -1;
				}
				rcvd += r;
			}
		}
	}
	return 0;
}

/* Valid options (RFC 9293 and 7323 kinds, unknown kinds skipped), <= 40. */
static size_t gen_options(struct etp_rng *r, uint8_t *o, size_t room)
{
	size_t len = 0, want = etp_rng_below(r, room + 1);

	while (len < want) {
		size_t left = room - len;

		switch (etp_rng_below(r, 6)) {
		case 0:
			if (left < 4)
				break;
			o[len++] = ETP_OPT_MSS;
			o[len++] = 4;
			o[len++] = etp_rng_below(r, 256);
			o[len++] = etp_rng_below(r, 256);
			continue;
		case 1:
			if (left < 3)
				break;
			o[len++] = ETP_OPT_WSCALE;
			o[len++] = 3;
			/* above 14 is taken as 14 (RFC 7323, 2.3) */
			o[len++] = etp_rng_below(r, 20);
			continue;
		case 2: {
			size_t ol = 2 + etp_rng_below(r, 9);	/* unknown kind */

			if (left < ol)
				break;
			o[len] = 4 + etp_rng_below(r, 250);
			o[len + 1] = ol;
			etp_rng_bytes(r, o + len + 2, ol - 2);
			len += ol;
			continue;
		}
		default:
			break;
		}
		o[len++] = ETP_OPT_NOP;
	}
	/* Pad to whole words: NOPs, or an EOL followed by anything. */
	if (len % 4 && etp_rng_pct(r, 50)) {
		o[len++] = ETP_OPT_EOL;
		while (len % 4)
			o[len++] = etp_rng_below(r, 256);
	}
	while (len % 4)
		o[len++] = ETP_OPT_NOP;
	return len;
}

/* Options that end in a broken one. */
static size_t gen_bad_options(struct etp_rng *r, uint8_t *o)
{
	size_t len, left;

	do {
		/* a valid start without EOL: NOPs only */
		len = etp_rng_below(r, 5) * 4;
		memset(o, ETP_OPT_NOP, len);
		left = 40 - len;
		switch (etp_rng_below(r, 6)) {
		case 0:		/* length 0 or 1 */
			o[len] = 2 + etp_rng_below(r, 250);
			o[len + 1] = etp_rng_below(r, 2);
			len += 4;
			break;
		case 1: {	/* runs past the header */
			size_t extra = 4 * (1 + etp_rng_below(r, left / 4));

			o[len] = 2 + etp_rng_below(r, 250);
			o[len + 1] = extra + 1 + etp_rng_below(r, 60);
			etp_rng_bytes(r, o + len + 2, extra - 2);
			len += extra;
			break;
		}
		case 2:		/* MSS not 4 long */
			o[len] = ETP_OPT_MSS;
			o[len + 1] = etp_rng_pct(r, 50) ? 3 : 2;
			o[len + 2] = ETP_OPT_NOP;
			o[len + 3] = ETP_OPT_NOP;
			len += 4;
			break;
		case 3:		/* window scale not 3 long */
			o[len] = ETP_OPT_WSCALE;
			o[len + 1] = etp_rng_pct(r, 50) ? 2 : 4;
			o[len + 2] = 7;
			o[len + 3] = 0;
			len += 4;
			break;
		case 4:		/* a kind with no room for its length */
			len += 4;
			o[len - 4] = ETP_OPT_NOP;
			o[len - 3] = ETP_OPT_NOP;
			o[len - 2] = ETP_OPT_NOP;
			o[len - 1] = 2 + etp_rng_below(r, 250);
			break;
		default:	/* random bytes */
			len += 4 * (1 + etp_rng_below(r, left / 4));
			etp_rng_bytes(r, o + len - 4, 4);
			break;
		}
	} while (etp_options_ok(o, len));
	return len;
}

static uint8_t valid_flags(struct etp_rng *r)
{
	uint8_t f;

	do {
		f = etp_rng_below(r, 256);
	} while (!etp_flags_valid(f));
	return f;
}

static uint8_t invalid_flags(struct etp_rng *r)
{
	static const uint8_t common[] = {
		0, ETP_FLAG_FIN, ETP_FLAG_PSH, ETP_FLAG_URG,
		ETP_FLAG_SYN | ETP_FLAG_FIN, ETP_FLAG_SYN | ETP_FLAG_RST,
		ETP_FLAG_SYN | ETP_FLAG_FIN | ETP_FLAG_ACK,
		ETP_FLAG_SYN | ETP_FLAG_RST | ETP_FLAG_ACK,
		ETP_FLAG_FIN | ETP_FLAG_PSH | ETP_FLAG_URG,
		ETP_FLAG_ECE | ETP_FLAG_CWR,
	};
	uint8_t f;

	if (etp_rng_pct(r, 60))
		return common[etp_rng_below(r, sizeof(common))];
	do {
		f = etp_rng_below(r, 256);
	} while (etp_flags_valid(f));
	return f;
}

static uint16_t random_sport(struct fuzz *f)
{
	uint16_t p;

	do {
		p = 1 + etp_rng_below(&f->rng, 65535);
	} while (p == f->a.port || p == f->b.port);
	return p;
}

static uint32_t source_addr(struct fuzz *f, unsigned int forged_pct)
{
	if (f->forged_a && etp_rng_pct(&f->rng, forged_pct))
		return htonl((uint32_t)f->forged_a << 24 | (uint32_t)f->forged_b << 16 |
			     (1 + etp_rng_below(&f->rng, 65534)));
	return f->laddr;
}

static uint32_t near(struct etp_rng *r, uint32_t x)
{
	switch (etp_rng_below(r, 10)) {
	case 0: case 1: case 2: case 3: case 4:
		return x;
	case 5: case 6: case 7:
		return x + etp_rng_below(r, 4001) - 2000;
	default:
		return etp_rng32(r);
	}
}

/*
 * One segment of class @cls into @seg; returns its length and sets the
 * source address *saddr (the destination is the target's address).
 */
static size_t gen_segment(struct fuzz *f, enum seg_class cls, uint8_t *seg,
			  size_t room, uint32_t *saddr)
{
	struct etp_rng *r = &f->rng;
	uint8_t opts[40], payload[65536];
	struct etp_seg_spec s = {
		.daddr = f->raddr, .dport = f->lport,
		.window = etp_rng_below(r, 65536), .opts = opts,
		.payload = payload,
	};
	size_t maxp = room - ETP_HDR_LEN - 40, len;
	enum etp_verdict want = ETP_V_VALID;
	struct victim *v = NULL;

	s.saddr = f->laddr;
	s.sport = random_sport(f);
	s.seq = etp_rng32(r);
	s.ack = etp_rng32(r);
	if (maxp > 1400)
		maxp = 1400;

	switch (cls) {
	case C_MAL_A:
	case C_MAL_OTHER:
		want = ETP_V_SHORT + etp_rng_below(r, ETP_V_MAX - ETP_V_SHORT);
		if (cls == C_MAL_A)
			v = &f->a;
		else if (etp_rng_pct(r, 50))
			v = &f->b;
		else
			s.saddr = source_addr(f, 30);
		if (v) {
			static const uint8_t vf[] = {
				ETP_FLAG_ACK | ETP_FLAG_PSH, ETP_FLAG_ACK | ETP_FLAG_FIN,
				ETP_FLAG_RST, ETP_FLAG_RST | ETP_FLAG_ACK, ETP_FLAG_SYN,
				ETP_FLAG_ACK,
			};

			s.sport = v->port;
			s.seq = v->info.etpi_snd_nxt;
			s.ack = v->info.etpi_rcv_nxt;
			s.flags = vf[etp_rng_below(r, sizeof(vf))];
			memcpy(payload, "EVIL", 4);
			s.plen = 4 + etp_rng_below(r, 61);
			etp_rng_bytes(r, payload + 4, s.plen - 4);
		} else {
			s.flags = valid_flags(r);
			s.plen = etp_rng_below(r, 65);
			etp_rng_bytes(r, payload, s.plen);
		}
		if (want == ETP_V_FLAGS)
			s.flags = invalid_flags(r);
		if (want == ETP_V_OPTIONS)
			s.optlen = gen_bad_options(r, opts);
		else if (etp_rng_pct(r, 30))
			s.optlen = gen_options(r, opts, 40);
		len = etp_seg_build(seg, &s);
		switch (want) {
		case ETP_V_SHORT:
			len = etp_rng_below(r, ETP_HDR_LEN);
			break;
		case ETP_V_DOFF:
			if (etp_rng_pct(r, 50) || len >= 60) {
				seg[12] = (etp_rng_below(r, 5) << 4) | (seg[12] & 0xf);
			} else {
				/* claims more header than there is */
				unsigned int lo = len / 4 + 1;
				unsigned int d = lo + etp_rng_below(r, 16 - lo);

				seg[12] = (d << 4) | (seg[12] & 0xf);
			}
			etp_seg_fix_csum(seg, len, s.saddr, s.daddr);
			break;
		case ETP_V_CSUM:
			etp_seg_break_csum(seg, len, s.saddr, s.daddr,
					   etp_rng_below(r, 65536));
			break;
		default:
			break;
		}
		break;

	case C_LISTENER:
	case C_NOSOCK:
		s.saddr = source_addr(f, 50);
		if (cls == C_NOSOCK) {
			do {
				s.dport = 1 + etp_rng_below(r, 65535);
			} while (s.dport == f->lport);
		}
		switch (etp_rng_below(r, 10)) {
		case 0: case 1: case 2: case 3:
			s.flags = ETP_FLAG_SYN;
			break;
		case 4:
			s.flags = ETP_FLAG_ACK;
			break;
		case 5:
			s.flags = ETP_FLAG_ACK | ETP_FLAG_PSH;
			s.plen = 1 + etp_rng_below(r, 200);
			break;
		case 6:
			s.flags = etp_rng_pct(r, 50) ? ETP_FLAG_RST :
						      ETP_FLAG_RST | ETP_FLAG_ACK;
			break;
		case 7:
			s.flags = etp_rng_pct(r, 50) ? ETP_FLAG_SYN | ETP_FLAG_ACK :
						      ETP_FLAG_FIN | ETP_FLAG_ACK;
			break;
		default:
			s.flags = valid_flags(r);
			s.plen = etp_rng_below(r, 100);
		}
		if ((s.flags & ETP_FLAG_SYN) && etp_rng_pct(r, 10))
			s.plen = etp_rng_below(r, 300);	/* data on a SYN */
		/*
		 * The first forged SYNs fill the half-open queue (later ones
		 * get cookies): their children live on, SYN-ACKs unanswered.
		 */
		if (cls == C_LISTENER && s.flags == ETP_FLAG_SYN &&
		    s.saddr != f->laddr && f->nhalf < RING) {
			struct tuple *t = &f->half[f->nhalf++];

			t->saddr = s.saddr;
			t->sport = s.sport;
			t->seq = s.seq + 1;
			t->ack = 0;	/* the child's ISN went into the void */
		}
		if (etp_rng_pct(r, (s.flags & ETP_FLAG_SYN) ? 70 : 10))
			s.optlen = gen_options(r, opts, 40);
		etp_rng_bytes(r, payload, s.plen);
		len = etp_seg_build(seg, &s);
		break;

	case C_VICTIM_B:
		v = &f->b;
		s.sport = v->port;
		s.seq = near(r, v->info.etpi_snd_nxt);
		s.ack = near(r, v->info.etpi_rcv_nxt);
		switch (etp_rng_below(r, 20)) {
		case 0: case 1: case 2: case 3: case 4: case 5:
			s.flags = ETP_FLAG_ACK;
			break;
		case 6: case 7: case 8: case 9: case 10: case 11:
			s.flags = ETP_FLAG_ACK | ETP_FLAG_PSH;
			s.plen = 1 + etp_rng_below(r, maxp);
			break;
		case 12: case 13:
			s.flags = ETP_FLAG_ACK | ETP_FLAG_FIN;
			break;
		case 14:
			s.flags = etp_rng_pct(r, 50) ? ETP_FLAG_RST :
						      ETP_FLAG_RST | ETP_FLAG_ACK;
			break;
		case 15:
			s.flags = etp_rng_pct(r, 50) ? ETP_FLAG_SYN :
						      ETP_FLAG_SYN | ETP_FLAG_ACK;
			break;
		default:
			s.flags = valid_flags(r);
			s.plen = etp_rng_below(r, maxp);
		}
		if (etp_rng_pct(r, 20))
			s.optlen = gen_options(r, opts, 40);
		etp_rng_bytes(r, payload, s.plen);
		len = etp_seg_build(seg, &s);
		f->b_segs++;
		break;

	case C_HALFOPEN:
	case C_TIMEWAIT: {
		unsigned int n = cls == C_HALFOPEN ? f->nhalf : f->ntw;
		const struct tuple *t;

		if (!n)
			return gen_segment(f, C_LISTENER, seg, room, saddr);
		t = cls == C_HALFOPEN ? &f->half[etp_rng_below(r, n < RING ? n : RING)] :
					&f->tw[etp_rng_below(r, n < RING ? n : RING)];
		s.saddr = t->saddr;
		s.sport = t->sport;
		s.seq = near(r, t->seq);
		s.ack = cls == C_HALFOPEN ? etp_rng32(r) : near(r, t->ack);
		switch (etp_rng_below(r, 8)) {
		case 0:		/* the SYN again, or one above (TIME_WAIT reuse) */
			s.flags = ETP_FLAG_SYN;
			s.seq = t->seq - 1 + (etp_rng_pct(r, 50) ? 0 : 1 + etp_rng_below(r, 100000));
			if (etp_rng_pct(r, 50))
				s.optlen = gen_options(r, opts, 40);
			break;
		case 1:
			s.flags = etp_rng_pct(r, 50) ? ETP_FLAG_RST : ETP_FLAG_RST | ETP_FLAG_ACK;
			break;
		case 2:
			s.flags = ETP_FLAG_ACK;
			break;
		case 3:
			s.flags = ETP_FLAG_ACK | ETP_FLAG_PSH;
			s.plen = 1 + etp_rng_below(r, 500);
			break;
		case 4:		/* a FIN again: TIME_WAIT answers and starts over */
			s.flags = ETP_FLAG_FIN | ETP_FLAG_ACK;
			s.seq = cls == C_TIMEWAIT && etp_rng_pct(r, 50) ? t->seq - 1 : s.seq;
			break;
		default:
			s.flags = valid_flags(r);
			s.plen = etp_rng_below(r, 200);
		}
		etp_rng_bytes(r, payload, s.plen);
		len = etp_seg_build(seg, &s);
		break;
	}

	case C_MUTATED:
	default:
		len = gen_segment(f, etp_rng_pct(r, 50) ? C_LISTENER : C_VICTIM_B,
				  seg, room, &s.saddr);
		if (etp_rng_pct(r, 25)) {
			/* cut short */
			len = etp_rng_below(r, len + 1);
		} else {
			unsigned int k, n = 1 + etp_rng_below(r, 4);

			for (k = 0; k < n && len; k++) {
				size_t at = etp_rng_below(r, len < 64 ? len : 64);

				if (etp_rng_pct(r, 50))
					seg[at] ^= 1 << etp_rng_below(r, 8);
				else
					seg[at] = etp_rng_below(r, 256);
			}
		}
		if (etp_rng_pct(r, 60))
			etp_seg_fix_csum(seg, len, s.saddr, s.daddr);
		/* A valid segment must never land on victim A's 4-tuple. */
		if (len >= 4 && s.saddr == f->laddr &&
		    ntohs(((struct etphdr *)seg)->source) == f->a.port &&
		    ntohs(((struct etphdr *)seg)->dest) == f->lport)
			((struct etphdr *)seg)->source = htons(f->a.port ^ 0x8000);
		break;

	case C_OVERSIZED:
		if (etp_rng_pct(r, 50)) {
			v = &f->b;
			s.sport = v->port;
			s.seq = near(r, v->info.etpi_snd_nxt);
			s.ack = near(r, v->info.etpi_rcv_nxt);
		}
		s.flags = valid_flags(r);
		s.plen = f->mtu + etp_rng_below(r, etp_rng_pct(r, 90) ? 15000 : 59000);
		if (s.plen > room - ETP_HDR_LEN - 40)
			s.plen = room - ETP_HDR_LEN - 40;
		etp_rng_bytes(r, payload, s.plen);
		len = etp_seg_build(seg, &s);
		if (etp_rng_pct(r, 30))
			etp_seg_break_csum(seg, len, s.saddr, s.daddr, 7);
		break;
	}

	if (want != ETP_V_VALID &&
	    etp_judge(s.saddr, s.daddr, seg, len) != want) {
		/* The construction missed its mark: a bug here, not in ETP. */
		fprintf(stderr, "etp_fuzz: generator made a %s segment, meant %s\n",
			etp_verdict_counter[etp_judge(s.saddr, s.daddr, seg, len)],
			etp_verdict_counter[want]);
		exit(2);
	}
	*saddr = s.saddr;
	return len;
}

/* IP fields for a segment sent with IP_HDRINCL: mostly plain. */
static void gen_ip(struct fuzz *f, struct etp_ip_spec *ip, uint8_t *opts)
{
	struct etp_rng *r = &f->rng;

	memset(ip, 0, sizeof(*ip));
	ip->daddr = f->raddr;
	if (!etp_rng_pct(r, 20))
		return;
	ip->tos = etp_rng_below(r, 256);
	ip->ttl = 1 + etp_rng_below(r, 255);
	ip->id = etp_rng_below(r, 65536);
	ip->df = etp_rng_pct(r, 50);
	if (etp_rng_pct(r, 30)) {
		size_t n = 4 * (1 + etp_rng_below(r, 10));

		memset(opts, IPOPT_NOOP, n);
		if (etp_rng_pct(r, 30)) {
			/* router alert (RFC 2113): a valid option with a value */
			opts[0] = IPOPT_RA;
			opts[1] = 4;
			opts[2] = opts[3] = 0;
		}
		if (etp_rng_pct(r, 50))
			opts[n - 1] = IPOPT_END;
		ip->opts = opts;
		ip->optlen = n;
	}
}

/* The MTU of the route to @raddr. */
static unsigned int route_mtu(uint32_t raddr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), mtu = 1500;
	socklen_t l = sizeof(mtu);

	sin.sin_addr.s_addr = raddr;
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &l);
	if (fd >= 0)
		close(fd);
	return mtu;
}

#define BATCH	32
#define SLOT	1600

static int attack(const char *dst, int port, uint64_t seed, unsigned long count,
		  const char *forged, const char *predfile)
{
	static uint8_t big[65536];
	static uint8_t slots[BATCH][SLOT];
	struct sockaddr_in to = { .sin_family = AF_INET };
	enum etp_verdict vslot[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct fuzz f = { 0 };
	unsigned long i = 0;
	int rh, rf, nb = 0, rc = 0, errors_in_row = 0;
	char why[160];
	double t0, dt;
	ssize_t junk;
	enum seg_class cls;

	f.rng.s = seed;
	f.raddr = inet_addr(dst);
	f.lport = port;
	if (forged) {
		unsigned int a, b;

		if (sscanf(forged, "%u.%u", &a, &b) != 2 || !a || a > 223 || b > 255) {
			fprintf(stderr, "etp_fuzz: -F wants A.B (forged sources A.B.0.0/16)\n");
			return 1;
		}
		f.forged_a = a;
		f.forged_b = b;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("# etp_fuzz: seed %llu, %lu segments at %s port %d (repeat with -s %llu -n %lu)\n",
	       (unsigned long long)seed, count, dst, port,
	       (unsigned long long)seed, count);
	fflush(stdout);

	f.a.fd = f.b.fd = -1;
	if (victim_connect(&f, &f.a) || victim_connect(&f, &f.b))
		die(2, "connect to the echo server");
	{
		struct sockaddr_in me;
		socklen_t l = sizeof(me);

		getsockname(f.a.fd, (struct sockaddr *)&me, &l);
		f.laddr = me.sin_addr.s_addr;
	}
	f.mtu = route_mtu(f.raddr);
	if (echo_check(f.a.fd, 4096, (uint32_t)seed, why, sizeof(why))) {
		fprintf(stderr, "etp_fuzz: victim A before the fuzz: %s\n", why);
		return 2;
	}
	etp_get_info(f.a.fd, &f.a.info);
	printf("# etp_fuzz: victims A (port %u) and B (port %u), route MTU %u\n",
	       f.a.port, f.b.port, f.mtu);

	rh = etp_raw_socket(true);
	rf = etp_raw_socket(false);
	if (rh < 0 || rf < 0)
		die(2, "raw socket");
	{
		struct sockaddr_in me = { .sin_family = AF_INET };

		me.sin_addr.s_addr = f.laddr;
		if (bind(rf, (struct sockaddr *)&me, sizeof(me)))
			die(2, "bind raw socket");
	}
	to.sin_addr.s_addr = f.raddr;

	t0 = etp_now_s();
	while (i < count) {
		unsigned int pick = etp_rng_below(&f.rng, 1000);
		uint32_t saddr;
		size_t len;

		if ((i & 63) == 0) {
			if (etp_get_info(f.b.fd, &f.b.info) ||
			    f.b.info.etpi_state != ETP_ESTABLISHED || f.b_segs > 2000) {
				etp_close_abort(f.b.fd);
				f.b_reconnects++;
				f.b_segs = 0;
				if (victim_connect(&f, &f.b))
					die(2, "connect victim B again");
			}
			etp_get_info(f.a.fd, &f.a.info);
			victim_drain(&f.b);
			if ((i & 8191) == 0) {
				int k;

				/* TIME_WAIT entries to aim at: 16, then 2 more */
				for (k = 0; k < (i ? 2 : 16); k++)
					make_tw(&f);
			}
			if ((i & 1023) == 0)
				junk = send(f.b.fd, "some real data for B", 20,
					    MSG_DONTWAIT | MSG_NOSIGNAL);
		}

		if (pick < 150)
			cls = C_MAL_A;
		else if (pick < 300)
			cls = C_MAL_OTHER;
		else if (pick < 450)
			cls = C_LISTENER;
		else if (pick < 650)
			cls = C_VICTIM_B;
		else if (pick < 800)
			cls = C_MUTATED;
		else if (pick < 890)
			cls = C_NOSOCK;
		else if (pick < 940)
			cls = C_HALFOPEN;
		else if (pick < 985)
			cls = C_TIMEWAIT;
		else
			cls = C_OVERSIZED;

		if (cls == C_OVERSIZED) {
			len = gen_segment(&f, cls, big, sizeof(big) - 64, &saddr);
			/* the raw socket without IP_HDRINCL sends from laddr */
			if (saddr != f.laddr)
				continue;
			if (sendto(rf, big, len, 0, (struct sockaddr *)&to,
				   sizeof(to)) == (ssize_t)len) {
				f.verdicts[etp_judge(saddr, f.raddr, big, len)]++;
				f.classes[cls]++;
			} else {
				f.unsent++;
			}
			i++;
			continue;
		}

		{
			struct etp_ip_spec ip;
			uint8_t ipopts[40];
			size_t hl;

			gen_ip(&f, &ip, ipopts);
			len = gen_segment(&f, cls, slots[nb] + 60, SLOT - 60, &saddr);
			ip.saddr = saddr;
			/* the IP header goes right before the segment */
			hl = sizeof(struct iphdr) + ip.optlen;
			etp_ip_build(slots[nb] + 60 - hl, &ip, len);
			iov[nb].iov_base = slots[nb] + 60 - hl;
			iov[nb].iov_len = hl + len;
			vslot[nb] = etp_judge(saddr, f.raddr, slots[nb] + 60, len);
			memset(&msgs[nb], 0, sizeof(msgs[nb]));
			msgs[nb].msg_hdr.msg_name = &to;
			msgs[nb].msg_hdr.msg_namelen = sizeof(to);
			msgs[nb].msg_hdr.msg_iov = &iov[nb];
			msgs[nb].msg_hdr.msg_iovlen = 1;
			f.classes[cls]++;
			nb++;
			i++;
		}
		if (nb == BATCH || i == count) {
			int done = 0;

			while (done < nb) {
				int k = sendmmsg(rh, msgs + done, nb - done, 0);

				if (k < 0) {
					/*
					 * This one did not leave (ENOBUFS: a full
					 * queue dropped it; or an ICMP error for an
					 * earlier one was reported here): not
					 * counted, not predicted.
					 */
					if (errno == EBADF || errno == EFAULT ||
					    errno == EINVAL || ++errors_in_row > 1000)
						die(2, "sendmmsg");
					f.unsent++;
					done++;
					etp_sleep_ms(1);
					continue;
				}
				errors_in_row = 0;
				while (k--)
					f.verdicts[vslot[done++]]++;
			}
			nb = 0;
		}
	}
	dt = etp_now_s() - t0;
	(void)junk;

	printf("# etp_fuzz: %lu segments in %.1f s (%.0f/s), %llu not sent (dropped on the way out), victim B connected again %u times, %u TIME_WAIT entries made on the target (%u attempts failed), %u half-open children aimed at\n",
	       count, dt, count / dt, f.unsent, f.b_reconnects, f.tw_made,
	       f.tw_failed, f.nhalf);
	for (cls = 0; cls < C_MAX; cls++)
		printf("# etp_fuzz: class %-24s %llu\n", class_name[cls], f.classes[cls]);
	{
		FILE *p = predfile ? fopen(predfile, "w") : NULL;
		int v;

		for (v = 0; v < ETP_V_MAX; v++) {
			printf("# predicted %s %llu\n", etp_verdict_counter[v], f.verdicts[v]);
			if (p)
				fprintf(p, "%s %llu\n", etp_verdict_counter[v], f.verdicts[v]);
		}
		if (p)
			fclose(p);
	}

	/* Victim A: nothing may have arrived, and it must still echo. */
	{
		uint8_t b;
		ssize_t n = recv(f.a.fd, &b, 1, MSG_DONTWAIT);
		int st = etp_state(f.a.fd);

		if (n >= 0 || errno != EAGAIN) {
			printf("# victim A: recv gave %zd (%s): something reached it\n",
			       n, n < 0 ? strerror(errno) : "data");
			rc = 3;
		} else if (st != ETP_ESTABLISHED) {
			printf("# victim A: state %s, not ESTABLISHED\n", etp_state_name(st));
			rc = 3;
		} else if (echo_check(f.a.fd, 256 << 10, (uint32_t)seed + 1, why,
				      sizeof(why))) {
			printf("# victim A: 256 KiB echo after the fuzz: %s\n", why);
			rc = 3;
		} else {
			printf("# victim A: untouched, ESTABLISHED, 256 KiB echoed byte for byte\n");
		}
	}
	etp_close_abort(f.a.fd);
	etp_close_abort(f.b.fd);
	close(rh);
	close(rf);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: etp_fuzz -l ADDR:PORT [-t SECS] [-r READYFILE]\n"
		"       etp_fuzz -d ADDR -p PORT [-s SEED] [-n COUNT] [-F A.B] [-P FILE]\n");
}

int main(int argc, char **argv)
{
	const char *listen_spec = NULL, *dst = NULL, *forged = NULL;
	const char *ready = NULL, *pred = NULL;
	unsigned long count = 100000;
	int opt, port = 0, secs = 600;
	uint64_t seed;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	seed = (uint64_t)ts.tv_sec * 1000003ULL ^ ts.tv_nsec ^ getpid();
	seed %= 1000000007ULL;
	while ((opt = getopt(argc, argv, "hl:t:r:d:p:s:n:F:P:")) != -1) {
		switch (opt) {
		case 'l': listen_spec = optarg; break;
		case 't': secs = atoi(optarg); break;
		case 'r': ready = optarg; break;
		case 'd': dst = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'F': forged = optarg; break;
		case 'P': pred = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (listen_spec)
		return sink(listen_spec, secs, ready);
	if (!dst || port <= 0 || port > 65535) {
		usage(stderr);
		return 1;
	}
	return attack(dst, port, seed, count, forged, pred);
}
