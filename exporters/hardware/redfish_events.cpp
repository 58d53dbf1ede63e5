#include "redfish_events.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <random>

#include "estate/json_util.h"
#include "estate/log.h"
#include "estate/sse.h"
#include "estate/url.h"

namespace estate::hardware {

using redfish::Json;

namespace {

constexpr std::size_t kMaxRecords = 64;
constexpr std::size_t kMaxOrigins = 4;
constexpr char kContextPrefix[] = "estate-hardware:";
constexpr char kTokenHeader[] = "X-Estate-Event-Token";

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// A string that names a Redfish resource on the BMC: a path under /redfish/ or /rest/ (an absolute URL is
// left to the transport's origin check, which refuses other hosts).
bool LooksLikeResource(std::string_view s) {
  if (s.size() > 512) return false;
  std::string_view path = s;
  if (auto scheme = s.find("://"); scheme != std::string_view::npos) {
    auto slash = s.find('/', scheme + 3);
    if (slash == std::string_view::npos) return false;
    path = s.substr(slash);
  }
  return path.rfind("/redfish/v1/", 0) == 0 || path.rfind("/rest/v1/", 0) == 0;
}

void AddOrigin(std::vector<std::string>& origins, std::string uri) {
  if (uri.empty() || !LooksLikeResource(uri) || origins.size() >= kMaxOrigins) return;
  uri = uri.substr(0, uri.find('#'));  // "/redfish/v1/Chassis/1/Power#/PowerSupplies/0" -> the resource
  if (std::find(origins.begin(), origins.end(), uri) == origins.end()) origins.push_back(std::move(uri));
}

// Constant-time comparison of two secrets.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string RandomSecret() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) out += kHex[rd() & 15];
  return out;
}

// The item replaces the one of the same key. It keeps that one's provenance (the resources a poll read it
// from, for carrying it over a failed read later), with the time of this read.
template <typename T>
bool ReplaceByKey(std::vector<T>& list, T item) {
  for (auto& existing : list) {
    if (existing.key == item.key) {
      if constexpr (requires { item.origin; }) {
        item.origin.deps = std::move(existing.origin.deps);
        item.origin.read_unix = UnixNow();
      }
      existing = std::move(item);
      return true;
    }
  }
  return false;
}

template <typename T>
const T* FindByKey(const std::vector<T>& list, const std::string& key) {
  for (const auto& existing : list) {
    if (existing.key == key) return &existing;
  }
  return nullptr;
}

// Every component of `from` replaces the one of the same key in `into`; true when any did.
template <typename T>
bool ReplaceAll(std::vector<T>& into, const std::vector<T>& from) {
  bool any = false;
  for (const auto& item : from) any = ReplaceByKey(into, item) || any;
  return any;
}

}  // namespace

std::string EventTypeLabel(std::string_view event_type, std::string_view message_id) {
  static const char* kKnown[] = {"Alert", "StatusChange", "ResourceUpdated", "ResourceAdded",
                                 "ResourceRemoved"};
  for (const char* k : kKnown) {
    if (event_type == k) return k;
  }
  if (event_type.empty() || event_type == "Other") {
    // Redfish 1.6+ deprecates EventType: the standard registries' resource events still say what happened.
    const std::string id = Lower(message_id);
    if (id.find("resourcechanged") != std::string::npos || id.find("resourceupdated") != std::string::npos)
      return "ResourceUpdated";
    if (id.find("resourcecreated") != std::string::npos) return "ResourceAdded";
    if (id.find("resourceremoved") != std::string::npos) return "ResourceRemoved";
    if (id.find("statuschange") != std::string::npos || id.find("healthchanged") != std::string::npos)
      return "StatusChange";
  }
  return "Other";
}

Result<std::vector<RedfishEvent>> ParseEventPayload(std::string_view body, std::string* context) {
  auto parsed = redfish::ParseBody(body);
  if (!parsed) return MakeError("event: " + parsed.error());
  const Json& j = *parsed;
  if (!j.is_object()) return MakeError("event: not a JSON object");
  const Json* events = redfish::Child(j, "Events");
  if (events == nullptr || !events->is_array()) return MakeError("event: no Events array");
  if (context != nullptr) *context = redfish::Str(j, "Context");
  std::vector<RedfishEvent> out;
  for (const Json& record : *events) {
    if (!record.is_object()) continue;
    if (out.size() >= kMaxRecords) break;
    RedfishEvent e;
    e.message_id = redfish::Str(record, "MessageId").substr(0, 128);
    e.type = EventTypeLabel(redfish::Str(record, "EventType"), e.message_id);
    e.severity = redfish::Str(record, "MessageSeverity");
    if (e.severity.empty()) e.severity = redfish::Str(record, "Severity");
    if (const Json* origin = redfish::Child(record, "OriginOfCondition")) {
      if (origin->is_string()) {
        AddOrigin(e.origins, origin->get<std::string>());
      } else {
        AddOrigin(e.origins, redfish::LinkTarget(*origin));
      }
    }
    if (const Json* args = redfish::Child(record, "MessageArgs"); args != nullptr && args->is_array()) {
      for (const Json& a : *args) {
        if (a.is_string()) AddOrigin(e.origins, a.get<std::string>());
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string GroupOfPath(std::string_view uri) {
  const std::string p = Lower(uri);
  for (const char* fast : {"/thermal", "/power", "/fans", "/sensors", "/powersupplies", "/powersubsystem"}) {
    if (p.find(fast) != std::string::npos && p.find("/batteries") == std::string::npos) return "fast";
  }
  return "slow";
}

PatchResult PatchFindings(const Json& body, Findings& fast, Findings& slow) {
  PatchResult r;
  const std::string type = Lower(redfish::Str(body, "@odata.type"));
  auto is = [&](std::string_view name) {
    return type.find("#" + std::string(name) + ".") != std::string::npos;
  };
  if (is("drive") || is("hpesmartstoragediskdrive")) {
    Drive d = redfish::ParseDrive(body, "");
    if (const Drive* old = FindByKey(slow.drives, d.key)) {
      d.controller = old->controller;
      r.slow = ReplaceByKey(slow.drives, std::move(d));
    }
  } else if (is("volume") || is("hpesmartstoragelogicaldrive")) {
    Volume v = redfish::ParseVolume(body, "");
    if (const Volume* old = FindByKey(slow.volumes, v.key)) {
      v.controller = old->controller;
      r.slow = ReplaceByKey(slow.volumes, std::move(v));
    }
  } else if (is("battery")) {
    Battery b = redfish::ParseBattery(body, Json());
    if (const Battery* old = FindByKey(slow.batteries, b.key)) {
      if (!b.charge_percent) b.charge_percent = old->charge_percent;  // from its Metrics, not re-read here
      r.slow = ReplaceByKey(slow.batteries, std::move(b));
    }
  } else if (is("storage") || is("hpesmartstoragearraycontroller")) {
    Findings f;
    if (is("storage")) {
      (void)redfish::ParseStorage(body, f);
    } else {
      (void)redfish::ParseArrayController(body, f);
    }
    r.slow = ReplaceAll(slow.controllers, f.controllers);
    r.slow = ReplaceAll(slow.batteries, f.batteries) || r.slow;
  } else if (is("power")) {
    Findings f;
    redfish::ParsePower(body, f);
    r.fast = ReplaceAll(fast.psus, f.psus);
    r.fast = ReplaceAll(fast.psu_redundancy, f.psu_redundancy) || r.fast;
  } else if (is("powersupply")) {
    PowerSupply p = redfish::ParsePowerSupply(body, Json());
    if (const PowerSupply* old = FindByKey(fast.psus, p.key)) {
      if (!p.input_watts) p.input_watts = old->input_watts;
      if (!p.output_watts) p.output_watts = old->output_watts;
      if (!p.capacity_watts) p.capacity_watts = old->capacity_watts;
      r.fast = ReplaceByKey(fast.psus, std::move(p));
    }
  } else if (is("thermal")) {
    Findings f;
    redfish::ParseThermal(body, f);
    r.fast = ReplaceAll(fast.fans, f.fans);
    r.fast = ReplaceAll(fast.temperatures, f.temperatures) || r.fast;
  } else if (is("fan")) {
    r.fast = ReplaceByKey(fast.fans, redfish::ParseFan(body));
  } else if (is("chassis")) {
    Findings f;
    redfish::ParseChassis(body, f);
    if (f.chassis_reported != Health::kUnknown && f.chassis_reported != fast.chassis_reported) {
      fast.chassis_reported = f.chassis_reported;
      r.fast = true;
    }
    r.slow = ReplaceAll(slow.batteries, f.batteries);  // HPE Oem.Hpe.SmartStorageBattery[]
  } else if (is("computersystem")) {
    Findings f;
    redfish::ParseSystem(body, f);
    if (f.system_reported != Health::kUnknown) {
      r.fast = fast.system_reported != f.system_reported || fast.power != f.power;
      fast.system_reported = f.system_reported;
      if (f.power != PowerState::kUnknown) fast.power = f.power;
      r.fast = true;
    }
    r.slow = ReplaceAll(slow.batteries, f.batteries);  // HP(E) Oem batteries of iLO 4/5
  }
  return r;
}

// --- hub ---------------------------------------------------------------------------------------------------

EventHub::~EventHub() {
  {
    std::lock_guard<std::mutex> lock(tasks_mu_);
    stopping_ = true;
    tasks_.clear();
  }
  tasks_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  loop_.reset();  // ends what streams are left (their channels have stopped: the callbacks do nothing)
}

sse::StreamLoop& EventHub::loop() {
  std::call_once(loop_once_, [this] { loop_ = std::make_unique<sse::StreamLoop>(); });
  return *loop_;
}

void EventHub::Post(double delay_seconds, std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(tasks_mu_);
    if (stopping_) return;
    if (threads_.empty()) {
      for (int i = 0; i < std::max(1, workers_); ++i) threads_.emplace_back([this] { Work(); });
    }
    const auto when =
        std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                               std::chrono::duration<double>(std::max(0.0, delay_seconds)));
    tasks_.emplace(when, std::move(task));
  }
  tasks_cv_.notify_one();
}

void EventHub::Work() {
  std::unique_lock<std::mutex> lock(tasks_mu_);
  while (!stopping_) {
    if (tasks_.empty()) {
      tasks_cv_.wait(lock);
      continue;
    }
    auto first = tasks_.begin();
    if (first->first > std::chrono::steady_clock::now()) {
      // A copy: while this thread waits, another worker may run and erase that task (and its key).
      const auto when = first->first;
      tasks_cv_.wait_until(lock, when);
      continue;
    }
    std::function<void()> task = std::move(first->second);
    tasks_.erase(first);
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      log::Error("event task threw", {{"err", e.what()}});
    }
    lock.lock();
  }
}

bool EventHub::AcquireStream() {
  int open = open_.load();
  while (open < max_streams_.load()) {
    if (open_.compare_exchange_weak(open, open + 1)) return true;
  }
  return false;
}

void EventHub::ReleaseStream() { --open_; }

void EventHub::Register(const std::string& target, Deliver deliver) {
  std::lock_guard<std::mutex> lock(mu_);
  receivers_[target] = std::make_shared<Deliver>(std::move(deliver));
}

void EventHub::Unregister(const std::string& target) {
  std::lock_guard<std::mutex> lock(mu_);
  receivers_.erase(target);
}

int EventHub::Receive(const std::string& target, const std::string& token, std::string_view body) {
  std::shared_ptr<Deliver> deliver;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = receivers_.find(target);
    if (it == receivers_.end()) return 404;
    deliver = it->second;
  }
  return (*deliver)(token, body);
}

// --- channel -----------------------------------------------------------------------------------------------

bool EventChannel::Life::Enter() {
  std::lock_guard<std::mutex> lock(mu);
  if (stopped) return false;
  ++running;
  return true;
}

void EventChannel::Life::Leave() {
  {
    std::lock_guard<std::mutex> lock(mu);
    --running;
  }
  cv.notify_all();
}

EventChannel::EventChannel(std::string target, const EventsConfig& config, RedfishClient& client,
                           std::shared_ptr<EventHub> hub, Callbacks callbacks)
    : target_(std::move(target)),
      config_(config),
      client_(client),
      hub_(std::move(hub)),
      callbacks_(std::move(callbacks)) {
  if (!config_.receiver_url.empty())
    destination_ = config_.receiver_url + "?target=" + url::EncodeComponent(target_);
  backoff_ = setup_backoff_ = config_.reconnect_min_seconds;
}

EventChannel::~EventChannel() { Stop(); }

void EventChannel::Post(double delay_seconds, std::function<void()> step) {
  hub_->Post(delay_seconds, [life = life_, step = std::move(step)] {
    if (!life->Enter()) return;
    step();
    life->Leave();
  });
}

double EventChannel::Backoff(double step) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return step * jitter(rng);
}

Budget EventChannel::StepBudget() const {
  Budget budget;
  budget.deadline = Clock::now() + std::chrono::seconds(30);
  budget.cancel = cancel_;
  return budget;
}

void EventChannel::Start(const std::string& api_root) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return;
    started_ = true;
    api_root_ = api_root;
  }
  Post(0, [this] { Setup(); });
}

void EventChannel::Stop() {
  {
    std::lock_guard<std::mutex> lock(life_->mu);
    if (life_->stopped) return;
    life_->stopped = true;
  }
  cancel_.Cancel();
  std::uint64_t stream = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream = stream_id_;
  }
  if (stream != 0) hub_->loop().Cancel(stream);
  {
    // Steps and callbacks under way finish (they see the cancel); later ones do nothing.
    std::unique_lock<std::mutex> lock(life_->mu);
    life_->cv.wait(lock, [this] { return life_->running == 0; });
  }
  Unsubscribe();
  hub_->Unregister(target_);
}

void EventChannel::SetStatus(const std::function<void(EventStats&)>& change) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    change(stats_);
  }
  if (callbacks_.on_status) callbacks_.on_status();
}

EventStats EventChannel::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Result<EventChannel::Service> EventChannel::ReadService(const std::string& api_root, const Budget& budget) {
  auto root = client_.Get(api_root, budget);
  if (!root) return MakeError("service root: " + root.error());
  Service s;
  std::string link = redfish::FindLink(*root, "EventService");
  if (link.empty()) return s;  // no EventService: nothing to do
  auto es = client_.Get(link, budget);
  if (!es) return MakeError("EventService: " + es.error());
  if (redfish::RedfishError(*es)) return s;
  s.enabled = redfish::Bool(*es, "ServiceEnabled").value_or(true);
  if (const Json* st = redfish::Child(*es, "Status")) {
    if (redfish::Str(*st, "State") == "Disabled") s.enabled = false;
  }
  s.sse_uri = redfish::Str(*es, "ServerSentEventUri");
  s.subscriptions = redfish::FindLink(*es, "Subscriptions");
  if (const Json* filters = redfish::Child(*es, "SSEFilterPropertiesSupported")) {
    s.filter_event_format = redfish::Bool(*filters, "EventFormatType").value_or(false);
  }
  if (const Json* types = redfish::Child(*es, "EventTypesForSubscription");
      types != nullptr && types->is_array()) {
    for (const Json& t : *types) {
      if (t.is_string()) s.event_types.push_back(t.get<std::string>());
    }
  }
  return s;
}

void EventChannel::Setup() {
  std::string api_root;
  {
    std::lock_guard<std::mutex> lock(mu_);
    api_root = api_root_;
  }
  auto service = ReadService(api_root, StepBudget());
  if (!service) {
    if (cancel_.Cancelled()) return;
    log::Warn("reading the EventService failed", {{"target", target_}, {"err", service.error()}});
    double wait;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wait = Backoff(setup_backoff_);
      setup_backoff_ = std::min(setup_backoff_ * 2, config_.reconnect_max_seconds);
    }
    Post(wait, [this] { Setup(); });
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    service_ = *service;
  }
  if (service->enabled && config_.sse && !service->sse_uri.empty()) {
    std::string uri = service->sse_uri;
    if (service->filter_event_format) {
      // Only events, not metric reports, where the service can filter (DSP0266 "Server-sent events").
      uri += std::string(uri.find('?') == std::string::npos ? "?" : "&") +
             "$filter=" + url::EncodeComponent("EventFormatType eq Event");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      sse_uri_ = uri;
    }
    SetStatus([](EventStats& s) { s.mode = "sse"; });
    Connect();
    return;
  }
  if (service->enabled && config_.push && !service->subscriptions.empty() && !destination_.empty()) {
    SetStatus([](EventStats& s) { s.mode = "push"; });
    hub_->Register(target_,
                   [this](const std::string& token, std::string_view body) { return Deliver(token, body); });
    TrySubscribe(config_.reconnect_min_seconds);
    return;
  }
  SetStatus([](EventStats& s) { s.mode = "none"; });
}

void EventChannel::TrySubscribe(double wait) {
  Service service;
  {
    std::lock_guard<std::mutex> lock(mu_);
    service = service_;
  }
  auto subscribed = Subscribe(service, StepBudget());
  if (subscribed) {
    SetStatus([](EventStats& s) { s.subscribed = true; });
    return;  // the BMC pushes from now on; Stop() deletes the subscription
  }
  if (cancel_.Cancelled()) return;
  log::Warn("creating the event subscription failed", {{"target", target_}, {"err", subscribed.error()}});
  const double next = std::min(wait * 2, config_.reconnect_max_seconds);
  Post(Backoff(wait), [this, next] { TrySubscribe(next); });
}

void EventChannel::Connect() {
  if (cancel_.Cancelled()) return;
  auto retry = [this] {
    double wait;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wait = Backoff(backoff_);
      backoff_ = std::min(backoff_ * 2, config_.reconnect_max_seconds);
    }
    Post(wait, [this] { Connect(); });
  };
  if (!hub_->AcquireStream()) {
    log::Debug("event stream waits: events.max_streams streams are open", {{"target", target_}});
    retry();
    return;
  }
  std::string uri, token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    uri = sse_uri_;
  }
  auto prepared = client_.Prepare(uri, "ServerSentEventUri", StepBudget(), &token);
  if (!prepared) {
    hub_->ReleaseStream();
    if (cancel_.Cancelled()) return;
    log::Warn("event stream not opened", {{"target", target_}, {"err", prepared.error()}});
    retry();
    return;
  }
  http::Request req;
  req.url = prepared->first.ToString();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!parser_.last_event_id().empty()) req.headers.emplace_back("Last-Event-ID", parser_.last_event_id());
    stream_connected_ = false;
  }
  sse::StreamOptions so;
  so.idle_timeout_seconds = config_.idle_timeout_seconds;
  sse::StreamCallbacks cb;
  auto life = life_;
  cb.on_open = [this, life](long status, const std::map<std::string, std::string>&) {
    if (!life->Enter()) return false;
    bool resync = false;
    if (status == 200) {
      std::lock_guard<std::mutex> lock(mu_);
      stream_connected_ = true;
      resync = had_stream_;
      had_stream_ = true;
      stats_.connected = true;
    }
    life->Leave();
    if (status != 200) return false;
    Post(0, [this, resync] {
      if (callbacks_.on_status) callbacks_.on_status();
      if (resync && callbacks_.on_resync) callbacks_.on_resync();
    });
    return true;
  };
  cb.on_data = [this, life](std::string_view bytes) {
    if (!life->Enter()) return false;
    std::vector<sse::Event> events;
    {
      std::lock_guard<std::mutex> lock(mu_);
      parser_.Feed(bytes, events);
    }
    life->Leave();
    if (!events.empty()) {
      // Reading the resources an event names blocks: not on the stream loop.
      std::vector<std::string> data;
      for (auto& e : events) data.push_back(std::move(e.data));
      Post(0, [this, data = std::move(data)] {
        for (const auto& d : data) Handle(d);
      });
    }
    return true;
  };
  const auto opened = Clock::now();
  EventHub* hub = hub_.get();
  auto on_end = [this, life, hub, opened, token](const sse::StreamEnd& end) {
    hub->ReleaseStream();  // always: the slot is the hub's, whatever became of the channel
    if (!life->Enter()) return;
    OnStreamEnd(end, opened, token);
    life->Leave();
  };
  const std::uint64_t id =
      hub_->loop().Open(req, prepared->second, so, cancel_, std::move(cb), std::move(on_end));
  std::lock_guard<std::mutex> lock(mu_);
  if (id != 0) stream_id_ = id;
}

void EventChannel::OnStreamEnd(const sse::StreamEnd& end, Clock::time_point opened,
                               const std::string& token) {
  bool connected;
  double wait;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connected = stream_connected_;
    stream_connected_ = false;
    stream_id_ = 0;
    parser_.Reset();
    if (connected) {
      stats_.connected = false;
      stats_.reconnects += 1;
      // A stream that lived a while was healthy: start the backoff over.
      if (std::chrono::duration<double>(Clock::now() - opened).count() >= 10)
        backoff_ = config_.reconnect_min_seconds;
    }
    wait = Backoff(backoff_);
    if (!connected) backoff_ = std::min(backoff_ * 2, config_.reconnect_max_seconds);
  }
  if (cancel_.Cancelled()) return;
  if (!connected) {
    log::Warn("event stream refused",
              {{"target", target_}, {"status", std::to_string(end.status)}, {"err", end.error}});
  }
  Post(0, [this, connected, status = end.status, token] {
    if (status == 401) client_.ForgetSession(token, StepBudget());
    if (connected && callbacks_.on_status) callbacks_.on_status();
  });
  Post(wait, [this] { Connect(); });
}

void EventChannel::Handle(std::string_view data) {
  auto records = ParseEventPayload(data);
  if (!records) {
    log::Debug("an event could not be read", {{"target", target_}, {"err", records.error()}});
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& r : *records) stats_.received[r.type] += 1;
    if (!records->empty()) stats_.last_event_unix = UnixNow();
  }
  for (const auto& r : *records) {
    if (callbacks_.on_event) callbacks_.on_event(r);
  }
  if (callbacks_.on_status) callbacks_.on_status();
}

Result<Ok> EventChannel::Subscribe(const Service& service, const Budget& budget) {
  const std::string prefix = kContextPrefix + target_ + ":";
  // Ours from an earlier run (same Destination, our Context prefix): reuse the first, delete the others.
  auto list = client_.Get(service.subscriptions, budget);
  if (!list) return MakeError("subscriptions: " + list.error());
  std::string found_uri, found_secret;
  int checked = 0;
  for (const auto& m : redfish::Members(*list)) {
    if (++checked > 64) break;
    Json body = m.body;
    if (body.is_null()) {
      auto got = client_.Get(m.uri, budget);
      if (!got) continue;
      body = std::move(*got);
    }
    const std::string context = redfish::Str(body, "Context");
    if (redfish::Str(body, "Destination") != destination_ || context.rfind(prefix, 0) != 0) continue;
    if (found_uri.empty()) {
      found_uri = m.uri;
      found_secret = context.substr(prefix.size());
    } else {
      (void)client_.Send("DELETE", m.uri, "", budget);  // a duplicate of ours
    }
  }
  if (!found_uri.empty() && !found_secret.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    secret_ = found_secret;
    subscription_uri_ = found_uri;
    log::Info("reusing our event subscription", {{"target", target_}});
    return Ok{};
  }
  const std::string secret = RandomSecret();
  Json request = {{"Destination", destination_},
                  {"Protocol", "Redfish"},
                  {"Context", prefix + secret},
                  {"HttpHeaders", Json::array({Json{{kTokenHeader, secret}}})}};
  // Older services (Redfish < 1.6, e.g. iLO 5) insist on EventTypes; newer ones deprecate it.
  std::vector<std::string> types;
  for (const char* t : {"Alert", "StatusChange", "ResourceUpdated"}) {
    if (std::find(service.event_types.begin(), service.event_types.end(), t) != service.event_types.end())
      types.emplace_back(t);
  }
  if (!types.empty()) request["EventTypes"] = types;
  {
    std::lock_guard<std::mutex> lock(mu_);
    secret_ = secret;  // set before the POST: the BMC may send a test event at once
  }
  auto resp = client_.Send("POST", service.subscriptions, DumpJson(request), budget);
  if (!resp) return MakeError(resp.error());
  if (resp->status < 200 || resp->status >= 300) {
    return MakeError("POST subscription: HTTP " + std::to_string(resp->status));
  }
  std::string uri = resp->Header("location");
  if (uri.empty()) {
    if (auto body = redfish::ParseBody(resp->body)) uri = redfish::Str(*body, "@odata.id");
  }
  std::lock_guard<std::mutex> lock(mu_);
  subscription_uri_ = uri;
  return Ok{};
}

void EventChannel::Unsubscribe() {
  std::string uri;
  {
    std::lock_guard<std::mutex> lock(mu_);
    uri.swap(subscription_uri_);
    stats_.subscribed = false;
  }
  if (uri.empty()) return;
  Budget budget;
  budget.deadline = Clock::now() + std::chrono::seconds(5);
  auto resp = client_.Send("DELETE", uri, "", budget);
  if (!resp || (resp->status >= 300 && resp->status != 404)) {
    log::Warn("deleting the event subscription failed",
              {{"target", target_}, {"err", resp ? "HTTP " + std::to_string(resp->status) : resp.error()}});
  }
}

int EventChannel::Deliver(const std::string& token, std::string_view body) {
  if (!life_->Enter()) return 404;  // stopping
  struct Leave {
    Life* life;
    ~Leave() { life->Leave(); }
  } leave{life_.get()};
  std::string context;
  auto records = ParseEventPayload(body, &context);
  std::string secret;
  {
    std::lock_guard<std::mutex> lock(mu_);
    secret = secret_;
  }
  const std::string prefix = kContextPrefix + target_ + ":";
  const bool by_header = SameSecret(token, secret);
  const bool by_context = context.rfind(prefix, 0) == 0 && SameSecret(context.substr(prefix.size()), secret);
  if (!by_header && !by_context) {
    SetStatus([](EventStats& s) { s.refused += 1; });
    return 401;
  }
  if (!records) return 400;
  // The re-reads an event causes take a while: the BMC's POST is answered at once.
  Post(0, [this, text = std::string(body)] { Handle(text); });
  return 204;
}

metrics::Families EventChannel::Families(const metrics::Labels& base) const {
  const EventStats s = Stats();
  auto received =
      metrics::Counter("estate_hardware_events_received_total",
                       "Redfish events received from this BMC, by event type (Alert, StatusChange, "
                       "ResourceUpdated, ResourceAdded, ResourceRemoved, Other).");
  auto connected =
      metrics::Gauge("estate_hardware_event_stream_connected",
                     "1 while the SSE event stream of this BMC is open, else 0 (SSE mode only).");
  auto last = metrics::Gauge("estate_hardware_event_last_timestamp_seconds",
                             "Unix time of the last event received from this BMC (absent before the first).");
  auto subscribed = metrics::Gauge("estate_hardware_event_subscription_active",
                                   "1 while our push subscription (EventDestination) is in place on this BMC "
                                   "(push mode only).");
  auto reconnects = metrics::Counter("estate_hardware_event_stream_reconnects_total",
                                     "SSE event streams of this BMC that ended (and were opened again).");
  auto refused = metrics::Counter("estate_hardware_events_refused_total",
                                  "Pushed events refused for a wrong or missing subscription secret.");
  auto mode = metrics::Gauge("estate_hardware_event_mode_info",
                             "How events arrive from this BMC: mode sse, push or none (no EventService, or "
                             "disabled, or the mode it offers is off in config).");
  if (!s.mode.empty())
    metrics::Add(
        mode,
        [&] {
          auto l = base;
          l.emplace_back("mode", s.mode);
          return l;
        }(),
        1);
  for (const char* type :
       {"Alert", "StatusChange", "ResourceUpdated", "ResourceAdded", "ResourceRemoved", "Other"}) {
    auto l = base;
    l.emplace_back("type", type);
    auto it = s.received.find(type);
    metrics::Add(received, l, it == s.received.end() ? 0 : it->second);
  }
  if (s.mode == "sse") {
    metrics::Add(connected, base, s.connected ? 1 : 0);
    metrics::Add(reconnects, base, s.reconnects);
  }
  if (s.mode == "push") {
    metrics::Add(subscribed, base, s.subscribed ? 1 : 0);
    metrics::Add(refused, base, s.refused);
  }
  if (s.last_event_unix > 0) metrics::Add(last, base, s.last_event_unix);
  metrics::Families out;
  for (auto* f : {&last, &mode, &connected, &reconnects, &subscribed, &refused, &received}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace estate::hardware
