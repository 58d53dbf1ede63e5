// kind "openstack": one port that answers as Keystone (/identity/v3), Nova (/compute/v2.1) and Cinder
// (/volume/v3) of the cloud in a StorageModel. Tokens come from POST /identity/v3/auth/tokens (password or
// application_credential); every other call needs a live X-Auth-Token, else 401. Admin users see everything;
// non-admin users get the views real OpenStack gives them (no provider_id, os-vol-host-attr:host,
// os-vol-mig-status-attr:*, attachments[].host_name null, no OS-EXT-SRV-ATTR:*). See README.md.
// Thread-safe: handlers run on civetweb threads; tokens are behind their own mutex, the model behind its own.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "estate/testing/fake_upstream.h"
#include "sim_storage_model.h"

namespace estate::simestate {

struct OpenStackUser {
  std::string name;
  std::string password;
  std::string project = "admin";  // project (name or id) a token is scoped to when the request names none
  bool admin = true;
};

struct OpenStackAppCredential {
  std::string id;
  std::string name;
  std::string user;  // owner's user name (for name-based lookups)
  std::string secret;
  std::string project = "admin";
  bool admin = true;
};

struct OpenStackOptions {
  std::string region = "RegionOne";
  double token_ttl_seconds = 3600;
  std::vector<OpenStackUser> users;
  std::vector<OpenStackAppCredential> application_credentials;
};

// Issued tokens of one upstream.
struct OpenStackTokens {
  struct Token {
    std::string user;
    std::string user_id;
    std::string project_id;
    bool admin = false;
    std::chrono::system_clock::time_point expires;
  };
  std::mutex mu;
  std::map<std::string, Token> live;
  long issued = 0;
  long revoked = 0;
  // Revokes every issued token (later requests with them get 401); returns how many were live.
  long RevokeAll();
};

// Registers the Keystone, Nova and Cinder routes on server.
void InstallOpenStack(testing::FakeUpstream& server, const OpenStackOptions& options,
                      std::shared_ptr<StorageModel> model, std::shared_ptr<OpenStackTokens> tokens);

}  // namespace estate::simestate
