// JSON from upstreams and users, read and written without exceptions and always as valid UTF-8.
//
// nlohmann::json throws on what an upstream or a client can send: parse() on invalid JSON and on a number
// that overflows a double ([1e400] is out_of_range, not parse_error), dump() on a string that is not UTF-8.
// These wrappers return errors or replace the bad bytes instead, so that parsers return errors, never throw.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "estate/result.h"

namespace estate {

// Deeper than any real Redfish, OpenStack or Pure document (about 10 levels); deeper ones are refused
// before parsing, so that no recursive walk, copy or dump of a parsed document can exhaust the stack.
constexpr std::size_t kMaxJsonDepth = 128;

// Parses untrusted JSON; never throws. Errors: "invalid JSON at byte N of M", followed by " (truncated)" when
// the text ends early and " (invalid UTF-8)" for a string that is not UTF-8, "invalid JSON: a number too
// large for a double (M bytes)" ([1e400]), "JSON nested deeper than 128 levels".
Result<nlohmann::json> ParseJsonText(std::string_view text, std::size_t max_depth = kMaxJsonDepth);
// The same with nlohmann's parser callback, which sees every event and may drop values while parsing (a large
// document need not be held whole). An exception thrown by the callback is an error too.
Result<nlohmann::json> ParseJsonText(std::string_view text, std::size_t max_depth,
                                     const nlohmann::json::parser_callback_t& callback);

// dump() that never throws: invalid UTF-8 in strings becomes U+FFFD.
std::string DumpJson(const nlohmann::json& j, int indent = -1);

// Appends s as a JSON string literal: quotes, escapes, and invalid UTF-8 replaced by U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF)
// that starts s[i]: 1 to 4, or 0 when the bytes there are not one.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i);

// Client input fit to echo back: invalid UTF-8 replaced by U+FFFD and, when that is longer than max_bytes,
// cut at a character boundary and ended with "…", so that the result is at most max_bytes long.
std::string Utf8Excerpt(std::string_view s, std::size_t max_bytes = 256);

}  // namespace estate
