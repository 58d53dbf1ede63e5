// HtmlEscape: markup, quotes, invalid UTF-8 and control characters from upstream data never reach a page as
// anything but text.
#include <gtest/gtest.h>

#include <string>

#include "estate/http_server.h"

namespace estate::web {
namespace {

TEST(HtmlEscape, EscapesMarkupAndBothQuotes) {
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;");
  EXPECT_EQ(HtmlEscape("plain text"), "plain text");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(HtmlEscape, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(HtmlEscape("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x94\x92"),
            "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x94\x92");
  // A lone continuation byte, a truncated sequence, an overlong '<' (0xC0 0xBC) and a surrogate.
  EXPECT_EQ(HtmlEscape("a\x80"
                       "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(HtmlEscape("\xE2\x9C"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(HtmlEscape("\xC0\xBC"
                       "script"),
            "\xEF\xBF\xBD\xEF\xBF\xBDscript");
  EXPECT_EQ(HtmlEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(HtmlEscape, ReplacesControlCharactersButKeepsWhitespace) {
  EXPECT_EQ(HtmlEscape(std::string("a\0b\x1b[1m\x7f", 8)),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD[1m\xEF\xBF\xBD");
  EXPECT_EQ(HtmlEscape("line 1\n\tline 2\r\n"), "line 1\n\tline 2\r\n");
}

TEST(HtmlEscape, AppendsToWhatIsThere) {
  std::string out = "<p>";
  AppendHtmlEscaped(out, "1 < 2");
  EXPECT_EQ(out, "<p>1 &lt; 2");
}

}  // namespace
}  // namespace estate::web
