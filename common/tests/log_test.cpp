#include "estate/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace estate::log {
namespace {

TEST(Log, LogfmtQuotesValuesThatNeedIt) {
  std::string line = FormatRecord(Level::kWarn, "refresh failed", {{"target", "bmc-1"}, {"err", "HTTP 503 \"x\""}},
                                  Format::kLogfmt);
  EXPECT_NE(line.find(" level=warn msg=\"refresh failed\" target=bmc-1 err=\"HTTP 503 \\\"x\\\"\""),
            std::string::npos)
      << line;
  EXPECT_EQ(line.rfind("time=", 0), 0u);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one record is one line";
}

TEST(Log, NewlinesInValuesStayOnOneLine) {
  std::string line = FormatRecord(Level::kError, "bad\nconfig", {{"err", "a:1: x\nb:2: y"}}, Format::kLogfmt);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_NE(line.find("a:1: x\\nb:2: y"), std::string::npos);
}

TEST(Log, JsonIsValidJson) {
  std::string line = FormatRecord(Level::kInfo, "listening", {{"address", ":9840"}, {"ctl", "\x01"}}, Format::kJson);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "listening");
  EXPECT_EQ(j["address"], ":9840");
  EXPECT_EQ(j["ctl"], "\x01");
}

TEST(Log, ParsesLevelsAndFormats) {
  Level l;
  Format f;
  EXPECT_TRUE(ParseLevel("debug", &l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_FALSE(ParseLevel("verbose", &l));
  EXPECT_TRUE(ParseFormat("json", &f));
  EXPECT_EQ(f, Format::kJson);
  EXPECT_FALSE(ParseFormat("xml", &f));
}

TEST(Log, LevelFilters) {
  Configure(Level::kWarn, Format::kLogfmt);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  Configure(Level::kInfo, Format::kLogfmt);
  EXPECT_TRUE(Enabled(Level::kInfo));
}

}  // namespace
}  // namespace estate::log
