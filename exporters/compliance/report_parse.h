// Reading a compliance report of any supported format (compliance_model.h), detected by content, never by the
// file name. Pure functions over bytes; thread-safe; never throw: every failure is an error value naming the
// format and the reason ("InSpec JSON: truncated at byte 1234", "XCCDF: DOCTYPE refused (entities)", "an InSpec
// profile (inspec json), not results: run inspec exec --reporter json").
#pragma once

#include <string_view>

#include "compliance_model.h"
#include "estate/result.h"

namespace estate::compliance {

struct ParseLimits {
  std::size_t max_bytes = std::size_t{512} << 20;  // input larger than this is refused
  std::size_t max_depth = 128;                    // JSON / XML nesting
  // false: InSpec-family controls keep no description and no result messages, and passing or not-applicable
  // controls (without a waiver expiry) keep only their id, profile, status and severity: what the store's slim
  // reports keep anyway, without holding every description of a 200 MB report until the store slims it.
  bool keep_text = true;
};

// By the first bytes and top-level keys/elements: '{' JSON (exec, automate, HDF, json-min is '[' or a
// {"controls": [...]} without profiles), '<' XML (XCCDF 1.1/1.2, ARF), "BZh" bzip2 (ARF or XCCDF inside).
Format DetectFormat(std::string_view body);

// Detects and parses. A body in no supported format, an InSpec profile (not results), an XML DOCTYPE or
// entity, invalid UTF-8 in JSON, truncation or excessive nesting: an error.
Result<Report> ParseReport(std::string_view body, const ParseLimits& limits = {});

// The JSON family (inspec_parse.cpp) and the XML family (xccdf_parse.cpp); ParseReport dispatches to them.
Result<Report> ParseInspecFamily(std::string_view body, const ParseLimits& limits);
Result<Report> ParseXccdfFamily(std::string_view body, const ParseLimits& limits);

}  // namespace estate::compliance
