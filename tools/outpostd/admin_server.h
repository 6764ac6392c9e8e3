#pragma once

#include <memory>

#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "queue/queue_store.h"
#include "router/config.h"

namespace outpost::daemon {

// The admin API (DESIGN.md §6) lives here: HTTP/JSON on `admin.bind`, bearer-token checked
// before routing. This is the seam the admin API issue fills in: the daemon constructs it from
// the config with the objects the endpoints need, calls Start() once the store is open and
// Stop() before draining. Endpoints are not implemented yet: Start() only validates the
// configuration and logs that the API is not served, so nothing listens on the port.
//
// Loop thread only. Everything passed in outlives the server.
class AdminServer {
 public:
  AdminServer(LibeventDispatcher& dispatcher, router::AdminConfig config, queue::QueueStore& store)
      : dispatcher_(dispatcher), config_(std::move(config)), store_(store) {}

  Status Start();
  // Stops accepting; requests in progress may finish. Idempotent.
  void Stop();
  // SIGHUP: a new token may take effect; the bind address needs a restart.
  void Reconfigure(const router::AdminConfig& config) { config_ = config; }

  const router::AdminConfig& config() const { return config_; }

 private:
  // For the endpoints to come (the HTTP server runs on this loop and reads this store).
  [[maybe_unused]] LibeventDispatcher& dispatcher_;
  router::AdminConfig config_;
  [[maybe_unused]] queue::QueueStore& store_;
};

}  // namespace outpost::daemon
