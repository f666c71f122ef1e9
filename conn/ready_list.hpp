// ReadyList: tells one consumer which of many EtherConns have frames queued (epoll for hosts).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <span>
#include <vector>

namespace etherpath::conn {

class EtherConn;

// A consumer that serves thousands of emulated hosts cannot poll each host's queue. Conns opened
// with EtherConnOptions::ready_list put themselves here when their receive queue goes from empty
// to non-empty (at most once until the consumer takes them), and the consumer drains just those:
//
//   for (EtherConn* c : ready.wait(100ms)) { while (auto p = c->try_read(buf)) { ... } }
//
// A conn is handed out again only after wait() returned it, so the consumer must drain each conn
// it gets (or it will not hear of that conn until the next frame after a drain). One consumer
// thread calls wait(); the relay's poll threads add. The list must outlive its conns, and a conn
// must not be destroyed while the consumer still holds the span that listed it.
class ReadyList {
 public:
  ReadyList() = default;
  ReadyList(const ReadyList&) = delete;
  ReadyList& operator=(const ReadyList&) = delete;
  ReadyList(ReadyList&&) = delete;
  ReadyList& operator=(ReadyList&&) = delete;
  ~ReadyList() = default;

  // Waits up to `timeout` for conns with queued frames (or a stopped relay) and returns them,
  // each once; empty on timeout or wake(). The span is valid until the next wait().
  std::span<EtherConn* const> wait(std::chrono::milliseconds timeout);
  // Makes a blocked wait() return now (e.g. to stop the consumer).
  void wake();
  // Conns attached (opened with this list and not yet destroyed).
  [[nodiscard]] std::size_t attached() const;

 private:
  friend class EtherConn;
  void attach();                 // an EtherConn was opened with this list (may allocate)
  void detach(EtherConn* conn);  // it is being destroyed: forget it if it is pending
  void push(EtherConn* conn);    // its queue became non-empty (relay poll thread; no allocation)
  void lock_pending() const;
  void unlock_pending() const { pending_lock_.store(false, std::memory_order_release); }
  [[nodiscard]] bool has_pending() const;

  // A push is a few instructions under a spin flag (producers hold it for a vector append), not
  // a mutex: with thousands of hosts nearly every frame makes a conn ready.
  mutable std::atomic<bool> pending_lock_{false};
  std::vector<EtherConn*> pending_;  // capacity >= attached_: push never allocates
  std::size_t attached_ = 0;         // guarded by pending_lock_ too
  std::vector<EtherConn*> taken_;    // what the last wait() returned (the consumer's)
  // Only for a consumer asleep in wait().
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> woken_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace etherpath::conn
