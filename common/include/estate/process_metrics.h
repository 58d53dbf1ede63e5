// process_* metrics read from /proc/self, as the Go client exposes them (prometheus-cpp has none):
// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
// process_max_fds, process_start_time_seconds, process_threads. Thread-safe (reads /proc on each call).
#pragma once

#include "estate/metrics.h"

namespace estate {

metrics::Families CollectProcessMetrics();

}  // namespace estate
