/* target.c -- private and public addresses for outgoing requests (see
 * target.h).
 *
 * Addresses are judged on their bytes, in network order, against fixed
 * prefix tables; an IPv6 address that carries an IPv4 one (mapped,
 * compatible, NAT64, 6to4) is judged by that IPv4 address, so a private
 * IPv4 target cannot be reached by writing it in IPv6. Any family other
 * than AF_INET and AF_INET6 is refused: what cannot be judged is private.
 */
#include "delivery/target.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* An IPv4 prefix: the address in host order and the prefix length. */
typedef struct v4_net {
    uint32_t addr;
    unsigned bits;
} v4_net;

#define V4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static const v4_net v4_private[] = {
    { V4(0, 0, 0, 0), 8 },          /* "this network", unspecified */
    { V4(10, 0, 0, 0), 8 },         /* RFC 1918 */
    { V4(100, 64, 0, 0), 10 },      /* CGNAT, RFC 6598 */
    { V4(127, 0, 0, 0), 8 },        /* loopback */
    { V4(169, 254, 0, 0), 16 },     /* link-local, cloud metadata */
    { V4(172, 16, 0, 0), 12 },      /* RFC 1918 */
    { V4(192, 0, 0, 0), 24 },       /* IETF protocol assignments */
    { V4(192, 0, 2, 0), 24 },       /* documentation (RFC 5737): never a real host, but
                                       some private networks use them */
    { V4(192, 168, 0, 0), 16 },     /* RFC 1918 */
    { V4(198, 18, 0, 0), 15 },      /* benchmarking */
    { V4(198, 51, 100, 0), 24 },    /* documentation */
    { V4(203, 0, 113, 0), 24 },     /* documentation */
    { V4(224, 0, 0, 0), 4 },        /* multicast */
    { V4(240, 0, 0, 0), 4 },        /* reserved, and 255.255.255.255 broadcast */
};

static bool v4_is_private(uint32_t a) {
    for (size_t i = 0; i < sizeof v4_private / sizeof v4_private[0]; i++) {
        uint32_t mask = ~(uint32_t)0 << (32 - v4_private[i].bits);
        if ((a & mask) == v4_private[i].addr) return true;
    }
    return false;
}

/* Four bytes at P (network order) as a host-order IPv4 address. */
static uint32_t v4_at(const uint8_t *p) {
    return V4(p[0], p[1], p[2], p[3]);
}

/* Whether the first BITS bits of A equal those of PREFIX (16 bytes). */
static bool v6_in(const uint8_t *a, const uint8_t *prefix, unsigned bits) {
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, prefix, full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[full] & mask) == (prefix[full] & mask);
}

static bool v6_is_private(const uint8_t *a) {
    static const uint8_t zero[16];
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
    static const uint8_t nat64[12] = { 0x00, 0x64, 0xFF, 0x9B };
    static const uint8_t nat64_local[6] = { 0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01 };
    static const uint8_t sixtofour[2] = { 0x20, 0x02 };
    static const uint8_t documentation[4] = { 0x20, 0x01, 0x0D, 0xB8 };   /* 2001:db8::/32 */
    static const struct { uint8_t first, mask; } nets[] = {
        { 0xFC, 0xFE },             /* fc00::/7 unique-local */
        { 0xFF, 0xFF },             /* ff00::/8 multicast */
    };
    uint8_t p16[16] = { 0 };

    /* ::/96 holds ::, ::1 and the IPv4-compatible addresses: all judged as
     * IPv4 (:: is 0.0.0.0 and ::1 is 0.0.0.1, both in 0/8) */
    if (v6_in(a, zero, 96)) return v4_is_private(v4_at(a + 12));
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) return v4_is_private(v4_at(a + 12));
    memcpy(p16, nat64_local, sizeof nat64_local);
    if (v6_in(a, p16, 48)) return true;
    if (memcmp(a, sixtofour, 2) == 0) return v4_is_private(v4_at(a + 2));
    if (memcmp(a, documentation, 4) == 0) return true;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        if ((a[0] & nets[i].mask) == nets[i].first) return true;
    /* fe80::/10 link-local and fec0::/10 site-local: fe80 to feff */
    return a[0] == 0xFE && (a[1] & 0xC0) >= 0x80;
}

bool lr_target_is_private(const struct sockaddr *sa) {
    if (!sa) return true;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);             /* SA may not be aligned for the cast */
        return v4_is_private(ntohl(in.sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        return v6_is_private(in6.sin6_addr.s6_addr);
    }
    return true;
}

void lr_target_format(const struct sockaddr *sa, char *buf, size_t size) {
    if (size == 0) return;
    const char *ok = NULL;
    if (sa && sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        ok = inet_ntop(AF_INET, &in.sin_addr, buf, (socklen_t)(size > 64 ? 64 : size));
    } else if (sa && sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        ok = inet_ntop(AF_INET6, &in6.sin6_addr, buf, (socklen_t)(size > 64 ? 64 : size));
    }
    if (!ok) snprintf(buf, size, "?");
}

bool lr_target_ip_is_private(const char *ip) {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    if (ip && inet_pton(AF_INET, ip, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        return lr_target_is_private((const struct sockaddr *)&v4);
    }
    if (ip && inet_pton(AF_INET6, ip, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        return lr_target_is_private((const struct sockaddr *)&v6);
    }
    return true;
}
