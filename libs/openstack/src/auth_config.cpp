#include "estate/openstack/auth_config.h"

#include <cstdio>

namespace estate::openstack {

void ReadKeystoneAuth(config::MapReader r, KeystoneAuth& a) {
  r.Get("method", a.method);
  if (a.method == "password") {
    r.Require("username", a.username);
    r.Get("user_domain_name", a.user_domain_name);
    config::GetSecret(r, "password", a.password, /*required=*/true);
    r.Get("project_name", a.project_name);
    r.Get("project_id", a.project_id);
    r.Get("project_domain_name", a.project_domain_name);
    if (a.project_name.empty() && a.project_id.empty()) {
      r.Error("project_name",
              "set project_name or project_id: listing all tenants needs a project-scoped token");
    }
  } else if (a.method == "application_credential") {
    r.Get("application_credential_id", a.application_credential_id);
    r.Get("application_credential_name", a.application_credential_name);
    r.Get("username", a.username);
    r.Get("user_domain_name", a.user_domain_name);
    config::GetSecret(r, "application_credential_secret", a.application_credential_secret, /*required=*/true);
    if (a.application_credential_id.empty() && a.application_credential_name.empty()) {
      r.Error("application_credential_id", "set application_credential_id (or _name with username)");
    }
    if (a.application_credential_id.empty() && !a.application_credential_name.empty() && a.username.empty()) {
      r.Error("username", "an application_credential_name needs the owning username");
    }
  } else {
    r.Error("method", "must be password or application_credential, not \"" + a.method + "\"");
  }
  r.Finish();
}

void ReadCloudSettings(config::MapReader& r, CloudSettings& c) {
  r.Require("name", c.name);
  r.Require("auth_url", c.auth_url);
  r.Get("region", c.region);
  r.Get("interface", c.interface);
  if (r.Has("auth")) {
    ReadKeystoneAuth(r.Map("auth"), c.auth);
  } else {
    r.Error("auth", "is required");
  }
  r.Get("ca_file", c.ca_file);
  r.Get("insecure", c.insecure);
  r.Get("page_size", c.page_size);
  r.Get("nova_microversion", c.nova_microversion);
  if (r.Has("auth_url") && c.auth_url.empty()) r.Error("auth_url", "must not be empty");
  if (c.auth_url.find('@') != std::string::npos) r.Error("auth_url", "must not carry credentials");
  if (c.interface != "public" && c.interface != "internal" && c.interface != "admin") {
    r.Error("interface", "must be public, internal or admin, not \"" + c.interface + "\"");
  }
  if (c.page_size < 1 || c.page_size > 10000) r.Error("page_size", "must be between 1 and 10000");
  if (c.insecure && !c.ca_file.empty()) r.Error("insecure", "set either ca_file or insecure, not both");
  int major = 0, minor = 0;
  if (std::sscanf(c.nova_microversion.c_str(), "%d.%d", &major, &minor) != 2 || major != 2 || minor < 3) {
    r.Error("nova_microversion",
            "must be 2.3 or later (OS-EXT-SRV-ATTR:hostname needs it), not \"" + c.nova_microversion + "\"");
  }
}

}  // namespace estate::openstack
