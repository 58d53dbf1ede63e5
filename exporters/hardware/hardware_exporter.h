// The hardware exporter: turns the config into two background jobs per BMC ("fast": sensors and power;
// "slow": topology rediscovery, identity, storage, inventory, firmware, event logs) that share one
// TargetState (protocol detection, Redfish session, last topology, log cursors, last findings), plus
// /probe?target= for scrape-time collection of a configured target.
//
// Thread-safety: Load() runs on the control thread. TargetState is thread-safe: its jobs and probes may run
// on any worker; polls of one target are serialised (one BMC never sees two of our polls at once).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>

#include "estate/app.h"
#include "hardware_config.h"
#include "hardware_metrics.h"
#include "redfish_client.h"
#include "redfish_events.h"
#include "ribcl_client.h"

namespace estate::hardware {

// Global limit on polls in flight across all BMCs.
class PollLimiter {
 public:
  explicit PollLimiter(int limit) : sem_(limit) {}
  // Waits for a slot until the budget expires; false when none came.
  bool Acquire(const Budget& budget);
  void Release() { sem_.release(); }

 private:
  std::counting_semaphore<1 << 16> sem_;
};

class TargetState {
 public:
  TargetState(const HardwareConfig& config, const TargetConfig& target, http::HttpClient& http,
              std::shared_ptr<PollLimiter> limiter);

  Result<metrics::Families> PollFast(const Budget& budget);
  Result<metrics::Families> PollSlow(const Budget& budget);
  // Everything at once for /probe (module "fast" or "slow" restricts it).
  Result<metrics::Families> Probe(const std::string& module, const Budget& budget);
  // Logs out of the Redfish session (DELETE). The state stays usable: a later poll logs in again.
  void Shutdown();

  const metrics::Labels& labels() const { return base_; }

  // Redfish events (target_events.cpp). Where to send data changed outside the schedule.
  struct EventSink {
    std::function<bool(const std::string& group, const metrics::Families& families)> publish;
    std::function<bool(const std::string& group)> run_soon;
  };
  // Sets up the event channel (started after the first successful slow poll of a Redfish BMC).
  void AttachEvents(const EventsConfig& config, std::shared_ptr<EventHub> hub, EventSink sink);
  // Re-reads the resources an event names, patches the last findings and republishes the groups they belong
  // to; an event that names nothing known runs the group early instead (rate-limited).
  void OnEvent(const RedfishEvent& event);
  // The estate_hardware_event_* families (the "events" job); empty without a channel.
  metrics::Families EventFamilies() const;
  EventChannel* events() { return events_.get(); }

 private:
  enum class Kind { kUnknown, kRedfish, kRibcl };
  Result<Ok> Detect(const Budget& budget);  // caller holds poll_mu_
  // Discover() into topology_; on failure the protocol is detected again next time (auto), and the error
  // names what was wrong with the Redfish root that detection passed over, if any. Caller holds poll_mu_.
  Result<Ok> Rediscover(RedfishCollector& collector);
  Result<Findings> Fast(const Budget& budget, PollInfo& poll);
  Result<Findings> Slow(const Budget& budget, PollInfo& poll);
  // Serves again, from `before`, what depended on the resources whose reads failed in this poll, and fills
  // the poll's completeness figures.
  void KeepLastGood(Findings& now, const Findings& before, const RedfishCollector& collector,
                    PollInfo& poll) const;
  int Requests() const;
  // last_slow_ with last_fast_ merged over it, for the health families (see the .cpp). Caller holds poll_mu_.
  Findings MergedView() const;

  TargetConfig target_;
  bool use_expand_;
  double last_good_max_age_;
  std::shared_ptr<PollLimiter> limiter_;
  metrics::Labels base_;
  std::unique_ptr<RedfishClient> redfish_;
  std::unique_ptr<RibclClient> ribcl_;

  std::timed_mutex poll_mu_;  // serialises polls of this BMC; guards everything below
  Kind kind_ = Kind::kUnknown;
  std::string api_root_;
  // Why the first Redfish root that answered was unusable (a garbage body, a Redfish error body) when
  // detection went on to a fallback root: the cause to report if the fallback fails too, not the fallback's
  // own 404.
  std::string root_problem_;
  Topology topology_;
  std::map<std::string, LogCursor> cursors_;
  RibclLogState ribcl_log_;
  Findings last_fast_;
  Findings last_slow_;
  bool has_slow_ = false;  // a slow poll has succeeded: last_slow_ holds real storage and inventory
  PollInfo last_fast_poll_{"fast", 0, 0};  // for republishing after an event
  PollInfo last_slow_poll_{"slow", 0, 0};

  // Events (target_events.cpp). Last member: destroyed (its thread joined) before everything it uses.
  void RunEarly(const std::string& group, bool resync);
  EventSink sink_;
  std::mutex early_mu_;
  std::map<std::string, Clock::time_point> early_runs_;  // by group: rate limit of RunEarly
  EventsConfig events_config_;
  std::unique_ptr<EventChannel> events_;
};

class HardwareExporter final : public Exporter {
 public:
  Result<Plan> Load(const std::string& config_path, const Services& services) override;

  // Builds the plan from an already parsed config (tests use this with their own HttpClient).
  Plan BuildPlan(const HardwareConfig& config, http::HttpClient& http);
  // The push receiver: POST /events/redfish?target=NAME.
  void AddRoutes(web::HttpServer& server, const Services& services) override;
  // Where events publish (Load sets it from the app's services; tests may set their own).
  void SetServices(const Services& services) { services_ = services; }
  std::shared_ptr<EventHub> hub() const { return hub_; }

 private:
  struct Entry {
    std::string fingerprint;
    std::shared_ptr<TargetState> state;
  };
  std::map<std::string, Entry> states_;  // by target name; reused across reloads when unchanged
  std::shared_ptr<PollLimiter> limiter_;
  int limiter_size_ = 0;
  Services services_;
  std::shared_ptr<EventHub> hub_;
};

// Adds a target's "events" job (its estate_hardware_event_* families, republished on every change) and
// attaches its event channel (target_events.cpp).
void AddEventsJob(Plan& plan, const HardwareConfig& config, const TargetConfig& target,
                  const std::shared_ptr<TargetState>& state, const Services& services,
                  const std::shared_ptr<EventHub>& hub);

// The exporter's identity for RunExporter.
ExporterInfo HardwareExporterInfo();

}  // namespace estate::hardware
