#include "estate/openstack/auth_config.h"

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

}  // namespace estate::openstack
