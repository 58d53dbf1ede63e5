#include "sim_pure.h"

#include <fnmatch.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "sim_http.h"

namespace estate::simestate {

long PureSessions::RevokeAll() {
  std::lock_guard lock(mu);
  long n = static_cast<long>(live.size());
  revoked += n;
  live.clear();
  return n;
}

namespace {

using json = nlohmann::json;
using testing::FakeRequest;
using testing::FakeResponse;

constexpr int kMaxMinor = 26;
constexpr char kTagNamespace[] = "openstack-integration.purestorage.com";

std::string Header(const FakeRequest& req, const std::string& name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? "" : it->second;
}

FakeResponse PureError(int status, const std::string& message, const std::string& context = "") {
  json err = {{"message", message}};
  if (!context.empty()) err["context"] = context;
  return Json(status, {{"errors", json::array({err})}});
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    // Names may be quoted: names='a','b'.
    if (item.size() >= 2 && item.front() == '\'' && item.back() == '\'')
      item = item.substr(1, item.size() - 2);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The continuation token is opaque to clients; here it is the offset of the next item, dressed up.
std::string MakeToken(std::size_t offset) {
  return "cT" + HexFrom("ct:" + std::to_string(offset), 6) + "-" + std::to_string(offset);
}
bool ReadToken(const std::string& token, std::size_t* offset) {
  auto dash = token.rfind('-');
  if (token.rfind("cT", 0) != 0 || dash == std::string::npos) return false;
  try {
    *offset = std::stoul(token.substr(dash + 1));
  } catch (const std::exception&) {
    return false;
  }
  return MakeToken(*offset) == token;
}

// `filter=name='volume-*-cinder'` (the only filter shape the simulator understands) as a glob; true when no
// filter is given. False with a 400 for any other filter.
bool ReadNameFilter(const std::string& query, std::string* glob, FakeResponse* error) {
  if (!HasQueryParam(query, "filter")) return true;
  std::string f = QueryParam(query, "filter");
  const std::string prefix = "name='";
  if (f.rfind(prefix, 0) != 0 || f.size() < prefix.size() + 1 || f.back() != '\'') {
    *error = PureError(400, "The simulated array understands only filter=name='<glob>'.", f);
    return false;
  }
  *glob = f.substr(prefix.size(), f.size() - prefix.size() - 1);
  return true;
}

// One page of `total` items built by `item(i)` (only the page is rendered, never the whole list).
FakeResponse Paged(const FakeRequest& req, std::size_t total, const std::function<json(std::size_t)>& item) {
  std::size_t offset = 0;
  if (HasQueryParam(req.query, "continuation_token")) {
    if (!ReadToken(QueryParam(req.query, "continuation_token"), &offset)) {
      return PureError(400, "Invalid continuation_token.", QueryParam(req.query, "continuation_token"));
    }
  } else if (HasQueryParam(req.query, "offset")) {
    try {
      offset = std::stoul(QueryParam(req.query, "offset"));
    } catch (const std::exception&) {
      return PureError(400, "Invalid offset.");
    }
  }
  std::size_t limit = total;
  if (HasQueryParam(req.query, "limit")) {
    try {
      long v = std::stol(QueryParam(req.query, "limit"));
      if (v < 0) throw std::out_of_range("negative");
      limit = static_cast<std::size_t>(v);
    } catch (const std::exception&) {
      return PureError(400, "Invalid limit.");
    }
  }
  json items = json::array();
  std::size_t end = offset >= total ? total : std::min(total, offset + limit);
  for (std::size_t i = offset; i < end; ++i) items.push_back(item(i));
  const bool more = end < total && limit > 0;
  json body = {{"continuation_token", more ? json(MakeToken(end)) : json(nullptr)},
               {"more_items_remaining", more},
               {"total_item_count", total},
               {"items", std::move(items)}};
  FakeResponse resp = Json(200, body);
  if (more) resp.headers.emplace_back("x-next-token", MakeToken(end));
  return resp;
}

json VolumeItem(const PureVolumeView& v) {
  return {{"id", v.id},
          {"name", v.name},
          {"serial", v.serial},
          {"provisioned", v.provisioned},
          {"connection_count", v.connections.size()},
          {"created", v.created_ms},
          {"destroyed", v.destroyed},
          {"time_remaining", v.destroyed ? json(v.time_remaining_ms) : json(nullptr)},
          {"subtype", "regular"},
          {"host_encryption_key_status", "none"},
          {"requested_promotion_state", "promoted"},
          {"promotion_status", "promoted"},
          {"priority", 0},
          {"source", {{"name", nullptr}, {"id", nullptr}}},
          {"qos", {{"bandwidth_limit", nullptr}, {"iops_limit", nullptr}}},
          {"pod",
           {{"name", v.pod.empty() ? json(nullptr) : json(v.pod)},
            {"id", v.pod.empty() ? json(nullptr) : json(UuidFrom("pod:" + v.pod))}}},
          {"volume_group",
           {{"name", v.volume_group.empty() ? json(nullptr) : json(v.volume_group)},
            {"id", v.volume_group.empty() ? json(nullptr) : json(UuidFrom("vg:" + v.volume_group))}}},
          {"space",
           {{"total_physical", v.unique + v.snapshots},
            {"unique", v.unique},
            {"snapshots", v.snapshots},
            {"virtual", v.virtual_bytes},
            {"total_provisioned", v.provisioned},
            {"data_reduction", v.data_reduction},
            {"total_reduction", v.data_reduction * 1.2},
            {"thin_provisioning", v.provisioned == 0 ? 0.0
                                                     : 1.0 - static_cast<double>(v.virtual_bytes) /
                                                                 static_cast<double>(v.provisioned)},
            {"shared", nullptr},
            {"system", nullptr}}}};
}

}  // namespace

void InstallPure(testing::FakeUpstream& server, const PureOptions& options,
                 std::shared_ptr<StorageModel> model, std::shared_ptr<PureSessions> sessions) {
  const std::string array = options.array;

  // Rate limit first (also for login and api_version), then the session. Returns the headers every answer
  // gets.
  auto admit = [options, sessions](const FakeRequest& req, bool need_session, FakeResponse* refusal,
                                   std::vector<std::pair<std::string, std::string>>* headers) {
    using Clock = std::chrono::steady_clock;
    std::lock_guard lock(sessions->mu);
    if (options.requests_per_second > 0 || options.requests_per_minute > 0) {
      const auto now = Clock::now();
      if (now - sessions->second_start >= std::chrono::seconds(1)) {
        sessions->second_start = now;
        sessions->second_count = 0;
      }
      if (now - sessions->minute_start >= std::chrono::minutes(1)) {
        sessions->minute_start = now;
        sessions->minute_count = 0;
      }
      const int per_second = options.requests_per_second > 0 ? options.requests_per_second : 1000000;
      const int per_minute = options.requests_per_minute > 0 ? options.requests_per_minute : 60 * per_second;
      const bool over_second = sessions->second_count >= per_second;
      const bool over_minute = sessions->minute_count >= per_minute;
      if (!over_second && !over_minute) {
        ++sessions->second_count;
        ++sessions->minute_count;
      }
      // Assigned whole: four emplace_back calls into the caller's empty vector made GCC 12 report a bogus
      // -Warray-bounds at -O2 (a zero-length array), which -Werror turned into a failed Release build.
      *headers = {{"X-RateLimit-Limit-second", std::to_string(per_second)},
                  {"X-RateLimit-Remaining-second", std::to_string(per_second - sessions->second_count)},
                  {"X-RateLimit-Limit-minute", std::to_string(per_minute)},
                  {"X-RateLimit-Remaining-minute", std::to_string(per_minute - sessions->minute_count)}};
      if (over_second || over_minute) {
        ++sessions->rate_limited;
        *refusal = PureError(429, "Rate limit exceeded. Too many requests.");
        refusal->headers = *headers;
        refusal->headers.emplace_back("Retry-After", over_minute ? "60" : "1");
        return false;
      }
    }
    if (need_session && sessions->live.count(Header(req, "x-auth-token")) == 0) {
      *refusal = PureError(401, "Invalid or expired session token. Log in again.");
      refusal->headers = *headers;
      return false;
    }
    return true;
  };
  // Wraps a handler with admission and the per-response headers.
  auto guarded = [admit](bool need_session, std::function<FakeResponse(const FakeRequest&)> handler) {
    return [admit, need_session, handler](const FakeRequest& req) {
      FakeResponse refusal;
      std::vector<std::pair<std::string, std::string>> headers;
      if (!admit(req, need_session, &refusal, &headers)) return refusal;
      FakeResponse resp = handler(req);
      for (auto& h : headers) resp.headers.push_back(std::move(h));
      if (auto id = Header(req, "x-request-id"); !id.empty()) resp.headers.emplace_back("X-Request-ID", id);
      return resp;
    };
  };

  server.Route("GET", "/api/api_version", guarded(false, [](const FakeRequest&) {
                 json versions = json::array();
                 for (int i = 0; i <= 19; ++i) versions.push_back("1." + std::to_string(i));
                 for (int i = 0; i <= kMaxMinor; ++i) versions.push_back("2." + std::to_string(i));
                 return Json(200, {{"version", versions}});
               }));

  auto login = [options, sessions](const FakeRequest& req) {
    const std::string token = Header(req, "api-token");
    if (token.empty() || (!options.api_token.empty() && token != options.api_token)) {
      return PureError(401, "Invalid API token.");
    }
    const std::string session = RandomHex(16);
    {
      std::lock_guard lock(sessions->mu);
      sessions->live[session] = std::chrono::steady_clock::now();
      ++sessions->created;
    }
    FakeResponse resp = Json(200, {{"items", json::array({{{"username", "pureuser"}}})}});
    resp.headers.emplace_back("x-auth-token", session);
    return resp;
  };
  auto logout = [sessions](const FakeRequest& req) {
    std::lock_guard lock(sessions->mu);
    if (sessions->live.erase(Header(req, "x-auth-token")) != 0) ++sessions->deleted;
    return Json(200, json::object());
  };

  auto volumes = [model, array](const FakeRequest& req) {
    std::string glob;
    FakeResponse error;
    if (!ReadNameFilter(req.query, &glob, &error)) return error;
    std::set<std::string> names;
    for (const auto& n : SplitComma(QueryParam(req.query, "names"))) names.insert(n);
    const std::string destroyed = QueryParam(req.query, "destroyed");
    std::shared_lock lock(model->mutex());
    const PureArrayView& view = model->array_views.at(array);
    std::vector<const PureVolumeView*> selected;
    selected.reserve(view.volumes.size());
    for (const auto& v : view.volumes) {
      if (!names.empty() && names.count(v.name) == 0) continue;
      if (destroyed == "true" && !v.destroyed) continue;
      if (destroyed == "false" && v.destroyed) continue;
      if (!glob.empty() && fnmatch(glob.c_str(), v.name.c_str(), 0) != 0) continue;
      selected.push_back(&v);
    }
    return Paged(req, selected.size(), [&](std::size_t i) { return VolumeItem(*selected[i]); });
  };

  auto connections = [model, array](const FakeRequest& req) {
    std::set<std::string> volume_names;
    for (const auto& n : SplitComma(QueryParam(req.query, "volume_names"))) volume_names.insert(n);
    std::set<std::string> host_names;
    for (const auto& n : SplitComma(QueryParam(req.query, "host_names"))) host_names.insert(n);
    std::shared_lock lock(model->mutex());
    const PureArrayView& view = model->array_views.at(array);
    std::vector<std::pair<const PureVolumeView*, std::size_t>> rows;
    for (const auto& v : view.volumes) {
      if (!volume_names.empty() && volume_names.count(v.name) == 0) continue;
      for (std::size_t c = 0; c < v.connections.size(); ++c) {
        if (!host_names.empty() && host_names.count(v.connections[c].first) == 0) continue;
        rows.emplace_back(&v, c);
      }
    }
    return Paged(req, rows.size(), [&](std::size_t i) {
      const auto& [v, c] = rows[i];
      return json{{"host", {{"name", v->connections[c].first}}},
                  {"host_group", {{"name", nullptr}}},
                  {"volume", {{"name", v->name}, {"id", v->id}}},
                  {"lun", v->connections[c].second},
                  {"protocol_endpoint", {{"name", nullptr}, {"id", nullptr}}}};
    });
  };

  auto hosts = [model, array](const FakeRequest& req) {
    std::shared_lock lock(model->mutex());
    const PureArrayView& view = model->array_views.at(array);
    return Paged(req, view.hosts.size(), [&](std::size_t i) {
      const PureHostView& h = view.hosts[i];
      return json{{"name", h.name},
                  {"iqns", json::array({h.iqn})},
                  {"wwns", json::array()},
                  {"nqns", json::array()},
                  {"host_group", {{"name", nullptr}}},
                  {"personality", nullptr},
                  {"connection_count", h.connection_count},
                  {"is_local", true},
                  {"port_connectivity", {{"status", "healthy"}, {"details", "Redundant"}}}};
    });
  };

  auto arrays = [model, array, options](const FakeRequest& req) {
    std::shared_lock lock(model->mutex());
    const PureArrayView& view = model->array_views.at(array);
    std::int64_t provisioned = 0, unique = 0, snapshots = 0, virt = 0;
    for (const auto& v : view.volumes) {
      provisioned += v.provisioned;
      unique += v.unique;
      snapshots += v.snapshots;
      virt += v.virtual_bytes;
    }
    json item = {
        {"name", view.name},
        {"id", view.id},
        {"os", "Purity//FA"},
        {"version", options.purity_version},
        {"capacity", std::int64_t{200} << 40},
        {"parity", 1.0},
        {"console_lock_enabled", false},
        {"idle_timeout", 3600000},
        {"eradication_config", {{"eradication_delay", 86400000}, {"manual_eradication", "all-enabled"}}},
        {"space",
         {{"total_physical", unique + snapshots},
          {"unique", unique},
          {"snapshots", snapshots},
          {"virtual", virt},
          {"total_provisioned", provisioned},
          {"shared", 0},
          {"system", 0},
          {"data_reduction", unique == 0 ? 1.0 : static_cast<double>(virt) / static_cast<double>(unique)}}}};
    return Paged(req, 1, [&](std::size_t) { return item; });
  };

  auto tags = [model, array](const FakeRequest& req) {
    if (HasQueryParam(req.query, "namespaces")) {
      auto ns = SplitComma(QueryParam(req.query, "namespaces"));
      if (std::find(ns.begin(), ns.end(), kTagNamespace) == ns.end()) {
        return Paged(req, 0, [](std::size_t) { return json(); });
      }
    }
    std::set<std::string> names;
    for (const auto& n : SplitComma(QueryParam(req.query, "resource_names"))) names.insert(n);
    std::set<std::string> ids;
    for (const auto& n : SplitComma(QueryParam(req.query, "resource_ids"))) ids.insert(n);
    std::shared_lock lock(model->mutex());
    const PureArrayView& view = model->array_views.at(array);
    std::vector<std::pair<const PureVolumeView*, std::size_t>> rows;
    for (const auto& v : view.volumes) {
      if (v.destroyed) continue;
      if (!names.empty() && names.count(v.name) == 0) continue;
      if (!ids.empty() && ids.count(v.id) == 0) continue;
      for (std::size_t t = 0; t < v.tags.size(); ++t) rows.emplace_back(&v, t);
    }
    return Paged(req, rows.size(), [&](std::size_t i) {
      const auto& [v, t] = rows[i];
      return json{{"namespace", kTagNamespace},
                  {"key", v->tags[t].first},
                  {"value", v->tags[t].second},
                  {"copyable", true},
                  {"resource", {{"name", v->name}, {"id", v->id}}}};
    });
  };

  for (int minor = 0; minor <= kMaxMinor; ++minor) {
    const std::string prefix = "/api/2." + std::to_string(minor);
    server.Route("POST", prefix + "/login", guarded(false, login));
    server.Route("POST", prefix + "/logout", guarded(true, logout));
    server.Route("GET", prefix + "/volumes", guarded(true, volumes));
    server.Route("GET", prefix + "/connections", guarded(true, connections));
    server.Route("GET", prefix + "/hosts", guarded(true, hosts));
    server.Route("GET", prefix + "/arrays", guarded(true, arrays));
    server.Route("GET", prefix + "/volumes/tags", guarded(true, tags));
  }
}

}  // namespace estate::simestate
