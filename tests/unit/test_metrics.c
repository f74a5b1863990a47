/* Unit tests of core/metrics.c: rates from counters, the history ring, statm and blockstats. */
#include "unit.h"

#include <unistd.h>

#include "core/metrics.h"

static void test_counter_rates(void **state)
{
    (void)state;
    yv_metrics m;
    yv_metrics_init(&m);
    assert_true(m.rate[YV_MET_DISK_WR] < 0);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 1000, 10000); /* baseline: still unknown */
    assert_true(m.rate[YV_MET_DISK_WR] < 0);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 3000, 12000); /* 2000 bytes in 2 s */
    assert_float_equal(m.rate[YV_MET_DISK_WR], 1000.0, 1e-9);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 3000, 12000); /* the same instant: ignored */
    assert_float_equal(m.rate[YV_MET_DISK_WR], 1000.0, 1e-9);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 3000, 13000); /* idle: exactly zero */
    assert_float_equal(m.rate[YV_MET_DISK_WR], 0.0, 1e-9);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 10, 14000); /* reset: a new baseline, unknown */
    assert_true(m.rate[YV_MET_DISK_WR] < 0);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 510, 14500);
    assert_float_equal(m.rate[YV_MET_DISK_WR], 1000.0, 1e-9);
    yv_metrics_unknown(&m, YV_MET_DISK_WR);
    assert_true(m.rate[YV_MET_DISK_WR] < 0);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 5000, 20000); /* after unknown: a baseline again */
    assert_true(m.rate[YV_MET_DISK_WR] < 0);
    assert_true(m.rate[YV_MET_DISK_RD] < 0); /* the others untouched */
    double h[8];
    assert_int_equal(yv_metrics_history(&m, YV_MET_DISK_WR, h, 8), 3);
    assert_float_equal(h[0], 1000.0, 1e-3);
    assert_float_equal(h[1], 0.0, 1e-3);
    assert_float_equal(h[2], 1000.0, 1e-3);
}

static void test_history_ring(void **state)
{
    (void)state;
    yv_metrics m;
    yv_metrics_init(&m);
    yv_metrics_gauge(&m, YV_MET_CPU, -1); /* unknown: not pushed */
    assert_true(m.rate[YV_MET_CPU] < 0);
    for (int i = 0; i < YV_METRICS_HIST + 10; i++) yv_metrics_gauge(&m, YV_MET_CPU, i);
    assert_float_equal(m.rate[YV_MET_CPU], YV_METRICS_HIST + 9, 1e-9);
    double h[YV_METRICS_HIST + 5];
    size_t n = yv_metrics_history(&m, YV_MET_CPU, h, YV_METRICS_HIST + 5);
    assert_int_equal(n, YV_METRICS_HIST); /* the last minute only */
    assert_float_equal(h[0], 10, 1e-6);
    assert_float_equal(h[n - 1], YV_METRICS_HIST + 9, 1e-6);
    n = yv_metrics_history(&m, YV_MET_CPU, h, 3); /* the newest three */
    assert_int_equal(n, 3);
    assert_float_equal(h[0], YV_METRICS_HIST + 7, 1e-6);
    assert_float_equal(h[2], YV_METRICS_HIST + 9, 1e-6);
    assert_int_equal(yv_metrics_history(&m, YV_MET_N, h, 3), 0);
}

static void test_statm(void **state)
{
    (void)state;
    uint64_t p = 0;
    const char ok[] = "25000 1234 300 1 0 2000 0\n";
    assert_int_equal(yv_metrics_parse_statm(ok, strlen(ok), &p), 0);
    assert_int_equal(p, 1234);
    assert_int_equal(yv_metrics_parse_statm("25000", 5, &p), -1);
    assert_int_equal(yv_metrics_parse_statm("x 1", 3, &p), -1);
    assert_int_equal(yv_metrics_parse_statm("1 -2", 4, &p), -1);
    assert_int_equal(yv_metrics_parse_statm("1 99999999999999999999999", 25, &p), -1);
    /* our own process is resident somewhere */
    assert_true(yv_metrics_read_rss(getpid()) > 0);
    assert_int_equal(yv_metrics_read_rss(0x7ffffff0), 0);
    /* kept open: the same descriptor read again sees memory grow */
    int fd = -1;
    uint64_t before = yv_metrics_read_rss_at(&fd, getpid());
    assert_true(before > 0);
    assert_true(fd >= 0);
    int kept = fd;
    size_t big = 64u << 20;
    char *p64 = malloc(big);
    assert_non_null(p64);
    memset(p64, 1, big);
    assert_true(yv_metrics_read_rss_at(&fd, getpid()) >= before + big / 2);
    assert_int_equal(fd, kept);
    free(p64);
    close(fd);
    fd = -1;
    assert_int_equal(yv_metrics_read_rss_at(&fd, 0x7ffffff0), 0);
    assert_int_equal(fd, -1);
}

/* When the disk counters are asked for (yv_metrics_disk_due): a QEMU idle at its floor is not,
 * one whose CPU rises is at once, one whose last rate was not 0 is every time, and every 10 s. */
static void test_disk_due(void **state)
{
    (void)state;
    yv_metrics m;
    yv_metrics_init(&m);
    int64_t t = 1000;
    assert_true(yv_metrics_disk_due(&m, -1, t, false)); /* nothing known yet */
    yv_metrics_counter(&m, YV_MET_DISK_RD, 100, t);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 100, t);
    assert_true(yv_metrics_disk_due(&m, 0.15, t += 1000, false)); /* rates unknown */
    yv_metrics_counter(&m, YV_MET_DISK_RD, 100, t);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 100, t);
    int asked = 0;
    for (int i = 0; i < 9; i++)
        asked += yv_metrics_disk_due(&m, i % 2 ? 0.2 : 0.15, t += 1000, false);
    assert_int_equal(asked, 0); /* idle, jitter within the floor's margin */
    assert_true(yv_metrics_disk_due(&m, 0.15, t += 1000, false)); /* 10 s since the last ask */
    assert_false(yv_metrics_disk_due(&m, 0.15, t += 1000, false));
    assert_true(yv_metrics_disk_due(&m, 0.15, t, true));          /* forced (details open) */
    assert_true(yv_metrics_disk_due(&m, 12.0, t += 1000, false)); /* a guest starts writing */
    yv_metrics_counter(&m, YV_MET_DISK_WR, 5000100, t);
    assert_true(m.rate[YV_MET_DISK_WR] > 0);
    /* writing: asked every sample, also once its CPU is back down, until a rate of 0 */
    assert_true(yv_metrics_disk_due(&m, 0.15, t += 1000, false));
    yv_metrics_counter(&m, YV_MET_DISK_RD, 100, t);
    yv_metrics_counter(&m, YV_MET_DISK_WR, 5000100, t);
    assert_true(m.rate[YV_MET_DISK_WR] == 0);
    assert_false(yv_metrics_disk_due(&m, 0.15, t += 1000, false));
    /* a floor is of the last 10 to 20 s: a QEMU that became a little busier for good (1 %) is
     * asked for a while, then its new floor holds */
    asked = 0;
    for (int i = 0; i < 30; i++) asked += yv_metrics_disk_due(&m, 1.0, t += 1000, false);
    assert_true(asked < 30);
    assert_false(yv_metrics_disk_due(&m, 1.0, t += 1000, false) &&
                 yv_metrics_disk_due(&m, 1.0, t += 1000, false));
    /* a busy QEMU (40 %, a loaded host: a dd cannot double it) is asked every sample */
    asked = 0;
    for (int i = 0; i < 30; i++)
        asked += yv_metrics_disk_due(&m, i % 2 ? 40.0 : 55.0, t += 1000, false);
    assert_int_equal(asked, 30);
}

static void test_blockstats(void **state)
{
    (void)state;
    json_t *j = json_loads("[{\"device\":\"\",\"node-name\":\"node-hd0\",\"stats\":{\"rd_bytes\":"
                           "512,\"wr_bytes\":4096}},{\"qdev\":\"cd\",\"stats\":{\"rd_bytes\":100,"
                           "\"wr_bytes\":-5}},{\"no\":\"stats\"},3]",
                           0, NULL);
    uint64_t rd = 0, wr = 0;
    assert_non_null(j);
    assert_int_equal(yv_metrics_parse_blockstats(j, &rd, &wr), 0);
    assert_int_equal(rd, 612);
    assert_int_equal(wr, 4096);
    json_decref(j);
    j = json_object();
    assert_int_equal(yv_metrics_parse_blockstats(j, &rd, &wr), -1);
    json_decref(j);
    assert_int_equal(yv_metrics_parse_blockstats(NULL, &rd, &wr), -1);
}

static void test_guest_net(void **state)
{
    (void)state;
    json_t *j = json_loads(
        "[{\"name\":\"lo\",\"statistics\":{\"rx-bytes\":999,\"tx-bytes\":999}},"
        "{\"name\":\"enp0s3\",\"ip-addresses\":[],\"statistics\":{\"rx-bytes\":1000,"
        "\"rx-packets\":3,\"tx-bytes\":200}},{\"name\":\"docker0\",\"statistics\":{\"rx-bytes\":"
        "5,\"tx-bytes\":7}},{\"name\":\"old\"}]",
        0, NULL);
    uint64_t rx = 0, tx = 0;
    assert_non_null(j);
    assert_int_equal(yv_metrics_parse_guest_net(j, &rx, &tx), 0);
    assert_int_equal(rx, 1005); /* loopback left out */
    assert_int_equal(tx, 207);
    json_decref(j);
    /* an old agent: interfaces without statistics tell nothing (not zero) */
    j = json_loads("[{\"name\":\"eth0\"},{\"name\":\"lo\",\"statistics\":{}}]", 0, NULL);
    assert_int_equal(yv_metrics_parse_guest_net(j, &rx, &tx), -1);
    json_decref(j);
    assert_int_equal(yv_metrics_parse_guest_net(NULL, &rx, &tx), -1);
}

static void test_rate_text(void **state)
{
    (void)state;
    char b[16];
    const struct {
        double r;
        const char *s;
    } cases[] = {{-1, "-"},
                 {0.0 / 0.0, "-"},
                 {0, "0"},
                 {0.4, "0"},
                 {1023, "1023"},
                 {1024, "1.0K"},
                 {1536, "1.5K"},
                 {10 * 1024, "10K"},
                 {3.4 * 1048576, "3.4M"},
                 {1.2 * 1073741824.0, "1.2G"},
                 {5e15, "4547T"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        yv_metrics_rate_text(cases[i].r, b, sizeof b);
        assert_string_equal(b, cases[i].s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_rates), cmocka_unit_test(test_history_ring),
        cmocka_unit_test(test_statm),         cmocka_unit_test(test_blockstats),
        cmocka_unit_test(test_disk_due),      cmocka_unit_test(test_rate_text),
        cmocka_unit_test(test_guest_net),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
