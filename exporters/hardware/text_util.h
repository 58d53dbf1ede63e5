// Small text helpers shared by the Redfish and RIBCL parsers (BMCs differ in case and padding). Pure functions.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace estate::hardware::text {

inline std::string Trim(std::string_view in) {
  std::string s(in);
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace estate::hardware::text
