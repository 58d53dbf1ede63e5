// TargetState's Redfish event handling and the exporter's push receiver (see redfish_events.h): kept apart
// from hardware_exporter.cpp, which owns the polls.
#include <algorithm>
#include <chrono>

#include "estate/log.h"
#include "hardware_exporter.h"

namespace estate::hardware {

namespace {

bool LockFor(std::timed_mutex& mu, const Budget& budget) {
  while (!budget.Expired()) {
    if (mu.try_lock_for(std::chrono::milliseconds(50))) return true;
  }
  return false;
}

}  // namespace

void TargetState::AttachEvents(const EventsConfig& config, std::shared_ptr<EventHub> hub, EventSink sink) {
  if (events_) return;  // a target kept across a reload keeps its channel
  sink_ = std::move(sink);
  events_config_ = config;
  EventChannel::Callbacks cb;
  cb.on_event = [this](const RedfishEvent& event) { OnEvent(event); };
  cb.on_status = [this] {
    if (sink_.publish) sink_.publish("events", EventFamilies());
  };
  // A stream that broke may have missed events: an early slow poll covers them (rate-limited).
  cb.on_resync = [this] { RunEarly("slow", true); };
  events_ = std::make_unique<EventChannel>(target_.name, config, *redfish_, std::move(hub), std::move(cb));
}

metrics::Families TargetState::EventFamilies() const {
  if (!events_) return {};
  return events_->Families(base_);
}

void TargetState::RunEarly(const std::string& group, bool resync) {
  const double min_interval =
      resync ? events_config_.resync_min_interval_seconds : events_config_.fallback_min_interval_seconds;
  {
    std::lock_guard<std::mutex> lock(early_mu_);
    auto now = Clock::now();
    auto it = early_runs_.find(group);
    if (it != early_runs_.end() && now - it->second < std::chrono::duration<double>(min_interval)) return;
    early_runs_[group] = now;
  }
  if (sink_.run_soon) sink_.run_soon(group);
}

void TargetState::OnEvent(const RedfishEvent& event) {
  if (event.origins.empty()) {
    // Nothing named: only an alert is worth an early look (a ResourceUpdated without origin says nothing).
    if (event.type == "Alert" || event.type == "StatusChange") RunEarly("slow", false);
    return;
  }
  for (const std::string& origin : event.origins) {
    Budget budget;
    budget.deadline = Clock::now() + std::chrono::seconds(15);
    if (!LockFor(poll_mu_, budget)) {
      RunEarly(GroupOfPath(origin), false);
      continue;
    }
    std::lock_guard<std::timed_mutex> lock(poll_mu_, std::adopt_lock);
    if (kind_ != Kind::kRedfish || !has_slow_) return;  // nothing to patch yet; the first polls come anyway
    auto body = redfish_->Get(origin, budget);
    if (!body || redfish::RedfishError(*body)) {
      log::Debug("re-reading an event's resource failed", {{"target", target_.name},
                                                           {"resource", url::Describe(origin)},
                                                           {"err", body ? "error body" : body.error()}});
      RunEarly(GroupOfPath(origin), false);
      continue;
    }
    const PatchResult patched = PatchFindings(*body, last_fast_, last_slow_);
    if (!patched.fast && !patched.slow) {
      RunEarly(GroupOfPath(origin), false);
      continue;
    }
    if (!sink_.publish) continue;
    if (patched.slow) sink_.publish("slow", BuildFamilies(last_slow_, base_, last_slow_poll_, nullptr));
    // The fast group owns computed health, which a slow-group change (a drive, a battery) moves too.
    const Findings merged = MergedView();
    sink_.publish("fast", BuildFamilies(last_fast_, base_, last_fast_poll_, &merged, has_slow_));
  }
}

void AddEventsJob(Plan& plan, const HardwareConfig& config, const TargetConfig& target,
                  const std::shared_ptr<TargetState>& state, const Services& services,
                  const std::shared_ptr<EventHub>& hub) {
  TargetState::EventSink sink;
  const std::string name = target.name;
  if (services.publish) {
    auto publish = services.publish;
    sink.publish = [publish, name](const std::string& group, const metrics::Families& families) {
      return publish(name, group, families);
    };
  }
  if (services.run_soon) {
    auto run_soon = services.run_soon;
    sink.run_soon = [run_soon, name](const std::string& group) { return run_soon(name, group); };
  }
  state->AttachEvents(config.events, hub, std::move(sink));
  JobSpec job;
  job.source = target.name;
  job.group = "events";
  job.interval_seconds = 60;
  job.fingerprint = Fingerprint(config, target);
  job.collect = [state](const Budget&) -> Result<metrics::Families> { return state->EventFamilies(); };
  plan.jobs.push_back(std::move(job));
}

void HardwareExporter::AddRoutes(web::HttpServer& server, const Services&) {
  web::RouteOptions options;
  options.max_body_bytes = 256u << 10;  // an Event with 64 records is a few tens of KiB
  server.Route(
      "/events/redfish", {"POST"},
      [hub = hub_](const web::HttpRequest& req) {
        web::HttpResponse resp;
        if (req.body_too_large || req.body_incomplete) {
          resp.status = 413;
          resp.body = "event too large or incomplete\n";
          return resp;
        }
        resp.status =
            hub ? hub->Receive(req.Param("target"), req.Header("x-estate-event-token"), req.body) : 404;
        if (resp.status >= 400)
          resp.body = resp.status == 401 ? "wrong subscription secret\n" : "not accepted\n";
        return resp;
      },
      options);
}

}  // namespace estate::hardware
