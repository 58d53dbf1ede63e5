#include "sim_http.h"

#include <mutex>
#include <random>

#include "estate/json_util.h"

namespace estate::simestate {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string UrlDecode(const std::string& in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::string UrlEncode(const std::string& in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

template <typename F>
void ForEachParam(const std::string& query, F&& f) {
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string pair = query.substr(start, end - start);
    std::size_t eq = pair.find('=');
    if (!pair.empty())
      f(pair, UrlDecode(pair.substr(0, eq)), eq == std::string::npos ? "" : UrlDecode(pair.substr(eq + 1)));
    start = end + 1;
  }
}

}  // namespace

std::string QueryParam(const std::string& query, const std::string& name) {
  std::string value;
  bool found = false;
  ForEachParam(query, [&](const std::string&, const std::string& key, const std::string& v) {
    if (!found && key == name) {
      value = v;
      found = true;
    }
  });
  return value;
}

bool HasQueryParam(const std::string& query, const std::string& name) {
  bool found = false;
  ForEachParam(query,
               [&](const std::string&, const std::string& key, const std::string&) { found |= key == name; });
  return found;
}

std::string WithoutQueryParam(const std::string& query, const std::string& name) {
  std::string out;
  ForEachParam(query, [&](const std::string& raw, const std::string& key, const std::string&) {
    if (key == name) return;
    if (!out.empty()) out += '&';
    out += raw;
  });
  return out;
}

testing::FakeResponse Json(int status, const nlohmann::json& body) {
  testing::FakeResponse resp;
  resp.status = status;
  resp.body = DumpJson(body) + "\n";  // messages may carry a request's path: any bytes
  return resp;
}

testing::FakeResponse JsonError(int status, const std::string& message) {
  return Json(status, {{"error", message}});
}

std::string RandomHex(std::size_t bytes) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::lock_guard lock(mu);
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

}  // namespace estate::simestate
