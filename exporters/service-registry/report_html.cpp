#include "report_html.h"

#include <algorithm>
#include <ctime>

#include "registry_api.h"
#include "registry_metrics.h"

namespace estate::registry {
namespace {

constexpr const char* kPageCsp =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";
constexpr std::size_t kMaxUnmatchedShown = 500;

constexpr const char* kStyle = R"CSS(
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;
vertical-align:top}th{background:#f4f4f4}span.vm,span.user{display:inline-block;margin-right:.6em}
span.colour{font-size:.8em;color:#666}.muted{color:#777}
@media print{body{margin:0}}
)CSS";

std::string Esc(std::string_view s) { return web::HtmlEscape(s); }

std::string Date(double unix_seconds) { return unix_seconds > 0 ? Rfc3339(unix_seconds) : ""; }

web::HttpResponse Page(int status, const std::string& title, const std::string& content) {
  web::HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Content-Security-Policy", kPageCsp);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.gzip_allowed = true;
  r.body =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"referrer\" content=\"no-referrer\">\n<title>" +
      Esc(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n" + content +
      "</body>\n</html>\n";
  return r;
}

void AppendOffender(std::string& h, const App& app) {
  h += "<tr class=\"app\" data-app=\"" + Esc(app.tla) + "\" data-first-seen=\"";
  if (app.first_seen_unregistered_unix > 0) {
    h += std::to_string(static_cast<long long>(app.first_seen_unregistered_unix));
  }
  h += "\"><td data-field=\"app\">" + Esc(app.tla) + "</td><td data-field=\"first_seen\">" +
       Esc(Date(app.first_seen_unregistered_unix)) + "</td><td data-field=\"reason\">" +
       Esc(app.not_registered_reason);
  if (app.record != nullptr) h += " <span class=\"muted\">(" + Esc(app.record->sys_id) + ")</span>";
  h += "</td><td data-field=\"vms\">";
  for (const auto& [colour, vms] : app.colours) {
    for (const auto& vm : vms) {
      h += "<span class=\"vm\" data-colour=\"" + Esc(colour) + "\">" + Esc(vm.name);
      if (!colour.empty()) h += " <span class=\"colour\">" + Esc(colour) + "</span>";
      h += "</span>";
    }
  }
  h += "</td><td data-field=\"hypervisor_teams\">" + Esc(CommaJoin(app.hypervisor_teams)) +
       "</td><td data-field=\"pipeline_users\">";
  for (const auto& u : app.pipeline_users) {
    h += "<span class=\"user\">" + Esc(u.user) + " <span class=\"muted\">(" + std::to_string(u.runs) +
         ")</span></span>";
  }
  h += "</td></tr>\n";
}

}  // namespace

web::HttpResponse ReportPage(const RegistryView* view) {
  if (view == nullptr) {
    return Page(503, "Service registry report",
                "<h1>Service registry report</h1>\n<p id=\"summary\">No data yet: "
                "the inventory has not been joined.</p>\n");
  }
  std::string h = "<h1>Service registry report</h1>\n";
  if (!view->registry_known) {
    h += "<p id=\"summary\">" + std::to_string(view->apps.size()) +
         " apps; the CMDB has not been collected yet, so nothing can be said about their registration.</p>\n";
    return Page(200, "Service registry report", h);
  }
  std::vector<const App*> offenders;
  std::vector<const App*> incomplete;
  for (const auto& app : view->apps) {
    if (!app.registered) offenders.push_back(&app);
    if (app.registered && (app.record->owner.empty() || app.record->support_group.empty())) {
      incomplete.push_back(&app);
    }
  }
  std::stable_sort(offenders.begin(), offenders.end(), [](const App* a, const App* b) {
    const bool ka = a->first_seen_unregistered_unix > 0, kb = b->first_seen_unregistered_unix > 0;
    if (ka != kb) return ka;
    if (a->first_seen_unregistered_unix != b->first_seen_unregistered_unix) {
      return a->first_seen_unregistered_unix > b->first_seen_unregistered_unix;
    }
    return a->tla < b->tla;
  });
  h += "<p id=\"summary\">" + std::to_string(offenders.size()) + " of " + std::to_string(view->apps.size()) +
       " apps have VMs and no registered CMDB record (generated " + Esc(Rfc3339(view->generated_unix)) +
       "; " + std::to_string(view->unmatched.size()) + " VMs match no naming rule).</p>\n";
  h += "<h2>Unregistered apps, newest first</h2>\n<table id=\"offenders\">\n<thead><tr><th>app</th><th>first "
       "seen</th><th>why</th><th>VMs</th><th>hypervisor teams</th><th>pipeline users "
       "(runs)</th></tr></thead>\n"
       "<tbody>\n";
  for (const App* app : offenders) AppendOffender(h, *app);
  h += "</tbody>\n</table>\n";
  h +=
      "<h2>Registered apps with an incomplete record</h2>\n<table id=\"incomplete\">\n<thead><tr><th>app</th>"
      "<th>missing</th><th>record</th></tr></thead>\n<tbody>\n";
  for (const App* app : incomplete) {
    std::vector<std::string> missing;
    if (app->record->owner.empty()) missing.push_back("owner");
    if (app->record->support_group.empty()) missing.push_back("support group");
    h += "<tr class=\"app\" data-app=\"" + Esc(app->tla) + "\"><td data-field=\"app\">" + Esc(app->tla) +
         "</td><td data-field=\"missing\">" + Esc(CommaJoin(missing)) + "</td><td>" + Esc(app->record->name) +
         " <span class=\"muted\">(" + Esc(app->record->sys_id) + ")</span></td></tr>\n";
  }
  h += "</tbody>\n</table>\n";
  return Page(200, "Service registry report", h);
}

std::string LandingHtml(const RegistryView* view) {
  std::string h = "<h2>Service registry</h2>";
  if (view == nullptr) return h + "<p>No data yet.</p>";
  std::size_t unregistered = 0;
  for (const auto& app : view->apps) unregistered += app.registered ? 0 : 1;
  h += "<p>" + std::to_string(view->vms) + " VMs, " + std::to_string(view->apps.size()) + " apps";
  if (view->registry_known) h += ", " + std::to_string(unregistered) + " unregistered";
  h += ": <a href=\"report\">the report</a>, <a href=\"api/registry/v1/apps\">the JSON API</a>.</p>";
  h += "<section id=\"unmatched\"><h3>" + std::to_string(view->unmatched.size()) +
       " VMs match no naming rule</h3><ul>";
  std::size_t shown = 0;
  for (const auto& vm : view->unmatched) {
    if (++shown > kMaxUnmatchedShown) {
      h += "<li>… and " + std::to_string(view->unmatched.size() - kMaxUnmatchedShown) +
           " more (estate_registry_unmatched_vms)</li>";
      break;
    }
    h += "<li class=\"host\">" + Esc(vm.name);
    if (!vm.source.empty()) h += " <span class=\"muted\">(" + Esc(vm.source) + ")</span>";
    h += "</li>";
  }
  h += "</ul></section>";
  return h;
}

}  // namespace estate::registry
