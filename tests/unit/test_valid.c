/* Unit tests of core/valid.c: the allowlist validators. */
#include "unit.h"

#include "core/valid.h"

static void assert_name_bad(const char *name, const char *msg_part)
{
    yv_err e = {0};
    if (yv_valid_name(name, &e) != -1) fail_msg("name '%s' was accepted", name ? name : "(null)");
    assert_int_equal(e.code, YV_E_INVALID_NAME);
    ut_assert_contains(e.msg, msg_part);
}

static void assert_name_ok(const char *name)
{
    yv_err e = {0};
    if (yv_valid_name(name, &e) != 0) fail_msg("name '%s' was refused: %s", name, e.msg);
    assert_int_equal(e.code, YV_OK);
}

static void test_name_ok(void **state)
{
    (void)state;
    assert_name_ok("a");
    assert_name_ok("0");
    assert_name_ok("cloud");
    assert_name_ok("Web-1.example_2");
    assert_name_ok("x.");
    assert_name_ok("a..b");
}

static void test_name_traversal_and_separators(void **state)
{
    (void)state;
    assert_name_bad("../x", "must start with a letter or a digit");
    assert_name_bad("..", "must start with a letter or a digit");
    assert_name_bad("a/b", "'/' is not allowed");
    assert_name_bad("a b", "' ' is not allowed");
    assert_name_bad("a,b", "',' is not allowed");
    assert_name_bad("-rf", "must start with a letter or a digit");
    assert_name_bad(".x", "must start with a letter or a digit");
    assert_name_bad("_x", "must start with a letter or a digit");
    assert_name_bad("a'b", "''' is not allowed");
    assert_name_bad("a\"b", "'\"' is not allowed");
    assert_name_bad("a`b", "'`' is not allowed");
    assert_name_bad("a$b", "'$' is not allowed");
    assert_name_bad("a:b", "':' is not allowed");
}

static void test_name_empty(void **state)
{
    (void)state;
    assert_name_bad("", "the name is empty");
    assert_name_bad(NULL, "the name is empty");
}

static void test_name_length(void **state)
{
    (void)state;
    char name[64];
    memset(name, 'a', sizeof name);
    name[48] = '\0';
    assert_name_ok(name);
    name[48] = 'b';
    name[49] = '\0';
    assert_name_bad(name, "49 characters, at most 48");
}

static void test_name_control_and_utf8(void **state)
{
    (void)state;
    /* control and non-ASCII bytes are named by value, never echoed raw */
    assert_name_bad("a\nb", "byte 0x0a at position 2");
    assert_name_bad("a\x01", "byte 0x01 at position 2");
    assert_name_bad("a\tb", "byte 0x09");
    assert_name_bad("a\x7f", "byte 0x7f");
    assert_name_bad("caf\xc3\xa9", "byte 0xc3 at position 4");
    assert_name_bad("\xc3\xa9t\xc3\xa9", "byte 0xc3 at position 1");
    yv_err e;
    yv_valid_name("a\x1b[2Jb", &e);
    ut_assert_not_contains(e.msg, "\x1b");
}

static void assert_ifname(const char *s, int want)
{
    yv_err e = {0};
    int rc = yv_valid_ifname(s, "interface name", &e);
    if (rc != want) fail_msg("ifname '%s': rc %d, want %d", s, rc, want);
    if (want < 0) {
        assert_int_equal(e.code, YV_E_USAGE);
        ut_assert_contains(e.msg, "invalid interface name");
    }
}

static void test_ifname(void **state)
{
    (void)state;
    assert_ifname("br0", 0);
    assert_ifname("tap-1.2_x", 0);
    assert_ifname("a", 0);
    assert_ifname("123456789012345", 0); /* 15 */
    assert_ifname("1234567890123456", -1);
    assert_ifname("averyveryverylongname", -1);
    assert_ifname("", -1);
    assert_ifname(".", -1);
    assert_ifname("..", -1);
    assert_ifname("br 0", -1);
    assert_ifname("br0/x", -1);
    assert_ifname("br\xc3\xa9", -1);
    assert_ifname("x\";flush ruleset;#", -1);
    yv_err e;
    assert_int_equal(yv_valid_ifname(NULL, "bridge", &e), -1);
}

static void test_ifname_message_hides_value(void **state)
{
    (void)state;
    yv_err e;
    const char *hostile = "x\";flush ruleset;#";
    assert_int_equal(yv_valid_ifname(hostile, "bridge name", &e), -1);
    assert_string_equal(e.msg, "invalid bridge name (18 bytes): it must be 1 to 15 characters of "
                               "A-Z a-z 0-9 _ . -");
    ut_assert_not_contains(e.msg, "flush");

    char why[128];
    assert_int_equal(yv_valid_ifname_check("br0", why, sizeof why), 0);
    assert_int_equal(yv_valid_ifname_check("a b", why, sizeof why), -1);
    assert_string_equal(why, "must be 1 to 15 characters of A-Z a-z 0-9 _ . -");
}

static void assert_mac(const char *s, int want)
{
    char why[128] = "";
    int rc = yv_valid_mac_check(s, why, sizeof why);
    if (rc != want) fail_msg("MAC '%s': rc %d, want %d", s, rc, want);
    if (want < 0) assert_string_equal(why, "must be a unicast MAC address like 52:54:00:12:34:56");
}

static void test_mac(void **state)
{
    (void)state;
    assert_mac("52:54:00:12:34:56", 0);
    assert_mac("52:54:a1:23:4b:31", 0);
    assert_mac("52:54:AB:CD:EF:01", 0);
    assert_mac("00:00:00:00:00:00", 0);
    assert_mac("fe:ff:ff:ff:ff:ff", 0);
    assert_mac("53:54:00:12:34:56", -1); /* multicast bit */
    assert_mac("01:00:5e:00:00:01", -1);
    assert_mac("ff:ff:ff:ff:ff:ff", -1);
    assert_mac("52:54:00:12:34", -1);
    assert_mac("52:54:00:12:34:567", -1);
    assert_mac("52:54:00:12:34:5", -1);
    assert_mac("52-54-00-12-34-56", -1);
    assert_mac("52:54:00:12:34:5g", -1);
    assert_mac("525400123456", -1);
    assert_mac("52:54:00:12:34:56 ", -1);
    assert_mac("", -1);
}

static void test_display(void **state)
{
    (void)state;
    assert_int_equal(yv_valid_display_number(":0"), 0);
    assert_int_equal(yv_valid_display_number(":1"), 1);
    assert_int_equal(yv_valid_display_number(":10"), 10);
    assert_int_equal(yv_valid_display_number(":59635"), 59635);
    assert_int_equal(yv_valid_display_number(":59636"), -1);
    assert_int_equal(yv_valid_display_number(":01"), -1);
    assert_int_equal(yv_valid_display_number(":00"), -1);
    assert_int_equal(yv_valid_display_number(":-1"), -1);
    assert_int_equal(yv_valid_display_number(":-0"), -1);
    assert_int_equal(yv_valid_display_number(":+1"), -1);
    assert_int_equal(yv_valid_display_number("1"), -1);
    assert_int_equal(yv_valid_display_number(":"), -1);
    assert_int_equal(yv_valid_display_number(""), -1);
    assert_int_equal(yv_valid_display_number(": 1"), -1);
    assert_int_equal(yv_valid_display_number(":1 "), -1);
    assert_int_equal(yv_valid_display_number(":1a"), -1);
    assert_int_equal(yv_valid_display_number(":99999999999999999999"), -1);
    assert_int_equal(yv_valid_display_number(NULL), -1);

    char why[128] = "";
    assert_int_equal(yv_valid_display_check(":1", why, sizeof why), 0);
    assert_string_equal(why, "");
    assert_int_equal(yv_valid_display_check("1", why, sizeof why), -1);
    assert_string_equal(why, "must be a VNC display ':N' with N from 0 to 59635");
}

static void assert_mib_bad(const char *s)
{
    yv_err e = {0};
    long out = 4242;
    if (yv_valid_mib(s, "capacity", &out, &e) != -1) fail_msg("size '%s' was accepted", s);
    assert_int_equal(e.code, YV_E_USAGE);
    assert_int_equal(out, 4242);
    char *want = yv_asprintf("invalid capacity '%s': give a whole number of MiB from 1 to 16777216",
                             s ? s : "");
    assert_string_equal(e.msg, want);
    free(want);
}

static void test_mib(void **state)
{
    (void)state;
    yv_err e;
    long out = 0;
    assert_int_equal(yv_valid_mib("15360", "capacity", &out, &e), 0);
    assert_int_equal(out, 15360);
    assert_int_equal(yv_valid_mib("1", "capacity", &out, &e), 0);
    assert_int_equal(out, 1);
    assert_int_equal(yv_valid_mib("16777216", "capacity", &out, &e), 0);
    assert_int_equal(out, 16777216);
    assert_mib_bad("16777217");
    assert_mib_bad("0");
    assert_mib_bad("-5");
    assert_mib_bad("-0");
    assert_mib_bad("12abc");
    assert_mib_bad("");
    assert_mib_bad(NULL);
    assert_mib_bad("+5");
    assert_mib_bad(" 5");
    assert_mib_bad("5 ");
    assert_mib_bad("1e3");
    assert_mib_bad("0x10");
    assert_mib_bad("99999999999999999999999");
}

static void assert_forward(const char *s, int proto, const char *addr, int host, int guest)
{
    yv_fwspec f;
    yv_err err;
    if (yv_valid_forward(s, &f, &err) < 0) fail_msg("'%s' refused: %s", s, err.msg);
    assert_int_equal(f.proto, proto);
    assert_string_equal(f.address, addr);
    assert_int_equal(f.host, host);
    assert_int_equal(f.guest, guest);
}

static void assert_forward_bad(const char *s, const char *why)
{
    yv_fwspec f;
    yv_err err;
    if (yv_valid_forward(s, &f, &err) == 0) fail_msg("'%s' accepted", s);
    assert_int_equal(err.code, YV_E_USAGE);
    ut_assert_contains(err.msg, why);
}

static void test_forward(void **state)
{
    (void)state;
    assert_forward("2201:22", 0, "127.0.0.1", 2201, 22);
    assert_forward("udp:5353:53", 1, "127.0.0.1", 5353, 53);
    assert_forward("tcp:0.0.0.0:8080:80", 0, "0.0.0.0", 8080, 80);
    assert_forward("10.1.2.3:1:65535", 0, "10.1.2.3", 1, 65535);
    assert_forward("tcp:2201:22", 0, "127.0.0.1", 2201, 22);
    assert_forward_bad("22", "wrong number of");
    assert_forward_bad("a:b:c:d:e", "wrong number of");
    assert_forward_bad("", "wrong number of");
    assert_forward_bad("0:22", "ports must be");
    assert_forward_bad("65536:22", "ports must be");
    assert_forward_bad("2201:022", "ports must be");
    assert_forward_bad("2201:-22", "ports must be");
    assert_forward_bad("2201:+22", "ports must be");
    assert_forward_bad("2201:", "ports must be");
    assert_forward_bad("sctp:1.2.3.4:1:2", "protocol must be tcp or udp");
    assert_forward_bad("TCP:1:2", "address must be an IPv4");
    assert_forward_bad("localhost:1:2", "address must be an IPv4");
    assert_forward_bad("127.1:1:2", "address must be an IPv4");
    assert_forward_bad("1.2.3.256:1:2", "address must be an IPv4");
    assert_forward_bad("01.2.3.4:1:2", "address must be an IPv4");
    assert_forward_bad("tcp:1.2.3.4.:1:2", "address must be an IPv4");
    assert_forward_bad("udp::1:2", "address must be an IPv4");
    /* a hostile spec is not echoed */
    assert_forward_bad("\033]0;x\a:1", "invalid forward '…'");
}

static void test_ipv4_port(void **state)
{
    (void)state;
    char why[64];
    assert_int_equal(yv_valid_ipv4_check("127.0.0.1", why, sizeof why), 0);
    assert_int_equal(yv_valid_ipv4_check("255.255.255.255", why, sizeof why), 0);
    assert_int_equal(yv_valid_ipv4_check("1.2.3", why, sizeof why), -1);
    assert_int_equal(yv_valid_ipv4_check("1.2.3.4 ", why, sizeof why), -1);
    assert_int_equal(yv_valid_ipv4_check("1.2.3.1000", why, sizeof why), -1);
    assert_string_equal(why, "must be an IPv4 address like 127.0.0.1");
    assert_int_equal(yv_valid_port("65535"), 65535);
    assert_int_equal(yv_valid_port("1"), 1);
    assert_int_equal(yv_valid_port("0"), -1);
    assert_int_equal(yv_valid_port("99999"), -1);
    assert_int_equal(yv_valid_port("123456"), -1);
    assert_int_equal(yv_valid_proto("udp"), 1);
    assert_int_equal(yv_valid_proto("Udp"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_ok),
        cmocka_unit_test(test_name_traversal_and_separators),
        cmocka_unit_test(test_name_empty),
        cmocka_unit_test(test_name_length),
        cmocka_unit_test(test_name_control_and_utf8),
        cmocka_unit_test(test_ifname),
        cmocka_unit_test(test_ifname_message_hides_value),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_display),
        cmocka_unit_test(test_mib),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_ipv4_port),
    };
    return cmocka_run_group_tests_name("valid", tests, NULL, NULL);
}
