#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace outpost::transport::local {

// A few threads for blocking file work (write + fsync) that must stay off the event loop.
// Tasks hand their results back with Dispatcher::Post. Submit() is thread-safe. The
// destructor runs every task already submitted, then joins the threads.
class BlockingPool {
 public:
  explicit BlockingPool(size_t threads);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  void Submit(std::function<void()> task);

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace outpost::transport::local
