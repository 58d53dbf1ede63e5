// kind "pure": a Pure FlashArray REST 2.x API over one array of a StorageModel. GET /api/api_version is open;
// POST /api/2.<n>/login with the api-token header answers an x-auth-token session; every other call needs a
// live session (else 401). Lists (volumes, connections, hosts, arrays, volumes/tags) page with limit and
// continuation_token (also in the x-next-token header). An optional rate limit answers 429 with Retry-After
// and the X-RateLimit-* headers, as arrays do. See README.md. Thread-safe: handlers run on civetweb threads;
// sessions are behind their own mutex, the model behind its own.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "estate/testing/fake_upstream.h"
#include "sim_storage_model.h"

namespace estate::simestate {

struct PureOptions {
  std::string array;            // the model's array this upstream is; "" = the upstream's name
  std::string api_token;        // "" = any api-token is accepted
  int requests_per_second = 0;  // 0 = no limit
  int requests_per_minute = 0;
  std::string purity_version = "6.5.8";
};

struct PureSessions {
  std::mutex mu;
  std::map<std::string, std::chrono::steady_clock::time_point> live;
  long created = 0;
  long deleted = 0;
  long revoked = 0;
  long rate_limited = 0;
  // Rate-limit windows.
  std::chrono::steady_clock::time_point second_start{}, minute_start{};
  int second_count = 0, minute_count = 0;
  // Ends every session (later requests with them get 401); returns how many were live.
  long RevokeAll();
};

// Registers the REST 2.x routes for options.array on server. Requires the array to exist in the model.
void InstallPure(testing::FakeUpstream& server, const PureOptions& options,
                 std::shared_ptr<StorageModel> model, std::shared_ptr<PureSessions> sessions);

}  // namespace estate::simestate
