#include "estate/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "estate/testing/golden.h"

namespace estate::metrics {
namespace {

TEST(Metrics, RendersGaugeAndCounterInGivenOrder) {
  auto g = Gauge("estate_x_temperature_celsius", "Temperature.");
  Add(g, {{"target", "b"}, {"sensor", "cpu"}}, 41.5);
  Add(g, {{"target", "a"}, {"sensor", "cpu"}}, 40);
  auto c = Counter("estate_x_errors_total", "Errors.");
  Add(c, {}, 3);
  EXPECT_EQ(Render({g, c}),
            "# HELP estate_x_temperature_celsius Temperature.\n"
            "# TYPE estate_x_temperature_celsius gauge\n"
            "estate_x_temperature_celsius{target=\"b\",sensor=\"cpu\"} 41.5\n"
            "estate_x_temperature_celsius{target=\"a\",sensor=\"cpu\"} 40\n"
            "# HELP estate_x_errors_total Errors.\n"
            "# TYPE estate_x_errors_total counter\n"
            "estate_x_errors_total 3\n");
}

TEST(Metrics, EscapesHelpAndLabelValues) {
  auto g = Gauge("estate_x_info", "Line one\nline two \\ backslash.");
  Add(g, {{"name", "quote \" back \\ nl \n end"}}, 1);
  std::string text = Render({g});
  EXPECT_NE(text.find("# HELP estate_x_info Line one\\nline two \\\\ backslash.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("name=\"quote \\\" back \\\\ nl \\n end\""), std::string::npos) << text;
  EXPECT_TRUE(estate::testing::PromtoolCheckMetrics(text));
}

TEST(Metrics, FormatsSpecialValues) {
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatValue(1e3), "1000");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatValue(1.7e300), "1.7e+300");
}

TEST(Metrics, RendersHistograms) {
  Family h;
  h.name = "estate_x_duration_seconds";
  h.help = "Durations.";
  h.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric m;
  m.label = {{"source", "a"}};
  m.histogram.sample_count = 3;
  m.histogram.sample_sum = 1.5;
  m.histogram.bucket = {{1, 0.1}, {3, INFINITY}};
  h.metric.push_back(m);
  std::string text = Render({h});
  EXPECT_NE(text.find("estate_x_duration_seconds_bucket{source=\"a\",le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("estate_x_duration_seconds_bucket{source=\"a\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("estate_x_duration_seconds_count{source=\"a\"} 3\n"), std::string::npos);
  EXPECT_TRUE(estate::testing::PromtoolCheckMetrics(text));
}

TEST(Metrics, ValidatesNames) {
  EXPECT_TRUE(ValidMetricName("estate_hardware_up"));
  EXPECT_FALSE(ValidMetricName("9lives"));
  EXPECT_FALSE(ValidMetricName("a-b"));
  EXPECT_TRUE(ValidLabelName("target"));
  EXPECT_FALSE(ValidLabelName("__name__"));
  EXPECT_FALSE(ValidLabelName("a:b"));
}

}  // namespace
}  // namespace estate::metrics
