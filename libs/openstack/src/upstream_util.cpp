#include "estate/openstack/upstream_util.h"

#include <chrono>

#include "estate/json_util.h"
#include "estate/url.h"

namespace estate::openstack {

Result<nlohmann::json> ParseJson(std::string_view body) {
  if (body.empty()) return MakeError("empty body");
  return ParseJsonText(body);  // never throws: [1e400] used to throw out_of_range out of every parser
}

std::string Take(nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return std::move(it->get_ref<std::string&>());
}

double NowUnix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string UrlEncode(const std::string& s) { return url::EncodeComponent(s); }

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

}  // namespace estate::openstack
