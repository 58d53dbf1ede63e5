// The service registry's JSON API, served from the current published RegistryView.
//
// GET /api/registry/v1/apps[?registered=true|false]
//   200 {"schema_version":1, "generated_at":"2026-12-04T10:00:00Z", "registry_known":true, "count":N,
//        "vms":N, "unmatched_vms":N, "apps":[<app>…]}          apps by TLA
//   400 {"error":"…"} for an unknown parameter or a registered= value other than true/false.
// GET /api/registry/v1/apps/<tla>       (any case)
//   200 {"schema_version":1, "generated_at":"…", "registry_known":…, "app":<app>}
//   404 {"error":"no app with this name", "app":"<tla as given>"}
// Both: 503 {"error":"no data yet"} before the first join. Content-Type application/json.
//
// <app> — every key always present, in this order:
//   app (TLA, lower case), registered (bool; false as well while registry_known is false),
//   reason (why not registered: "no record", "install_status 7 (Retired)", ...; "" when registered),
//   record: null or {table, sys_id, name, app_code, install_status, owner, support_group, registered},
//   vm_count (number), colours: {"a":[<vm>…], "b":[…], "":[…]} (only the colours the app has),
//   hypervisor_teams: ["team", …] ("unknown" when no source names one),
//   pipelines: ["name", …], pipeline_users: [{"user":"…","runs":N}, …] (most runs first, at most top_users),
//   first_seen: RFC 3339 UTC string when the app is unregistered and its first-seen time is known, else null.
// <vm> — {name, id, hypervisor, project, status, source} (strings, "" when unknown).
//
// Thread-safety: handlers run on HTTP worker threads; `current` must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "estate/http_server.h"
#include "registry_join.h"

namespace estate::registry {

using ViewSource = std::function<std::shared_ptr<const RegistryView>()>;

inline constexpr const char* kAppsPath = "/api/registry/v1/apps";

void AddApiRoutes(web::HttpServer& server, ViewSource current);

// The handlers themselves (req.path selects list or one app), for tests.
web::HttpResponse HandleApi(const web::HttpRequest& req, const RegistryView* view);

// RFC 3339 in UTC with second precision.
std::string Rfc3339(double unix_seconds);

}  // namespace estate::registry
