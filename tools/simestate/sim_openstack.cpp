#include "sim_openstack.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <utility>

#include "sim_http.h"

namespace estate::simestate {

long OpenStackTokens::RevokeAll() {
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

constexpr int kMaxLimit = 1000;  // osapi_max_limit / max_limit defaults
constexpr int kNovaMaxMinor = 100;
constexpr int kCinderMaxMinor = 71;

std::string Header(const FakeRequest& req, const std::string& name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? "" : it->second;
}

// "http(s)://<Host header>": endpoint URLs point back at whatever address and scheme the client used.
std::string BaseUrl(const FakeRequest& req) {
  std::string host = Header(req, "host");
  if (host.empty()) host = "127.0.0.1";
  return (req.tls ? "https://" : "http://") + host;
}

std::string IsoTime(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
  return buf;
}

// The minor microversion asked for ("OpenStack-API-Version: compute 2.47", "X-OpenStack-Nova-API-Version"),
// capped at what the service offers; the base version (2.1 / 3.0) when absent.
int Microversion(const FakeRequest& req, const std::string& service, int base, int max) {
  std::string value = Header(req, "openstack-api-version");
  if (value.rfind(service + " ", 0) == 0) {
    value = value.substr(service.size() + 1);
  } else if (service == "compute") {
    value = Header(req, "x-openstack-nova-api-version");
  } else {
    value.clear();
  }
  if (value == "latest") return max;
  int major = 0, minor = 0;
  if (std::sscanf(value.c_str(), "%d.%d", &major, &minor) != 2) return base;
  return std::clamp(minor, base, max);
}

FakeResponse Unauthorized() {
  FakeResponse resp = Json(401, {{"error",
                                  {{"code", 401},
                                   {"title", "Unauthorized"},
                                   {"message", "The request you have made requires authentication."}}}});
  resp.headers.emplace_back("WWW-Authenticate", "Keystone uri=\"/identity\"");
  return resp;
}

FakeResponse BadRequest(const std::string& message) {
  return Json(400, {{"badRequest", {{"code", 400}, {"message", message}}}});
}

bool AllTenants(const std::string& query) {
  if (!HasQueryParam(query, "all_tenants")) return false;
  std::string v = QueryParam(query, "all_tenants");
  return v != "0" && v != "false" && v != "False";
}

// limit from the query: default and cap kMaxLimit; false (with a 400) when malformed.
bool ReadLimit(const std::string& query, int* limit, FakeResponse* error) {
  *limit = kMaxLimit;
  if (!HasQueryParam(query, "limit")) return true;
  const std::string text = QueryParam(query, "limit");
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 0) {
    *error = BadRequest("limit param must be an integer >= 0");
    return false;
  }
  *limit = v == 0 ? kMaxLimit : static_cast<int>(std::min<long>(v, kMaxLimit));
  return true;
}

std::string VolumeTypeId(const std::string& type) { return UuidFrom("volume-type:" + type); }

json ServerJson(const StorageModel& m, const SimServer& s, bool admin, int minor, const std::string& base) {
  json j = {{"id", s.id},
            {"name", s.name},
            {"status", s.status},
            {"tenant_id", s.project_id},
            {"user_id", s.user_id},
            {"metadata", json::object()},
            {"hostId", HexFrom("hostid:" + s.hypervisor + s.project_id, 56)},
            {"created", s.created.substr(0, 19) + "Z"},
            {"updated", s.created.substr(0, 19) + "Z"},
            {"accessIPv4", ""},
            {"accessIPv6", ""},
            {"addresses", json::object()},
            {"image", ""},
            {"key_name", nullptr},
            {"progress", 0},
            {"config_drive", ""},
            {"OS-DCF:diskConfig", "MANUAL"},
            {"OS-EXT-AZ:availability_zone", "nova"},
            {"OS-EXT-STS:power_state", s.status == "ACTIVE" ? 1 : 4},
            {"OS-EXT-STS:task_state", nullptr},
            {"OS-EXT-STS:vm_state", s.status == "ACTIVE" ? "active" : "stopped"},
            {"OS-SRV-USG:launched_at", s.created},
            {"OS-SRV-USG:terminated_at", nullptr},
            {"security_groups", json::array({{{"name", "default"}}})},
            {"links", json::array({{{"rel", "self"}, {"href", base + "/compute/v2.1/servers/" + s.id}},
                                   {{"rel", "bookmark"}, {"href", base + "/compute/servers/" + s.id}}})}};
  if (minor >= 47) {
    j["flavor"] = {{"original_name", "m1.large"},
                   {"vcpus", 4},
                   {"ram", 8192},
                   {"disk", 0},
                   {"ephemeral", 0},
                   {"swap", 0},
                   {"extra_specs", json::object()}};
  } else {
    j["flavor"] = {{"id", "4"}, {"links", json::array()}};
  }
  if (minor >= 26) j["tags"] = json::array();
  if (minor >= 19) j["description"] = nullptr;
  if (minor >= 9) j["locked"] = false;
  json vols = json::array();
  if (auto it = m.server_volumes.find(s.id); it != m.server_volumes.end()) {
    std::vector<std::pair<std::string, std::string>> by_device;
    for (std::size_t vi : it->second) {
      const SimVolume& v = m.volumes[vi];
      for (const auto& att : v.attachments) {
        if (att.server_id == s.id) by_device.emplace_back(att.device, v.id);
      }
    }
    std::sort(by_device.begin(), by_device.end());
    for (const auto& [device, id] : by_device) {
      json a = {{"id", id}};
      if (minor >= 3) a["delete_on_termination"] = device == "/dev/vda";
      vols.push_back(a);
    }
  }
  j["os-extended-volumes:volumes_attached"] = vols;
  char instance[32];
  std::snprintf(instance, sizeof instance, "instance-%08x", s.instance_number);
  if (admin) {
    j["OS-EXT-SRV-ATTR:host"] = s.hypervisor;
    j["OS-EXT-SRV-ATTR:hypervisor_hostname"] = s.hypervisor + "." + m.domain;
    j["OS-EXT-SRV-ATTR:instance_name"] = instance;
    if (minor >= 3) {
      j["OS-EXT-SRV-ATTR:hostname"] = s.host_name;
      j["OS-EXT-SRV-ATTR:reservation_id"] = "r-" + HexFrom("rsv:" + s.id, 8);
      j["OS-EXT-SRV-ATTR:launch_index"] = 0;
      j["OS-EXT-SRV-ATTR:kernel_id"] = "";
      j["OS-EXT-SRV-ATTR:ramdisk_id"] = "";
      j["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda";
    }
    if (minor >= 16) j["host_status"] = "UP";
  } else if (minor >= 90) {
    j["OS-EXT-SRV-ATTR:hostname"] = s.host_name;  // the owner sees the guest host name from 2.90 on
  }
  return j;
}

json VolumeJson(const StorageModel& m, const SimVolume& v, bool admin, int minor, const std::string& base) {
  json attachments = json::array();
  for (const auto& att : v.attachments) {
    json a = {{"id", v.id},
              {"attachment_id", att.attachment_id},
              {"volume_id", v.id},
              {"server_id", att.server_id},
              {"host_name", nullptr},
              {"device", att.device},
              {"attached_at", att.attached_at}};
    if (admin) {
      if (auto s = m.server_index.find(att.server_id); s != m.server_index.end()) {
        a["host_name"] = m.servers[s->second].hypervisor;
      }
    }
    attachments.push_back(a);
  }
  json metadata = json::object();
  for (const auto& [k, val] : v.metadata) metadata[k] = val;
  if (!v.attachments.empty()) {
    metadata["attached_mode"] = "rw";
  }
  const std::string self = base + "/volume/v3/" + v.project_id + "/volumes/" + v.id;
  json j = {{"id", v.id},
            {"name", v.name.empty() ? json(nullptr) : json(v.name)},
            {"status", v.status},
            {"size", v.size_gb},
            {"availability_zone", "nova"},
            {"created_at", v.created_at},
            {"updated_at", v.created_at},
            {"description", nullptr},
            {"volume_type", v.volume_type},
            {"snapshot_id", nullptr},
            {"source_volid", nullptr},
            {"bootable", v.bootable ? "true" : "false"},
            {"encrypted", false},
            {"multiattach", v.multiattach},
            {"replication_status", v.pod.empty() ? "disabled" : "enabled"},
            {"consistencygroup_id", nullptr},
            {"user_id", v.user_id},
            {"os-vol-tenant-attr:tenant_id", v.project_id},
            {"metadata", metadata},
            {"attachments", attachments},
            {"links", json::array({{{"rel", "self"}, {"href", self}},
                                   {{"rel", "bookmark"},
                                    {"href", base + "/volume/" + v.project_id + "/volumes/" + v.id}}})}};
  if (minor >= 61) j["volume_type_id"] = VolumeTypeId(v.volume_type);
  if (minor >= 13) j["group_id"] = nullptr;
  if (minor >= 48) j["shared_targets"] = false;
  if (minor >= 65) j["consumes_quota"] = true;
  if (admin) {
    j["os-vol-host-attr:host"] = v.backend_host.empty() ? json(nullptr) : json(v.backend_host);
    j["os-vol-mig-status-attr:migstat"] = v.name_id.empty() ? json(nullptr) : json("success");
    j["os-vol-mig-status-attr:name_id"] = v.name_id.empty() ? json(nullptr) : json(v.name_id);
    j["migration_status"] = v.name_id.empty() ? json(nullptr) : json("success");
    if (minor >= 21) j["provider_id"] = v.provider_id.empty() ? json(nullptr) : json(v.provider_id);
    if (minor >= 48) j["service_uuid"] = UuidFrom("cinder-volume:" + v.backend_host);
    if (minor >= 61) j["cluster_name"] = nullptr;
  }
  return j;
}

// One page of up to `limit` records (indexes into the model, in model order, those `keep` accepts) after
// `marker`: false with a 400 when the marker is unknown, as Nova and Cinder answer.
template <typename Pred>
bool Page(std::size_t count, const std::unordered_map<std::string, std::size_t>& index,
          const std::string& marker, int limit, Pred keep, std::vector<std::size_t>* out,
          FakeResponse* error) {
  std::size_t start = 0;
  if (!marker.empty()) {
    auto it = index.find(marker);
    if (it == index.end()) {
      *error = BadRequest("marker [" + marker + "] not found");
      return false;
    }
    start = it->second + 1;
  }
  for (std::size_t i = start; i < count && static_cast<int>(out->size()) < limit; ++i) {
    if (keep(i)) out->push_back(i);
  }
  return true;
}

json NextLinks(const std::string& url, const std::string& query, std::size_t got, int limit,
               const std::string& last_id) {
  json links = json::array();
  if (got == 0 || static_cast<int>(got) < limit) return links;
  std::string q = WithoutQueryParam(query, "marker");
  if (!HasQueryParam(q, "limit")) q += std::string(q.empty() ? "" : "&") + "limit=" + std::to_string(limit);
  links.push_back({{"rel", "next"}, {"href", url + "?" + q + "&marker=" + UrlEncode(last_id)}});
  return links;
}

}  // namespace

void InstallOpenStack(testing::FakeUpstream& server, const OpenStackOptions& options,
                      std::shared_ptr<StorageModel> model, std::shared_ptr<OpenStackTokens> tokens) {
  // The live token of a request, or nothing.
  auto token_of = [tokens](const FakeRequest& req, OpenStackTokens::Token* out) {
    std::string t = Header(req, "x-auth-token");
    if (t.empty()) return false;
    std::lock_guard lock(tokens->mu);
    auto it = tokens->live.find(t);
    if (it == tokens->live.end()) return false;
    if (std::chrono::system_clock::now() >= it->second.expires) {
      tokens->live.erase(it);
      return false;
    }
    *out = it->second;
    return true;
  };

  auto catalog = [options](const std::string& base, const std::string& project_id) {
    auto service = [&](const std::string& type, const std::string& name, const std::string& url) {
      json endpoints = json::array();
      for (const char* iface : {"public", "internal", "admin"}) {
        endpoints.push_back({{"id", HexFrom(type + iface, 32)},
                             {"interface", iface},
                             {"region", options.region},
                             {"region_id", options.region},
                             {"url", url}});
      }
      return json{
          {"id", HexFrom("service:" + type, 32)}, {"type", type}, {"name", name}, {"endpoints", endpoints}};
    };
    return json::array({service("identity", "keystone", base + "/identity"),
                        service("compute", "nova", base + "/compute/v2.1"),
                        service("volumev3", "cinderv3", base + "/volume/v3/" + project_id),
                        service("block-storage", "cinder", base + "/volume/v3/" + project_id)});
  };

  auto issue = [options, model, tokens, catalog](const FakeRequest& req) {
    auto body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("auth") || !body["auth"].is_object()) {
      return Json(400,
                  {{"error", {{"code", 400}, {"title", "Bad Request"}, {"message", "auth is required"}}}});
    }
    const json& auth = body["auth"];
    const json identity = auth.value("identity", json::object());
    const json methods = identity.value("methods", json::array());
    auto str = [](const json& j, const char* key) {
      auto it = j.find(key);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string user, project, method;
    bool admin = false, found = false;
    if (methods.is_array() && std::find(methods.begin(), methods.end(), "password") != methods.end()) {
      method = "password";
      const json u = identity.value("password", json::object()).value("user", json::object());
      for (const auto& cand : options.users) {
        if ((str(u, "name") == cand.name || str(u, "id") == HexFrom("user:" + cand.name, 32)) &&
            str(u, "password") == cand.password) {
          user = cand.name;
          project = cand.project;
          admin = cand.admin;
          found = true;
        }
      }
      const json scope = auth.value("scope", json::object()).value("project", json::object());
      if (found && scope.is_object() && (scope.contains("id") || scope.contains("name"))) {
        project = scope.contains("id") ? str(scope, "id") : str(scope, "name");
      }
    } else if (methods.is_array() &&
               std::find(methods.begin(), methods.end(), "application_credential") != methods.end()) {
      method = "application_credential";
      const json ac = identity.value("application_credential", json::object());
      for (const auto& cand : options.application_credentials) {
        bool id_match = !str(ac, "id").empty() && str(ac, "id") == cand.id;
        bool name_match = !str(ac, "name").empty() && str(ac, "name") == cand.name &&
                          str(ac.value("user", json::object()), "name") == cand.user;
        if ((id_match || name_match) && str(ac, "secret") == cand.secret) {
          user = cand.user.empty() ? cand.name : cand.user;
          project = cand.project;
          admin = cand.admin;
          found = true;
        }
      }
    }
    if (!found) return Unauthorized();
    SimProject scoped;
    {
      std::shared_lock lock(model->mutex());
      const SimProject* p = model->FindProject(project);
      if (p == nullptr) return Unauthorized();
      scoped = *p;
    }
    const auto now = std::chrono::system_clock::now();
    OpenStackTokens::Token token{
        user, HexFrom("user:" + user, 32), scoped.id, admin,
        now + std::chrono::milliseconds(static_cast<long>(options.token_ttl_seconds * 1000))};
    const std::string id = "gAAAAA" + RandomHex(32);
    {
      std::lock_guard lock(tokens->mu);
      tokens->live[id] = token;
      ++tokens->issued;
    }
    json roles = json::array({{{"id", HexFrom("role:reader", 32)}, {"name", "reader"}}});
    if (admin) {
      roles.push_back({{"id", HexFrom("role:member", 32)}, {"name", "member"}});
      roles.push_back({{"id", HexFrom("role:admin", 32)}, {"name", "admin"}});
    }
    json t = {
        {"methods", json::array({method})},
        {"user",
         {{"id", token.user_id},
          {"name", user},
          {"domain", {{"id", "default"}, {"name", "Default"}}},
          {"password_expires_at", nullptr}}},
        {"audit_ids", json::array({RandomHex(11)})},
        {"expires_at", IsoTime(token.expires)},
        {"issued_at", IsoTime(now)},
        {"project",
         {{"id", scoped.id}, {"name", scoped.name}, {"domain", {{"id", "default"}, {"name", "Default"}}}}},
        {"is_domain", false},
        {"roles", roles}};
    if (!HasQueryParam(req.query, "nocatalog")) t["catalog"] = catalog(BaseUrl(req), scoped.id);
    if (method == "application_credential") {
      t["application_credential"] = {
          {"id", HexFrom("appcred:" + user, 32)}, {"name", user}, {"restricted", true}};
    }
    FakeResponse resp = Json(201, {{"token", t}});
    resp.headers.emplace_back("X-Subject-Token", id);
    resp.headers.emplace_back("Vary", "X-Auth-Token");
    return resp;
  };
  for (const char* prefix : {"/identity/v3", "/v3"}) {
    server.Route("POST", std::string(prefix) + "/auth/tokens", issue);
  }
  server.Route("GET", "/identity/v3", [](const FakeRequest& req) {
    return Json(
        200, {{"version",
               {{"id", "v3.14"},
                {"status", "stable"},
                {"updated", "2020-04-07T00:00:00Z"},
                {"links", json::array({{{"rel", "self"}, {"href", BaseUrl(req) + "/identity/v3/"}}})},
                {"media-types", json::array({{{"base", "application/json"},
                                              {"type", "application/vnd.openstack.identity-v3+json"}}})}}}});
  });

  auto projects = [model, token_of](const FakeRequest& req) {
    OpenStackTokens::Token token;
    if (!token_of(req, &token)) return Unauthorized();
    const std::string base = BaseUrl(req);
    json list = json::array();
    std::shared_lock lock(model->mutex());
    for (const auto& p : model->projects) {
      list.push_back({{"id", p.id},
                      {"name", p.name},
                      {"domain_id", "default"},
                      {"description", ""},
                      {"enabled", true},
                      {"is_domain", false},
                      {"parent_id", "default"},
                      {"tags", json::array()},
                      {"options", json::object()},
                      {"links", {{"self", base + "/identity/v3/projects/" + p.id}}}});
    }
    return Json(
        200,
        {{"projects", list},
         {"links", {{"self", base + "/identity/v3/projects"}, {"previous", nullptr}, {"next", nullptr}}}});
  };
  server.Route("GET", "/identity/v3/projects", projects);
  server.Route("GET", "/v3/projects", projects);

  // Nova: servers in model order (real Nova sorts by created_at desc; only the paging contract matters here).
  server.Route("GET", "/compute/v2.1/servers/detail", [model, token_of](const FakeRequest& req) {
    OpenStackTokens::Token token;
    if (!token_of(req, &token)) return Unauthorized();
    int limit = 0;
    FakeResponse error;
    if (!ReadLimit(req.query, &limit, &error)) return error;
    const int minor = Microversion(req, "compute", 1, kNovaMaxMinor);
    const bool all = AllTenants(req.query);
    const std::string base = BaseUrl(req);
    std::shared_lock lock(model->mutex());
    std::vector<std::size_t> page;
    auto keep = [&](std::size_t i) { return all || model->servers[i].project_id == token.project_id; };
    if (!Page(model->servers.size(), model->server_index, QueryParam(req.query, "marker"), limit, keep, &page,
              &error)) {
      return error;
    }
    json servers = json::array();
    for (std::size_t i : page)
      servers.push_back(ServerJson(*model, model->servers[i], token.admin, minor, base));
    json body = {{"servers", std::move(servers)}};
    json links = NextLinks(base + "/compute/v2.1/servers/detail", req.query, page.size(), limit,
                           page.empty() ? "" : model->servers[page.back()].id);
    if (!links.empty()) body["servers_links"] = links;
    FakeResponse resp = Json(200, body);
    char version[16];
    std::snprintf(version, sizeof version, "2.%d", minor);
    resp.headers.emplace_back("OpenStack-API-Version", std::string("compute ") + version);
    resp.headers.emplace_back("X-OpenStack-Nova-API-Version", version);
    return resp;
  });

  // Nova host aggregates (admin only, as Nova's default policy has it): the model's hypervisors split in two
  // halves, "pool-1" (team "platform-a") and "pool-2" (team "platform-b"), so that an exporter can find a
  // hypervisor's owning team in the aggregate metadata.
  server.Route("GET", "/compute/v2.1/os-aggregates", [model, token_of](const FakeRequest& req) {
    OpenStackTokens::Token token;
    if (!token_of(req, &token)) return Unauthorized();
    if (!token.admin) {
      return Json(
          403, {{"forbidden",
                 {{"code", 403},
                  {"message", "Policy doesn't allow os_compute_api:os-aggregates:index to be performed."}}}});
    }
    std::shared_lock lock(model->mutex());
    const std::size_t half = (model->hypervisors.size() + 1) / 2;
    json aggregates = json::array();
    for (int n = 1; n <= 2; ++n) {
      json hosts = json::array();
      for (std::size_t i = n == 1 ? 0 : half; i < (n == 1 ? half : model->hypervisors.size()); ++i) {
        hosts.push_back(model->hypervisors[i]);
      }
      const std::string name = "pool-" + std::to_string(n);
      aggregates.push_back(
          {{"id", n},
           {"uuid", HexFrom("aggregate:" + name, 8) + "-0000-4000-8000-" + HexFrom(name, 12)},
           {"name", name},
           {"availability_zone", nullptr},
           {"hosts", std::move(hosts)},
           {"metadata", {{"team", n == 1 ? "platform-a" : "platform-b"}}},
           {"created_at", "2026-01-01T00:00:00.000000"},
           {"updated_at", nullptr},
           {"deleted_at", nullptr},
           {"deleted", false}});
    }
    return Json(200, {{"aggregates", std::move(aggregates)}});
  });

  // Cinder: /volume/v3/<project>/volumes/detail for every project, and without the project (3.67+).
  auto volumes = [model, token_of](const FakeRequest& req) {
    OpenStackTokens::Token token;
    if (!token_of(req, &token)) return Unauthorized();
    int limit = 0;
    FakeResponse error;
    if (!ReadLimit(req.query, &limit, &error)) return error;
    const int minor = Microversion(req, "volume", 0, kCinderMaxMinor);
    const bool all = AllTenants(req.query);
    const std::string base = BaseUrl(req);
    std::shared_lock lock(model->mutex());
    std::vector<std::size_t> page;
    auto keep = [&](std::size_t i) { return all || model->volumes[i].project_id == token.project_id; };
    if (!Page(model->volumes.size(), model->volume_index, QueryParam(req.query, "marker"), limit, keep, &page,
              &error)) {
      return error;
    }
    json vols = json::array();
    for (std::size_t i : page)
      vols.push_back(VolumeJson(*model, model->volumes[i], token.admin, minor, base));
    json body = {{"volumes", std::move(vols)}};
    json links = NextLinks(base + req.path, req.query, page.size(), limit,
                           page.empty() ? "" : model->volumes[page.back()].id);
    if (!links.empty()) body["volumes_links"] = links;
    if (minor >= 45 && QueryParam(req.query, "with_count") == "true") {
      std::size_t count = 0;
      for (std::size_t i = 0; i < model->volumes.size(); ++i) count += keep(i) ? 1 : 0;
      body["count"] = count;
    }
    FakeResponse resp = Json(200, body);
    resp.headers.emplace_back("OpenStack-API-Version", "volume 3." + std::to_string(minor));
    return resp;
  };
  server.Route("GET", "/volume/v3/volumes/detail", volumes);
  std::shared_lock lock(model->mutex());
  for (const auto& p : model->projects)
    server.Route("GET", "/volume/v3/" + p.id + "/volumes/detail", volumes);
}

}  // namespace estate::simestate
