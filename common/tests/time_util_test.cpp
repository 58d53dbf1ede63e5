// ParseIsoPrefix / ParseIsoTimestamp: the one ISO 8601 parser behind Keystone, Redfish, InSpec and XCCDF
// times.
#include "estate/time_util.h"

#include <gtest/gtest.h>

#include <string>

namespace estate {
namespace {

TEST(ParseIsoTimestamp, Rfc3339Forms) {
  EXPECT_NEAR(*ParseIsoTimestamp("1970-01-01T00:00:10Z"), 10.0, 1e-9);
  EXPECT_NEAR(*ParseIsoTimestamp("1970-01-01T01:00:10+01:00"), 10.0, 1e-9);
  EXPECT_NEAR(*ParseIsoTimestamp("1970-01-01T00:00:10.250000"), 10.25, 1e-9);  // no zone = UTC
  EXPECT_NEAR(*ParseIsoTimestamp("2015-11-07T02:58:43.578887Z"), 1446865123.578887, 1e-6);
  EXPECT_EQ(*ParseIsoTimestamp("2021-07-30T17:39:54Z"), 1627666794);
  EXPECT_EQ(*ParseIsoTimestamp("2023-06-08T12:25:00-05:00"), 1686245100);
  EXPECT_EQ(*ParseIsoTimestamp("2023-06-08T12:25:00-0500"), 1686245100);
  EXPECT_EQ(*ParseIsoTimestamp("2023-06-08T17:25:00z"), 1686245100);
}

TEST(ParseIsoTimestamp, RejectsWhatIsNotOneWholeTimestamp) {
  for (const std::string bad :
       {"", "yesterday", "2020-01-01T00:00:00Zjunk", "2020-01-01", "2020-01-01T10:00", "2020-13-01T00:00:00Z",
        "2020-01-32T00:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01T00:60:00Z", "2020-01-01T00:00:61Z",
        "2020-1-01T00:00:00Z", "2020-01-01T00:00:00+1", "2020-01-01T00:00:00+ab:00", " 2020-01-01T00:00:00Z",
        "2020-01-01T00:00:00Z "}) {
    EXPECT_FALSE(ParseIsoTimestamp(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseIsoTimestamp("2020-01-01T00:00:00Zjunk").error(), "trailing characters in timestamp");
  EXPECT_EQ(ParseIsoTimestamp("yesterday").error(), "not an ISO 8601 timestamp");
}

TEST(ParseIsoPrefix, DatesTimesAndZonesAsCallersSeeThem) {
  auto date = ParseIsoPrefix("2025-06-01");  // a waiver's YAML date: midnight UTC
  ASSERT_TRUE(date);
  EXPECT_EQ(date->unix, 1748736000);
  EXPECT_FALSE(date->has_time);
  EXPECT_EQ(date->used, 10u);

  auto ruby = ParseIsoPrefix("2018-01-05 11:43:04 -0500");  // Ruby's Time#to_s
  ASSERT_TRUE(ruby);
  EXPECT_EQ(ruby->unix, 1515170584);
  EXPECT_TRUE(ruby->has_zone);
  EXPECT_EQ(ruby->used, 25u);

  auto utc = ParseIsoPrefix("2018-01-05 16:43 UTC");  // no seconds
  ASSERT_TRUE(utc);
  EXPECT_TRUE(utc->has_time);
  EXPECT_FALSE(utc->has_seconds);
  EXPECT_EQ(utc->unix, 1515170580);

  auto hours_only = ParseIsoPrefix("2018-01-05T16:43:04+01");  // xs:dateTime offset without minutes
  ASSERT_TRUE(hours_only);
  EXPECT_EQ(hours_only->unix, 1515170584 - 3600);

  auto fraction = ParseIsoPrefix("2018-01-05T16:43:04.5Z trailing");
  ASSERT_TRUE(fraction);
  EXPECT_DOUBLE_EQ(fraction->fraction, 0.5);
  EXPECT_DOUBLE_EQ(fraction->unix, 1515170584.5);
  EXPECT_EQ(std::string("2018-01-05T16:43:04.5Z trailing").substr(fraction->used), " trailing");

  auto date_then_word = ParseIsoPrefix("2018-01-05 is a date");  // a separator without a time ends the date
  ASSERT_TRUE(date_then_word);
  EXPECT_EQ(date_then_word->used, 10u);

  EXPECT_FALSE(ParseIsoPrefix("2018-01-05T1:00"));
  EXPECT_FALSE(ParseIsoTimestamp("2018-01-05T10:00:00+").ok());
  EXPECT_FALSE(ParseIsoPrefix("20180105"));
}

// Every prefix of a long timestamp, and bytes after it, are read without reading past the text.
TEST(ParseIsoPrefix, TruncationsNeverReadPastTheText) {
  const std::string full = "2018-01-05T16:43:04.123456+05:30";
  for (std::size_t n = 0; n <= full.size(); ++n) {
    const std::string cut = full.substr(0, n);
    auto t = ParseIsoPrefix(cut);
    if (t) {
      EXPECT_LE(t->used, n) << cut;
    }
  }
  EXPECT_TRUE(ParseIsoTimestamp(full).ok());
}

}  // namespace
}  // namespace estate
