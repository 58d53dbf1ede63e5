// Turns the hardware model into metric families. All families are declared in one table
// (hardware_metrics.cpp) with their HELP text, which spells out the encodings:
//   health:        0 = OK, 1 = Warning, 2 = Critical (no sample when absent, disabled or not reported)
//   power state:   0 = off, 1 = on, 2 = powering on, 3 = powering off
//   battery state: 0 = ready, 1 = charging, 2 = discharging, 3 = learning, 4 = failed, 5 = absent
// Identities, versions and model names live only on `_info` series; value series carry the target, the
// configured target labels and a small component key (controller, drive, fan, ...).
// Pure and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "estate/metrics.h"
#include "hardware_model.h"

namespace estate::hardware {

// What a poll did, rendered as estate_hardware_poll_* series.
struct PollInfo {
  std::string group;             // "fast", "slow", "probe"
  int requests = -1;             // HTTP requests made by the poll (-1 = not reported)
  int failed_requests = 0;       // of which failed (the poll is partial when any did)
  int not_present = 0;           // resources not there that never served data (not failures)
  int stale_resources = 0;       // failed resources whose data is served as last read
  double stale_age_seconds = 0;  // age of the oldest such data; 0 when none
};

// Renders the sections `f` has. When `health_view` is given (normally the fast and slow findings merged), it
// also renders the reported health of system, chassis and manager from it, and their computed
// (worst-of-leaves) health unless `computed_health` is false (the view lacks leaves, e.g. before the first
// slow poll, and would claim OK without them). `base` labels (target first, then configured labels) lead
// every series. Empty families are omitted.
metrics::Families BuildFamilies(const Findings& f, const metrics::Labels& base, const PollInfo& poll,
                                const Findings* health_view, bool computed_health = true);

// Names of every family the exporter can produce, in table order (for docs and tests).
std::vector<std::string> FamilyNames();

}  // namespace estate::hardware
