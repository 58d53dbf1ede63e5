#include "naming_rule.h"

#include <algorithm>
#include <cctype>

#include "estate/regex.h"

namespace estate::registry {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

std::string NormaliseHostName(std::string_view host_name) {
  return Lower(host_name.substr(0, host_name.find('.')));
}

Result<TranslatedPattern> TranslatePattern(std::string_view p) {
  TranslatedPattern t;
  std::size_t groups = 0;
  for (std::size_t i = 0; i < p.size();) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return MakeError("the pattern ends with a lone backslash");
      if (p[i + 1] == 'k' && i + 2 < p.size() && p[i + 2] == '<') {
        return MakeError("named back-references (\\k<name>) are not supported");
      }
      t.regex.append(p.substr(i, 2));
      i += 2;
      continue;
    }
    if (c == '[') {
      // A class is copied as it is: '(' inside it is not a group. "[]...]" and "[^]...]" hold a literal ']'.
      std::size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') j += (p[j] == '\\') ? 2 : 1;
      if (j >= p.size()) return MakeError("unterminated character class at offset " + std::to_string(i));
      t.regex.append(p.substr(i, j + 1 - i));
      i = j + 1;
      continue;
    }
    if (c == '(' && p.substr(i, 2) == "(?") {
      std::string_view rest = p.substr(i + 2);
      std::size_t name_start = 0;
      if (rest.substr(0, 2) == "P<") {
        name_start = i + 4;
      } else if (rest.substr(0, 2) == "<=" || rest.substr(0, 2) == "<!") {
        return MakeError("lookbehind ((?<= and (?<!) is not supported by std::regex");
      } else if (rest.substr(0, 1) == "<") {
        name_start = i + 3;
      } else if (rest.substr(0, 2) == "P=") {
        return MakeError("named back-references ((?P=name)) are not supported");
      } else {
        // (?: (?= (?! : not capturing, copied as they are (std::regex rejects anything else).
        t.regex += "(?";
        i += 2;
        continue;
      }
      const std::size_t end = p.find('>', name_start);
      if (end == std::string_view::npos)
        return MakeError("unterminated group name at offset " + std::to_string(i));
      const std::string_view name = p.substr(name_start, end - name_start);
      if (name.empty()) return MakeError("an empty group name at offset " + std::to_string(i));
      for (char n : name) {
        if (!std::isalnum(static_cast<unsigned char>(n)) && n != '_') {
          return MakeError("invalid group name \"" + std::string(name) + "\"");
        }
      }
      ++groups;
      if (name == "app" || name == "colour" || name == "color") {
        std::size_t& slot = name == "app" ? t.app_group : t.colour_group;
        if (slot != 0) return MakeError("the group " + std::string(name) + " appears twice");
        slot = groups;
      }
      t.regex += '(';
      i = end + 1;
      continue;
    }
    if (c == '(') ++groups;
    t.regex += c;
    ++i;
  }
  if (t.app_group == 0) return MakeError("the pattern has no (?P<app>...) group");
  return t;
}

Result<NamingRule> NamingRule::Compile(std::string_view pattern) {
  auto translated = TranslatePattern(pattern);
  if (!translated) return MakeError(translated.error());
  NamingRule rule;
  rule.pattern_ = std::string(pattern);
  rule.translated_ = std::move(*translated);
  auto re = CompileRegex(rule.translated_.regex, std::regex::ECMAScript | std::regex::optimize);
  if (!re) return MakeError("invalid regex: " + re.error());
  rule.re_ = std::move(*re);
  if (rule.re_.mark_count() < rule.translated_.app_group ||
      rule.re_.mark_count() < rule.translated_.colour_group) {
    return MakeError("the named groups could not be located in the translated pattern");
  }
  return rule;
}

std::optional<NameMatch> NamingRule::Match(std::string_view name) const {
  if (name.size() > kMaxHostNameBytes) return std::nullopt;
  std::match_results<std::string_view::const_iterator> m;
  try {
    if (!std::regex_match(name.begin(), name.end(), m, re_)) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;  // error_complexity / error_stack on a pathological rule: no match
  }
  NameMatch out;
  out.app = Lower(m[translated_.app_group].str());
  if (out.app.empty()) return std::nullopt;
  if (translated_.colour_group != 0 && m[translated_.colour_group].matched) {
    out.colour = Lower(m[translated_.colour_group].str());
  }
  return out;
}

std::optional<NameMatch> NamingRules::Match(std::string_view host_name) const {
  const std::string name = NormaliseHostName(host_name);
  for (const auto& rule : rules_) {
    if (auto m = rule.Match(name)) return m;
  }
  return std::nullopt;
}

}  // namespace estate::registry
