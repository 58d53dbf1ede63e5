#include "estate/time_util.h"

#include <ctime>

namespace estate {

namespace {

// Reads n digits at s[i] and advances i; -1 (i unchanged past the digits read) when they are not there.
int Digits(std::string_view s, std::size_t& i, int n) {
  int v = 0;
  for (int k = 0; k < n; ++k, ++i) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool IsDigit(std::string_view s, std::size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }

}  // namespace

std::optional<IsoTime> ParseIsoPrefix(std::string_view s) {
  IsoTime out;
  std::size_t i = 0;
  const int year = Digits(s, i, 4);
  if (year < 0 || i >= s.size() || s[i++] != '-') return std::nullopt;
  const int month = Digits(s, i, 2);
  if (month < 1 || month > 12 || i >= s.size() || s[i++] != '-') return std::nullopt;
  const int day = Digits(s, i, 2);
  if (day < 1 || day > 31) return std::nullopt;
  out.year = year;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  double offset = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ') && IsDigit(s, i + 1)) {
    ++i;
    out.has_time = true;
    tm.tm_hour = Digits(s, i, 2);
    if (tm.tm_hour < 0 || tm.tm_hour > 23 || i >= s.size() || s[i++] != ':') return std::nullopt;
    tm.tm_min = Digits(s, i, 2);
    if (tm.tm_min < 0 || tm.tm_min > 59) return std::nullopt;
    if (i < s.size() && s[i] == ':') {
      ++i;
      tm.tm_sec = Digits(s, i, 2);
      if (tm.tm_sec < 0 || tm.tm_sec > 60) return std::nullopt;
      out.has_seconds = true;
    }
    if (i < s.size() && s[i] == '.') {
      double scale = 0.1;
      for (++i; IsDigit(s, i); ++i, scale /= 10) out.fraction += (s[i] - '0') * scale;
    }
    // Ruby's Time#to_s puts a space before the offset: "2018-01-05 11:43:04 -0500".
    std::size_t z = i < s.size() && s[i] == ' ' ? i + 1 : i;
    if (z < s.size() && (s[z] == 'Z' || s[z] == 'z')) {
      i = z + 1;
      out.has_zone = true;
    } else if (s.substr(z, 3) == "UTC") {
      i = z + 3;
      out.has_zone = true;
    } else if (z < s.size() && (s[z] == '+' || s[z] == '-') && IsDigit(s, z + 1)) {
      const bool plus = s[z] == '+';
      i = z + 1;
      const int oh = Digits(s, i, 2);
      if (oh < 0) return std::nullopt;
      int om = 0;
      if (i < s.size() && s[i] == ':') {
        ++i;
        om = Digits(s, i, 2);
        if (om < 0) return std::nullopt;
      } else if (IsDigit(s, i)) {
        om = Digits(s, i, 2);
        if (om < 0) return std::nullopt;
      }
      offset = (plus ? 1 : -1) * (oh * 3600.0 + om * 60.0);
      out.has_zone = true;
    }
  }
  const std::time_t t = timegm(&tm);
  out.unix = static_cast<double>(t) + out.fraction - offset;
  out.used = i;
  return out;
}

Result<double> ParseIsoTimestamp(std::string_view text) {
  auto t = ParseIsoPrefix(text);
  if (!t || !t->has_seconds) return MakeError("not an ISO 8601 timestamp");
  if (t->used != text.size()) return MakeError("trailing characters in timestamp");
  return t->unix;
}

}  // namespace estate
