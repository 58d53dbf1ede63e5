// The Redfish EventService of one simulated BMC (upstreams of kind redfish with `events: true`):
//   GET  /redfish/v1/EventService                    ServiceEnabled, ServerSentEventUri, Subscriptions,
//                                                    EventTypesForSubscription, SSEFilterPropertiesSupported
//   GET  /redfish/v1/EventService/SSE                text/event-stream: "id: N" and "data: <Event JSON>" per
//                                                    event; Last-Event-ID replays the newer ones it still
//                                                    holds
//   GET/POST /redfish/v1/EventService/Subscriptions  EventDestination collection (POST creates: 201 +
//   Location) GET/DELETE /redfish/v1/EventService/Subscriptions/<id>
// An event is delivered to every open stream and POSTed (on a delivery thread) to every subscription's
// Destination with its HttpHeaders and its Context in the body.
//
// Flip() overrides a resource's Status (a JSON merge patch applied to every answer that carries the resource,
// also inlined by $expand) and emits the matching Alert event with OriginOfCondition = that resource.
// Options make streams close after N seconds or go silent (open but sending nothing), for tests.
//
// Thread-safe: routes run on civetweb worker threads; the control API calls the public methods.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "estate/testing/fake_upstream.h"

namespace estate::simestate {

class SimEvents {
 public:
  struct Options {
    bool sse = true;                 // advertise and serve ServerSentEventUri
    double close_after_seconds = 0;  // close every stream this long after it opened; 0 = never
    bool silent = false;             // streams stay open but send nothing
  };
  struct Stats {
    int streams_open = 0;
    long streams_opened = 0;
    long subscriptions_created = 0;
    long subscriptions_deleted = 0;
    int subscriptions = 0;
    long events = 0;
    long pushes_ok = 0;
    long pushes_failed = 0;
  };

  SimEvents();
  ~SimEvents();
  SimEvents(const SimEvents&) = delete;
  SimEvents& operator=(const SimEvents&) = delete;

  // Adds the routes; `authorised` is the BMC's credential check (session token or basic auth).
  void Install(testing::FakeUpstream& server, std::function<bool(const testing::FakeRequest&)> authorised);
  // Applied to every JSON answer of the BMC (by path key): the service root gains its EventService link, and
  // flipped resources (themselves, or inlined as top-level array members) their overridden Status.
  void Patch(const std::string& key, nlohmann::json& body) const;

  // Overrides the resource at `path` with `merge_patch` (default: Status.Health Critical) and emits the
  // event. Returns the event's id.
  long Flip(const std::string& path, const nlohmann::json& merge_patch);
  // Emits one Event record (the envelope is added); returns its id.
  long Emit(const nlohmann::json& record);

  void SetOptions(const Options& options);
  Options options() const;
  Stats stats() const;
  void Stop();  // ends the delivery thread (streams end when the server stops)

 private:
  struct Subscription {
    std::string id;
    std::string destination;
    std::string context;
    std::vector<std::pair<std::string, std::string>> headers;
    nlohmann::json body;  // as returned by GET (HttpHeaders hidden, as real services do)
  };
  testing::FakeResponse Stream(const testing::FakeRequest& req);
  testing::FakeResponse Subscriptions(const testing::FakeRequest& req, testing::FakeUpstream* server,
                                      const std::function<bool(const testing::FakeRequest&)>& authorised);
  void DeliveryLoop();

  mutable std::mutex mu_;
  std::condition_variable cv_;  // new event (streams) / new push (delivery) / stop
  Options options_;
  std::map<std::string, nlohmann::json> overrides_;  // by lower-cased path
  std::deque<std::pair<long, std::string>> recent_;  // (id, event JSON), the last 256
  long next_event_ = 1;
  std::map<std::string, Subscription> subscriptions_;
  int next_subscription_ = 1;
  std::deque<std::pair<Subscription, std::string>> pushes_;
  Stats stats_;
  bool stopping_ = false;
  std::thread delivery_;
};

}  // namespace estate::simestate
