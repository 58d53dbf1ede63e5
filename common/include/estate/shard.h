// Sharding an exporter's sources across instances, as kube-state-metrics shards objects: instance I of N
// polls only the sources whose stable hash of the name lands on shard I. The hash is FNV-1a 64 of the name,
// mapped onto N shards by jump consistent hashing (Lamping and Veach, 2014), so it is the same on every
// machine and version, and growing N to N+1 moves only the sources the new shard takes (about 1/(N+1) of
// them); each keeps its shard otherwise.
//
// /probe is not sharded: every instance answers for every configured source.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "estate/refresher.h"
#include "estate/result.h"

namespace estate::shard {

// Which shard this instance is. The default (0 of 1) owns everything.
struct Shard {
  int ordinal = 0;
  int total = 1;
  bool Sharded() const { return total > 1; }
  bool Owns(std::string_view source) const;
};

// The stable 64-bit hash of a source name (FNV-1a 64 with a final bit mix).
std::uint64_t StableHash(std::string_view name);
// Jump consistent hash: the bucket in [0, buckets) of key. buckets >= 1.
int JumpHash(std::uint64_t key, int buckets);
// The shard in [0, total) that owns the source named `name`.
int ShardOf(std::string_view name, int total);

// The ordinal of a StatefulSet pod from its name: "estate-hardware-3" -> 3. An error when the name does not
// end in -<digits>.
Result<int> OrdinalFromPodName(std::string_view pod_name);

// The shard of --shard.total=total --shard.index=index. index is a whole number or "auto": the ordinal of
// pod_name (the POD_NAME environment variable, else the host name; pass what the caller found). Checks that
// 1 <= total <= 1024 and 0 <= ordinal < total.
Result<Shard> Resolve(int total, std::string_view index, std::string_view pod_name);

// The jobs this shard runs (all of a source's jobs go together), and the counts of distinct sources in all
// jobs and in the ones kept.
struct Split {
  std::vector<JobSpec> owned;
  std::size_t configured_sources = 0;
  std::size_t owned_sources = 0;
};
Split OwnedJobs(std::vector<JobSpec> jobs, const Shard& shard);

}  // namespace estate::shard
