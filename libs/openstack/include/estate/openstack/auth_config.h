// The YAML config of a Keystone authentication (the auth: block of a cloud in the storage-mapping and
// service-registry exporters' configs), read onto KeystoneAuth with estate/config.h: method password
// (username, password[_file|_env], project_name or project_id, domains) or application_credential (id, or
// name with username; secret[_file|_env]). Every problem is reported on the reader; unknown keys are errors.
// Not thread-safe (one load at a time, as config::MapReader).
#pragma once

#include <string>

#include "estate/config.h"
#include "estate/openstack/keystone.h"

namespace estate::openstack {

void ReadKeystoneAuth(config::MapReader reader, KeystoneAuth& auth);

// What every exporter needs to reach a cloud's Nova; an exporter's own cloud config derives from it.
struct CloudSettings {
  std::string name;                  // the exporter's label / source name for the cloud
  std::string auth_url;              // Keystone, with or without /v3
  std::string region;                // "" = any region in the catalog
  std::string interface = "public";  // public | internal | admin
  KeystoneAuth auth;
  std::string ca_file;
  bool insecure = false;
  int page_size = 1000;
  std::string nova_microversion = "2.47";
};

// Reads name and auth_url (required), region, interface, auth (required), ca_file, insecure, page_size and
// nova_microversion, and checks them: auth_url not empty and without credentials, interface one of the three,
// page_size 1..10000, nova_microversion 2.3 or later (OS-EXT-SRV-ATTR:hostname), not both ca_file and
// insecure. The caller reads its own keys, checks the name (its charset, duplicates) and calls Finish().
void ReadCloudSettings(config::MapReader& reader, CloudSettings& cloud);

}  // namespace estate::openstack
