// The naming rules: named groups translated for std::regex, the default house convention's examples, and the
// patterns refused with a clear error.
#include "naming_rule.h"

#include <gtest/gtest.h>

namespace estate::registry {
namespace {

NamingRules Default() {
  auto rule = NamingRule::Compile(kDefaultNamingRule);
  EXPECT_TRUE(rule.ok()) << rule.error();
  return NamingRules({std::move(*rule)});
}

TEST(NamingRuleTest, DefaultRuleExamplesFromTheDocs) {
  NamingRules rules = Default();
  struct Case {
    const char* host;
    const char* app;  // nullptr = no match
    const char* colour;
  };
  for (const Case& c :
       {Case{"iex-fokpp01", "iex", ""}, Case{"xyz-web-a01", "xyz", "a"}, Case{"xyz-web-b01", "xyz", "b"},
        Case{"abc-web-prod01", "abc", ""}, Case{"xyz-db-b", "xyz", "b"},
        Case{"XYZ-Web-A01.prod.example", "xyz", "a"}, Case{"xyz-db01", "xyz", ""},
        Case{"abc-api-b2b01", "abc", ""}, Case{"abc-a01", "abc", ""}, Case{"abc-x-y-z-a7", "abc", "a"},
        Case{"monitoring01", nullptr, ""}, Case{"pgdb-main01", nullptr, ""}, Case{"hv-hpe-01", nullptr, ""},
        Case{"xyza-web01", nullptr, ""}, Case{"", nullptr, ""}, Case{"xyz-", nullptr, ""},
        Case{"xyz-web-", nullptr, ""}}) {
    auto m = rules.Match(c.host);
    if (c.app == nullptr) {
      EXPECT_FALSE(m.has_value()) << c.host << " -> " << (m ? m->app : "");
      continue;
    }
    ASSERT_TRUE(m.has_value()) << c.host;
    EXPECT_EQ(m->app, c.app) << c.host;
    EXPECT_EQ(m->colour, c.colour) << c.host;
  }
}

TEST(NamingRuleTest, TranslatesPythonAndPcreNamedGroupsAndCountsOtherGroups) {
  auto t = TranslatePattern(R"(^(dc\d)-(?:x|y)(?<app>[a-z]{3})[(](?P<colour>[ab])?\)$)");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->regex, R"(^(dc\d)-(?:x|y)([a-z]{3})[(]([ab])?\)$)");
  EXPECT_EQ(t->app_group, 2u);
  EXPECT_EQ(t->colour_group, 3u);

  auto rule = NamingRule::Compile(R"(^(dc\d)-(?<app>[a-z]{3})-(?P<colour>[ab])\d+$)");
  ASSERT_TRUE(rule.ok()) << rule.error();
  auto m = rule->Match("dc1-pay-b07");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->app, "pay");
  EXPECT_EQ(m->colour, "b");
  EXPECT_FALSE(rule->Match("dc1-pay-c07").has_value());
}

TEST(NamingRuleTest, ClassesAndEscapesAreNotGroups) {
  auto t = TranslatePattern(R"([(?P<x>]\((?P<app>\w+))");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->app_group, 1u);
  EXPECT_EQ(t->regex, R"([(?P<x>]\((\w+))");
  auto t2 = TranslatePattern(R"([]a](?P<app>b))");
  ASSERT_TRUE(t2.ok()) << t2.error();
  EXPECT_EQ(t2->app_group, 1u);
}

TEST(NamingRuleTest, RefusesRulesItCannotHonour) {
  EXPECT_NE(NamingRule::Compile("^[a-z]{3}-.*$").error().find("no (?P<app>...) group"), std::string::npos);
  EXPECT_NE(NamingRule::Compile("(?P<app>a)(?P<app>b)").error().find("twice"), std::string::npos);
  EXPECT_NE(NamingRule::Compile("(?<=x)(?P<app>a)").error().find("lookbehind"), std::string::npos);
  EXPECT_NE(NamingRule::Compile("(?P<app>a)(?P=app)").error().find("back-references"), std::string::npos);
  EXPECT_NE(NamingRule::Compile("(?P<app>a)\\k<app>").error().find("back-references"), std::string::npos);
  EXPECT_NE(NamingRule::Compile("(?P<app[a-z]").error().find("group name"), std::string::npos);
  EXPECT_NE(NamingRule::Compile("(?P<app>[a-z)").error().find("character class"), std::string::npos);
  EXPECT_NE(NamingRule::Compile("(?P<app>a))").error().find("invalid regex"), std::string::npos);
  EXPECT_NE(NamingRule::Compile("(?P<app>a)\\").error().find("backslash"), std::string::npos);
}

TEST(NamingRuleTest, FirstMatchingRuleWinsAndEmptyAppIsNoMatch) {
  std::vector<NamingRule> list;
  list.push_back(*NamingRule::Compile("^legacy(?P<app>[a-z]*)\\d+$"));
  list.push_back(*NamingRule::Compile("^(?P<app>[a-z]{3})[a-z]*\\d+$"));
  NamingRules rules(std::move(list));
  EXPECT_EQ(rules.Match("legacyfoo01")->app, "foo");
  EXPECT_EQ(rules.Match("legacy01")->app, "leg");  // the first rule's app is empty: the second one matches
  EXPECT_EQ(rules.Match("abcdef01")->app, "abc");
}

TEST(NamingRuleTest, OverlongNamesNeverMatch) {
  NamingRules rules = Default();
  EXPECT_FALSE(rules.Match("abc-" + std::string(300, 'x')).has_value());
  EXPECT_TRUE(rules.Match("abc-" + std::string(200, 'x')).has_value());
  // Many segments: no exponential backtracking.
  std::string segments = "abc";
  while (segments.size() < 240) segments += "-x1";
  EXPECT_TRUE(rules.Match(segments + "!").has_value() == false);
  EXPECT_TRUE(rules.Match(segments).has_value());
}

}  // namespace
}  // namespace estate::registry
