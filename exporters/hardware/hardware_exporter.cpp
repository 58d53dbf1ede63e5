#include "hardware_exporter.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "estate/log.h"

namespace estate::hardware {

namespace {

// Releases a PollLimiter slot on scope exit.
class SlotGuard {
 public:
  explicit SlotGuard(PollLimiter* limiter) : limiter_(limiter) {}
  ~SlotGuard() {
    if (limiter_ != nullptr) limiter_->Release();
  }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  PollLimiter* limiter_;
};

bool LockWithin(std::timed_mutex& mu, const Budget& budget) {
  while (!budget.Expired()) {
    if (mu.try_lock_for(std::chrono::milliseconds(50))) return true;
  }
  return false;
}

}  // namespace

bool PollLimiter::Acquire(const Budget& budget) {
  while (!budget.Expired()) {
    if (sem_.try_acquire_for(std::chrono::milliseconds(50))) return true;
  }
  return false;
}

TargetState::TargetState(const HardwareConfig& config, const TargetConfig& target, http::HttpClient& http,
                         std::shared_ptr<PollLimiter> limiter)
    : target_(target),
      use_expand_(config.use_expand),
      last_good_max_age_(config.last_good_max_age_seconds),
      limiter_(std::move(limiter)) {
  base_.emplace_back("target", target.name);
  for (const auto& [k, v] : target.labels) base_.emplace_back(k, v);

  http::ClientOptions options;
  options.source = target.name;
  options.timeout_seconds = config.request_timeout_seconds;
  options.connect_timeout_seconds = std::min(5.0, config.request_timeout_seconds);
  options.ca_file = target.ca_file;
  options.insecure_skip_verify = target.insecure;
  options.max_concurrent_per_host = config.max_requests_per_bmc;
  options.max_body_bytes = 32u << 20;  // the largest real log collections are well under 1 MiB

  const AuthSet* auth = config.FindAuth(target.auth);
  const std::string base_url = BaseUrl(target.address);
  RedfishSettings rs;
  rs.base_url = base_url;
  rs.options = options;
  rs.use_sessions = target.sessions;
  RibclSettings ribcl;
  ribcl.base_url = base_url;
  ribcl.options = options;
  if (auth != nullptr) {
    rs.username = ribcl.username = auth->username;
    rs.password = ribcl.password = auth->password;
  }
  redfish_ = std::make_unique<RedfishClient>(http, rs);
  ribcl_ = std::make_unique<RibclClient>(http, ribcl);
}

int TargetState::Requests() const { return redfish_->requests() + ribcl_->requests(); }

Result<Ok> TargetState::Detect(const Budget& budget) {
  if (kind_ != Kind::kUnknown) return Ok{};
  if (target_.protocol == Protocol::kRibcl) {
    kind_ = Kind::kRibcl;
    return Ok{};
  }
  if (target_.protocol == Protocol::kRedfish) {
    kind_ = Kind::kRedfish;
    api_root_ = target_.api_root.empty() ? "/redfish/v1" : target_.api_root;
    return Ok{};
  }
  // auto: the Redfish root needs no credentials; then iLO 4's HP REST root; then RIBCL's /xmldata.
  std::string last_error;
  root_problem_.clear();
  for (const std::string& root : {target_.api_root, std::string("/redfish/v1"), std::string("/rest/v1")}) {
    if (root.empty()) continue;
    auto resp = redfish_->GetAnonymous(root, budget);
    if (!resp) {
      last_error = resp.error();
      if (budget.Expired()) break;
      continue;
    }
    if (resp->status == 200) {
      auto body = redfish::ParseBody(resp->body);
      std::optional<std::string> error;
      if (body) error = redfish::RedfishError(*body);
      if (body && !error) {
        kind_ = Kind::kRedfish;
        api_root_ = root;
        return Ok{};
      }
      // A root that answers 200 with garbage is the real problem; the fallbacks' 404s would only hide it.
      last_error = "service root " + root + ": " + (body ? "Redfish error body: " + *error : body.error());
      if (root_problem_.empty()) root_problem_ = last_error;
      continue;
    }
    if (resp->status == 401 || resp->status == 403) {  // a root behind auth is still a Redfish root
      kind_ = Kind::kRedfish;
      api_root_ = root;
      return Ok{};
    }
    last_error = root + ": HTTP " + std::to_string(resp->status);
  }
  auto xml = ribcl_->XmlData(budget);
  if (xml) {
    kind_ = Kind::kRibcl;
    return Ok{};
  }
  const std::string& cause = !root_problem_.empty() ? root_problem_ : last_error;
  return MakeError("protocol detection failed (no Redfish root, no RIBCL /xmldata): " +
                   (cause.empty() ? xml.error() : cause));
}

namespace {

// Adds to `into` the entries of `from` it lacks (by resource key), so that what a discovery could not read
// stays in the topology until a discovery that read everything no longer lists it.
void AddMissing(std::vector<std::string>& into, const std::vector<std::string>& from) {
  for (const auto& uri : from) {
    const std::string key = redfish::PathKey(uri);
    if (std::none_of(into.begin(), into.end(),
                     [&](const std::string& u) { return redfish::PathKey(u) == key; }))
      into.push_back(uri);
  }
}

void KeepUnconfirmed(Topology& now, const Topology& before) {
  if (!before.valid) return;
  AddMissing(now.managers, before.managers);
  AddMissing(now.storage, before.storage);
  AddMissing(now.array_controllers, before.array_controllers);
  for (const auto& c : before.chassis) {
    const std::string key = redfish::PathKey(c.uri);
    if (std::none_of(now.chassis.begin(), now.chassis.end(),
                     [&](const Topology::Chassis& x) { return redfish::PathKey(x.uri) == key; }))
      now.chassis.push_back(c);
  }
  for (const auto& log : before.logs) {
    if (std::find(now.logs.begin(), now.logs.end(), log) == now.logs.end()) now.logs.push_back(log);
  }
  if (now.memory.empty()) now.memory = before.memory;
  if (now.processors.empty()) now.processors = before.processors;
  if (now.firmware_inventory.empty()) now.firmware_inventory = before.firmware_inventory;
}

double NowUnix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<Ok> TargetState::Rediscover(RedfishCollector& collector) {
  const int failed_before = collector.failed();
  auto topo = collector.Discover(api_root_);
  if (!topo) {
    if (target_.protocol == Protocol::kAuto) kind_ = Kind::kUnknown;
    // The root that was passed over comes first: with it the fallback's own failure (typically a 404) is
    // expected and says little.
    if (!root_problem_.empty())
      return MakeError(root_problem_ + "; " + api_root_ + " tried instead: " + topo.error());
    return MakeError(topo.error());
  }
  // A discovery in which a read failed confirms nothing about what it did not see: what was there before
  // stays, and its reads fail (or succeed) in the poll itself.
  if (collector.failed() > failed_before) KeepUnconfirmed(*topo, topology_);
  topology_ = *topo;
  if (!topology_.root.sessions.empty()) redfish_->SetSessionsPath(topology_.root.sessions);
  return Ok{};
}

void TargetState::KeepLastGood(Findings& now, const Findings& before, const RedfishCollector& collector,
                               PollInfo& poll) const {
  poll.failed_requests = collector.failed();
  poll.not_present = collector.not_present();
  const double now_unix = NowUnix();
  CarryStats carried = CarryOver(now, before, collector.failed_resources(), now_unix, last_good_max_age_);
  poll.stale_resources = static_cast<int>(carried.resources.size());
  poll.stale_age_seconds =
      carried.oldest_read_unix > 0 ? std::max(0.0, now_unix - carried.oldest_read_unix) : 0;
  if (collector.failed() > 0) {
    log::Warn("partial poll: serving the last good data of what failed",
              {{"target", target_.name},
               {"group", poll.group},
               {"failed_requests", std::to_string(collector.failed())},
               {"stale_resources", std::to_string(poll.stale_resources)},
               {"first_error", collector.problems().empty() ? std::string() : collector.problems().front()}});
  }
}

Result<Findings> TargetState::Fast(const Budget& budget, PollInfo& poll) {
  const int before = Requests();
  auto detected = Detect(budget);
  if (!detected) return MakeError(detected.error());
  Result<Findings> out = MakeError("not collected");
  if (kind_ == Kind::kRibcl) {
    out = RibclCollectFast([&](const RibclBlocks& b) { return ribcl_->Command(b, budget); });
  } else {
    RedfishCollector::Options opt;
    opt.use_expand = use_expand_;
    RedfishCollector collector([&](const std::string& uri) { return redfish_->Get(uri, budget); }, opt);
    if (!topology_.valid) {
      if (auto found = Rediscover(collector); !found) return MakeError(found.error());
    }
    collector.SetKnown(KnownResources(last_fast_));
    out = collector.CollectFast(topology_);
    if (out) KeepLastGood(*out, last_fast_, collector, poll);
    if (!out) topology_.valid = false;  // rediscover next time
  }
  poll.requests = Requests() - before;
  return out;
}

Result<Findings> TargetState::Slow(const Budget& budget, PollInfo& poll) {
  const int before = Requests();
  auto detected = Detect(budget);
  if (!detected) return MakeError(detected.error());
  Result<Findings> out = MakeError("not collected");
  if (kind_ == Kind::kRibcl) {
    out = RibclCollectSlow([&](const RibclBlocks& b) { return ribcl_->Command(b, budget); },
                           [&]() { return ribcl_->XmlData(budget); }, ribcl_log_);
  } else {
    RedfishCollector::Options opt;
    opt.use_expand = use_expand_;
    RedfishCollector collector([&](const std::string& uri) { return redfish_->Get(uri, budget); }, opt);
    // Topology is rediscovered on every slow cycle (and only then); the bodies fetched for it are reused.
    collector.SetKnown(KnownResources(last_slow_));
    if (auto found = Rediscover(collector); !found) return MakeError(found.error());
    out = collector.CollectSlow(topology_, cursors_);
    if (out) KeepLastGood(*out, last_slow_, collector, poll);
  }
  poll.requests = Requests() - before;
  return out;
}

// Who emits the health families. Computed (worst-of-leaves) health needs both groups' leaves: fans,
// temperatures, PSUs and the resources' own health come from the fast poll, storage, batteries, DIMMs and
// CPUs from the slow one. The refresher merges the jobs' snapshots by family, so a series emitted by both
// jobs would be a duplicate; exactly one job has to own reported_health and computed_health. The fast job
// owns them, computed from the merged fast+slow model: fan, PSU and temperature faults must reach computed
// health at fast cadence, while a slow-group change is only observed once per slow interval anyway and
// reaches computed health at the next fast poll (at most one fast interval later). Until a slow poll has
// succeeded, the merged model has no storage or inventory, and worst-of-leaves would claim OK while a drive
// is critical: computed health is then not emitted at all (reported health, which comes from the fast poll
// alone, still is).
Findings TargetState::MergedView() const {
  Findings merged = last_slow_;
  MergeInto(merged, last_fast_);
  return merged;
}

Result<metrics::Families> TargetState::PollFast(const Budget& budget) {
  if (limiter_ && !limiter_->Acquire(budget)) return MakeError("no poll slot before the deadline");
  SlotGuard slot(limiter_.get());
  if (!LockWithin(poll_mu_, budget)) return MakeError("previous poll of this BMC still running");
  std::lock_guard<std::timed_mutex> lock(poll_mu_, std::adopt_lock);
  PollInfo poll{"fast", 0, 0};
  auto fast = Fast(budget, poll);
  if (!fast) return MakeError(fast.error());
  last_fast_ = *fast;
  last_fast_poll_ = poll;
  const Findings merged = MergedView();
  return BuildFamilies(last_fast_, base_, poll, &merged, has_slow_);
}

Result<metrics::Families> TargetState::PollSlow(const Budget& budget) {
  if (limiter_ && !limiter_->Acquire(budget)) return MakeError("no poll slot before the deadline");
  SlotGuard slot(limiter_.get());
  if (!LockWithin(poll_mu_, budget)) return MakeError("previous poll of this BMC still running");
  std::lock_guard<std::timed_mutex> lock(poll_mu_, std::adopt_lock);
  PollInfo poll{"slow", 0, 0};
  auto slow = Slow(budget, poll);
  if (!slow) return MakeError(slow.error());
  last_slow_ = *slow;
  has_slow_ = true;
  last_slow_poll_ = poll;
  if (events_ && kind_ == Kind::kRedfish) events_->Start(api_root_);
  return BuildFamilies(last_slow_, base_, poll, nullptr);
}

Result<metrics::Families> TargetState::Probe(const std::string& module, const Budget& budget) {
  if (!LockWithin(poll_mu_, budget)) return MakeError("a poll of this BMC is running");
  std::lock_guard<std::timed_mutex> lock(poll_mu_, std::adopt_lock);
  metrics::Families out;
  const bool want_slow = module.empty() || module == "slow" || module == "all";
  const bool want_fast = module.empty() || module == "fast" || module == "all";
  if (!want_slow && !want_fast) return MakeError("unknown module \"" + module + "\" (fast, slow or all)");
  if (want_slow) {
    PollInfo poll{"slow", 0, 0};
    auto slow = Slow(budget, poll);
    if (!slow) return MakeError(slow.error());
    last_slow_ = *slow;
    has_slow_ = true;
    out = BuildFamilies(last_slow_, base_, poll, nullptr);
  }
  if (want_fast) {
    PollInfo poll{"fast", 0, 0};
    auto fast = Fast(budget, poll);
    if (!fast) return MakeError(fast.error());
    last_fast_ = *fast;
    const Findings merged = MergedView();
    auto more = BuildFamilies(last_fast_, base_, poll, &merged, has_slow_);
    // Families of the same name from both groups are merged into one so the exposition stays valid.
    for (auto& f : more) {
      auto it =
          std::find_if(out.begin(), out.end(), [&](const metrics::Family& x) { return x.name == f.name; });
      if (it == out.end()) {
        out.push_back(std::move(f));
      } else {
        it->metric.insert(it->metric.end(), f.metric.begin(), f.metric.end());
      }
    }
  }
  return out;
}

void TargetState::Shutdown() {
  if (events_) events_->Stop();  // deletes a push subscription while the session still exists
  Budget budget;
  budget.deadline = Clock::now() + std::chrono::seconds(5);
  redfish_->Logout(budget);
}

Plan HardwareExporter::BuildPlan(const HardwareConfig& config, http::HttpClient& http) {
  if (!hub_) hub_ = std::make_shared<EventHub>(config.events.max_streams);
  hub_->SetMaxStreams(config.events.max_streams);
  if (!limiter_ || limiter_size_ != config.max_concurrent_polls) {
    limiter_ = std::make_shared<PollLimiter>(config.max_concurrent_polls);
    limiter_size_ = config.max_concurrent_polls;
  }
  std::map<std::string, Entry> next;
  Plan plan;
  for (const auto& t : config.targets) {
    const std::string fp = Fingerprint(config, t);
    std::shared_ptr<TargetState> state;
    if (auto it = states_.find(t.name); it != states_.end() && it->second.fingerprint == fp) {
      state = it->second.state;
    } else {
      state = std::make_shared<TargetState>(config, t, http, limiter_);
    }
    next[t.name] = Entry{fp, state};
    const double fast = t.fast_interval_seconds > 0 ? t.fast_interval_seconds : config.fast_interval_seconds;
    const double slow = t.slow_interval_seconds > 0 ? t.slow_interval_seconds : config.slow_interval_seconds;
    JobSpec fast_job;
    fast_job.source = t.name;
    fast_job.group = "fast";
    fast_job.interval_seconds = fast;
    fast_job.fingerprint = fp;
    fast_job.collect = [state](const Budget& b) { return state->PollFast(b); };
    fast_job.on_remove = [state] { state->Shutdown(); };
    JobSpec slow_job = fast_job;
    slow_job.group = "slow";
    slow_job.interval_seconds = slow;
    slow_job.collect = [state](const Budget& b) { return state->PollSlow(b); };
    plan.jobs.push_back(std::move(fast_job));
    plan.jobs.push_back(std::move(slow_job));
    if (config.events.Enabled() && t.events) AddEventsJob(plan, config, t, state, services_, hub_);
  }
  states_ = std::move(next);
  auto targets = std::make_shared<std::map<std::string, std::shared_ptr<TargetState>>>();
  for (const auto& [name, e] : states_) (*targets)[name] = e.state;
  plan.has_target = [targets](const std::string& target, const std::string&) {
    return targets->count(target) != 0;
  };
  plan.probe = [targets](const std::string& target, const std::string& module,
                         const Budget& budget) -> Result<metrics::Families> {
    auto it = targets->find(target);
    if (it == targets->end()) return MakeError("unknown target \"" + target + "\"");
    return it->second->Probe(module, budget);
  };
  plan.landing_html =
      "<p>Probe a configured BMC: <code>/probe?target=&lt;name&gt;[&amp;module=fast|slow]</code></p>";
  return plan;
}

Result<Plan> HardwareExporter::Load(const std::string& config_path, const Services& services) {
  auto config = LoadConfig(config_path);
  if (!config) return MakeError(config.error());
  if (services.http == nullptr) return MakeError("no HTTP client");
  config->events.receiver_url = ReceiverUrlForShard(config->events.receiver_url, services.shard_ordinal);
  services_ = services;
  for (const auto& t : config->targets) {
    if (t.insecure) log::Warn("BMC TLS verification disabled by config", {{"target", t.name}});
  }
  Plan plan = BuildPlan(*config, *services.http);
  plan.allow_empty = config->allow_empty;
  return plan;
}

ExporterInfo HardwareExporterInfo() {
  ExporterInfo info;
  info.name = "hardware";
  info.ns = "estate_hardware";
  info.description =
      "BMC hardware health (Redfish and HPE iLO RIBCL): batteries, caches, drives, sensors, power";
  info.default_listen = ":9840";
  info.default_config = "/etc/estate/hardware.yml";
  info.source_label = "target";
  info.refresh_workers = 32;
  info.shardable = true;
  return info;
}

}  // namespace estate::hardware
