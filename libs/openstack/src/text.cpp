#include "estate/openstack/text.h"

#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

namespace estate::openstack {

Text::Text(std::string_view s) {
  if (s.empty()) return;
  if (s.size() >= std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("Text longer than 4 GiB");
  void* block = ::operator new(sizeof(Rep) + s.size() + 1);
  rep_ = new (block) Rep{{1}, static_cast<std::uint32_t>(s.size())};
  char* chars = reinterpret_cast<char*>(rep_ + 1);
  std::memcpy(chars, s.data(), s.size());
  chars[s.size()] = '\0';
}

void Text::Unref() noexcept {
  if (rep_ == nullptr) return;
  if (rep_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    rep_->~Rep();
    ::operator delete(static_cast<void*>(rep_));
  }
  rep_ = nullptr;
}

Text TextPool::Intern(std::string_view s) {
  if (s.empty()) return {};
  if (auto it = set_.find(s); it != set_.end()) return *it;
  return *set_.emplace(s).first;
}

}  // namespace estate::openstack
