/* target.h -- where outgoing requests may go.
 *
 * A webhook URL is written by an operator, but the host it names resolves
 * at delivery time, and a name can resolve to the server's own loopback,
 * the cloud metadata service (169.254.169.254) or a machine of the private
 * network (SSRF). The dispatcher resolves the host itself, refuses every
 * address this module calls private unless the operator allowed private
 * targets, and connects only to the addresses it checked.
 *
 * Pure functions: no I/O, no resolver, no global state.
 */
#ifndef LEADROUTER_DELIVERY_TARGET_H
#define LEADROUTER_DELIVERY_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* True when SA (borrowed; a whole sockaddr_in or sockaddr_in6 as
 * getaddrinfo gives, according to sa_family) is an address a webhook must
 * not reach unless the operator allowed private targets:
 *   IPv4: unspecified 0.0.0.0/8, RFC 1918 (10/8, 172.16/12, 192.168/16),
 *         CGNAT 100.64/10, loopback 127/8, link-local 169.254/16,
 *         192.0.0/24, benchmarking 198.18/15, multicast 224/4, reserved
 *         240/4 and broadcast 255.255.255.255;
 *   IPv6: unspecified ::, loopback ::1, unique-local fc00::/7, link-local
 *         fe80::/10, site-local fec0::/10, multicast ff00::/8, NAT64
 *         local-use 64:ff9b:1::/48; and the IPv4 inside IPv4-mapped
 *         (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96)
 *         and 6to4 (2002:AABB:CCDD::/48) addresses, judged as above.
 * NULL or any other family: true (refused). */
bool lr_target_is_private(const struct sockaddr *sa);

/* Writes the numeric address of SA (borrowed) into BUF of SIZE bytes
 * ("127.0.0.1", "::1", "::ffff:10.0.0.1"), NUL-terminated when SIZE > 0;
 * "?" for NULL, another family, or a BUF too small. */
void lr_target_format(const struct sockaddr *sa, char *buf, size_t size);

/* Whether the numeric address IP ("127.0.0.1", "::1": what libcurl says a
 * connection goes to) is one lr_target_is_private() refuses; an IP that
 * does not parse is refused too. */
bool lr_target_ip_is_private(const char *ip);

#endif
