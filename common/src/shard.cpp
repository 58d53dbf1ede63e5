#include "estate/shard.h"

#include <charconv>
#include <set>

namespace estate::shard {

std::uint64_t StableHash(std::string_view name) {
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a 64
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // FNV's low bits mix poorly for short, similar names ("bmc-001", "bmc-002"); a final avalanche (the
  // MurmurHash3 finaliser) spreads every input bit over the word before the jump hash uses it.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

int JumpHash(std::uint64_t key, int buckets) {
  std::int64_t b = -1;
  std::int64_t j = 0;
  while (j < buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<std::int64_t>(static_cast<double>(b + 1) *
                                  (static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<int>(b);
}

int ShardOf(std::string_view name, int total) { return total <= 1 ? 0 : JumpHash(StableHash(name), total); }

bool Shard::Owns(std::string_view source) const { return ShardOf(source, total) == ordinal; }

namespace {

// Built by appending: GCC 12 at -O3 reports a bogus -Werror=restrict for "\"" + std::string(...).
std::string NotAPodName(std::string_view pod_name) {
  std::string msg = "\"";
  msg.append(pod_name);
  msg.append("\" does not end in -<ordinal> as a StatefulSet pod's name does");
  return msg;
}

}  // namespace

Result<int> OrdinalFromPodName(std::string_view pod_name) {
  const auto dash = pod_name.rfind('-');
  if (dash == std::string_view::npos || dash + 1 >= pod_name.size()) {
    return MakeError(NotAPodName(pod_name));
  }
  const std::string_view digits = pod_name.substr(dash + 1);
  int n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n < 0) {
    return MakeError(NotAPodName(pod_name));
  }
  return n;
}

Result<Shard> Resolve(int total, std::string_view index, std::string_view pod_name) {
  if (total < 1 || total > 1024) return MakeError("--shard.total takes a whole number from 1 to 1024");
  Shard s;
  s.total = total;
  if (index == "auto") {
    if (pod_name.empty()) return MakeError("--shard.index=auto needs POD_NAME or a host name");
    auto n = OrdinalFromPodName(pod_name);
    if (!n) return MakeError("--shard.index=auto: " + n.error());
    s.ordinal = *n;
  } else {
    auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), s.ordinal);
    if (index.empty() || ec != std::errc() || end != index.data() + index.size() || s.ordinal < 0) {
      return MakeError("--shard.index takes a whole number or auto");
    }
  }
  if (s.ordinal >= total) {
    return MakeError("shard ordinal " + std::to_string(s.ordinal) +
                     " is not below --shard.total=" + std::to_string(total));
  }
  return s;
}

Split OwnedJobs(std::vector<JobSpec> jobs, const Shard& shard) {
  Split out;
  std::set<std::string> all;
  std::set<std::string> mine;
  for (auto& job : jobs) {
    all.insert(job.source);
    if (!shard.Owns(job.source)) continue;
    mine.insert(job.source);
    out.owned.push_back(std::move(job));
  }
  out.configured_sources = all.size();
  out.owned_sources = mine.size();
  return out;
}

}  // namespace estate::shard
