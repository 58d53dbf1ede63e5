// A tiny line format of our own for the store and metrics tests, so they test the store and the metrics alone
// (the real formats have their own parser tests):
//   host web-01
//   time 1700000000
//   duration 12.5
//   platform debian 12
//   tool inspec 5.22.3
//   profile base 1.0.0 [loaded|skipped|failed]
//   control <id> <profile> <status> <severity> [waived] [expires=<unix>] [doc=<url>] [id=<kind>:<value>]
//           [title=<one_word>]
// A body containing BROKEN, or empty, fails to parse.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "compliance_model.h"
#include "estate/result.h"

namespace estate::compliance::testing {

inline Status StatusFrom(const std::string& s) {
  for (Status st : kAllStatuses) {
    if (s == StatusName(st)) return st;
  }
  return Status::kNotReviewed;
}

inline Severity SeverityFrom(const std::string& s) {
  for (Severity sev : kAllSeverities) {
    if (s == SeverityName(sev)) return sev;
  }
  return Severity::kUnknown;
}

inline Result<Report> FakeParse(std::string_view body) {
  if (body.empty()) return MakeError("fake: empty");
  if (body.find("BROKEN") != std::string_view::npos) return MakeError("fake: truncated at byte 3");
  Report r;
  r.format = Format::kInspecJson;
  std::istringstream in{std::string(body)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    if (key == "host") {
      ls >> r.host;
    } else if (key == "time") {
      ls >> r.time_unix;
    } else if (key == "duration") {
      ls >> r.duration_seconds;
    } else if (key == "platform") {
      ls >> r.platform_name >> r.platform_release;
    } else if (key == "tool") {
      ls >> r.tool >> r.tool_version;
    } else if (key == "profile") {
      Profile p;
      ls >> p.name >> p.version;
      if (!(ls >> p.status)) p.status = "loaded";
      r.profiles.push_back(p);
    } else if (key == "control") {
      Control c;
      std::string status, severity, extra;
      ls >> c.id >> c.profile >> status >> severity;
      c.status = StatusFrom(status);
      c.severity = SeverityFrom(severity);
      c.title = "Title of " + c.id;
      c.description = std::string(200, 'd');
      c.messages.push_back("expected something");
      while (ls >> extra) {
        if (extra == "waived") c.waived = true;
        if (extra.rfind("expires=", 0) == 0) c.waiver_expires_unix = std::stod(extra.substr(8));
        if (extra.rfind("doc=", 0) == 0) c.doc_url = extra.substr(4);
        if (extra.rfind("title=", 0) == 0) c.title = extra.substr(6);
        if (extra.rfind("id=", 0) == 0) {
          auto colon = extra.find(':', 3);
          c.ids.emplace_back(extra.substr(3, colon - 3), extra.substr(colon + 1));
        }
      }
      r.controls.push_back(c);
    }
  }
  return r;
}

}  // namespace estate::compliance::testing
