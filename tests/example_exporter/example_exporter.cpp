// estate-example-exporter: the smallest exporter built on the common library. It polls the configured HTTP
// endpoints in the background and exports their status code, size and top-level numeric JSON fields.
// It exists to prove the common library end to end (flags, TLS/auth, reload, /probe, snapshots) before the
// real exporters land, and stays as the reference for how an exporter is wired.
#include <nlohmann/json.hpp>

#include "estate/app.h"
#include "estate/config.h"

namespace {

struct TargetConfig {
  std::string name;
  std::string url;
  double interval_seconds = 15;
  double timeout_seconds = 10;
  std::string ca_file;
  bool insecure = false;
  std::string username;
  std::string password;
};

struct Config {
  bool allow_empty = false;
  std::vector<TargetConfig> targets;
};

estate::Result<Config> LoadConfig(const std::string& path) {
  auto node = estate::config::LoadYamlFile(path);
  if (!node) return estate::MakeError(node.error());
  estate::config::ConfigErrors errors(path);
  estate::config::MapReader root(*node, "", errors);
  Config cfg;
  root.Get("allow_empty", cfg.allow_empty);
  std::map<std::string, bool> seen;
  for (auto& t : root.List("targets")) {
    TargetConfig tc;
    t.Require("name", tc.name);
    t.Require("url", tc.url);
    t.GetDuration("interval", tc.interval_seconds);
    t.GetDuration("timeout", tc.timeout_seconds);
    t.Get("ca_file", tc.ca_file);
    t.Get("insecure_skip_verify", tc.insecure);
    t.Get("username", tc.username);
    estate::config::GetSecret(t, "password", tc.password, false);
    t.Finish();
    if (!tc.name.empty() && seen[tc.name]) t.Error("name", "duplicate target name " + tc.name);
    seen[tc.name] = true;
    if (!tc.url.empty() && tc.url.rfind("http://", 0) != 0 && tc.url.rfind("https://", 0) != 0) {
      t.Error("url", "must start with http:// or https://");
    }
    cfg.targets.push_back(std::move(tc));
  }
  root.Finish();
  if (!errors.empty()) return estate::MakeError(errors.Text());
  return cfg;
}

estate::Result<estate::metrics::Families> Poll(estate::http::HttpClient& http, const TargetConfig& t,
                                               const estate::Budget& budget) {
  estate::http::ClientOptions opts;
  opts.source = t.name;
  opts.timeout_seconds = t.timeout_seconds;
  opts.ca_file = t.ca_file;
  opts.insecure_skip_verify = t.insecure;
  if (!t.username.empty()) {
    opts.auth.kind = estate::http::Auth::Kind::kBasic;
    opts.auth.username = t.username;
    opts.auth.password = t.password;
  }
  estate::http::Request req;
  req.url = t.url;
  auto resp = http.Do(req, opts, budget);
  if (!resp) return estate::MakeError(resp.error());
  if (resp->status >= 400) return estate::MakeError("HTTP status " + std::to_string(resp->status));
  using estate::metrics::Add;
  auto status = estate::metrics::Gauge("estate_example_http_status_code", "HTTP status code of the last poll.");
  auto bytes = estate::metrics::Gauge("estate_example_response_size_bytes", "Size of the last response body.");
  auto field = estate::metrics::Gauge("estate_example_field_value",
                                      "Top-level numeric fields of the JSON response, by field name.");
  Add(status, {{"target", t.name}}, static_cast<double>(resp->status));
  Add(bytes, {{"target", t.name}}, static_cast<double>(resp->body.size()));
  auto json = nlohmann::json::parse(resp->body, nullptr, false);
  if (json.is_discarded()) return estate::MakeError("response is not JSON");
  if (json.is_object()) {
    for (auto it = json.begin(); it != json.end(); ++it) {
      if (it.value().is_number()) Add(field, {{"target", t.name}, {"field", it.key()}}, it.value().get<double>());
    }
  }
  return estate::metrics::Families{std::move(status), std::move(bytes), std::move(field)};
}

class ExampleExporter final : public estate::Exporter {
 public:
  estate::Result<estate::Plan> Load(const std::string& path, const estate::Services& services) override {
    auto cfg = LoadConfig(path);
    if (!cfg) return estate::MakeError(cfg.error());
    auto shared = std::make_shared<const Config>(std::move(*cfg));
    estate::Plan plan;
    plan.allow_empty = shared->allow_empty;
    estate::http::HttpClient* http = services.http;
    for (const auto& t : shared->targets) {
      estate::JobSpec job;
      job.source = t.name;
      job.group = "all";
      job.interval_seconds = t.interval_seconds;
      job.timeout_seconds = t.timeout_seconds;
      job.fingerprint = t.url + "|" + std::to_string(t.interval_seconds) + "|" + std::to_string(t.timeout_seconds) +
                        "|" + t.ca_file + "|" + (t.insecure ? "1" : "0") + "|" + t.username + "|" +
                        std::to_string(std::hash<std::string>{}(t.password));
      job.collect = [http, t](const estate::Budget& b) { return Poll(*http, t, b); };
      plan.jobs.push_back(std::move(job));
    }
    plan.has_target = [shared](const std::string& target, const std::string&) {
      for (const auto& t : shared->targets) {
        if (t.name == target) return true;
      }
      return false;
    };
    plan.probe = [shared, http](const std::string& target, const std::string&, const estate::Budget& b)
        -> estate::Result<estate::metrics::Families> {
      for (const auto& t : shared->targets) {
        if (t.name == target) return Poll(*http, t, b);
      }
      return estate::MakeError("unknown target");
    };
    return plan;
  }
};

}  // namespace

int main(int argc, char** argv) {
  estate::ExporterInfo info;
  info.name = "example";
  info.ns = "estate_example";
  info.description = "Example exporter: polls HTTP endpoints in the background (reference for the common library).";
  info.default_listen = ":9849";
  info.source_label = "target";
  ExampleExporter exporter;
  return estate::RunExporter(argc, argv, info, exporter);
}
