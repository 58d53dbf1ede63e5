// ISO 8601 / RFC 3339 date-times from upstreams (Keystone expires_at, Redfish Created, InSpec start_time,
// XCCDF start-time) to Unix seconds. One grammar for every exporter; each caller decides what it requires of
// the parse (seconds, nothing after it, a minimum year). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "estate/result.h"

namespace estate {

// What ParseIsoPrefix read from the start of a text.
struct IsoTime {
  double unix = 0;      // Unix seconds, fraction included, UTC offset applied (no zone = UTC)
  double fraction = 0;  // the fraction of a second alone (already in unix)
  int year = 0;
  std::size_t used = 0;   // characters read; text.substr(used) is what follows the timestamp
  bool has_time = false;  // a time of day followed the date (else midnight)
  bool has_seconds = false;
  bool has_zone = false;  // Z, UTC or an offset
};

// Reads, from the start of `text`:
//   YYYY-MM-DD                                      the date (midnight when nothing follows)
//   [T|t|' ']HH:MM[:SS][.fraction]                  an optional time of day
//   [' '](Z|z|UTC|+HH:MM|+HHMM|+HH|-...)            an optional zone
// The fields are range-checked (month 1-12, day 1-31, hour 0-23, minute 0-59, second 0-60). A separator not
// followed by a time ends the parse after the date. nullopt when the text does not start with a valid date
// or a time or zone is malformed; never reads past the text.
std::optional<IsoTime> ParseIsoPrefix(std::string_view text);

// A whole RFC 3339 timestamp: date, time with seconds, optional fraction and zone, nothing after it
// ("2015-11-07T02:58:43.578887Z", "2023-06-08T12:25:00-05:00", "1970-01-01T00:00:10"). Fails saying why.
Result<double> ParseIsoTimestamp(std::string_view text);

}  // namespace estate
