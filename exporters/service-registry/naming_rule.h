// Host-name rules of the service-registry exporter: which app (three-letter acronym, TLA) and which
// deployment colour (A/B) a VM belongs to, read from its host name.
//
// A rule is a regex (ECMAScript, as std::regex reads it) with named groups written the Python or PCRE way:
// (?P<app>...) or (?<app>...) (required) and (?P<colour>...) (optional). std::regex has no named groups, so
// the pattern is translated (named groups become plain groups, their indices recorded) before compiling.
// Lookbehind ((?<=, (?<!) and named back-references ((?P=name), \k<name>) are refused; other groups are kept.
//
// A host name is lower-cased and cut at its first '.' (the rule sees "xyz-web-a01" for
// "XYZ-web-A01.prod.example") before the rules are tried in order; the first that matches the whole name
// wins. The app and colour are returned lower-case; a colour other than "a" or "b" is kept as written.
//
// The default rule (kDefaultNamingRule), the house convention <tla>-<role>[-<more>][-<colour><nn>]: the app's
// three-letter acronym, a dash, the role (segments of letters and digits), and for apps deployed blue/green a
// last segment of the colour letter and an optional number:
//   iex-fokpp01      -> app iex, colour ""      (no colour: an app that is not deployed blue/green)
//   xyz-web-a01      -> app xyz, colour a
//   xyz-web-b01      -> app xyz, colour b       (a redeploy of xyz on A comes up as xyz-*-b*)
//   abc-web-prod01   -> app abc, colour ""      (a segment is a colour only when it is a or b and digits)
//   xyz-db-b         -> app xyz, colour b
//   monitoring01, pgdb-main01, hv-hpe-01, xyza-web01 -> no match (counted and listed as unmatched)
//
// Immutable after Compile; thread-safe for concurrent Match calls.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "estate/result.h"

namespace estate::registry {

inline constexpr const char* kDefaultNamingRule =
    "^(?P<app>[a-z]{3})-[a-z0-9]+(?:-[a-z0-9]+)*?(?:-(?P<colour>[ab])[0-9]*)?$";

// Host names longer than this never match (a DNS name is at most 253 bytes; std::regex recurses per
// character).
inline constexpr std::size_t kMaxHostNameBytes = 253;

struct NameMatch {
  std::string app;     // lower-case, never empty
  std::string colour;  // lower-case; "" when the rule has no colour group or it did not take part
};

// The pattern translated for std::regex, with the indices of the named groups (0 = absent).
struct TranslatedPattern {
  std::string regex;
  std::size_t app_group = 0;
  std::size_t colour_group = 0;
};

// Translates named groups; an error for a pattern without an app group, a duplicate group name, lookbehind,
// named back-references, an unterminated group name or class. Never throws.
Result<TranslatedPattern> TranslatePattern(std::string_view pattern);

class NamingRule {
 public:
  // Translates and compiles; an error (never an exception) for an invalid pattern.
  static Result<NamingRule> Compile(std::string_view pattern);
  // The match on the whole (normalised) name, or nullopt. An empty app group counts as no match.
  std::optional<NameMatch> Match(std::string_view normalised_name) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  TranslatedPattern translated_;
  std::regex re_;
};

class NamingRules {
 public:
  NamingRules() = default;
  explicit NamingRules(std::vector<NamingRule> rules) : rules_(std::move(rules)) {}
  // Normalises the host name (lower case, up to the first '.') and tries every rule in order.
  std::optional<NameMatch> Match(std::string_view host_name) const;
  std::size_t size() const { return rules_.size(); }

 private:
  std::vector<NamingRule> rules_;
};

// Lower case, cut at the first '.'.
std::string NormaliseHostName(std::string_view host_name);

}  // namespace estate::registry
