#pragma once
// The admin API's HTTP transport: libevent's evhttp on the dispatcher's event_base. It turns
// each request into an HttpRequest for AdminApi and sends the response it produces. Bound to
// loopback by default (admin.bind "127.0.0.1:8025").
//
// Threading: loop thread only. The AdminApi and the dispatcher outlive the server.
// Destroying it closes the listener and every connection; responses produced afterwards are
// dropped.
#include <cstdint>
#include <memory>
#include <string>

#include "common/libevent_dispatcher.h"
#include "common/status.h"
#include "tools/admin/admin_api.h"

struct evhttp;
struct evhttp_request;

namespace outpost::admin {

struct AdminHttpOptions {
  std::string bind = "127.0.0.1:8025";  // "host:port", "[v6]:port"; port 0 = any free port
  size_t max_body_bytes = 128ULL * 1024 * 1024;  // larger requests get 413
  int timeout_seconds = 60;                      // idle/read timeout per connection
};

class AdminHttpServer {
 public:
  // Binds and starts serving. InvalidArgument for a malformed bind address, IoError when
  // the address cannot be bound (in use, not local).
  static StatusOr<std::unique_ptr<AdminHttpServer>> Start(LibeventDispatcher& dispatcher,
                                                          AdminApi& api,
                                                          const AdminHttpOptions& options);
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  // The bound port (useful with port 0).
  int port() const { return port_; }

 private:
  AdminHttpServer(AdminApi& api) : api_(api) {}
  static void OnRequest(struct evhttp_request* req, void* arg);

  AdminApi& api_;
  struct evhttp* http_ = nullptr;
  int port_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "127.0.0.1:8025" -> ("127.0.0.1", 8025); "[::1]:0" -> ("::1", 0).
StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view bind);

}  // namespace outpost::admin
