#include "estate/html.h"

#include "estate/json_util.h"

namespace estate {

void AppendHtmlEscaped(std::string& out, std::string_view s) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  out.reserve(out.size() + s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out.append(kReplacement);
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      case '\t':
      case '\n':
      case '\r':
        out.push_back(static_cast<char>(c));
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out.append(kReplacement);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  AppendHtmlEscaped(out, s);
  return out;
}

}  // namespace estate
