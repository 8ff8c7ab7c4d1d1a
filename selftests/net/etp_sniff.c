// SPDX-License-Identifier: GPL-2.0
/*
 * etp_sniff: print the ETP segments arriving in this network namespace,
 * one line each, for shell tests that check what went over the wire
 * (e.g. the timing of SYN retransmissions).
 *
 *   etp_sniff [-c COUNT] [-t SECS] [-p PORT] [-r READYFILE]
 *
 * A raw socket for protocol 253 receives a copy of every ETP segment
 * delivered to this namespace (not the ones it sends). Lines look like
 *
 *   0.000 10.253.3.1:40001 > 10.253.3.2:7000 S seq 12345 ack 0 win 65535 len 0
 *
 * with the time in seconds since the first segment and the flags as
 * tcpdump prints them (S SYN, F FIN, R RST, P PSH, . ACK). -p keeps only
 * segments from or to PORT; -c stops after COUNT printed segments; -t
 * stops after SECS seconds (default 30). -r writes "ready" to READYFILE
 * once the socket is open. Exit status 0, or 1 for usage, 2 for errors.
 */
#define _GNU_SOURCE
#include <netinet/ip.h>
#include "etp_common.h"

int main(int argc, char **argv)
{
	int fd, opt, count = -1, printed = 0;
	double secs = 30;
	unsigned int port = 0;
	const char *ready = NULL;
	long long end, first = -1;
	uint8_t buf[65536];

	while ((opt = getopt(argc, argv, "c:t:p:r:")) != -1) {
		switch (opt) {
		case 'c': count = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'r': ready = optarg; break;
		default:
			fprintf(stderr, "usage: etp_sniff [-c COUNT] [-t SECS] [-p PORT] [-r READYFILE]\n");
			return 1;
		}
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ETP);
	if (fd < 0) {
		fprintf(stderr, "etp_sniff: raw socket: %s\n", strerror(errno));
		return 2;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f) {
			fputs("ready\n", f);
			fclose(f);
		}
	}
	end = etp_now_ms() + (long long)(secs * 1000);
	while (count < 0 || printed < count) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long now = etp_now_ms();
		const struct iphdr *ip = (const void *)buf;
		const struct etphdr *h;
		char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], fl[8];
		unsigned int ihl, len, doff, i = 0;
		ssize_t n;

		if (now >= end || poll(&pfd, 1, (int)(end - now)) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < (ssize_t)sizeof(*ip))
			continue;
		now = etp_now_ms();
		ihl = ip->ihl * 4;
		if (n < (ssize_t)(ihl + sizeof(*h))) {
			printf("short segment: %zd bytes\n", n - ihl);
			continue;
		}
		h = (const void *)(buf + ihl);
		if (port && ntohs(h->source) != port && ntohs(h->dest) != port)
			continue;
		if (first < 0)
			first = now;
		doff = (h->doff_res >> 4) * 4;
		len = n - ihl > doff ? n - ihl - doff : 0;
		if (h->flags & ETP_FLAG_SYN)
			fl[i++] = 'S';
		if (h->flags & ETP_FLAG_FIN)
			fl[i++] = 'F';
		if (h->flags & ETP_FLAG_RST)
			fl[i++] = 'R';
		if (h->flags & ETP_FLAG_PSH)
			fl[i++] = 'P';
		if (h->flags & ETP_FLAG_ACK)
			fl[i++] = '.';
		if (!i)
			fl[i++] = '-';
		fl[i] = 0;
		inet_ntop(AF_INET, &ip->saddr, src, sizeof(src));
		inet_ntop(AF_INET, &ip->daddr, dst, sizeof(dst));
		printf("%.3f %s:%u > %s:%u %s seq %u ack %u win %u len %u\n",
		       (now - first) / 1000.0, src, ntohs(h->source), dst,
		       ntohs(h->dest), fl, ntohl(h->seq), ntohl(h->ack_seq),
		       ntohs(h->window), len);
		fflush(stdout);
		printed++;
	}
	close(fd);
	return 0;
}
