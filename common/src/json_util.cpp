#include "estate/json_util.h"

#include <new>

namespace estate {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Deepest nesting of arrays and objects, counted over the text with strings skipped; stops counting past
// limit. Unbalanced brackets are the parser's to report.
std::size_t NestingDepth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::string At(std::size_t byte, std::size_t size) {
  return " at byte " + std::to_string(byte) + " of " + std::to_string(size);
}

}  // namespace

Result<nlohmann::json> ParseJsonText(std::string_view text, std::size_t max_depth) {
  return ParseJsonText(text, max_depth, nullptr);
}

Result<nlohmann::json> ParseJsonText(std::string_view text, std::size_t max_depth,
                                     const nlohmann::json::parser_callback_t& callback) {
  if (NestingDepth(text, max_depth) > max_depth) {
    return MakeError("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  }
  try {
    return nlohmann::json::parse(text, callback);
  } catch (const nlohmann::json::parse_error& e) {
    std::string why;
    if (e.byte > text.size())
      why = " (truncated)";
    else if (std::string_view(e.what()).find("ill-formed UTF-8") != std::string_view::npos)
      why = " (invalid UTF-8)";
    return MakeError("invalid JSON" + At(e.byte, text.size()) + why);
  } catch (const nlohmann::json::out_of_range&) {
    // 406, a number that overflows a double: nlohmann gives no position, and its message echoes the number.
    return MakeError("invalid JSON: a number too large for a double (" + std::to_string(text.size()) + " bytes)");
  } catch (const nlohmann::json::exception& e) {
    return MakeError(std::string("invalid JSON: ") + e.what());
  } catch (const std::bad_alloc&) {
    return MakeError("JSON document too large to hold in memory (" + std::to_string(text.size()) + " bytes)");
  }
}

std::string DumpJson(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto at = [&s](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return len;
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t len = Utf8SequenceLength(s, i);
      if (len == 0) {
        out.append(kReplacement);
        ++i;
      } else {
        out.append(s.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

std::string Utf8Excerpt(std::string_view s, std::size_t max_bytes) {
  constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // …
  std::string out;
  std::size_t cut = std::string::npos;  // where to cut if the whole does not fit
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = Utf8SequenceLength(s, i);
    const std::string_view piece = len == 0 ? kReplacement : s.substr(i, len);
    if (cut == std::string::npos && out.size() + piece.size() + kEllipsis.size() > max_bytes) cut = out.size();
    if (out.size() + piece.size() > max_bytes) {
      out.resize(cut == std::string::npos ? 0 : cut);
      if (kEllipsis.size() <= max_bytes) out.append(kEllipsis);
      return out;
    }
    out.append(piece);
    i += len == 0 ? 1 : len;
  }
  return out;
}

}  // namespace estate
