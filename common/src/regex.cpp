#include "estate/regex.h"

#include <string>

namespace estate {

namespace {

std::size_t DigitsAt(std::string_view s, std::size_t i) {
  std::size_t n = 0;
  while (i + n < s.size() && s[i + n] >= '0' && s[i + n] <= '9') ++n;
  return n;
}

}  // namespace

Result<std::regex> CompileRegex(std::string_view pattern, std::regex::flag_type flags) {
  const std::string limit = "more than " + std::to_string(kRegexMaxNumberDigits) + " digits";
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (DigitsAt(pattern, i + 1) > kRegexMaxNumberDigits) {
        return MakeError("a back-reference number of " + limit + " at offset " + std::to_string(i));
      }
      ++i;  // the escaped character is not a quantifier's brace
    } else if (pattern[i] == '{') {
      const std::size_t low = DigitsAt(pattern, i + 1);
      const std::size_t comma = i + 1 + low;
      const bool high_too_long = comma < pattern.size() && pattern[comma] == ',' &&
                                 DigitsAt(pattern, comma + 1) > kRegexMaxNumberDigits;
      if (low > kRegexMaxNumberDigits || high_too_long) {
        return MakeError("a repetition count of " + limit + " at offset " + std::to_string(i));
      }
    }
  }
  try {
    return std::regex(pattern.begin(), pattern.end(), flags);
  } catch (const std::exception& e) {
    return MakeError(e.what());
  }
}

}  // namespace estate
