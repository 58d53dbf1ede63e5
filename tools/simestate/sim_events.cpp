#include "sim_events.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "estate/http_client.h"
#include "estate/json_util.h"
#include "sim_http.h"

namespace estate::simestate {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeUpstream;

namespace {

constexpr char kServicePath[] = "/redfish/v1/EventService";
constexpr char kSsePath[] = "/redfish/v1/EventService/SSE";
constexpr char kSubscriptionsPath[] = "/redfish/v1/EventService/Subscriptions";
constexpr std::size_t kRecent = 256;

std::string KeyOf(std::string path) {
  if (auto q = path.find_first_of("?#"); q != std::string::npos) path.resize(q);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::transform(path.begin(), path.end(), path.begin(), [](unsigned char c) { return std::tolower(c); });
  return path;
}

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

FakeResponse NoContent() {
  FakeResponse resp;
  resp.status = 204;
  resp.content_type.clear();
  return resp;
}

}  // namespace

SimEvents::SimEvents() : delivery_([this] { DeliveryLoop(); }) {}

SimEvents::~SimEvents() { Stop(); }

void SimEvents::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (delivery_.joinable()) delivery_.join();
}

void SimEvents::SetOptions(const Options& options) {
  {
    std::lock_guard lock(mu_);
    options_ = options;
  }
  cv_.notify_all();
}

SimEvents::Options SimEvents::options() const {
  std::lock_guard lock(mu_);
  return options_;
}

SimEvents::Stats SimEvents::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.subscriptions = static_cast<int>(subscriptions_.size());
  return s;
}

void SimEvents::Patch(const std::string& key, nlohmann::json& body) const {
  if (!body.is_object()) return;
  std::lock_guard lock(mu_);
  if (key == "/redfish/v1" && !body.contains("EventService"))
    body["EventService"] = {{"@odata.id", kServicePath}};
  if (overrides_.empty()) return;
  if (auto it = overrides_.find(key); it != overrides_.end()) body.merge_patch(it->second);
  // Members inlined by $expand.
  for (auto& [name, value] : body.items()) {
    if (!value.is_array() || name == "Links") continue;
    for (auto& member : value) {
      if (!member.is_object() || !member.contains("@odata.id") || !member["@odata.id"].is_string()) continue;
      if (auto it = overrides_.find(KeyOf(member["@odata.id"].get<std::string>())); it != overrides_.end()) {
        if (member.size() > 1) member.merge_patch(it->second);
      }
    }
  }
}

long SimEvents::Emit(const nlohmann::json& record) {
  long id;
  std::vector<Subscription> targets;
  nlohmann::json event;
  {
    std::lock_guard lock(mu_);
    id = next_event_++;
    ++stats_.events;
    nlohmann::json r = record;
    r["EventId"] = std::to_string(id);
    if (!r.contains("EventTimestamp")) r["EventTimestamp"] = NowRfc3339();
    event = {{"@odata.type", "#Event.v1_7_0.Event"},
             {"Id", std::to_string(id)},
             {"Name", "Event Array"},
             {"Events", nlohmann::json::array({r})}};
    recent_.emplace_back(id, DumpJson(event));
    while (recent_.size() > kRecent) recent_.pop_front();
    for (const auto& [sid, sub] : subscriptions_) {
      nlohmann::json pushed = event;
      pushed["Context"] = sub.context;
      pushes_.emplace_back(sub, DumpJson(pushed));
    }
  }
  cv_.notify_all();
  return id;
}

long SimEvents::Flip(const std::string& path, const nlohmann::json& merge_patch) {
  nlohmann::json patch = merge_patch.is_object() && !merge_patch.empty()
                             ? merge_patch
                             : nlohmann::json{{"Status", {{"Health", "Critical"}, {"State", "Enabled"}}}};
  {
    std::lock_guard lock(mu_);
    overrides_[KeyOf(path)].merge_patch(patch);
  }
  std::string health = "Critical";
  if (patch.contains("Status") && patch["Status"].is_object() && patch["Status"].contains("Health") &&
      patch["Status"]["Health"].is_string()) {
    health = patch["Status"]["Health"].get<std::string>();
  }
  return Emit({{"EventType", "Alert"},
               {"MessageId", "ResourceEvent.1.2.ResourceStatusChanged" + health},
               {"MessageSeverity", health},
               {"Message", "The health of resource " + path + " has changed to " + health + "."},
               {"MessageArgs", nlohmann::json::array({path, health})},
               {"OriginOfCondition", {{"@odata.id", path}}}});
}

FakeResponse SimEvents::Stream(const FakeRequest& req) {
  long after = 0;
  if (auto it = req.headers.find("last-event-id"); it != req.headers.end()) {
    after = std::strtol(it->second.c_str(), nullptr, 10);
  }
  FakeResponse resp;
  resp.content_type = "text/event-stream";
  resp.stream = [this, after](const FakeResponse::Writer& write) {
    const auto opened = std::chrono::steady_clock::now();
    long sent = after;
    {
      std::lock_guard lock(mu_);
      ++stats_.streams_open;
      ++stats_.streams_opened;
      if (after == 0 && !recent_.empty()) sent = recent_.back().first;  // a new stream starts from now
    }
    for (;;) {
      std::vector<std::pair<long, std::string>> batch;
      Options opt;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(100));
        opt = options_;
        if (stopping_) break;
        if (!opt.silent) {
          for (const auto& [id, text] : recent_) {
            if (id > sent) batch.emplace_back(id, text);
          }
        }
      }
      if (opt.close_after_seconds > 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - opened).count() >=
              opt.close_after_seconds) {
        break;
      }
      bool alive = write("");
      for (const auto& [id, text] : batch) {
        if (!alive) break;
        alive = write("id: " + std::to_string(id) + "\ndata: " + text + "\n\n");
        if (alive) sent = id;
      }
      if (!alive) break;
    }
    std::lock_guard lock(mu_);
    --stats_.streams_open;
  };
  return resp;
}

FakeResponse SimEvents::Subscriptions(const FakeRequest& req, FakeUpstream* server,
                                      const std::function<bool(const FakeRequest&)>& authorised) {
  if (!authorised(req)) return JsonError(401, "A valid X-Auth-Token or basic authentication is required.");
  if (req.method == "GET") {
    std::lock_guard lock(mu_);
    nlohmann::json members = nlohmann::json::array();
    for (const auto& [id, sub] : subscriptions_) members.push_back({{"@odata.id", sub.body["@odata.id"]}});
    return Json(200, {{"@odata.id", kSubscriptionsPath},
                      {"@odata.type", "#EventDestinationCollection.EventDestinationCollection"},
                      {"Name", "Event Subscriptions"},
                      {"Members", members},
                      {"Members@odata.count", members.size()}});
  }
  if (req.method != "POST") return JsonError(405, "GET or POST");
  auto body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("Destination") || !body["Destination"].is_string()) {
    return JsonError(400, "Destination is required");
  }
  const std::string destination = body["Destination"].get<std::string>();
  if (destination.rfind("http://", 0) != 0 && destination.rfind("https://", 0) != 0) {
    return JsonError(400, "Destination must be an http(s) URL");
  }
  Subscription sub;
  sub.destination = destination;
  if (body.contains("Context") && body["Context"].is_string())
    sub.context = body["Context"].get<std::string>();
  if (body.contains("HttpHeaders") && body["HttpHeaders"].is_array()) {
    for (const auto& h : body["HttpHeaders"]) {
      if (!h.is_object()) continue;
      for (const auto& [name, value] : h.items()) {
        if (value.is_string()) sub.headers.emplace_back(name, value.get<std::string>());
      }
    }
  }
  std::string uri;
  {
    std::lock_guard lock(mu_);
    sub.id = std::to_string(next_subscription_++);
    uri = std::string(kSubscriptionsPath) + "/" + sub.id;
    sub.body = {{"@odata.id", uri},
                {"@odata.type", "#EventDestination.v1_13_0.EventDestination"},
                {"Id", sub.id},
                {"Name", "Event Subscription " + sub.id},
                {"Destination", sub.destination},
                {"Context", sub.context},
                {"Protocol", "Redfish"},
                {"SubscriptionType", "RedfishEvent"},
                {"HttpHeaders", nlohmann::json::array()}};  // never read back, as the standard requires
    subscriptions_[sub.id] = sub;
    ++stats_.subscriptions_created;
  }
  const std::string id = sub.id;
  server->Route("*", uri, [this, id, authorised](const FakeRequest& r) {
    if (!authorised(r)) return JsonError(401, "A valid X-Auth-Token or basic authentication is required.");
    std::lock_guard lock(mu_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return JsonError(404, "no subscription " + id);
    if (r.method == "DELETE") {
      subscriptions_.erase(it);
      ++stats_.subscriptions_deleted;
      return NoContent();
    }
    return Json(200, it->second.body);
  });
  FakeResponse resp = Json(201, sub.body);
  resp.headers.emplace_back("Location", uri);
  return resp;
}

void SimEvents::Install(FakeUpstream& server, std::function<bool(const FakeRequest&)> authorised) {
  FakeUpstream* srv = &server;
  auto unauthorised = [] {
    return JsonError(401, "A valid X-Auth-Token or basic authentication is required.");
  };
  auto service = [this, authorised, unauthorised](const FakeRequest& req) {
    if (!authorised(req)) return unauthorised();
    const Options opt = options();
    nlohmann::json body = {{"@odata.id", kServicePath},
                           {"@odata.type", "#EventService.v1_7_0.EventService"},
                           {"Id", "EventService"},
                           {"Name", "Event Service"},
                           {"ServiceEnabled", true},
                           {"Status", {{"State", "Enabled"}, {"Health", "OK"}}},
                           {"DeliveryRetryAttempts", 3},
                           {"DeliveryRetryIntervalSeconds", 10},
                           {"EventTypesForSubscription",
                            {"StatusChange", "ResourceUpdated", "ResourceAdded", "ResourceRemoved", "Alert"}},
                           {"Subscriptions", {{"@odata.id", kSubscriptionsPath}}}};
    if (opt.sse) {
      body["ServerSentEventUri"] = kSsePath;
      body["SSEFilterPropertiesSupported"] = {{"EventFormatType", true}, {"MessageId", true},
                                              {"OriginResource", true},  {"RegistryPrefix", true},
                                              {"ResourceType", true},    {"EventType", true}};
    }
    return Json(200, body);
  };
  auto stream = [this, authorised, unauthorised](const FakeRequest& req) {
    if (!authorised(req)) return unauthorised();
    if (!options().sse) return JsonError(404, "SSE is off");
    return Stream(req);
  };
  auto subscriptions = [this, srv, authorised](const FakeRequest& req) {
    return Subscriptions(req, srv, authorised);
  };
  for (const std::string suffix : {"", "/"}) {
    server.Route("GET", kServicePath + suffix, service);
    server.Route("GET", kSsePath + suffix, stream);
    server.Route("*", kSubscriptionsPath + suffix, subscriptions);
  }
}

void SimEvents::DeliveryLoop() {
  http::CurlHttpClient client;
  for (;;) {
    std::pair<Subscription, std::string> push;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pushes_.empty(); });
      if (stopping_) return;
      push = std::move(pushes_.front());
      pushes_.pop_front();
    }
    http::Request req;
    req.method = "POST";
    req.url = push.first.destination;
    req.headers = push.first.headers;
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = push.second;
    http::ClientOptions options;
    options.source = "simestate-events";
    options.timeout_seconds = 5;
    options.max_retries = 0;
    options.insecure_skip_verify = true;  // a simulated BMC; real ones are configured with a CA
    Budget budget;
    budget.deadline = Clock::now() + std::chrono::seconds(5);
    auto resp = client.Do(req, options, budget);
    std::lock_guard lock(mu_);
    if (resp && resp->status >= 200 && resp->status < 300) {
      ++stats_.pushes_ok;
    } else {
      ++stats_.pushes_failed;
    }
  }
}

}  // namespace estate::simestate
