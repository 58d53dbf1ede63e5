// The service registry's HTML pages: the report of offenders (apps with VMs and no registered CMDB record)
// and the landing page's summary with the host names no naming rule matched.
//
// GET /report
//   The unregistered apps, newest first (by first-seen time; apps without one last, then by TLA): the TLA,
//   the first-seen date, why the app is not registered (and the record's sys_id when there is one), its VMs
//   by colour, the teams owning their hypervisors, and the top GoCD pipeline users with their run counts.
//   Then the registered apps whose record lacks an owner or a support group. Before the first join a 503 page
//   says so; while the CMDB has not been collected the page says that nothing can be said yet.
//
// Everything from upstreams is HTML-escaped (invalid UTF-8 shown as U+FFFD); the page has no script and is
// served with a Content-Security-Policy without script-src, so nothing from an upstream could run.
//
// DOM contract (for browser tests):
//   p#summary; table#offenders > tbody > tr.app[data-app][data-first-seen=<unix or "">]
//     td[data-field=X] for X in app, first_seen, reason, vms, hypervisor_teams, pipeline_users;
//     in vms: span.vm[data-colour] per VM; in pipeline_users: span.user per user;
//   table#incomplete > tbody > tr.app[data-app] with td[data-field=app|missing];
//   landing fragment: section#unmatched with ul > li.host per unmatched VM (at most 500, then a count).
//
// Pure functions over a RegistryView; thread-safe.
#pragma once

#include <memory>
#include <string>

#include "estate/http_server.h"
#include "registry_join.h"

namespace estate::registry {

web::HttpResponse ReportPage(const RegistryView* view);
// The landing page's fragment: counts, links to /report and the API, and the unmatched host names.
std::string LandingHtml(const RegistryView* view);

}  // namespace estate::registry
