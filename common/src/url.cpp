#include "estate/url.h"

#include <cstddef>

namespace estate::url {

namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
int HexValue(char c) { return IsDigit(c) ? c - '0' : Lower(c) - 'a' + 10; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

int DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// Control characters, spaces, DEL and backslashes have no place in a link we follow: they are how parsers are
// made to disagree about where the authority ends.
Result<Ok> CheckCharacters(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return MakeError("control character or space");
    if (c == '\\') return MakeError("backslash");
  }
  return Ok{};
}

// Percent-encoding must be well formed, and the decoded path must not begin like an authority ("//host",
// "/\host") nor hold a backslash: whatever decodes it later must not see another host.
bool Decode(std::string_view part, std::string& out) {
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') {
      out.push_back(part[i]);
      continue;
    }
    if (i + 2 >= part.size() || !IsHex(part[i + 1]) || !IsHex(part[i + 2])) return false;
    out.push_back(static_cast<char>(HexValue(part[i + 1]) * 16 + HexValue(part[i + 2])));
    i += 2;
  }
  return true;
}

Result<Ok> CheckPercentEncoding(std::string_view path, std::string_view query) {
  std::string decoded_query;
  std::string decoded;
  if (!Decode(path, decoded) || !Decode(query, decoded_query)) return MakeError("malformed percent-encoding");
  if (decoded.size() >= 2 && decoded[0] == '/' && (decoded[1] == '/' || decoded[1] == '\\')) {
    return MakeError("path that decodes to a scheme-relative URL");
  }
  if (decoded.find('\\') != std::string::npos) return MakeError("path that decodes to a backslash");
  return Ok{};
}

// Splits "path?query#fragment" (the fragment is dropped) and checks both parts.
Result<Ok> SplitTarget(std::string_view rest, Url& u) {
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    u.path = std::string(rest.substr(0, q));
    u.query = std::string(rest.substr(q + 1));
    u.has_query = true;
  } else {
    u.path = std::string(rest);
  }
  return CheckPercentEncoding(u.path, u.query);
}

Result<Ok> ParseHost(std::string_view host, Url& u) {
  if (host.empty()) return MakeError("empty host");
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return MakeError("malformed IPv6 literal");
    bool colon = false;
    for (char c : host.substr(1, host.size() - 2)) {
      if (c == ':')
        colon = true;
      else if (!IsHex(c) && c != '.')
        return MakeError("IPv6 literal with characters other than hex digits, ':', '.'");
    }
    if (!colon) return MakeError("malformed IPv6 literal");
  } else {
    for (char c : host) {
      if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '.' && c != '_') {
        return MakeError("host with characters other than letters, digits, '-', '.', '_'");
      }
    }
  }
  u.host = LowerCopy(host);
  return Ok{};
}

Result<Ok> ParsePort(std::string_view port, Url& u) {
  if (port.empty() || port.size() > 5) return MakeError("malformed port");
  int value = 0;
  for (char c : port) {
    if (!IsDigit(c)) return MakeError("malformed port");
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return MakeError("port out of range");
  u.port = value;
  return Ok{};
}

// Length of a leading "scheme:" (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )), or 0.
std::size_t SchemeLength(std::string_view s) {
  if (s.empty() || !IsAlpha(s[0])) return 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == ':') return i;
    if (!IsAlpha(s[i]) && !IsDigit(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.') return 0;
  }
  return 0;
}

Result<Url> ParseChecked(std::string_view text) {
  const std::size_t scheme_length = SchemeLength(text);
  if (scheme_length == 0) return MakeError("not an absolute URL");
  Url u;
  u.scheme = LowerCopy(text.substr(0, scheme_length));
  if (u.scheme != "http" && u.scheme != "https") return MakeError("scheme " + u.scheme + " is not http(s)");
  std::string_view rest = text.substr(scheme_length + 1);
  if (rest.substr(0, 2) != "//") return MakeError("no '//' after the scheme");
  rest.remove_prefix(2);
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return MakeError("userinfo ('@') before the host");
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return MakeError("malformed IPv6 literal");
    host = authority.substr(0, close + 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return MakeError("malformed IPv6 literal");
      port = after.substr(1);
      has_port = true;
    }
  } else if (const std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (auto ok = ParseHost(host, u); !ok) return MakeError(ok.error());
  if (has_port) {
    if (auto ok = ParsePort(port, u); !ok) return MakeError(ok.error());
  } else {
    u.port = DefaultPort(u.scheme);
  }
  if (auto ok = SplitTarget(rest, u); !ok) return MakeError(ok.error());
  return u;
}

std::string Refused(std::string_view link, const std::string& why) {
  return "link " + Describe(link) + " refused: " + why;
}

// The path and query of an upstream link (in a Url whose other members are unset), or why it is refused.
Result<Url> LinkParts(const Url& base, std::string_view link) {
  if (link.empty()) return MakeError("empty link refused");
  if (auto ok = CheckCharacters(link); !ok) return MakeError(Refused(link, ok.error()));
  if (link.front() == '/') {
    if (link.size() > 1 && link[1] == '/') return MakeError(Refused(link, "scheme-relative ('//host')"));
    Url u;
    if (auto ok = SplitTarget(link, u); !ok) return MakeError(Refused(link, ok.error()));
    return u;
  }
  if (SchemeLength(link) == 0 || link.find("//") != SchemeLength(link) + 1) {
    const bool userinfo = link.substr(0, link.find_first_of("/?#")).find('@') != std::string_view::npos;
    return MakeError(Refused(link, userinfo
                                       ? "userinfo ('@') before the host"
                                       : "neither a path starting with '/' nor an absolute http(s) URL"));
  }
  auto u = ParseChecked(link);
  if (!u) return MakeError(Refused(link, u.error()));
  if (!SameOrigin(*u, base)) {
    return MakeError(Refused(link, "it leaves " + base.Origin() + " for " + u->Origin()));
  }
  return u;
}

}  // namespace

std::string Url::Origin() const {
  std::string out = scheme + "://" + host;
  if (port != DefaultPort(scheme)) {
    // Appended in two steps: ":" + std::to_string() trips GCC 12's bogus -Wrestrict at -O2 (bug 105329).
    out += ':';
    out += std::to_string(port);
  }
  return out;
}

std::string Url::ToString() const { return Origin() + Target(); }

std::string Url::Target() const {
  std::string out = path.empty() ? "/" : path;
  if (has_query) out += "?" + query;
  return out;
}

Result<Url> Parse(std::string_view text) {
  if (auto ok = CheckCharacters(text); !ok) return MakeError("URL " + Describe(text) + ": " + ok.error());
  auto u = ParseChecked(text);
  if (!u) return MakeError("URL " + Describe(text) + ": " + u.error());
  return u;
}

bool SameOrigin(const Url& a, const Url& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

Result<std::string> LinkTarget(const Url& base, std::string_view link) {
  auto parts = LinkParts(base, link);
  if (!parts) return MakeError(parts.error());
  return parts->Target();
}

Result<Url> Resolve(std::string_view base_url, std::string_view link) {
  auto base = Parse(base_url);
  if (!base) return MakeError("configured " + base.error());
  auto parts = LinkParts(*base, link);
  if (!parts) return MakeError(parts.error());
  Url out = std::move(*base);
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  out.path += parts->path.empty() ? "/" : parts->path;
  out.query = std::move(parts->query);
  out.has_query = parts->has_query;
  return out;
}

std::string Describe(std::string_view link) {
  // The userinfo sits between the start of the authority and its last '@'. The authority starts after
  // "scheme:" and any slashes, or at the start of a link that is not a path.
  std::size_t start = SchemeLength(link);
  if (start > 0) ++start;
  if (link.substr(start, 1) != "/" && link.substr(start, 1) != "\\")
    start = 0;  // "user:pw@host" has no scheme
  while (start < link.size() && (link[start] == '/' || link[start] == '\\')) ++start;
  const bool plain_path = start == 1 && link.size() > 1 && link[0] == '/';
  std::string_view shown = link;
  std::string prefix;
  if (!plain_path) {
    const std::size_t end = link.find_first_of("/\\?#", start);
    const std::string_view authority = link.substr(start, end == std::string_view::npos ? end : end - start);
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
      prefix = std::string(link.substr(0, start)) + "...";
      shown = link.substr(start + at);
    }
  }
  std::string out = "\"" + prefix;
  constexpr std::size_t kMax = 96;
  for (std::size_t i = 0; i < shown.size(); ++i) {
    if (out.size() >= kMax) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(shown[i]);
    out.push_back(u < 0x20 || u >= 0x7f || shown[i] == '"' ? '?' : shown[i]);
  }
  return out + "\"";
}

std::string EncodeComponent(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace estate::url
