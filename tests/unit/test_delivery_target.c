/* test_delivery_target.c -- which addresses a webhook may reach: a table of
 * IPv4, IPv6 and IPv4-in-IPv6 addresses with their verdicts, edges of every
 * range, and the numeric formatting used in error messages. */
#include "delivery/target.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

/* Fills SS with the address TEXT (IPv4 or IPv6); false when it parses as neither. */
static bool make_addr(const char *text, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(443);
        return true;
    }
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(443);
        return true;
    }
    return false;
}

static const struct { const char *addr; bool private_; } table[] = {
    /* public IPv4 */
    { "8.8.8.8", false }, { "1.1.1.1", false }, { "93.184.216.34", false },
    { "9.255.255.255", false }, { "11.0.0.0", false },                 /* around 10/8 */
    { "100.63.255.255", false }, { "100.128.0.0", false },             /* around 100.64/10 */
    { "126.255.255.255", false }, { "128.0.0.0", false },              /* around 127/8 */
    { "169.253.255.255", false }, { "169.255.0.0", false },            /* around 169.254/16 */
    { "172.15.255.255", false }, { "172.32.0.0", false },              /* around 172.16/12 */
    { "192.0.1.0", false }, { "191.255.255.255", false },              /* around 192.0.0/24 */
    { "192.167.255.255", false }, { "192.169.0.0", false },            /* around 192.168/16 */
    { "198.17.255.255", false }, { "198.20.0.0", false },              /* around 198.18/15 */
    { "192.0.1.255", false }, { "192.0.3.0", false },                  /* around 192.0.2/24 */
    { "198.51.99.255", false }, { "198.51.101.0", false },             /* around 198.51.100/24 */
    { "203.0.112.255", false }, { "203.0.114.0", false },              /* around 203.0.113/24 */
    { "223.255.255.255", false },                                      /* below 224/4 */
    { "1.0.0.0", false },                                              /* above 0/8 */
    /* private IPv4 */
    { "0.0.0.0", true }, { "0.255.255.255", true },
    { "10.0.0.0", true }, { "10.255.255.255", true },
    { "100.64.0.0", true }, { "100.127.255.255", true },
    { "127.0.0.1", true }, { "127.255.255.254", true },
    { "169.254.169.254", true }, { "169.254.0.1", true },
    { "172.16.0.1", true }, { "172.31.255.255", true },
    { "192.0.0.1", true }, { "192.0.0.255", true },
    { "192.168.0.1", true }, { "192.168.255.255", true },
    { "198.18.0.1", true }, { "198.19.255.255", true },
    { "192.0.2.0", true }, { "192.0.2.255", true },                    /* documentation */
    { "198.51.100.1", true }, { "203.0.113.255", true },
    { "224.0.0.1", true }, { "239.255.255.250", true },
    { "240.0.0.1", true }, { "255.255.255.255", true },
    /* public IPv6 */
    { "2606:4700::1111", false }, { "2001:4860:4860::8888", false },
    { "2a00:1450:4001:82b::200e", false },
    { "::2:0:0:1", false },                                           /* outside ::/96 */
    { "fbff:ffff::1", false }, { "fe7f::1", false },                  /* around fc00::/7, fe80::/10 */
    { "64:ff9b::808:808", false },                                    /* NAT64 of 8.8.8.8 */
    { "2001:db7:ffff::1", false }, { "2001:db9::1", false },           /* around 2001:db8::/32 */
    { "::ffff:8.8.8.8", false },                                      /* mapped 8.8.8.8 */
    { "::8.8.8.8", false },                                           /* compatible 8.8.8.8 */
    { "2002:808:808::1", false },                                     /* 6to4 of 8.8.8.8 */
    { "64:ff9b:2::1", false },                                        /* after 64:ff9b:1::/48 */
    /* private IPv6 */
    { "::", true }, { "::1", true },
    { "fc00::1", true }, { "fd12:3456:789a::1", true },
    { "2001:db8::1", true }, { "2001:db8:ffff:ffff::1", true },            /* documentation */
    { "fe80::1", true }, { "febf:ffff::1", true },
    { "fec0::1", true }, { "feff::1", true },
    { "ff02::1", true }, { "ff0e::101", true },
    { "64:ff9b:1::a00:1", true },                                     /* local-use NAT64 */
    /* IPv4 in IPv6 */
    { "::ffff:127.0.0.1", true }, { "::ffff:10.1.2.3", true }, { "::ffff:169.254.169.254", true },
    { "::ffff:192.168.1.1", true }, { "::ffff:0.0.0.0", true }, { "::ffff:255.255.255.255", true },
    { "::127.0.0.1", true }, { "::10.0.0.1", true },
    { "64:ff9b::7f00:1", true }, { "64:ff9b::a9fe:a9fe", true }, { "64:ff9b::192.168.0.1", true },
    { "2002:7f00:1::", true }, { "2002:c0a8:101::1", true }, { "2002:a9fe:a9fe::", true },
};

TEST(address_table_verdicts) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        struct sockaddr_storage ss;
        if (!make_addr(table[i].addr, &ss)) {
            TEST_FAIL_("cannot parse %s", table[i].addr);
            continue;
        }
        bool got = lr_target_is_private((const struct sockaddr *)&ss);
        if (got != table[i].private_)
            TEST_FAIL_("%s: private=%d, want %d", table[i].addr, got, table[i].private_);
    }
}

TEST(ip_strings_get_the_table_verdicts) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        bool got = lr_target_ip_is_private(table[i].addr);
        if (got != table[i].private_)
            TEST_FAIL_("%s: private=%d, want %d", table[i].addr, got, table[i].private_);
    }
    CHECK(lr_target_ip_is_private(NULL));
    CHECK(lr_target_ip_is_private(""));
    CHECK(lr_target_ip_is_private("example.com"));
    CHECK(lr_target_ip_is_private("127.1"));            /* libcurl names addresses in full */
}

TEST(null_and_other_families_are_refused) {
    CHECK(lr_target_is_private(NULL));
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    CHECK(lr_target_is_private((const struct sockaddr *)&un));
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNSPEC;
    CHECK(lr_target_is_private((const struct sockaddr *)&ss));
}

TEST(format_writes_numeric_addresses) {
    static const char *const addrs[] = { "127.0.0.1", "93.184.216.34", "::1", "2606:4700::1111",
                                         "::ffff:10.0.0.1", "fe80::1" };
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        struct sockaddr_storage ss;
        char buf[64];
        CHECK(make_addr(addrs[i], &ss));
        lr_target_format((const struct sockaddr *)&ss, buf, sizeof buf);
        CHECK_EQ_STR(buf, addrs[i]);
    }
}

TEST(format_unknown_or_too_small_gives_question_mark) {
    char buf[64] = "x";
    lr_target_format(NULL, buf, sizeof buf);
    CHECK_EQ_STR(buf, "?");
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    lr_target_format((const struct sockaddr *)&un, buf, sizeof buf);
    CHECK_EQ_STR(buf, "?");
    struct sockaddr_storage ss;
    make_addr("2606:4700::1111", &ss);
    char small[8];
    lr_target_format((const struct sockaddr *)&ss, small, sizeof small);
    CHECK_EQ_STR(small, "?");
    char one[1] = { 'z' };
    lr_target_format((const struct sockaddr *)&ss, one, sizeof one);
    CHECK_EQ_INT(one[0], '\0');
    lr_target_format((const struct sockaddr *)&ss, one, 0);          /* nothing written */
    CHECK_EQ_INT(one[0], '\0');
}

int main(void) {
    RUN(address_table_verdicts);
    RUN(ip_strings_get_the_table_verdicts);
    RUN(null_and_other_families_are_refused);
    RUN(format_writes_numeric_addresses);
    RUN(format_unknown_or_too_small_gives_question_mark);
    return test_report();
}
