// The YAML config of a Keystone authentication (the auth: block of a cloud in the storage-mapping and
// service-registry exporters' configs), read onto KeystoneAuth with estate/config.h: method password
// (username, password[_file|_env], project_name or project_id, domains) or application_credential (id, or
// name with username; secret[_file|_env]). Every problem is reported on the reader; unknown keys are errors.
// Not thread-safe (one load at a time, as config::MapReader).
#pragma once

#include "estate/config.h"
#include "estate/openstack/keystone.h"

namespace estate::openstack {

void ReadKeystoneAuth(config::MapReader reader, KeystoneAuth& auth);

}  // namespace estate::openstack
