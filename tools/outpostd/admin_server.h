#pragma once

#include <memory>

#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "queue/queue_store.h"
#include "router/config.h"
#include "scheduler/scheduler.h"
#include "tools/admin/admin_api.h"
#include "tools/admin/admin_http_server.h"

namespace outpost::daemon {

// The admin API (DESIGN.md §6, tools/admin/): HTTP/JSON on `admin.bind`, bearer token checked
// before routing. The daemon constructs it from the config with the objects the endpoints
// need, calls Start() once the store and the scheduler exist, and Stop() before draining.
//
// Without a token (admin.token unset) the API is NOT served: Start() logs an error saying
// how to configure one and returns OK, so SMTP service still starts; the CLI then reports
// that it cannot reach the daemon. A bind failure is an error (the daemon refuses to start).
//
// Loop thread only. Everything passed in outlives the server; it must be stopped or destroyed
// before the scheduler and the store.
class AdminServer {
 public:
  // `scheduler` may be null only in a daemon without delivery; then nothing is served.
  AdminServer(LibeventDispatcher& dispatcher, router::AdminConfig config, queue::QueueStore& store,
              scheduler::Scheduler* scheduler = nullptr)
      : dispatcher_(dispatcher), config_(std::move(config)), store_(store), scheduler_(scheduler) {}
  ~AdminServer() { Stop(); }

  Status Start();
  // Stops accepting and closes every connection; answers of operations still running are
  // dropped (their completed batches stay applied). Idempotent.
  void Stop();
  // SIGHUP: a new token takes effect at once; a new bind address needs a restart (logged).
  void Reconfigure(const router::AdminConfig& config);

  const router::AdminConfig& config() const { return config_; }
  // The bound port; 0 when the API is not served.
  int port() const { return http_ ? http_->port() : 0; }

 private:
  LibeventDispatcher& dispatcher_;
  router::AdminConfig config_;
  queue::QueueStore& store_;
  scheduler::Scheduler* scheduler_;
  std::unique_ptr<admin::AdminApi> api_;
  std::unique_ptr<admin::AdminHttpServer> http_;
};

}  // namespace outpost::daemon
