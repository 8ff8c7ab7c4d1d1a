/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the ETP selftests written in C.
 *
 * Every test that uses etp_private_netns() runs in a network namespace of
 * its own (the harness forks one child per test), so counters in
 * /proc/net/etp_stat, sysctls and ports start fresh and tests cannot see
 * each other's sockets. Every blocking call is bounded: sockets get
 * SO_RCVTIMEO/SO_SNDTIMEO and waits poll with a timeout.
 */
#ifndef _ETP_SELFTEST_COMMON_H
#define _ETP_SELFTEST_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/etp.h>

/* Bound for any single blocking socket call in a test. */
#define ETP_IO_TIMEOUT_MS	5000

static inline long long etp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void etp_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline int etp_set_timeouts(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* An ETP socket whose blocking calls give up after ETP_IO_TIMEOUT_MS. */
static inline int etp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_ETP);

	if (fd >= 0 && etp_set_timeouts(fd, ETP_IO_TIMEOUT_MS) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline struct sockaddr_in etp_addr(const char *ip, unsigned short port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

static inline unsigned short etp_local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return 0;
	return ntohs(sin.sin_port);
}

static inline int etp_bind(int fd, const char *ip, unsigned short port)
{
	struct sockaddr_in sin = etp_addr(ip, port);

	return bind(fd, (struct sockaddr *)&sin, sizeof(sin));
}

static inline int etp_connect(int fd, const char *ip, unsigned short port)
{
	struct sockaddr_in sin = etp_addr(ip, port);

	return connect(fd, (struct sockaddr *)&sin, sizeof(sin));
}

/* A listener on @ip, port 0 (ephemeral); returns the fd, port in *port. */
static inline int etp_listener(const char *ip, unsigned short *port)
{
	int fd = etp_socket();

	if (fd < 0)
		return -1;
	if (etp_bind(fd, ip, 0) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	*port = etp_local_port(fd);
	return fd;
}

/* accept() bounded by @ms; -1 with errno ETIMEDOUT if nobody came. */
static inline int etp_accept_timeout(int lfd, int ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int fd;

	if (poll(&pfd, 1, ms) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	fd = accept(lfd, NULL, NULL);
	if (fd >= 0)
		etp_set_timeouts(fd, ETP_IO_TIMEOUT_MS);
	return fd;
}

/*
 * A connected pair on @ip: *cfd is the connecting end, *sfd the accepted
 * one. The listener is closed again unless @lfd_out wants it.
 */
static inline int etp_pair_on(const char *ip, int *cfd, int *sfd, int *lfd_out)
{
	unsigned short port;
	int lfd, c, s;

	lfd = etp_listener(ip, &port);
	if (lfd < 0)
		return -1;
	c = etp_socket();
	if (c < 0 || etp_connect(c, ip, port) < 0)
		goto fail;
	s = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
	if (s < 0)
		goto fail;
	*cfd = c;
	*sfd = s;
	if (lfd_out)
		*lfd_out = lfd;
	else
		close(lfd);
	return 0;
fail:
	if (c >= 0)
		close(c);
	close(lfd);
	return -1;
}

static inline int etp_pair(int *cfd, int *sfd)
{
	return etp_pair_on("127.0.0.1", cfd, sfd, NULL);
}

static inline int etp_get_info(int fd, struct etp_info *info)
{
	socklen_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return getsockopt(fd, SOL_ETP, ETP_INFO, info, &len);
}

static inline int etp_state(int fd)
{
	struct etp_info info;

	if (etp_get_info(fd, &info) < 0)
		return -1;
	return info.etpi_state;
}

static inline const char *etp_state_name(int state)
{
	static const char *const names[] = {
		"0", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING",
	};

	if (state >= 0 && state < (int)(sizeof(names) / sizeof(names[0])))
		return names[state];
	return "?";
}

/* Poll ETP_INFO until the socket is in @state; returns the last state. */
static inline int etp_wait_state(int fd, int state, int ms)
{
	long long end = etp_now_ms() + ms;
	int s;

	for (;;) {
		s = etp_state(fd);
		if (s == state || etp_now_ms() >= end)
			return s;
		etp_sleep_ms(5);
	}
}

/*
 * Move this process into a network namespace of its own with lo up, so
 * counters, sysctls and ports belong to this test alone.
 */
static inline int etp_private_netns(void)
{
	struct ifreq ifr = { 0 };
	int fd, ret;

	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (!ret) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret;
}

/* Write @val to the file @path (a sysctl, say); 0 when all of it went. */
static inline int etp_write_file(const char *path, const char *val)
{
	int fd, ret;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return ret;
}

/* Write @val to /proc/sys/net/etp/@name (this namespace). */
static inline int etp_sysctl_set(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/sys/net/etp/%s", name);
	return etp_write_file(path, val);
}

static inline long long etp_sysctl_get(const char *name)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/etp/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtoll(buf, NULL, 10);
}

/* Read a whole (small) file into @buf; returns its length or -1. */
static inline ssize_t etp_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	return len;
}

/* Counter @name from /proc/net/etp_stat, or -1 if it is not there. */
static inline long long etp_stat(const char *name)
{
	char buf[8192], *names, *vals, *save1, *save2, *n, *v;

	if (etp_read_file("/proc/net/etp_stat", buf, sizeof(buf)) <= 0)
		return -1;
	names = buf;
	vals = strchr(buf, '\n');
	if (!vals)
		return -1;
	*vals++ = 0;
	n = strtok_r(names, " \n", &save1);	/* "Etp:" */
	v = strtok_r(vals, " \n", &save2);
	while (n && v) {
		n = strtok_r(NULL, " \n", &save1);
		v = strtok_r(NULL, " \n", &save2);
		if (n && v && !strcmp(n, name))
			return strtoll(v, NULL, 10);
	}
	return -1;
}

/* Wait until counter @name reaches at least @min; returns its value. */
static inline long long etp_wait_stat(const char *name, long long min, int ms)
{
	long long end = etp_now_ms() + ms, v;

	for (;;) {
		v = etp_stat(name);
		if (v >= min || etp_now_ms() >= end)
			return v;
		etp_sleep_ms(5);
	}
}

/*
 * State of the /proc/net/etp line for local port @lport and remote port
 * @rport (0: any), -1 if there is none. Addresses are not compared: tests
 * use ports unique within their namespace.
 */
static inline int etp_proc_state(unsigned short lport, unsigned short rport)
{
	static char buf[1 << 16];
	char *line, *save;
	unsigned int la, lp, ra, rp, st;

	if (etp_read_file("/proc/net/etp", buf, sizeof(buf)) < 0)
		return -1;
	line = strtok_r(buf, "\n", &save);	/* header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (sscanf(line, " %*d: %x:%x %x:%x %x", &la, &lp, &ra, &rp,
			   &st) != 5)
			continue;
		if (lp == lport && (!rport || rp == rport))
			return st;
	}
	return -1;
}

/* Wait until etp_proc_state() is @state (-1: the line is gone). */
static inline int etp_wait_proc_state(unsigned short lport,
				      unsigned short rport, int state, int ms)
{
	long long end = etp_now_ms() + ms;
	int s;

	for (;;) {
		s = etp_proc_state(lport, rport);
		if (s == state || etp_now_ms() >= end)
			return s;
		etp_sleep_ms(5);
	}
}

/* Bytes of a stream that depend on their offset, to catch reordering. */
static inline uint8_t etp_pattern(uint64_t off, uint32_t seed)
{
	uint64_t x = (off / 8 + 1) * 0x9e3779b97f4a7c15ULL ^ seed;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return (uint8_t)(x >> (8 * (off % 8)));
}

static inline void etp_fill(uint8_t *buf, size_t len, uint64_t off,
			    uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = etp_pattern(off + i, seed);
}

/* Offset of the first byte that differs from the pattern, or -1. */
static inline long long etp_check(const uint8_t *buf, size_t len, uint64_t off,
				  uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != etp_pattern(off + i, seed))
			return off + i;
	return -1;
}

static inline int etp_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

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

/* Receive exactly @len bytes (each recv bounded by SO_RCVTIMEO). */
static inline int etp_recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Move @len pattern bytes from @tx to @rx and @len from @rx to @tx at the
 * same time, with both ends non-blocking in one poll loop (so neither can
 * stall the other), checking every received byte. Returns 0, or -1 with a
 * reason in @why.
 */
static inline int etp_exchange(int a, int b, size_t len, uint32_t seed,
			       int timeout_ms, char *why, size_t whylen)
{
	static uint8_t buf[65536];
	int fds[2] = { a, b };
	size_t sent[2] = { 0, 0 }, rcvd[2] = { 0, 0 };
	long long end = etp_now_ms() + timeout_ms;
	int fl[2], i, ret = -1;

	for (i = 0; i < 2; i++) {
		fl[i] = fcntl(fds[i], F_GETFL);
		fcntl(fds[i], F_SETFL, fl[i] | O_NONBLOCK);
	}
	while (sent[0] < len || sent[1] < len || rcvd[0] < len || rcvd[1] < len) {
		struct pollfd pfd[2];
		int left = (int)(end - etp_now_ms());

		for (i = 0; i < 2; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = (sent[i] < len ? POLLOUT : 0) |
					(rcvd[i] < len ? POLLIN : 0);
			if (!pfd[i].events)
				pfd[i].fd = -1;
		}
		if (left <= 0 || poll(pfd, 2, left) <= 0) {
			snprintf(why, whylen, "timeout: sent %zu/%zu, received %zu/%zu",
				 sent[0], sent[1], rcvd[0], rcvd[1]);
			goto out;
		}
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP) &&
			    rcvd[i] < len) {
				size_t want = len - rcvd[i];
				long long bad;

				if (want > sizeof(buf))
					want = sizeof(buf);
				n = recv(fds[i], buf, want, 0);
				if (n == 0 || (n < 0 && errno != EAGAIN)) {
					snprintf(why, whylen,
						 "end %d: recv after %zu bytes: %s", i,
						 rcvd[i], n ? strerror(errno) : "EOF");
					goto out;
				}
				if (n > 0) {
					/* a receives b's stream: seed + 1 - i */
					bad = etp_check(buf, n, rcvd[i], seed + 1 - i);
					if (bad >= 0) {
						snprintf(why, whylen,
							 "end %d: byte %lld differs", i, bad);
						goto out;
					}
					rcvd[i] += n;
				}
			}
			if (pfd[i].revents & POLLOUT && sent[i] < len) {
				size_t want = len - sent[i];

				if (want > sizeof(buf))
					want = sizeof(buf);
				etp_fill(buf, want, sent[i], seed + i);
				n = send(fds[i], buf, want, MSG_NOSIGNAL);
				if (n < 0 && errno != EAGAIN) {
					snprintf(why, whylen,
						 "end %d: send after %zu bytes: %s", i,
						 sent[i], strerror(errno));
					goto out;
				}
				if (n > 0)
					sent[i] += n;
			}
		}
	}
	ret = 0;
out:
	for (i = 0; i < 2; i++)
		fcntl(fds[i], F_SETFL, fl[i]);
	return ret;
}

/* Run a shell command; 0 if it exited 0. Output goes to the test's log. */
static inline int etp_sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline int etp_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	ret = system(cmd);
	return ret == 0 ? 0 : -1;
}

/* Enter the named network namespace (/run/netns/@name). */
static inline int etp_enter_netns(const char *name)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = setns(fd, CLONE_NEWNET);
	close(fd);
	return ret;
}

/*
 * Two named network namespaces @ns1 and @ns2 (in /run/netns), lo up in
 * both, joined by a veth pair "v0" (in @ns1, @ip1/24) and "v1" (in @ns2,
 * @ip2/24). Remove them with etp_netns_del().
 */
static inline int etp_netns_veth(const char *ns1, const char *ip1,
				 const char *ns2, const char *ip2)
{
	return etp_sh("ip netns add %s && ip netns add %s && "
		      "ip -n %s link set lo up && ip -n %s link set lo up && "
		      "ip -n %s link add v0 type veth peer name v1 netns %s && "
		      "ip -n %s addr add %s/24 dev v0 && "
		      "ip -n %s addr add %s/24 dev v1 && "
		      "ip -n %s link set v0 up && ip -n %s link set v1 up",
		      ns1, ns2, ns1, ns2, ns1, ns2, ns1, ip1, ns2, ip2,
		      ns1, ns2);
}

static inline void etp_netns_del(const char *ns1, const char *ns2)
{
	etp_sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null",
	       ns1, ns2);
}

/* The Internet checksum (RFC 1071) of @len bytes, in network byte order. */
static inline uint16_t etp_inet_csum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/*
 * Close @fd with a RST (SO_LINGER {1, 0}): the socket is gone at once,
 * even if its peer has vanished, so a failed test leaves no connection
 * retransmitting (and holding the module) for minutes.
 */
static inline void etp_close_abort(int fd)
{
	struct linger lg = { 1, 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * The ETP checksum (RFC 9293, 3.1, with protocol 253) of @len bytes of
 * segment from @saddr to @daddr (network byte order), in network order.
 */
static inline uint16_t etp_seg_csum(uint32_t saddr, uint32_t daddr,
				    const void *seg, size_t len)
{
	const uint8_t *p = seg;
	uint32_t sum = 0;
	size_t i;

	sum += (ntohl(saddr) >> 16) + (ntohl(saddr) & 0xffff);
	sum += (ntohl(daddr) >> 16) + (ntohl(daddr) & 0xffff);
	sum += IPPROTO_ETP + len;
	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/* Send pattern bytes from offset *sent on a non-blocking @fd until EAGAIN. */
static inline int etp_fill_until_blocked(int fd, size_t *sent, uint32_t seed)
{
	static uint8_t buf[65536];

	for (;;) {
		ssize_t n;

		etp_fill(buf, sizeof(buf), *sent, seed);
		n = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		*sent += n;
	}
}

/*
 * The stream from @c to @s: @c has sent *@sent bytes and sends the rest up
 * to @total, then shuts down its side; @s has received *@rcvd bytes and
 * reads (checking every byte) until end of file. 0 when @s got exactly
 * @total bytes, else -1 with a reason in @why.
 */
static inline int etp_finish_stream(int c, int s, size_t *sent, size_t *rcvd,
				     size_t total, uint32_t seed, int timeout_ms,
				     char *why, size_t whylen)
{
	static uint8_t buf[65536];
	long long end = etp_now_ms() + timeout_ms;
	bool shut = false;

	fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = shut ? -1 : c, .events = POLLOUT },
			{ .fd = s, .events = POLLIN },
		};
		int left = (int)(end - etp_now_ms());
		ssize_t n;

		if (*sent == total && !shut) {
			if (shutdown(c, SHUT_WR) < 0) {
				snprintf(why, whylen, "shutdown: %s", strerror(errno));
				return -1;
			}
			shut = true;
			continue;
		}
		if (left <= 0 || poll(pfd, 2, left) <= 0) {
			snprintf(why, whylen, "timeout: sent %zu, received %zu of %zu",
				 *sent, *rcvd, total);
			return -1;
		}
		if (pfd[0].revents & POLLOUT) {
			size_t want = total - *sent;

			if (want > sizeof(buf))
				want = sizeof(buf);
			etp_fill(buf, want, *sent, seed);
			n = send(c, buf, want, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN) {
				snprintf(why, whylen, "send after %zu: %s", *sent,
					 strerror(errno));
				return -1;
			}
			if (n > 0)
				*sent += n;
		}
		if (pfd[1].revents) {
			long long bad;

			n = recv(s, buf, sizeof(buf), 0);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n < 0) {
				snprintf(why, whylen, "recv after %zu: %s", *rcvd,
					 strerror(errno));
				return -1;
			}
			if (n == 0)
				break;
			bad = etp_check(buf, n, *rcvd, seed);
			if (bad >= 0) {
				snprintf(why, whylen, "byte %lld differs", bad);
				return -1;
			}
			*rcvd += n;
		}
	}
	if (*rcvd != total) {
		snprintf(why, whylen, "end of file after %zu of %zu bytes", *rcvd,
			 total);
		return -1;
	}
	return 0;
}

#endif /* _ETP_SELFTEST_COMMON_H */
