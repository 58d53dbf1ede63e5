// JSON from upstreams and users: parsing never throws, writing is always valid UTF-8, echoes are bounded.
#include "estate/json_util.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using estate::ParseJsonText;

// Valid UTF-8 as nlohmann's strict dump() sees it: it throws type_error 316 on anything else.
bool IsValidUtf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

TEST(ParseJsonText, NumbersThatOverflowADoubleAreErrorsNotExceptions) {
  for (const char* text : {"[1e400]", "{\"a\":1e400}", "[-1e400]", "{\"a\":{\"b\":[1,2,1e99999]}}"}) {
    estate::Result<nlohmann::json> r = estate::MakeError("not run");
    EXPECT_NO_THROW(r = ParseJsonText(text)) << text;
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().find("invalid JSON: a number too large for a double"), std::string::npos) << r.error();
  }
  auto small = ParseJsonText("[1e-400, 1e308]");
  ASSERT_TRUE(small.ok()) << small.error();
  EXPECT_EQ((*small)[0].get<double>(), 0.0) << "underflow is 0, as strtod has it";
}

TEST(ParseJsonText, InvalidJsonSaysWhere) {
  auto r = ParseJsonText("{\"a\": tru}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("invalid JSON at byte"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("of 10"), std::string::npos) << r.error();
  EXPECT_FALSE(ParseJsonText("").ok());
  EXPECT_FALSE(ParseJsonText("\"\xff\"").ok()) << "invalid UTF-8 in a string";
  auto ok = ParseJsonText("{\"a\": [1, \"x\", null]}");
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ((*ok)["a"][1], "x");
}

TEST(ParseJsonText, SaysTruncatedAndInvalidUtf8) {
  auto cut = ParseJsonText("{\"a\": [1, 2");
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().find("(truncated)"), std::string::npos) << cut.error();
  auto latin1 = ParseJsonText("{\"a\": \"caf\xe9\"}");
  ASSERT_FALSE(latin1.ok());
  EXPECT_NE(latin1.error().find("(invalid UTF-8)"), std::string::npos) << latin1.error();
  EXPECT_EQ(latin1.error().find("caf"), std::string::npos) << "the input is not echoed: " << latin1.error();
  auto wrong = ParseJsonText("{\"a\": x}");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().find("truncated"), std::string::npos) << wrong.error();
}

TEST(ParseJsonText, ACallbackDropsValuesWhileParsing) {
  auto r = ParseJsonText(R"({"keep": 1, "code": "a long text", "nested": {"code": [1, 2], "x": 2}})", 8,
                         [](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
                           return !(event == nlohmann::json::parse_event_t::key && parsed == "code");
                         });
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->dump(), R"({"keep":1,"nested":{"x":2}})");
  auto thrown = ParseJsonText("[1]", 8, [](int, nlohmann::json::parse_event_t, nlohmann::json&) -> bool {
    throw nlohmann::json::other_error::create(501, "callback gave up", nullptr);
  });
  EXPECT_FALSE(thrown.ok());
  EXPECT_FALSE(ParseJsonText("[[[1]]]", 2, nullptr).ok()) << "the depth limit holds with a callback too";
}

TEST(ParseJsonText, DeepNestingIsRefusedBeforeParsing) {
  auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(ParseJsonText(nested(estate::kMaxJsonDepth)).ok());
  auto deep = ParseJsonText(nested(estate::kMaxJsonDepth + 1));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error(), "JSON nested deeper than 128 levels");
  // A million levels (2 MB) would overflow the stack of any recursive walk or copy of the document.
  EXPECT_FALSE(ParseJsonText(std::string(1000000, '[')).ok());
  EXPECT_FALSE(ParseJsonText(std::string(100000, '{')).ok());
  // Brackets inside strings, escaped quotes included, are not nesting.
  std::string in_strings = "[\"" + std::string(500, '[') + "\\\"" + std::string(500, '{') + "\"]";
  EXPECT_TRUE(ParseJsonText(in_strings).ok());
}

TEST(DumpJson, InvalidUtf8BecomesTheReplacementCharacter) {
  nlohmann::json j = {{"id", std::string("a\xff" "b\xc3")}};
  std::string out;
  EXPECT_NO_THROW(out = estate::DumpJson(j));
  EXPECT_EQ(out, "{\"id\":\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\"}");
}

TEST(AppendJsonString, EscapesAndReplacesInvalidSequences) {
  std::string out;
  estate::AppendJsonString(out, std::string("q\"b\\n\n\x01\x7f", 8));
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\n\\u0001\x7f\"");
  struct Case {
    std::string in, want;
  };
  const std::string fffd = "\xEF\xBF\xBD";
  for (const Case& c : std::initializer_list<Case>{
           {"\xc3\xa9", "\xc3\xa9"},                         // é
           {"\xe2\x82\xac", "\xe2\x82\xac"},                 // €
           {"\xf0\x9f\x92\xbe", "\xf0\x9f\x92\xbe"},         // U+1F4BE
           {"\xc0\xaf", fffd + fffd},                        // overlong '/'
           {"\xe0\x80\xaf", fffd + fffd + fffd},             // overlong, 3 bytes
           {"\xed\xa0\x80", fffd + fffd + fffd},             // a surrogate
           {"\xf4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
           {"\xc3", fffd},                                   // cut short
           {"\x80x", fffd + "x"},                            // stray continuation byte
           {"%\xff%", "%" + fffd + "%"},
       }) {
    std::string got;
    estate::AppendJsonString(got, c.in);
    EXPECT_EQ(got, "\"" + c.want + "\"");
    EXPECT_TRUE(ParseJsonText(got).ok()) << got;
  }
}

TEST(Utf8Excerpt, BoundedValidAndCutAtACharacter) {
  EXPECT_EQ(estate::Utf8Excerpt("short id"), "short id");
  EXPECT_EQ(estate::Utf8Excerpt("a\xffz"), "a\xEF\xBF\xBDz");
  const std::string huge(60000, 'x');
  std::string e = estate::Utf8Excerpt(huge);
  EXPECT_LE(e.size(), 256u);
  EXPECT_EQ(e, std::string(253, 'x') + "\xE2\x80\xA6");
  // Multi-byte characters and invalid bytes around the cut: never half a character.
  for (std::size_t shift = 0; shift < 4; ++shift) {
    std::string mixed = std::string(shift, 'x');
    for (int i = 0; i < 200; ++i) mixed += i % 3 == 0 ? "\xe2\x82\xac" : i % 3 == 1 ? "\xff" : "\xf0\x9f\x92\xbe";
    std::string cut = estate::Utf8Excerpt(mixed, 64);
    EXPECT_LE(cut.size(), 64u);
    EXPECT_TRUE(IsValidUtf8(cut)) << shift;
    EXPECT_EQ(cut.substr(cut.size() - 3), "\xE2\x80\xA6");
  }
  // Exactly max_bytes fits whole.
  EXPECT_EQ(estate::Utf8Excerpt(std::string(256, 'y')), std::string(256, 'y'));
  EXPECT_EQ(estate::Utf8Excerpt(std::string(257, 'y')).size(), 256u);
}

}  // namespace
