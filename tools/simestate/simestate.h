// The running simulated estate: one FakeUpstream per configured upstream plus a small control API on its own
// port for injecting and clearing faults and counting requests while it runs:
//   POST   /fault?upstream=NAME     body: a fault as JSON (same keys as in the config) -> adds it
//   DELETE /fault?upstream=NAME     clears that upstream's faults
//   GET    /requests?upstream=NAME  {"upstream": NAME, "count": N}
//   GET    /sessions?upstream=NAME  {"upstream": NAME, "active": N, "created": N, "deleted": N}
//                                    (kind redfish: sessions; openstack: tokens; pure: sessions)
//   POST   /tokens/expire?upstream=NAME   revokes every token (openstack) or session (pure) issued so far
//   POST   /redeploy?upstream=NAME&server=SERVER   replaces a server of the upstream's storage model (new id,
//   new
//                                    volumes; the old array volumes become destroyed) -- every upstream
//                                    sharing the model sees it
//   GET    /model?upstream=NAME     counts of the upstream's storage model
//   POST   /events/flip?upstream=NAME&resource=PATH   body: a JSON merge patch for the resource (default
//                                    Status.Health Critical) -> overrides it and emits the matching event
//   POST   /events/emit?upstream=NAME    body: one Event record -> emitted as it is
//   POST   /events/options?upstream=NAME body: {"sse": bool, "close_after_seconds": N, "silent": bool}
//   GET    /events?upstream=NAME    stream and subscription counts (sim_events.h)
//   GET    /upstreams               {"NAME": port, ...}
//   GET    /-/healthy               200
// Upstreams of kind "redfish" also act as a Redfish session service (POST/DELETE SessionService/Sessions,
// X-Auth-Token or basic auth required on everything but the service root); upstreams of kind "ribcl" answer
// HPE iLO RIBCL (POST /ribcl, credentials in the body's LOGIN element) and GET /xmldata; kinds "openstack"
// and "pure" serve a storage model (sim_storage_model.h), one object per model file shared by every upstream
// that names it; kinds "servicenow" and "gocd" serve the service registry's CMDB and pipelines
// (sim_servicenow.h, sim_gocd.h) from the files their config names. See README.md. Thread-safe once started:
// the control API runs on civetweb worker threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "estate/result.h"
#include "estate/testing/fake_upstream.h"
#include "simestate_config.h"

namespace estate::simestate {

struct RedfishSessions;  // the session store of one upstream of kind "redfish" (simestate.cpp)
class SimEvents;
struct OpenStackTokens;
struct PureSessions;
class StorageModel;

class SimEstate {
 public:
  explicit SimEstate(Config config);
  ~SimEstate();
  SimEstate(const SimEstate&) = delete;
  SimEstate& operator=(const SimEstate&) = delete;

  // Starts every upstream on listen_host and the control API on control_port (0 = free). On failure,
  // whatever started is stopped again and the error names the upstream that could not start.
  Result<Ok> Start(const std::string& listen_host, int control_port);
  void Stop();

  // Upstream name -> bound port, plus "_control".
  std::map<std::string, int> Ports() const;
  // Writes Ports() as a JSON object, atomically (temp file + rename), so a reader never sees half of it.
  Result<Ok> WritePortsFile(const std::string& path) const;

 private:
  struct Upstream {
    UpstreamConfig config;
    std::unique_ptr<testing::FakeUpstream> server;
    std::shared_ptr<RedfishSessions> sessions;  // null unless kind is "redfish"
    std::shared_ptr<SimEvents> events;          // kind redfish with events: true
    std::shared_ptr<StorageModel> model;        // kinds openstack and pure
    std::shared_ptr<OpenStackTokens> tokens;    // kind openstack
    std::shared_ptr<PureSessions> pure_sessions;  // kind pure
    std::shared_ptr<void> registry_sim;           // kinds servicenow and gocd (SimServiceNow / SimGocd)
  };
  const Upstream* Find(const std::string& name) const;
  // The model of an upstream of kind openstack or pure, loaded (or generated) once per model key.
  Result<std::shared_ptr<StorageModel>> SharedModel(const UpstreamConfig& cfg);
  void AddControlRoutes();

  Config config_;
  std::vector<Upstream> upstreams_;
  std::unique_ptr<testing::FakeUpstream> control_;
  std::map<std::string, std::shared_ptr<StorageModel>> models_;  // by UpstreamConfig::ModelKey()
};

}  // namespace estate::simestate
