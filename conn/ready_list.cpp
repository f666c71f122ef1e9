// ReadyList: the pending list, swapped out whole by the consumer (one lock per wait, not per conn).
#include "conn/ready_list.hpp"

#include <algorithm>

#include "conn/ether_conn.hpp"

namespace etherpath::conn {

void ReadyList::lock_pending() const {
  while (pending_lock_.exchange(true, std::memory_order_acquire)) {
    while (pending_lock_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
}

bool ReadyList::has_pending() const {
  lock_pending();
  const bool any = !pending_.empty();
  unlock_pending();
  return any;
}

void ReadyList::attach() {
  lock_pending();
  ++attached_;
  // Every attached conn can be pending at once; reserving here keeps push() allocation-free.
  if (pending_.capacity() < attached_) {
    pending_.reserve(std::max(attached_, pending_.capacity() * 2));
  }
  unlock_pending();
}

void ReadyList::detach(EtherConn* conn) {
  lock_pending();
  --attached_;
  // O(1): the conn remembers where it was pushed (a stale index points at another conn or past
  // the end, hence the check). taken_ belongs to the consumer; ReadyList's contract says a listed
  // conn outlives the span.
  const std::size_t at = conn->ready_index_;
  if (at < pending_.size() && pending_[at] == conn) {
    pending_[at] = nullptr;
  }
  unlock_pending();
}

void ReadyList::push(EtherConn* conn) {
  lock_pending();
  conn->ready_index_ = static_cast<std::uint32_t>(pending_.size());
  pending_.push_back(conn);
  unlock_pending();
  // A consumer that set sleeping_ re-checks the list under pending_lock_ after that store, so it
  // either sees this push or is told here.
  if (sleeping_.load()) {
    { const std::lock_guard lock(mutex_); }  // it is in cv_.wait_for, or will see the push
    cv_.notify_one();
  }
}

std::span<EtherConn* const> ReadyList::wait(std::chrono::milliseconds timeout) {
  taken_.clear();
  if (timeout.count() > 0 && !woken_.load() && !has_pending()) {
    std::unique_lock lock(mutex_);
    sleeping_.store(true);  // seq_cst: before the re-check of the list in the predicate
    cv_.wait_for(lock, timeout, [&] { return woken_.load() || has_pending(); });
    sleeping_.store(false);
  }
  woken_.store(false);
  lock_pending();
  // Swap, so the producers keep a reserved vector: give them taken_'s buffer, grown to fit.
  if (taken_.capacity() < pending_.capacity()) {
    taken_.reserve(pending_.capacity());
  }
  taken_.swap(pending_);
  unlock_pending();
  std::erase(taken_, nullptr);  // conns destroyed while pending
  // Each conn may be listed again from now on: a frame delivered after this point pushes it
  // anew, and one delivered before is read by the drain that follows.
  for (EtherConn* c : taken_) {
    c->clear_ready();
  }
  return taken_;
}

void ReadyList::wake() {
  woken_.store(true);
  { const std::lock_guard lock(mutex_); }
  cv_.notify_one();
}

std::size_t ReadyList::attached() const {
  lock_pending();
  const std::size_t n = attached_;
  unlock_pending();
  return n;
}

}  // namespace etherpath::conn
