#include "fixture_util.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "estate/testing/golden.h"

namespace estate::hardware::testing {
namespace fs = std::filesystem;

namespace {
std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string Clean(const std::string& uri) {
  std::string s = uri;
  if (auto q = s.find('?'); q != std::string::npos) s.resize(q);
  if (auto h = s.find('#'); h != std::string::npos) s.resize(h);
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return Lower(s);
}
}  // namespace

std::string HardwareFixtures() { return estate::testing::FixturesDir() + "/hardware"; }

bool HaveHardwareFixtures(const std::string& set) { return fs::exists(HardwareFixtures() + "/" + set); }

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json LoadJson(const std::string& path) { return nlohmann::json::parse(ReadText(path)); }

nlohmann::json LoadResource(const std::string& set, const std::string& path) {
  return LoadJson(HardwareFixtures() + "/" + set + "/" + path + "/index.json");
}

TreeGetter::TreeGetter(std::vector<std::string> roots, bool emulate_expand) : emulate_expand_(emulate_expand) {
  for (const auto& root : roots) {
    if (!fs::exists(root)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file() || e.path().filename() != "index.json") continue;
      std::string rel = e.path().parent_path().string().substr(root.size());
      if (rel.empty()) rel = "/";
      files_.emplace(Clean(rel), e.path().string());  // first root wins
    }
  }
}

void TreeGetter::Override(const std::string& path, nlohmann::json body) { cache_[Clean(path)] = std::move(body); }

const nlohmann::json* TreeGetter::Find(const std::string& path) {
  const std::string key = Clean(path);
  if (auto it = cache_.find(key); it != cache_.end()) return &it->second;
  auto f = files_.find(key);
  if (f == files_.end()) return nullptr;
  auto j = nlohmann::json::parse(ReadText(f->second), nullptr, false);
  if (j.is_discarded()) return nullptr;
  return &(cache_[key] = std::move(j));
}

// What a BMC does for $expand=.: every hyperlink outside Links/Oem/Actions is replaced by the resource.
nlohmann::json TreeGetter::Expand(const nlohmann::json& body, int levels) {
  if (levels <= 0 || !body.is_object()) return body;
  nlohmann::json out = body;
  auto is_link = [](const nlohmann::json& v) {
    return v.is_object() && v.size() == 1 && v.contains("@odata.id");
  };
  for (auto& [k, v] : out.items()) {
    if (k == "Links" || k == "links" || k == "Oem" || k == "Actions" || k.rfind("@", 0) == 0) continue;
    if (is_link(v)) {
      if (const auto* r = Find(v["@odata.id"].get<std::string>())) v = Expand(*r, levels - 1);
    } else if (v.is_array()) {
      for (auto& item : v) {
        if (is_link(item)) {
          if (const auto* r = Find(item["@odata.id"].get<std::string>())) item = Expand(*r, levels - 1);
        }
      }
    }
  }
  return out;
}

Result<nlohmann::json> TreeGetter::Get(const std::string& uri) {
  ++requests_;
  log_.push_back(uri);
  const nlohmann::json* body = Find(uri);
  if (body == nullptr) return MakeError("GET " + uri + ": HTTP 404");
  if (emulate_expand_ && uri.find("$expand=") != std::string::npos) {
    int levels = 1;
    if (auto p = uri.find("$levels="); p != std::string::npos) levels = std::atoi(uri.c_str() + p + 8);
    return Expand(*body, levels);
  }
  return *body;
}

}  // namespace estate::hardware::testing
