#include "simestate.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include "estate/json_util.h"
#include "estate/log.h"
#include "sim_events.h"
#include "sim_gocd.h"
#include "sim_http.h"
#include "sim_openstack.h"
#include "sim_pure.h"
#include "sim_registry_data.h"
#include "sim_servicenow.h"
#include "sim_storage_model.h"

namespace estate::simestate {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeUpstream;

namespace fs = std::filesystem;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ReadWhole(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return true;
}

std::string ContentTypeOf(const fs::path& file) {
  const std::string ext = Lower(file.extension().string());
  if (ext == ".xml") return "text/xml";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".csv") return "text/csv";
  return "application/json";
}

// "/redfish/v1/Systems/1/" -> "/redfish/v1/systems/1": the key of the sim's path index.
std::string PathKey(std::string path) {
  if (auto hash = path.find('#'); hash != std::string::npos) path.resize(hash);
  if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return Lower(path);
}

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Every recorded response of a data directory by request path ("<dir>/a/b/index.json" and "<dir>/a/b" are
// both "/a/b"), keyed by PathKey so lookups ignore case and trailing slashes.
struct TreeIndex {
  std::map<std::string, fs::path> files;
  std::map<std::string, std::string> paths;  // key -> the path as recorded (for route registration)
};

TreeIndex IndexTree(const std::string& root) {
  TreeIndex index;
  if (root.empty()) return index;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    fs::path rel = fs::relative(it->path(), root, ec);
    if (ec) continue;
    std::string path = "/" + (rel.filename() == "index.json" ? rel.parent_path() : rel).generic_string();
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const std::string key = PathKey(path);
    // index.json wins over a plain file of the same path, as in FakeUpstream.
    if (rel.filename() != "index.json" && index.files.count(key) != 0) continue;
    index.files[key] = it->path();
    index.paths[key] = path;
  }
  return index;
}

// Real BMCs answer the service root (and the Redfish version document) without credentials.
bool IsAnonymousRedfishPath(const std::string& key) {
  return key == "/redfish" || key == "/redfish/v1" || key == "/redfish/v1/odata" || key == "/redfish/v1/$metadata";
}

// $expand=. on a recorded body: every array of links at the top level ("Members", "Drives", ...) gets the
// linked resources inlined, when they are recorded too. One level, as MaxLevels 1 services do.
void ExpandLinks(nlohmann::json& body, const TreeIndex& index) {
  if (!body.is_object()) return;
  for (auto& [key, value] : body.items()) {
    if (!value.is_array() || key.rfind("@odata", 0) == 0 || key == "Links") continue;
    for (auto& member : value) {
      if (!member.is_object() || member.size() != 1 || !member.contains("@odata.id") ||
          !member["@odata.id"].is_string()) {
        continue;
      }
      auto it = index.files.find(PathKey(member["@odata.id"].get<std::string>()));
      std::string text;
      if (it == index.files.end() || !ReadWhole(it->second, &text)) continue;
      auto inlined = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (inlined.is_object()) member = std::move(inlined);
    }
  }
}

// The XML attribute `name="value"` (or with single quotes) of the first element that has it, unescaped.
std::string XmlAttribute(const std::string& xml, const std::string& name) {
  std::regex re(name + "\\s*=\\s*(\"([^\"]*)\"|'([^']*)')");
  std::smatch m;
  if (!std::regex_search(xml, m, re)) return "";
  std::string v = m[2].matched ? m[2].str() : m[3].str();
  static const std::pair<const char*, const char*> kEntities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : kEntities) {
    for (std::size_t pos = 0; (pos = v.find(from, pos)) != std::string::npos; pos += std::string(to).size()) {
      v.replace(pos, std::string(from).size(), to);
    }
  }
  return v;
}

std::string RibclDocument(const std::string& status, const std::string& message) {
  return "<?xml version=\"1.0\"?>\r\n<RIBCL VERSION=\"2.23\">\r\n<RESPONSE\r\n    STATUS=\"" + status +
         "\"\r\n    MESSAGE='" + message + "'\r\n     />\r\n</RIBCL>\r\n";
}

FakeResponse Xml(int status, std::string body) {
  FakeResponse resp;
  resp.status = status;
  resp.content_type = "text/xml";
  resp.body = std::move(body);
  return resp;
}

}  // namespace

struct RedfishSessions {
  std::mutex mu;
  std::map<std::string, std::string> by_token;  // X-Auth-Token -> session id
  int next_id = 1;
  long created = 0;
  long deleted = 0;
};

namespace {

constexpr char kSessionsPath[] = "/redfish/v1/SessionService/Sessions";

// Sessions, credentials and the recorded tree behind them, as a real BMC's Redfish service behaves: the
// service root is anonymous, a POST to the session collection with the right UserName/Password returns 201
// with X-Auth-Token and Location, DELETE of that Location ends it, and every other recorded resource needs a
// live token or basic auth (401 otherwise). Without configured credentials any login is accepted.
void InstallRedfish(FakeUpstream& server, const UpstreamConfig& cfg,
                    std::shared_ptr<RedfishSessions> sessions, std::shared_ptr<SimEvents> events) {
  auto index = std::make_shared<const TreeIndex>(IndexTree(cfg.data_dir));
  const std::string username = cfg.username;
  const std::string password = cfg.password;
  const std::string basic = username.empty() ? "" : "Basic " + Base64(username + ":" + password);

  auto authorised = [sessions, basic](const FakeRequest& req) {
    if (basic.empty()) return true;
    if (auto it = req.headers.find("x-auth-token"); it != req.headers.end()) {
      std::lock_guard lock(sessions->mu);
      if (sessions->by_token.count(it->second) != 0) return true;
    }
    auto it = req.headers.find("authorization");
    return it != req.headers.end() && it->second == basic;
  };
  auto unauthorised = [] {
    FakeResponse resp = Json(401, {{"error",
                                    {{"code", "Base.1.8.GeneralError"},
                                     {"message", "A valid X-Auth-Token or basic authentication is required."}}}});
    resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"simulated BMC\"");
    return resp;
  };

  // A session's own resource; registered when it is created (routes are exact paths).
  auto session_route = [sessions, authorised, unauthorised](const std::string& id) {
    const std::string uri = std::string(kSessionsPath) + "/" + id;
    return [sessions, authorised, unauthorised, id, uri](const FakeRequest& req) {
      std::lock_guard lock(sessions->mu);
      auto live = std::find_if(sessions->by_token.begin(), sessions->by_token.end(),
                               [&](const auto& kv) { return kv.second == id; });
      if (live == sessions->by_token.end()) return JsonError(404, "no session " + id);
      if (req.method == "DELETE") {
        // The session's own token, or basic auth, may end it.
        auto tok = req.headers.find("x-auth-token");
        bool own = tok != req.headers.end() && tok->second == live->first;
        if (!own && !authorised(req)) return unauthorised();
        sessions->by_token.erase(live);
        ++sessions->deleted;
        FakeResponse resp;
        resp.status = 204;
        resp.content_type.clear();
        return resp;
      }
      return Json(200, {{"@odata.id", uri}, {"@odata.type", "#Session.v1_3_0.Session"}, {"Id", id},
                        {"Name", "User Session"}, {"UserName", "(hidden)"}});
    };
  };

  FakeUpstream* srv = &server;
  auto login = [sessions, username, password, session_route, srv](const FakeRequest& req) {
    auto body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) return JsonError(400, "the body must be a JSON object with UserName and Password");
    auto field = [&](const char* key) {
      auto it = body.find(key);
      return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (!username.empty() && (field("UserName") != username || field("Password") != password)) {
      return Json(401, {{"error", {{"code", "Base.1.8.InsufficientPrivilege"},
                                   {"message", "Invalid user name or password."}}}});
    }
    std::string id, token = RandomHex(16);
    {
      std::lock_guard lock(sessions->mu);
      id = std::to_string(sessions->next_id++);
      sessions->by_token[token] = id;
      ++sessions->created;
    }
    const std::string uri = std::string(kSessionsPath) + "/" + id;
    srv->Route("*", uri, session_route(id));
    FakeResponse resp = Json(201, {{"@odata.id", uri}, {"@odata.type", "#Session.v1_3_0.Session"}, {"Id", id},
                                   {"Name", "User Session"}, {"UserName", field("UserName")}});
    resp.headers.emplace_back("X-Auth-Token", token);
    resp.headers.emplace_back("Location", uri);
    return resp;
  };
  auto collection = [index, authorised, unauthorised, login](const FakeRequest& req) {
    if (req.method == "POST") return login(req);
    if (!authorised(req)) return unauthorised();
    auto it = index->files.find(PathKey(kSessionsPath));
    std::string text;
    if (it != index->files.end() && ReadWhole(it->second, &text)) {
      FakeResponse resp;
      resp.body = text;
      return resp;
    }
    return Json(200, {{"@odata.id", kSessionsPath}, {"Name", "Sessions"}, {"Members", nlohmann::json::array()},
                      {"Members@odata.count", 0}});
  };
  for (const std::string& path : {std::string(kSessionsPath), std::string(kSessionsPath) + "/"}) {
    server.Route("*", path, collection);
  }

  // Every recorded resource, under the path as recorded, lower-cased, and with a trailing slash.
  if (events) events->Install(server, authorised);
  auto serve = [index, authorised, unauthorised, events](const FakeRequest& req) {
    const std::string key = PathKey(req.path);
    if (!IsAnonymousRedfishPath(key) && !authorised(req)) return unauthorised();
    auto it = index->files.find(key);
    FakeResponse resp;
    if (it == index->files.end() || !ReadWhole(it->second, &resp.body)) {
      return JsonError(404, "no recorded response for " + req.path);
    }
    resp.content_type = ContentTypeOf(it->second);
    const bool expand = UrlDecode(req.query).find("$expand") != std::string::npos;
    if ((expand || events) && resp.content_type == "application/json") {
      auto body = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_object()) {
        if (expand) ExpandLinks(body, *index);
        if (events) events->Patch(key, body);
        resp.body = DumpJson(body, 2) + "\n";
      }
    }
    return resp;
  };
  for (const auto& [key, path] : index->paths) {
    if (key == PathKey(kSessionsPath)) continue;
    std::set<std::string> variants = {path, path + "/", key, key + "/"};
    for (const auto& v : variants) server.Route("GET", v, serve);
  }
}

// HPE iLO RIBCL: POST /ribcl answers with the recorded "<data>/ribcl/<COMMAND>.xml" of every command in the
// request, concatenated after the login's own document, as iLO does (each is a whole XML document). A wrong
// LOGIN gets iLO's 0x005F "Login failed." document; a command without a recording gets an error status.
// GET /xmldata?item=all (anonymous) answers "<data>/xmldata.xml".
void InstallRibcl(FakeUpstream& server, const UpstreamConfig& cfg) {
  const fs::path dir = cfg.data_dir;
  const std::string username = cfg.username;
  const std::string password = cfg.password;
  server.Route("POST", "/ribcl", [dir, username, password](const FakeRequest& req) {
    if (req.body.find("<RIBCL") == std::string::npos || req.body.find("<LOGIN") == std::string::npos) {
      return Xml(200, RibclDocument("0x0001", "Syntax error: no RIBCL LOGIN element"));
    }
    if (!username.empty() &&
        (XmlAttribute(req.body, "USER_LOGIN") != username || XmlAttribute(req.body, "PASSWORD") != password)) {
      return Xml(200, RibclDocument("0x005F", "Login failed."));
    }
    static const std::set<std::string> kNotCommands = {"RIBCL",    "LOGIN",    "SERVER_INFO", "RIB_INFO",
                                                       "USER_INFO", "DIR_INFO", "RACK_INFO",   "SSO_INFO"};
    std::string out = RibclDocument("0x0000", "No error");
    static const std::regex kTag("<([A-Z][A-Z0-9_]*)");
    for (std::sregex_iterator it(req.body.begin(), req.body.end(), kTag), end; it != end; ++it) {
      const std::string command = (*it)[1].str();
      if (kNotCommands.count(command) != 0) continue;
      std::string recorded;
      if (!dir.empty() && ReadWhole(dir / "ribcl" / (command + ".xml"), &recorded)) {
        out += recorded;
      } else {
        out += RibclDocument("0x0001", "Command " + command + " is not recorded in this simulated iLO");
      }
    }
    return Xml(200, out);
  });
  server.Route("GET", "/xmldata", [dir](const FakeRequest&) {
    std::string body;
    if (dir.empty() || !ReadWhole(dir / "xmldata.xml", &body)) return JsonError(404, "no recorded /xmldata");
    return Xml(200, body);
  });
}

double NowUnix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Kinds servicenow and gocd: the simulator filled from its data file and installed on the server; an error
// when the file is bad. Returns the simulator (kept alive with the server).
Result<std::shared_ptr<void>> InstallRegistrySim(FakeUpstream& server, const UpstreamConfig& cfg) {
  const double now = NowUnix();
  if (cfg.kind == "servicenow") {
    auto data = LoadSimCmdb(cfg.registry.data_file, now);
    if (!data) return MakeError(data.error());
    ServiceNowSimOptions o;
    o.username = cfg.username;
    o.password = cfg.password;
    o.bearer_token = cfg.registry.bearer_token;
    o.default_limit = cfg.registry.default_limit;
    o.rate_limit_requests = cfg.registry.rate_limit_requests;
    o.rate_limit_window_seconds = cfg.registry.rate_limit_window_seconds;
    o.html_login = cfg.registry.html_login;
    auto sim = std::make_shared<SimServiceNow>(o);
    sim->AddTable("cmdb_ci_business_app");
    sim->AddTable("cmdb_ci_server");
    for (const auto& a : data->apps) {
      sim->PutRecord("cmdb_ci_business_app",
                     SnowBusinessApp(a.tla, a.name, a.install_status, a.owner, a.support_group, a.created_unix));
    }
    for (const auto& srv : data->servers) {
      sim->PutRecord("cmdb_ci_server", SnowServer(srv.name, srv.fqdn, srv.support_group));
    }
    sim->Install(server);
    return std::shared_ptr<void>(sim);
  }
  auto pipelines = LoadSimPipelines(cfg.registry.data_file, now);
  if (!pipelines) return MakeError(pipelines.error());
  SimGocdOptions o;
  o.bearer_token = cfg.registry.bearer_token;
  o.basic_user = cfg.username;
  o.basic_password = cfg.password;
  auto sim = std::make_shared<SimGocd>(o);
  for (const auto& p : *pipelines) {
    if (p.generate_count > 0) {
      sim->GeneratePipeline(p.name, p.group, p.generate_count, now, p.generate_spacing_seconds, p.generate_users);
    } else {
      sim->AddPipeline(p.name, p.group);
    }
    for (const auto& r : p.runs) {
      SimGocdRun run;
      run.scheduled_unix = r.scheduled_unix;
      run.forced_by = r.forced_by;
      run.committers = r.committers;
      run.stage_approver = r.stage_approver;
      sim->AddRun(p.name, std::move(run));
    }
  }
  sim->Install(server);
  return std::shared_ptr<void>(sim);
}

}  // namespace

SimEstate::SimEstate(Config config) : config_(std::move(config)) {}

SimEstate::~SimEstate() { Stop(); }

Result<Ok> SimEstate::Start(const std::string& listen_host, int control_port) {
  for (const auto& cfg : config_.upstreams) {
    FakeUpstream::Options options;
    // The storage kinds answer from their model only (their data directory holds the model file), the
    // registry kinds from their data file.
    const bool from_file = !cfg.ModelKey().empty() || cfg.kind == "servicenow" || cfg.kind == "gocd";
    options.root_dir = from_file ? "" : cfg.data_dir;
    options.listen = listen_host + ":" + std::to_string(cfg.port);
    options.threads = cfg.threads;
    options.lenient_paths = cfg.lenient_paths;
    options.tls_cert_pem = cfg.tls_cert_file;
    // Kinds redfish and ribcl check the credentials themselves, the way the real services do.
    const bool redfish = cfg.kind == "redfish";
    const bool ribcl = cfg.kind == "ribcl";
    const bool registry = cfg.kind == "servicenow" || cfg.kind == "gocd";
    if (!cfg.username.empty() && !redfish && !ribcl && !registry) options.basic_auth = cfg.username + ":" + cfg.password;
    auto server = std::make_unique<FakeUpstream>(options);
    std::shared_ptr<RedfishSessions> sessions;
    std::shared_ptr<SimEvents> events;
    std::shared_ptr<StorageModel> model;
    std::shared_ptr<OpenStackTokens> tokens;
    std::shared_ptr<PureSessions> pure_sessions;
    std::shared_ptr<void> registry_sim;
    if (!cfg.ModelKey().empty()) {
      auto loaded = SharedModel(cfg);
      if (!loaded) {
        Stop();
        return MakeError("upstream " + cfg.name + ": " + loaded.error());
      }
      model = *loaded;
    }
    if (redfish) {
      sessions = std::make_shared<RedfishSessions>();
      if (cfg.events) events = std::make_shared<SimEvents>();
      InstallRedfish(*server, cfg, sessions, events);
    } else if (ribcl) {
      InstallRibcl(*server, cfg);
    } else if (cfg.kind == "openstack" && model) {
      tokens = std::make_shared<OpenStackTokens>();
      InstallOpenStack(*server, cfg.openstack, model, tokens);
    } else if (cfg.kind == "pure" && model) {
      if (model->array_views.count(cfg.pure.array) == 0) {
        Stop();
        return MakeError("upstream " + cfg.name + ": the model has no array " + cfg.pure.array);
      }
      pure_sessions = std::make_shared<PureSessions>();
      InstallPure(*server, cfg.pure, model, pure_sessions);
    } else if (registry) {
      auto installed = InstallRegistrySim(*server, cfg);
      if (!installed) {
        Stop();
        return MakeError("upstream " + cfg.name + ": " + installed.error());
      }
      registry_sim = *installed;
    }
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
    upstreams_.push_back({cfg, std::move(server), std::move(sessions), std::move(events), std::move(model),
                          std::move(tokens), std::move(pure_sessions), std::move(registry_sim)});
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
  models_.clear();
}

Result<std::shared_ptr<StorageModel>> SimEstate::SharedModel(const UpstreamConfig& cfg) {
  const std::string key = cfg.ModelKey();
  if (auto it = models_.find(key); it != models_.end()) return it->second;
  const auto started = std::chrono::steady_clock::now();
  std::shared_ptr<StorageModel> model;
  if (cfg.generate) {
    model = GenerateStorageModel(*cfg.generate);
  } else {
    auto loaded = LoadStorageModel(cfg.model_file);
    if (!loaded) return MakeError(loaded.error());
    model = *loaded;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log::Info("storage model ready", {{"model", key},
                                    {"servers", std::to_string(model->servers.size())},
                                    {"volumes", std::to_string(model->volumes.size())},
                                    {"arrays", std::to_string(model->array_names.size())},
                                    {"seconds", std::to_string(seconds)}});
  models_[key] = model;
  return model;
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

const SimEstate::Upstream* SimEstate::Find(const std::string& name) const {
  for (const auto& up : upstreams_) {
    if (up.config.name == name) return &up;
  }
  return nullptr;
}

// The routes read upstreams_, which Start() fills before the control API starts and Stop() clears only after
// it has stopped, so the handlers need no lock of their own.
void SimEstate::AddControlRoutes() {
  auto lookup = [this](const FakeRequest& req, FakeUpstream** out) -> std::optional<FakeResponse> {
    std::string name = QueryParam(req.query, "upstream");
    if (name.empty()) return JsonError(400, "the upstream query parameter is required");
    const Upstream* up = Find(name);
    if (up == nullptr) return JsonError(404, "no upstream named " + name);
    *out = up->server.get();
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
  auto find = [this](const FakeRequest& req, const Upstream** out) -> std::optional<FakeResponse> {
    std::string name = QueryParam(req.query, "upstream");
    if (name.empty()) return JsonError(400, "the upstream query parameter is required");
    *out = Find(name);
    if (*out == nullptr) return JsonError(404, "no upstream named " + name);
    return std::nullopt;
  };
  control_->Route("POST", "/tokens/expire", [find](const FakeRequest& req) {
    const Upstream* up = nullptr;
    if (auto error = find(req, &up)) return *error;
    long revoked = 0;
    if (up->tokens) {
      revoked = up->tokens->RevokeAll();
    } else if (up->pure_sessions) {
      revoked = up->pure_sessions->RevokeAll();
    } else {
      return JsonError(400, "upstream " + up->config.name + " is not of kind openstack or pure");
    }
    log::Info("tokens revoked", {{"upstream", up->config.name}, {"revoked", std::to_string(revoked)}});
    return Json(200, {{"upstream", up->config.name}, {"revoked", revoked}});
  });
  control_->Route("POST", "/redeploy", [find](const FakeRequest& req) {
    const Upstream* up = nullptr;
    if (auto error = find(req, &up)) return *error;
    if (!up->model) return JsonError(400, "upstream " + up->config.name + " has no storage model");
    const std::string server = QueryParam(req.query, "server");
    if (server.empty()) return JsonError(400, "the server query parameter is required");
    Result<StorageModel::RedeployResult> result = MakeError("");
    {
      std::unique_lock lock(up->model->mutex());
      result = up->model->Redeploy(server);
    }
    if (!result) return JsonError(404, result.error());
    log::Info("server redeployed", {{"upstream", up->config.name},
                                    {"server", server},
                                    {"old_id", result->old_id},
                                    {"new_id", result->new_id}});
    return Json(200, {{"upstream", up->config.name},
                      {"server", server},
                      {"old_id", result->old_id},
                      {"new_id", result->new_id},
                      {"deleted_volumes", result->deleted_volumes},
                      {"created_volumes", result->created_volumes}});
  });
  control_->Route("GET", "/model", [find](const FakeRequest& req) {
    const Upstream* up = nullptr;
    if (auto error = find(req, &up)) return *error;
    if (!up->model) return JsonError(400, "upstream " + up->config.name + " has no storage model");
    std::shared_lock lock(up->model->mutex());
    const StorageModel& m = *up->model;
    nlohmann::json arrays = nlohmann::json::object();
    for (const auto& [name, view] : m.array_views) arrays[name] = view.volumes.size();
    return Json(200, {{"upstream", up->config.name},
                      {"projects", m.projects.size()},
                      {"hypervisors", m.hypervisors},
                      {"servers", m.servers.size()},
                      {"volumes", m.volumes.size()},
                      {"array_volumes", arrays}});
  });
  control_->Route("GET", "/sessions", [find](const FakeRequest& req) {
    const Upstream* up = nullptr;
    if (auto error = find(req, &up)) return *error;
    const std::string name = up->config.name;
    if (up->tokens) {
      std::lock_guard lock(up->tokens->mu);
      return Json(200, {{"upstream", name},
                        {"active", up->tokens->live.size()},
                        {"created", up->tokens->issued},
                        {"deleted", up->tokens->revoked}});
    }
    if (up->pure_sessions) {
      std::lock_guard lock(up->pure_sessions->mu);
      return Json(200, {{"upstream", name},
                        {"active", up->pure_sessions->live.size()},
                        {"created", up->pure_sessions->created},
                        {"deleted", up->pure_sessions->deleted},
                        {"revoked", up->pure_sessions->revoked},
                        {"rate_limited", up->pure_sessions->rate_limited}});
    }
    if (!up->sessions)
      return JsonError(400, "upstream " + name + " has no sessions (kind redfish, openstack, pure)");
    std::lock_guard lock(up->sessions->mu);
    return Json(200, {{"upstream", name},
                      {"active", up->sessions->by_token.size()},
                      {"created", up->sessions->created},
                      {"deleted", up->sessions->deleted}});
  });
  auto find_events = [find](const FakeRequest& req, SimEvents** out) -> std::optional<FakeResponse> {
    const Upstream* up = nullptr;
    if (auto error = find(req, &up)) return error;
    if (!up->events)
      return JsonError(400, "upstream " + up->config.name + " serves no events (kind redfish, events: true)");
    *out = up->events.get();
    return std::nullopt;
  };
  control_->Route("POST", "/events/flip", [find_events](const FakeRequest& req) {
    SimEvents* ev = nullptr;
    if (auto error = find_events(req, &ev)) return *error;
    const std::string resource = QueryParam(req.query, "resource");
    if (resource.rfind("/redfish/v1/", 0) != 0) return JsonError(400, "resource must be a /redfish/v1/ path");
    auto patch =
        nlohmann::json::parse(req.body.empty() ? "{}" : req.body, nullptr, /*allow_exceptions=*/false);
    if (!patch.is_object()) return JsonError(400, "the body must be a JSON object (a merge patch)");
    const long id = ev->Flip(resource, patch);
    log::Info("resource flipped", {{"upstream", QueryParam(req.query, "upstream")}, {"resource", resource}});
    return Json(200, {{"event", id}, {"resource", resource}});
  });
  control_->Route("POST", "/events/emit", [find_events](const FakeRequest& req) {
    SimEvents* ev = nullptr;
    if (auto error = find_events(req, &ev)) return *error;
    auto record = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) return JsonError(400, "the body must be one Event record (a JSON object)");
    return Json(200, {{"event", ev->Emit(record)}});
  });
  control_->Route("POST", "/events/options", [find_events](const FakeRequest& req) {
    SimEvents* ev = nullptr;
    if (auto error = find_events(req, &ev)) return *error;
    auto body =
        nlohmann::json::parse(req.body.empty() ? "{}" : req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) return JsonError(400, "the body must be a JSON object");
    SimEvents::Options o = ev->options();
    if (body.contains("sse") && body["sse"].is_boolean()) o.sse = body["sse"].get<bool>();
    if (body.contains("silent") && body["silent"].is_boolean()) o.silent = body["silent"].get<bool>();
    if (body.contains("close_after_seconds") && body["close_after_seconds"].is_number())
      o.close_after_seconds = body["close_after_seconds"].get<double>();
    ev->SetOptions(o);
    return Json(200, {{"sse", o.sse}, {"silent", o.silent}, {"close_after_seconds", o.close_after_seconds}});
  });
  control_->Route("GET", "/events", [find_events](const FakeRequest& req) {
    SimEvents* ev = nullptr;
    if (auto error = find_events(req, &ev)) return *error;
    const SimEvents::Stats s = ev->stats();
    return Json(200, {{"streams_open", s.streams_open},
                      {"streams_opened", s.streams_opened},
                      {"subscriptions", s.subscriptions},
                      {"subscriptions_created", s.subscriptions_created},
                      {"subscriptions_deleted", s.subscriptions_deleted},
                      {"events", s.events},
                      {"pushes_ok", s.pushes_ok},
                      {"pushes_failed", s.pushes_failed}});
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
