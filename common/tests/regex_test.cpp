#include "estate/regex.h"

#include <gtest/gtest.h>

#include <string>

namespace estate {
namespace {

TEST(CompileRegex, CompilesAndMatches) {
  auto re = CompileRegex(R"(^/reports/([^/]+)/\1-(\d{2,4})\.json$)");
  ASSERT_TRUE(re) << re.error();
  EXPECT_EQ(re->mark_count(), 2u);
  std::smatch m;
  const std::string path = "/reports/web01/web01-2026.json";
  ASSERT_TRUE(std::regex_match(path, m, *re));
  EXPECT_EQ(m[1], "web01");
  auto icase = CompileRegex("^WEB", std::regex::ECMAScript | std::regex::icase);
  ASSERT_TRUE(icase) << icase.error();
  EXPECT_TRUE(std::regex_search("web01", *icase));
}

TEST(CompileRegex, WhatStdRegexRefusesIsAnErrorNotAnException) {
  for (const char* bad : {"(", "[a-", "a{2,1}", "*a", R"(\)", "(?<=x)y"}) {
    auto re = CompileRegex(bad);
    ASSERT_FALSE(re) << bad;
    EXPECT_FALSE(re.error().empty()) << bad;
  }
}

TEST(CompileRegex, LongNumbersInBackReferencesAndRepetitionsAreRefusedBeforeStdRegexReadsThem) {
  // libstdc++ reads these into a long without an overflow check (UBSan: signed integer overflow); the
  // compliance_config fuzzer found the back-reference (fuzz/regressions/compliance_config/).
  auto backref = CompileRegex(R"(([a-z]+)\66666666666666666666666)");
  ASSERT_FALSE(backref);
  EXPECT_EQ(backref.error(), "a back-reference number of more than 5 digits at offset 8");
  auto low = CompileRegex("a{99999999999999999999}");
  ASSERT_FALSE(low);
  EXPECT_EQ(low.error(), "a repetition count of more than 5 digits at offset 1");
  auto high = CompileRegex("a{1,99999999999999999999}");
  ASSERT_FALSE(high);
  EXPECT_EQ(high.error(), "a repetition count of more than 5 digits at offset 1");
  // Up to five digits std::regex judges for itself; an escaped brace or backslash is not a quantifier.
  EXPECT_TRUE(CompileRegex("a{00002,00003}|b"));
  auto huge = CompileRegex("(a{0,99999}){9}");  // past libstdc++'s state limit: its own error, no stall
  ASSERT_FALSE(huge);
  EXPECT_FALSE(huge.error().empty());
  EXPECT_TRUE(CompileRegex(R"(x\{1234567890\})"));
  EXPECT_TRUE(CompileRegex(R"(\\1234567890)"));
  EXPECT_TRUE(CompileRegex("id-1234567890"));
  EXPECT_FALSE(CompileRegex(R"((a)\99999)"));  // five digits: std::regex's own error (no such group)
}

}  // namespace
}  // namespace estate
