// The /probe time budget: X-Prometheus-Scrape-Timeout-Seconds, trusted only within --probe.max-timeout.
#include <gtest/gtest.h>

#include "estate/app.h"

namespace {

using estate::ProbeTimeoutSeconds;

TEST(ProbeTimeout, HeaderLessHalfASecondToAnswerInTime) {
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds("10", 120), 9.5);
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds("1.5", 120), 1.0);
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds(" 30 ", 120), 29.5);
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds("0.3", 120), 0.2) << "at least 0.2 s";
}

TEST(ProbeTimeout, HugeHeadersAreCappedByTheConfiguredMaximum) {
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds("1e9", 120), 120);
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds("1000000000", 120), 120);
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds("1e400", 120), 120) << "overflows a double";
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds("300", 60), 60);
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds("10", 2), 2);
  EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds("", 2), 2) << "the default is capped too";
}

TEST(ProbeTimeout, MissingOrMalformedHeadersCountAsTenSeconds) {
  for (const char* bad : {"", "nan", "NaN", "inf", "-inf", "infinity", "-5", "0", "-0", "0x20", "5s", "5abc",
                          "abc", "1e", ".", "--1", "1,5", "1e-400"}) {
    EXPECT_DOUBLE_EQ(ProbeTimeoutSeconds(bad, 120), 9.5) << '"' << bad << '"';
  }
}

}  // namespace
