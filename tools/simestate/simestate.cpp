#include "simestate.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "estate/log.h"

namespace estate::simestate {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeUpstream;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string UrlDecode(const std::string& in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::string QueryParam(const std::string& query, const std::string& name) {
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string pair = query.substr(start, end - start);
    std::size_t eq = pair.find('=');
    if (UrlDecode(pair.substr(0, eq)) == name) {
      return eq == std::string::npos ? "" : UrlDecode(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return "";
}

FakeResponse Json(int status, const nlohmann::json& body) {
  FakeResponse resp;
  resp.status = status;
  resp.body = body.dump() + "\n";
  return resp;
}

FakeResponse JsonError(int status, const std::string& message) { return Json(status, {{"error", message}}); }

}  // namespace

SimEstate::SimEstate(Config config) : config_(std::move(config)) {}

SimEstate::~SimEstate() { Stop(); }

Result<Ok> SimEstate::Start(const std::string& listen_host, int control_port) {
  for (const auto& cfg : config_.upstreams) {
    FakeUpstream::Options options;
    options.root_dir = cfg.data_dir;
    options.listen = listen_host + ":" + std::to_string(cfg.port);
    options.threads = cfg.threads;
    options.lenient_paths = cfg.lenient_paths;
    options.tls_cert_pem = cfg.tls_cert_file;
    if (!cfg.username.empty()) options.basic_auth = cfg.username + ":" + cfg.password;
    auto server = std::make_unique<FakeUpstream>(options);
    if (auto started = server->Start(); !started) {
      Stop();
      return MakeError("upstream " + cfg.name + ": " + started.error());
    }
    for (const auto& fault : cfg.faults) server->AddFault(fault);
    log::Info("upstream listening", {{"upstream", cfg.name},
                                     {"kind", cfg.kind},
                                     {"address", server->base_url()},
                                     {"data", cfg.data_dir.empty() ? "-" : cfg.data_dir},
                                     {"faults", std::to_string(cfg.faults.size())}});
    upstreams_.push_back({cfg, std::move(server)});
  }

  FakeUpstream::Options control_options;
  control_options.listen = listen_host + ":" + std::to_string(control_port);
  control_options.threads = 4;
  control_options.lenient_paths = false;
  control_ = std::make_unique<FakeUpstream>(control_options);
  AddControlRoutes();
  if (auto started = control_->Start(); !started) {
    Stop();
    return MakeError("control API: " + started.error());
  }
  log::Info("control API listening", {{"address", control_->base_url()}});
  return Ok{};
}

void SimEstate::Stop() {
  if (control_) control_->Stop();
  for (auto& up : upstreams_) up.server->Stop();
  upstreams_.clear();
  control_.reset();
}

std::map<std::string, int> SimEstate::Ports() const {
  std::map<std::string, int> ports;
  for (const auto& up : upstreams_) ports[up.config.name] = up.server->port();
  if (control_) ports["_control"] = control_->port();
  return ports;
}

Result<Ok> SimEstate::WritePortsFile(const std::string& path) const {
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [name, port] : Ports()) doc[name] = port;
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << doc.dump(2) << "\n";
    if (!out.flush()) return MakeError("cannot write ports file " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return MakeError("cannot write ports file " + path + ": " + ec.message());
  return Ok{};
}

FakeUpstream* SimEstate::Find(const std::string& name) const {
  for (const auto& up : upstreams_) {
    if (up.config.name == name) return up.server.get();
  }
  return nullptr;
}

// The routes read upstreams_, which Start() fills before the control API starts and Stop() clears only after
// it has stopped, so the handlers need no lock of their own.
void SimEstate::AddControlRoutes() {
  auto lookup = [this](const FakeRequest& req, FakeUpstream** out) -> std::optional<FakeResponse> {
    std::string name = QueryParam(req.query, "upstream");
    if (name.empty()) return JsonError(400, "the upstream query parameter is required");
    *out = Find(name);
    if (*out == nullptr) return JsonError(404, "no upstream named " + name);
    return std::nullopt;
  };

  control_->Route("POST", "/fault", [lookup](const FakeRequest& req) {
    FakeUpstream* up = nullptr;
    if (auto error = lookup(req, &up)) return *error;
    auto fault = ParseFault(req.body.empty() ? "{}" : req.body);
    if (!fault) return JsonError(400, fault.error());
    std::string upstream = QueryParam(req.query, "upstream");
    log::Info("fault injected", {{"upstream", upstream},
                                 {"kind", FaultKindName(fault->kind)},
                                 {"path_prefix", fault->path_prefix},
                                 {"remaining", std::to_string(fault->remaining)}});
    up->AddFault(std::move(*fault));
    return Json(200, {{"upstream", upstream}, {"added", true}});
  });
  control_->Route("DELETE", "/fault", [lookup](const FakeRequest& req) {
    FakeUpstream* up = nullptr;
    if (auto error = lookup(req, &up)) return *error;
    up->ClearFaults();
    std::string upstream = QueryParam(req.query, "upstream");
    log::Info("faults cleared", {{"upstream", upstream}});
    return Json(200, {{"upstream", upstream}, {"cleared", true}});
  });
  control_->Route("GET", "/requests", [lookup](const FakeRequest& req) {
    FakeUpstream* up = nullptr;
    if (auto error = lookup(req, &up)) return *error;
    return Json(200, {{"upstream", QueryParam(req.query, "upstream")}, {"count", up->RequestCount()}});
  });
  control_->Route("GET", "/upstreams", [this](const FakeRequest&) {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& up : upstreams_) doc[up.config.name] = up.server->port();
    return Json(200, doc);
  });
  control_->Route("GET", "/-/healthy", [](const FakeRequest&) {
    FakeResponse resp;
    resp.content_type = "text/plain; charset=utf-8";
    resp.body = "OK\n";
    return resp;
  });
}

}  // namespace estate::simestate
