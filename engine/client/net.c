/*
 * libmtgate networking: deadlines, server addresses and the TCP connect.
 *
 * Addresses are "HOST:PORT", "[V6]:PORT" or a bare "HOST" (port 7411).
 * HOST is an IPv4 or IPv6 literal or a name resolved with getaddrinfo;
 * every address it resolves to is tried in turn until one connects or the
 * deadline passes. Name resolution itself is not bounded by the deadline
 * (getaddrinfo has no timeout). errno is used only inside this file.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/internal.h"

#define CL_DEFAULT_HOST "127.0.0.1"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cl_deadline(int timeout_ms)
{
	return timeout_ms > 0 ? now_ms() + timeout_ms : -1;
}

int cl_remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* PORT: 1 to 5 digits, 1..65535. */
static int port_parse(const char *s, char port[8])
{
	size_t n = strlen(s);
	unsigned v = 0;

	if (n == 0 || n > 5)
		return MTGATE_EADDR;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return MTGATE_EADDR;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return MTGATE_EADDR;
	snprintf(port, 8, "%u", v);
	return 0;
}

static int host_copy(const char *s, size_t n, char host[CL_HOST_MAX + 1])
{
	if (n == 0 || n > CL_HOST_MAX || memchr(s, '\0', n) != NULL)
		return MTGATE_EADDR;
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

int cl_addr_parse(const char *addr, char host[CL_HOST_MAX + 1], char port[8])
{
	const char *colon, *close;

	snprintf(port, 8, "%d", MTGATE_DEFAULT_PORT);
	if (addr == NULL)
		return host_copy(CL_DEFAULT_HOST, strlen(CL_DEFAULT_HOST),
				 host);
	if (addr[0] == '[') {
		close = strchr(addr, ']');
		if (close == NULL ||
		    host_copy(addr + 1, (size_t)(close - addr - 1), host) < 0)
			return MTGATE_EADDR;
		if (close[1] == '\0')
			return 0;
		return close[1] == ':' ? port_parse(close + 2, port)
				       : MTGATE_EADDR;
	}
	colon = strchr(addr, ':');
	if (colon == NULL)
		return host_copy(addr, strlen(addr), host);
	if (strchr(colon + 1, ':') != NULL)
		return MTGATE_EADDR; /* a bare IPv6 literal: needs [ ] */
	if (host_copy(addr, (size_t)(colon - addr), host) < 0)
		return MTGATE_EADDR;
	return port_parse(colon + 1, port);
}

/* Connect one socket to ai; 0 once connected, -1 otherwise (fd closed). */
static int try_connect(const struct addrinfo *ai, int64_t deadline, int *fd_out)
{
	struct pollfd pfd;
	int fd, err = 0, one = 1, rc;
	socklen_t len = sizeof(err);

	fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
		do
			rc = poll(&pfd, 1, cl_remaining(deadline));
		while (rc < 0 && errno == EINTR);
		if (rc <= 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err != 0)
			goto fail;
	}
	/* Small frames must not wait for Nagle; failure only costs latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fd_out = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

int cl_tcp_connect(const char *host, const char *port, int64_t deadline,
		   int *fd_out)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	int rc = MTGATE_ECONNECT;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return MTGATE_ECONNECT;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (try_connect(ai, deadline, fd_out) == 0) {
			rc = 0;
			break;
		}
		if (deadline >= 0 && cl_remaining(deadline) == 0)
			break;
	}
	freeaddrinfo(res);
	return rc;
}
