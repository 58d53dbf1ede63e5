// Text from upstreams, reports and users put into HTML pages (the landing page, the compliance report).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace estate {

// s as HTML text or as a quoted attribute value: & < > " ' become entities; bytes that are not well-formed
// UTF-8 and control characters other than tab, line feed and carriage return (NUL included) become U+FFFD,
// so that the page stays valid UTF-8 whatever the input.
std::string HtmlEscape(std::string_view s);
void AppendHtmlEscaped(std::string& out, std::string_view s);

}  // namespace estate
