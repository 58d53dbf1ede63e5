// Internal to the compliance library: the XML family's entry point for a buffer the caller owns and gives up
// (a bzip2-decompressed ARF), so that pugixml parses it in place instead of copying it once more. The public
// entry points are in report_parse.h. Pure; thread-safe; never throws.
#pragma once

#include <string>

#include "report_parse.h"

namespace estate::compliance {

// The XML family's DetectFormat: the root element after the prolog and its namespace (xccdf/1.1, xccdf/1.2,
// ARF 1.1); kUnknown for anything else, a DOCTYPE included.
Format SniffXml(std::string_view text);

// As ParseXccdfFamily, on text the function may modify (pugixml parses in place).
Result<Report> ParseXccdfOwned(std::string text, const ParseLimits& limits);

// bzip2 (one or more concatenated streams) to at most max_out bytes. Errors: "bzip2: corrupt data",
// "bzip2: truncated", "bzip2: decompressed size exceeds N bytes". With stop_at set, decompression stops
// quietly at that many bytes (a prefix for sniffing) instead of failing.
Result<std::string> Bunzip2(std::string_view in, std::size_t max_out, bool stop_at = false);

}  // namespace estate::compliance
