// The service registry's JSON API, served from the current published RegistryView.
//
// GET /api/registry/v1/apps[?registered=true|false]
//   200 {"schema_version":1, "generated_at":"2026-12-04T10:00:00Z", "registry_known":true, "count":N,
//        "vm_count":N, "unmatched_vm_count":N, "apps":[<app>…]}          every app, by TLA
//   400 {"error":"…"} for an unknown parameter or a registered= value other than true/false.
// GET /api/registry/v1/apps/<tla>       (any case)
//   200 {"schema_version":1, "generated_at":"…", "registry_known":…, "app":<app>}
//   404 {"error":"no such app", "app":"<tla as given, cut at 64 bytes, valid UTF-8>"}
// Both: 503 {"error":"no data yet"} before the first join. Content-Type application/json. registry_known is
// false while ServiceNow is configured but has not been collected yet: registered is then false for every app
// and means "not known".
//
// <app> — every key always present, in this order:
//   app (TLA, lower case), registered (bool), reason (why not registered: "no record",
//   "install_status 7 (Retired)", ...; "" when registered),
//   record: null or {table, sys_id, name, app_code, install_status, owner, support_group, registered},
//   first_seen: RFC 3339 UTC string when the app is unregistered and its first-seen time is known, else null,
//   vm_count (number), colours: {"a":N, "b":N, "":N} (only the colours the app has),
//   vms: [{name, id, colour, hypervisor, project, status, source}] (by colour, then name; strings, "" when
//     unknown; source "nova:<cloud>" or "file:<path>"),
//   hypervisor_teams: ["team", …] (distinct; "unknown" when no source names one),
//   pipelines: ["name", …], pipeline_users: [{"user":"…","runs":N}, …] (most runs first, at most top_users).
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
