// Regular expressions from configuration (a compliance exporter's host_from_path, the service registry's
// naming rules and pipeline patterns), compiled with std::regex without its traps.
#pragma once

#include <cstddef>
#include <regex>
#include <string_view>

#include "estate/result.h"

namespace estate {

// Longest number accepted in a back-reference (\12) or a repetition ({2,5}).
inline constexpr std::size_t kRegexMaxNumberDigits = 5;

// Compiles pattern with flags. An error (never an exception) for what std::regex refuses, and for what
// libstdc++ would mishandle: it reads the number of a back-reference or a repetition into a long without
// checking for overflow (undefined behaviour at 20 digits, found by the compliance_config fuzzer), so a
// number there longer than kRegexMaxNumberDigits is refused first. Errors have no prefix, e.g.
// "a back-reference number of more than 5 digits at offset 7".
Result<std::regex> CompileRegex(std::string_view pattern,
                                std::regex::flag_type flags = std::regex::ECMAScript);

}  // namespace estate
