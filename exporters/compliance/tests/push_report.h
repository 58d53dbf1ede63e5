// A report as InSpec's automate reporter sends it (the exec JSON in its envelope), made up for push tests and
// the push benchmark: `controls` controls of profile "push-profile", ctl-<i> critical (impact 0.9) for even i
// and medium for odd, failed when i % 5 == 0 and passed otherwise; every time is now.
#pragma once

#include <ctime>
#include <string>

namespace estate::compliance::testing {

inline std::string NowIso8601() {
  char buf[32];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

inline std::string AutomateReport(const std::string& host, int controls = 2) {
  const std::string now = NowIso8601();
  std::string out =
      R"({"platform":{"name":"debian","release":"12","target_id":")" + host +
      R"("},"profiles":[{"name":"push-profile","version":"1.0.0","sha256":"abc","status":"loaded",)"
      R"("controls":[)";
  for (int i = 0; i < controls; ++i) {
    const bool failed = i % 5 == 0;
    if (i > 0) out += ',';
    out +=
        R"({"id":"ctl-)" + std::to_string(i) + R"(","impact":)" + (i % 2 == 0 ? "0.9" : "0.5") +
        R"(,"title":"Control number )" + std::to_string(i) +
        R"( of the push profile","desc":"What this control checks, in a sentence or two.","tags":{"nist":["AC-3"]},)"
        R"("refs":[],"results":[{"status":")" +
        (failed ? "failed" : "passed") +
        R"(","code_desc":"File /etc/example should be owned by root","start_time":")" + now +
        R"(","run_time":0.01)" + (failed ? R"(,"message":"expected root, got nobody")" : "") + "}]}";
  }
  out += R"(]}],"statistics":{"duration":0.5},"version":"4.18.5","type":"inspec_report","node_name":")" +
         host + R"(","node_uuid":"u-)" + host + R"(","report_uuid":"r-)" + host + R"(","end_time":")" + now +
         R"("})";
  return out;
}

}  // namespace estate::compliance::testing
