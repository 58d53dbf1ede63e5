#include "servicenow_parse.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "estate/json_util.h"

namespace estate::registry {

namespace {

using Json = nlohmann::json;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Printable ASCII only, at most max bytes: what an upstream's own words may contribute to a log line.
std::string Printable(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

std::string ScalarText(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  if (j.is_number_integer()) return j.dump();
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      return std::to_string(static_cast<long long>(d));
    }
    return j.dump();
  }
  return "";  // null
}

// A field in any of the shapes the header lists; false for an array, or an object without "value".
bool ReadField(const Json& j, SnowField* out) {
  if (j.is_array()) return false;
  if (j.is_object()) {
    auto value = j.find("value");
    if (value == j.end() || value->is_structured()) return false;
    out->value = ScalarText(*value);
    if (auto display = j.find("display_value"); display != j.end() && !display->is_structured()) {
      out->display = ScalarText(*display);
    }
    return true;
  }
  out->value = ScalarText(j);
  out->display = out->value;
  return true;
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<double> ParseNumber(std::string_view s) {
  s = Trim(s);
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  if (!IsDigits(whole)) return std::nullopt;
  if (dot != std::string_view::npos && !IsDigits(s.substr(dot + 1))) return std::nullopt;
  return std::strtod(std::string(s).c_str(), nullptr);
}

}  // namespace

Result<Ok> CheckNotHtml(std::string_view content_type, std::string_view body) {
  const std::string type = Lower(Trim(content_type.substr(0, content_type.find(';'))));
  const std::string_view start = Trim(body.substr(0, std::min<std::size_t>(body.size(), 4096)));
  if (type == "text/html" || type == "application/xhtml+xml" || (!start.empty() && start.front() == '<')) {
    return MakeError("ServiceNow answered with an HTML page (SSO login?)");
  }
  return Ok{};
}

std::string ErrorDocumentMessage(std::string_view body) {
  auto doc = ParseJsonText(body);
  if (!doc || !doc->is_object()) return "";
  auto error = doc->find("error");
  if (error == doc->end() || !error->is_object()) return "";
  auto message = error->find("message");
  if (message == error->end() || !message->is_string()) return "";
  return Printable(message->get<std::string>(), 120);
}

Result<SnowPage> ParseTablePage(std::string_view content_type, std::string_view body,
                                const std::vector<std::string>& fields) {
  if (auto html = CheckNotHtml(content_type, body); !html) return MakeError(html.error());
  auto doc = ParseJsonText(body);
  if (!doc) return MakeError(doc.error());
  if (!doc->is_object()) return MakeError("not a Table API document (not a JSON object)");
  auto result = doc->find("result");
  if (result == doc->end() || !result->is_array()) {
    if (std::string message = ErrorDocumentMessage(body); !message.empty()) {
      return MakeError("ServiceNow error: " + message);
    }
    return MakeError("not a Table API document (no \"result\" array)");
  }
  SnowPage page;
  page.rows.reserve(result->size());
  for (std::size_t i = 0; i < result->size(); ++i) {
    const Json& record = (*result)[i];
    if (!record.is_object()) return MakeError("result[" + std::to_string(i) + "] is not an object");
    SnowRow row(fields.size());
    for (std::size_t f = 0; f < fields.size(); ++f) {
      auto it = record.find(fields[f]);
      if (it == record.end()) continue;
      if (!ReadField(*it, &row[f])) {
        return MakeError("result[" + std::to_string(i) + "]: field " + Printable(fields[f], 80) +
                         " is neither a value nor a {value, display_value} object");
      }
    }
    page.rows.push_back(std::move(row));
  }
  return page;
}

Result<std::vector<LinkEntry>> ParseLinkHeader(std::string_view value) {
  std::vector<LinkEntry> out;
  std::size_t i = 0;
  const std::size_t n = value.size();
  auto skip_blanks = [&] {
    while (i < n && (value[i] == ' ' || value[i] == '\t')) ++i;
  };
  for (;;) {
    skip_blanks();
    if (i >= n) break;
    if (value[i] == ',') {  // empty elements are allowed by the list syntax
      ++i;
      continue;
    }
    if (value[i] != '<') return MakeError("Link header: an entry does not start with <url>");
    const std::size_t close = value.find('>', i + 1);
    if (close == std::string_view::npos) return MakeError("Link header: unterminated <url>");
    LinkEntry entry;
    entry.url = std::string(value.substr(i + 1, close - i - 1));
    i = close + 1;
    // Parameters: ; name[=value|="quoted"] ... up to the next ',' outside quotes.
    for (;;) {
      skip_blanks();
      if (i >= n || value[i] == ',') break;
      if (value[i] != ';') return MakeError("Link header: expected ';' or ',' after an entry");
      ++i;
      skip_blanks();
      const std::size_t name_start = i;
      while (i < n && value[i] != '=' && value[i] != ';' && value[i] != ',' && value[i] != ' ' &&
             value[i] != '\t') {
        ++i;
      }
      const std::string name = Lower(value.substr(name_start, i - name_start));
      skip_blanks();
      std::string param;
      if (i < n && value[i] == '=') {
        ++i;
        skip_blanks();
        if (i < n && value[i] == '"') {
          ++i;
          bool closed = false;
          while (i < n) {
            if (value[i] == '\\' && i + 1 < n) {
              param.push_back(value[i + 1]);
              i += 2;
              continue;
            }
            if (value[i] == '"') {
              closed = true;
              ++i;
              break;
            }
            param.push_back(value[i++]);
          }
          if (!closed) return MakeError("Link header: unterminated quoted parameter");
        } else {
          const std::size_t start = i;
          while (i < n && value[i] != ';' && value[i] != ',') ++i;
          param = std::string(Trim(value.substr(start, i - start)));
        }
      }
      if (name == "rel" && entry.rels.empty()) {  // RFC 8288: only the first rel counts
        std::size_t p = 0;
        while (p < param.size()) {
          while (p < param.size() && std::isspace(static_cast<unsigned char>(param[p]))) ++p;
          std::size_t e = p;
          while (e < param.size() && !std::isspace(static_cast<unsigned char>(param[e]))) ++e;
          if (e > p) entry.rels.push_back(Lower(std::string_view(param).substr(p, e - p)));
          p = e;
        }
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string LinkWithRel(const std::vector<LinkEntry>& links, std::string_view rel) {
  for (const auto& link : links) {
    if (std::find(link.rels.begin(), link.rels.end(), rel) != link.rels.end()) return link.url;
  }
  return "";
}

std::optional<std::int64_t> ParseTotalCount(std::string_view value) {
  value = Trim(value);
  if (!IsDigits(value) || value.size() > 13) return std::nullopt;
  std::int64_t n = 0;
  for (char c : value) n = n * 10 + (c - '0');
  if (n > 1'000'000'000'000LL) return std::nullopt;
  return n;
}

double RateLimitResetWait(std::string_view remaining, std::string_view reset, double now_unix) {
  const auto left = ParseNumber(remaining);
  if (!left || *left > 0) return 0;
  const auto when = ParseNumber(reset);
  if (!when) return 0;
  const double wait = *when < 1e9 ? *when : *when - now_unix;
  return wait > 0 ? wait : 0;
}

std::string InstallStatusName(std::string_view install_status) {
  const std::string_view s = Trim(install_status);
  if (s == "0") return "Implementing";
  if (s == "1") return "In Production";
  if (s == "2") return "Pilot";
  if (s == "4") return "Limited Service";
  if (s == "7") return "Retired";
  if (s == "21") return "Archived";
  if (s == "22") return "Cancelled";
  return "";
}

InstallVerdict ClassifyInstallStatus(std::string_view install_status,
                                     const std::vector<std::string>& unregistered) {
  const std::string_view s = Trim(install_status);
  InstallVerdict verdict;
  for (const auto& u : unregistered) {
    if (Trim(u) != s) continue;
    verdict.registered = false;
    verdict.reason = "install_status " + (s.empty() ? std::string("empty") : Printable(s, 32));
    if (std::string name = InstallStatusName(s); !name.empty()) verdict.reason += " (" + name + ")";
    break;
  }
  return verdict;
}

std::string NormaliseCode(std::string_view code) { return Lower(Trim(code)); }

std::vector<std::string> HostKeys(std::string_view name) {
  std::vector<std::string> keys;
  const std::string full = Lower(Trim(name));
  if (full.empty()) return keys;
  keys.push_back(full);
  const bool ip =
      std::all_of(full.begin(), full.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) ||
      full.find(':') != std::string::npos;
  if (std::size_t dot = full.find('.'); !ip && dot != std::string::npos && dot > 0) {
    keys.push_back(full.substr(0, dot));
  }
  return keys;
}

std::string OrderedQuery(std::string_view query) {
  std::string out;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t caret = query.find('^', start);
    if (caret == std::string_view::npos) caret = query.size();
    const std::string_view clause = query.substr(start, caret - start);
    if (!clause.empty() && !clause.starts_with("ORDERBY")) {
      if (!out.empty()) out += '^';
      out += clause;
    }
    start = caret + 1;
  }
  if (!out.empty()) out += '^';
  return out + "ORDERBYsys_id";
}

bool ValidTableName(std::string_view name) {
  return !name.empty() && name.size() <= 80 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool ValidFieldName(std::string_view name) {
  return !name.empty() && name.size() <= 80 && name.front() != '.' && name.back() != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
         });
}

}  // namespace estate::registry
