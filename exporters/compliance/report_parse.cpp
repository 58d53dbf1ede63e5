// Format detection and dispatch. Detection reads the first bytes and, for JSON, the top-level keys only: a
// cheap sniff for labels and logs. ParseReport dispatches by the first byte, so that the family parser gives
// the precise error (an InSpec profile, truncation, a DOCTYPE) rather than "unknown format".
#include "report_parse.h"

#include <bzlib.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>

#include "xccdf_parse.h"

namespace estate::compliance {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
// Enough decompressed bytes to see an XML prolog and root element (oscap writes them in the first few
// hundred).
constexpr std::size_t kSniffBytes = 64 * 1024;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view SkipBomAndSpace(std::string_view s) {
  if (s.substr(0, kUtf8Bom.size()) == kUtf8Bom) s.remove_prefix(kUtf8Bom.size());
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  return s;
}

bool IsBzip2(std::string_view s) {
  return s.size() >= 4 && s.substr(0, 3) == "BZh" && s[3] >= '1' && s[3] <= '9';
}

bool IsGzip(std::string_view s) { return s.size() >= 2 && s[0] == '\x1f' && s[1] == '\x8b'; }

// The top-level keys of a JSON object, read without parsing values: strings are skipped, nesting counted. The
// platform object's text is kept (HDF converters name themselves there: "Heimdall Tools").
struct TopKeys {
  bool profiles = false, controls = false, automate = false, passthrough = false, profile_json = false;
  std::string_view platform;
};

TopKeys ScanTopKeys(std::string_view s) {
  TopKeys k;
  std::size_t depth = 0;
  std::size_t platform_start = std::string_view::npos;
  bool platform_next = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"') {
      const std::size_t start = i + 1;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\') ++i;
      }
      if (depth != 1 || i >= s.size()) continue;
      std::size_t j = i + 1;
      while (j < s.size() && IsSpace(s[j])) ++j;
      if (j >= s.size() || s[j] != ':') continue;
      const std::string_view key = s.substr(start, i - start);
      if (key == "profiles") k.profiles = true;
      if (key == "controls") k.controls = true;
      if (key == "report_uuid" || key == "node_uuid" || key == "node_name") k.automate = true;
      if (key == "passthrough") k.passthrough = true;
      // `inspec json` (a profile, not results) has these next to its controls; exec output has none of them.
      if (key == "sha256" || key == "supports" || key == "groups" || key == "generator")
        k.profile_json = true;
      platform_next = key == "platform";
      continue;
    }
    if (c == '{' || c == '[') {
      if (depth == 1 && platform_next) platform_start = i;
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) break;
      --depth;
      if (depth == 1 && platform_start != std::string_view::npos) {
        k.platform = s.substr(platform_start, i + 1 - platform_start);
        platform_start = std::string_view::npos;
        platform_next = false;
      }
      if (depth == 0) break;
    }
  }
  return k;
}

Format SniffJson(std::string_view s) {
  if (s.front() == '[') return Format::kJsonMin;
  const TopKeys k = ScanTopKeys(s);
  if (k.profiles) {
    if (k.automate) return Format::kAutomate;
    if (k.passthrough || k.platform.find("Heimdall") != std::string_view::npos) return Format::kHdf;
    return Format::kInspecJson;
  }
  if (k.controls && !k.profile_json) return Format::kJsonMin;
  return Format::kUnknown;
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 8)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace

Result<std::string> Bunzip2(std::string_view in, std::size_t max_out, bool stop_at) {
  std::string out;
  bz_stream z{};
  if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK) return MakeError("bzip2: cannot initialise the decompressor");
  z.next_in = const_cast<char*>(in.data());  // bzlib's API is not const-correct; it never writes the input
  z.avail_in = static_cast<unsigned>(std::min<std::size_t>(in.size(), 1u << 30));
  std::size_t fed = z.avail_in;
  std::string error;
  std::size_t chunk = std::min<std::size_t>(std::max<std::size_t>(in.size() * 4, 1 << 16), 1 << 24);
  for (;;) {
    if (out.size() >= max_out) {
      if (!stop_at) error = "bzip2: decompressed size exceeds " + std::to_string(max_out) + " bytes";
      break;
    }
    const std::size_t old = out.size();
    const unsigned in_before = z.avail_in;
    const std::size_t grow = std::min(chunk, max_out - old);
    out.resize(old + grow);
    z.next_out = out.data() + old;
    z.avail_out = static_cast<unsigned>(grow);
    const int rc = BZ2_bzDecompress(&z);
    const bool stalled = z.avail_in == in_before && z.avail_out == grow;
    out.resize(old + grow - z.avail_out);
    if (rc == BZ_STREAM_END) {
      // pbzip2 and `cat a.bz2 b.bz2` write several streams back to back: continue with the next one.
      const std::size_t consumed = fed - z.avail_in;
      if (consumed >= in.size() || !IsBzip2(in.substr(consumed))) break;
      BZ2_bzDecompressEnd(&z);
      z = bz_stream{};
      if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK)
        return MakeError("bzip2: cannot initialise the decompressor");
      z.next_in = const_cast<char*>(in.data() + consumed);
      z.avail_in = static_cast<unsigned>(std::min<std::size_t>(in.size() - consumed, 1u << 30));
      fed = consumed + z.avail_in;
      continue;
    }
    if (rc != BZ_OK) {
      error = rc == BZ_MEM_ERROR ? "bzip2: out of memory" : "bzip2: corrupt data";
      break;
    }
    if (z.avail_in == 0 && fed < in.size()) {  // inputs above 1 GiB: feed the rest
      const std::size_t more = std::min<std::size_t>(in.size() - fed, 1u << 30);
      z.next_in = const_cast<char*>(in.data() + fed);
      z.avail_in = static_cast<unsigned>(more);
      fed += more;
    } else if ((z.avail_in == 0 && z.avail_out != 0) || stalled) {
      error = "bzip2: truncated (the stream ends before its end marker)";
      break;
    }
    chunk = std::min<std::size_t>(chunk * 2, 1 << 26);
  }
  BZ2_bzDecompressEnd(&z);
  if (!error.empty()) return MakeError(error);
  return out;
}

Format DetectFormat(std::string_view body) {
  const std::string_view s = SkipBomAndSpace(body);
  if (s.empty()) return Format::kUnknown;
  if (s.front() == '{' || s.front() == '[') return SniffJson(s);
  if (s.front() == '<') return SniffXml(s);
  if (IsBzip2(s)) {
    auto prefix = Bunzip2(s, kSniffBytes, /*stop_at=*/true);
    if (!prefix) return Format::kUnknown;
    const std::string_view inner = SkipBomAndSpace(*prefix);
    // Only the XML family is read compressed (compliance-operator and SCAPinoculars keep ARF as .bzip2).
    return !inner.empty() && inner.front() == '<' ? SniffXml(inner) : Format::kUnknown;
  }
  return Format::kUnknown;
}

Result<Report> ParseReport(std::string_view body, const ParseLimits& limits) {
  try {
    if (body.size() > limits.max_bytes) {
      return MakeError("report of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                       std::to_string(limits.max_bytes) + " bytes");
    }
    const std::string_view s = SkipBomAndSpace(body);
    if (s.empty())
      return MakeError(body.empty() ? "empty report (0 bytes)" : "empty report (only whitespace)");
    if (s.front() == '{' || s.front() == '[') return ParseInspecFamily(s, limits);
    if (s.front() == '<') return ParseXccdfFamily(body, limits);
    if (IsBzip2(s)) {
      auto text = Bunzip2(s, limits.max_bytes);
      if (!text) return MakeError(text.error());
      const std::string_view inner = SkipBomAndSpace(*text);
      if (inner.empty() || inner.front() != '<') {
        return MakeError("bzip2-compressed, but not XCCDF or ARF inside (first bytes: " + Printable(inner) +
                         ")");
      }
      return ParseXccdfOwned(std::move(*text), limits);
    }
    if (IsGzip(s)) return MakeError("gzip-compressed report: decompress it (only bzip2 is read, for ARF)");
    return MakeError("not a supported report: neither JSON, XML nor bzip2 (first bytes: " + Printable(s) +
                     ")");
  } catch (const std::exception& e) {  // bad_alloc from a huge report: an error, never a crash
    return MakeError(std::string("report could not be parsed: ") + e.what());
  }
}

}  // namespace estate::compliance
