#include "registry_api.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

#include "estate/json_util.h"

namespace estate::registry {
namespace {

constexpr std::size_t kMaxAppLength = 64;

// ordered_json keeps the documented key order; invalid UTF-8 from an upstream becomes U+FFFD (never a throw).
web::HttpResponse Json(int status, const nlohmann::ordered_json& body) {
  web::HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.gzip_allowed = true;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

web::HttpResponse JsonError(int status, const std::string& message) {
  return Json(status, nlohmann::ordered_json{{"error", message}});
}

nlohmann::ordered_json VmJson(const Vm& vm, const std::string& colour) {
  return nlohmann::ordered_json{
      {"name", vm.name},       {"id", vm.id},         {"colour", colour},   {"hypervisor", vm.hypervisor},
      {"project", vm.project}, {"status", vm.status}, {"source", vm.source}};
}

nlohmann::ordered_json AppJson(const App& app) {
  nlohmann::ordered_json j;
  j["app"] = app.tla;
  j["registered"] = app.registered;
  j["reason"] = app.registered ? "" : app.not_registered_reason;
  if (app.record != nullptr) {
    const CmdbRecord& r = *app.record;
    j["record"] = nlohmann::ordered_json{{"table", r.table},
                                         {"sys_id", r.sys_id},
                                         {"name", r.name},
                                         {"app_code", r.app_code},
                                         {"install_status", r.install_status},
                                         {"owner", r.owner},
                                         {"support_group", r.support_group},
                                         {"registered", r.registered}};
  } else {
    j["record"] = nullptr;
  }
  if (!app.registered && app.first_seen_unregistered_unix > 0) {
    j["first_seen"] = Rfc3339(app.first_seen_unregistered_unix);
  } else {
    j["first_seen"] = nullptr;
  }
  std::size_t count = 0;
  nlohmann::ordered_json colours = nlohmann::ordered_json::object();
  nlohmann::ordered_json vms = nlohmann::ordered_json::array();
  for (const auto& [colour, list] : app.colours) {
    colours[colour] = list.size();
    count += list.size();
    for (const auto& vm : list) vms.push_back(VmJson(vm, colour));
  }
  j["vm_count"] = count;
  j["colours"] = std::move(colours);
  j["vms"] = std::move(vms);
  j["hypervisor_teams"] = app.hypervisor_teams;
  j["pipelines"] = app.pipelines;
  nlohmann::ordered_json users = nlohmann::ordered_json::array();
  for (const auto& u : app.pipeline_users) users.push_back({{"user", u.user}, {"runs", u.runs}});
  j["pipeline_users"] = std::move(users);
  return j;
}

nlohmann::ordered_json Envelope(const RegistryView& view) {
  return nlohmann::ordered_json{{"schema_version", 1},
                                {"generated_at", Rfc3339(view.generated_unix)},
                                {"registry_known", view.registry_known}};
}

}  // namespace

std::string Rfc3339(double unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

web::HttpResponse HandleApi(const web::HttpRequest& req, const RegistryView* view) {
  const std::string list_path = kAppsPath;
  if (req.path == list_path) {
    std::optional<bool> registered;
    if (!req.query.empty()) {
      for (std::string_view rest = req.query; !rest.empty();) {
        const std::size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        const std::string_view key = pair.substr(0, pair.find('='));
        if (key != "registered") return JsonError(400, "unknown parameter \"" + Utf8Excerpt(key, 64) + "\"");
      }
      const std::string value = req.Param("registered");
      if (value == "true") {
        registered = true;
      } else if (value == "false") {
        registered = false;
      } else {
        return JsonError(400, "registered must be true or false");
      }
    }
    if (view == nullptr) return JsonError(503, "no data yet");
    nlohmann::ordered_json apps = nlohmann::ordered_json::array();
    for (const auto& app : view->apps) {
      if (registered && (app.registered != *registered || !view->registry_known)) continue;
      apps.push_back(AppJson(app));
    }
    nlohmann::ordered_json body = Envelope(*view);
    body["count"] = apps.size();
    body["vm_count"] = view->vms;
    body["unmatched_vm_count"] = view->unmatched.size();
    body["apps"] = std::move(apps);
    return Json(200, body);
  }
  const std::string prefix = list_path + "/";
  if (req.path.rfind(prefix, 0) != 0) return JsonError(404, "not found");
  std::string tla = req.path.substr(prefix.size());  // civetweb has decoded the path
  if (tla.size() > kMaxAppLength) return JsonError(400, "app name too long");
  std::transform(tla.begin(), tla.end(), tla.begin(), [](unsigned char c) { return std::tolower(c); });
  if (view == nullptr) return JsonError(503, "no data yet");
  const App* app = view->Find(tla);
  if (app == nullptr) {
    return Json(404, nlohmann::ordered_json{{"error", "no such app"}, {"app", Utf8Excerpt(tla, 64)}});
  }
  nlohmann::ordered_json body = Envelope(*view);
  body["app"] = AppJson(*app);
  return Json(200, body);
}

void AddApiRoutes(web::HttpServer& server, ViewSource current) {
  auto handler = [current](const web::HttpRequest& req) {
    std::shared_ptr<const RegistryView> view = current();
    return HandleApi(req, view.get());
  };
  server.Route(kAppsPath, {"GET"}, handler);
  server.Route(std::string(kAppsPath) + "/*", {"GET"}, handler);
}

}  // namespace estate::registry
