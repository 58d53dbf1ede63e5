// Redfish events for the hardware exporter: faults in seconds instead of a poll interval.
//
//  * Pure parts (no I/O): ParseEventPayload() reads an Event body (as an SSE "data" field or a push POST
//  carries
//    it) into records with the resources they name (OriginOfCondition, message args that are Redfish paths);
//    PatchFindings() re-parses one re-read resource with the redfish_parse functions, dispatching on its
//    @odata.type, and replaces the matching components of the last findings by key.
//  * EventChannel: one per BMC, without a thread of its own: its steps run on the hub's few workers and its
//    stream on the hub's one sse::StreamLoop thread. After the first successful slow poll it reads the
//    EventService once and then either keeps one SSE stream open (ServerSentEventUri, resolved through the
//    same url::Resolve origin check and the same session as the polls; filtered with $filter where the
//    service allows it; reconnected with capped exponential backoff and jitter, sending Last-Event-ID) or,
//    where only push subscriptions exist and config allows, finds or creates one EventDestination of ours
//    (Destination = the receiver URL with ?target=, Context = "estate-hardware:<target>:<secret>", the secret
//    also in HttpHeaders) and deletes it at Stop(). Every event goes to the owner's callback; status changes
//    too (for the metrics).
//  * EventHub: what all channels share: the bound on open streams and the push receiver's lookup by target.
//
// Events never replace polling: a resource an event names is re-read at once, and everything else waits for
// the schedule.
//
// Thread-safety: EventChannel and EventHub are thread-safe; a channel's stream runs on a thread of its own
// and its callbacks are called from that thread (or from the HTTP worker that received a push).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "estate/metrics.h"
#include "estate/result.h"
#include "estate/sse.h"
#include "hardware_config.h"
#include "hardware_model.h"
#include "redfish_client.h"
#include "redfish_parse.h"

namespace estate::hardware {

// One event record.
struct RedfishEvent {
  std::string type;        // the bounded label value: see EventTypeLabel
  std::string message_id;  // "Base.1.8.ResourceChanged", "StorageDevice.1.2.DriveFailure", ...
  std::string severity;
  std::vector<std::string> origins;  // Redfish paths the record names, OriginOfCondition first
};

// Records of an Event resource ({"Events": [...]}), at most 64; an error for anything that is not JSON with
// an Events array. `context` gets the payload's Context (push receivers check it). Never throws.
Result<std::vector<RedfishEvent>> ParseEventPayload(std::string_view body, std::string* context = nullptr);
// EventType (and, for Redfish 1.6+ events without one, the MessageId's registry) mapped onto a bounded set:
// "Alert", "StatusChange", "ResourceUpdated", "ResourceAdded", "ResourceRemoved", "Other".
std::string EventTypeLabel(std::string_view event_type, std::string_view message_id);

// Which groups' findings a patch changed; neither when the resource's type is not one the exporter maps, or
// no component of it was known (the caller then falls back to an early run of the group).
struct PatchResult {
  bool fast = false;
  bool slow = false;
};
// Patches `fast` / `slow` with one re-read resource body: the components it describes replace those of the
// same key (a reading the resource alone does not carry, such as a battery's charge from its Metrics, is
// kept).
PatchResult PatchFindings(const redfish::Json& body, Findings& fast, Findings& slow);
// The group an unmapped resource path most likely belongs to: "fast" for thermal and power paths, else
// "slow".
std::string GroupOfPath(std::string_view uri);

struct EventStats {
  bool connected = false;
  bool subscribed = false;  // a push subscription of ours is in place
  std::string mode;         // "sse", "push", "none" (no EventService or both modes off), "" = not started
  double last_event_unix = 0;
  std::map<std::string, double> received;  // by EventTypeLabel
  double reconnects = 0;
  double refused = 0;  // pushes refused by the receiver (bad secret)
};

class EventHub {
 public:
  // workers: threads that run the channels' blocking steps (reading the EventService, logging in,
  // subscribing, re-reading the resource an event names). The streams themselves share one sse::StreamLoop
  // thread.
  explicit EventHub(int max_streams, int workers = 4) : max_streams_(max_streams), workers_(workers) {}
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  void SetMaxStreams(int max_streams) { max_streams_ = max_streams; }
  bool AcquireStream();  // false when max_streams are open
  void ReleaseStream();
  int open_streams() const { return open_.load(); }

  // The shared stream loop (started on first use, so that --config.check starts no thread).
  sse::StreamLoop& loop();
  // Runs `task` on a worker after `delay_seconds` (workers start on first use). Tasks still queued when the
  // hub is destroyed are dropped.
  void Post(double delay_seconds, std::function<void()> task);

  // Push receiver lookup: target name -> the channel's Deliver.
  using Deliver = std::function<int(const std::string& token, std::string_view body)>;
  void Register(const std::string& target, Deliver deliver);
  void Unregister(const std::string& target);
  // Hands a pushed body to the target's channel; the HTTP status to answer (404 unknown target, 401 bad
  // secret, 400 bad body, 204 taken).
  int Receive(const std::string& target, const std::string& token, std::string_view body);

 private:
  void Work();

  std::atomic<int> max_streams_;
  std::atomic<int> open_{0};
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Deliver>> receivers_;

  const int workers_;
  std::once_flag loop_once_;
  std::unique_ptr<sse::StreamLoop> loop_;
  std::mutex tasks_mu_;
  std::condition_variable tasks_cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

class EventChannel {
 public:
  struct Callbacks {
    // An event named these resources; called on the stream thread.
    std::function<void(const RedfishEvent& event)> on_event;
    // Connected, disconnected, subscribed, ...: the metrics changed.
    std::function<void()> on_status;
    // The stream came back after a break: events may have been missed.
    std::function<void()> on_resync;
  };

  EventChannel(std::string target, const EventsConfig& config, RedfishClient& client,
               std::shared_ptr<EventHub> hub, Callbacks callbacks);
  ~EventChannel();
  EventChannel(const EventChannel&) = delete;
  EventChannel& operator=(const EventChannel&) = delete;

  // After a successful slow poll of a Redfish BMC: starts the stream or subscription, once.
  void Start(const std::string& api_root);
  // Stops the stream thread and deletes our push subscription (within a few seconds).
  void Stop();

  EventStats Stats() const;
  // The events families of this target (estate_hardware_event_*), with `base` labels.
  metrics::Families Families(const metrics::Labels& base) const;

  // The subscription secret (tests).
  const std::string& secret() const { return secret_; }

 private:
  // Reads the EventService; the SSE URI and whether push is possible.
  struct Service {
    bool enabled = false;
    std::string sse_uri;
    std::string subscriptions;
    bool filter_event_format = false;      // SSEFilterPropertiesSupported.EventFormatType advertised
    std::vector<std::string> event_types;  // EventTypesForSubscription
  };
  // What Stop() waits for: posted steps and stream callbacks check `stopped` and count themselves in
  // `running`, so none touches the channel once Stop() returned.
  struct Life {
    std::mutex mu;
    std::condition_variable cv;
    bool stopped = false;
    int running = 0;
    bool Enter();
    void Leave();
  };

  // The steps, each on a hub worker (Post) or the stream loop's thread (the stream callbacks).
  void Post(double delay_seconds, std::function<void()> step);
  void Setup();
  void Connect();
  void OnStreamEnd(const sse::StreamEnd& end, Clock::time_point opened, const std::string& token);
  void TrySubscribe(double wait);
  double Backoff(double step);  // a jittered wait of 50-100 % of step

  Result<Service> ReadService(const std::string& api_root, const Budget& budget);
  Result<Ok> Subscribe(const Service& service, const Budget& budget);
  void Unsubscribe();
  int Deliver(const std::string& token, std::string_view body);
  void Handle(std::string_view data);
  void SetStatus(const std::function<void(EventStats&)>& change);
  Budget StepBudget() const;

  const std::string target_;
  const EventsConfig config_;
  RedfishClient& client_;
  std::shared_ptr<EventHub> hub_;
  Callbacks callbacks_;
  std::string secret_;
  std::string destination_;
  std::shared_ptr<Life> life_ = std::make_shared<Life>();

  mutable std::mutex mu_;
  bool started_ = false;
  std::string api_root_;
  Service service_;
  std::string sse_uri_;  // with the filter
  CancelToken cancel_;
  EventStats stats_;
  std::string subscription_uri_;
  // The stream (guarded by mu_): its id on the loop, whether it got to 200, the reconnect step.
  std::uint64_t stream_id_ = 0;
  bool stream_connected_ = false;
  bool had_stream_ = false;
  double backoff_ = 0;
  double setup_backoff_ = 0;
  sse::Parser parser_;  // the loop thread only
};

}  // namespace estate::hardware
