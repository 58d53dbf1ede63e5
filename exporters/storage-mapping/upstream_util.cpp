#include "upstream_util.h"

#include <chrono>

namespace estate::storage {

Result<nlohmann::json> ParseJson(std::string_view body) {
  if (body.empty()) return MakeError("empty body");
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return MakeError("invalid JSON at byte " + std::to_string(e.byte) + " of " + std::to_string(body.size()));
  } catch (const nlohmann::json::exception& e) {  // out_of_range: a number beyond a double ([1e400])
    return MakeError(std::string("invalid JSON: ") + e.what());
  }
}

std::string Take(nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return std::move(it->get_ref<std::string&>());
}

double NowUnix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string PathOf(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto slash = url.find('/', scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

std::string UrlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string StatusError(const std::string& what, const http::Response& response) {
  std::string message = what + ": HTTP " + std::to_string(response.status);
  std::string excerpt;
  for (char c : response.body) {
    if (excerpt.size() >= 160) {
      excerpt += "...";
      break;
    }
    excerpt.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  }
  if (!excerpt.empty()) message += ": " + excerpt;
  return message;
}

}  // namespace estate::storage
