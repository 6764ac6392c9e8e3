#pragma once
// A small blocking HTTP/1.1 client for the admin API (one request per connection,
// "Connection: close"). Blocking is fine here: the CLI has no event loop to protect.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace outpost::cli {

struct AdminReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

class AdminClient {
 public:
  // `url`: "http://host:port" ("http://[::1]:8025"); a trailing "/" is allowed.
  // `token` goes into "Authorization: Bearer <token>" ("" = no header).
  static StatusOr<AdminClient> Create(std::string_view url, std::string token);

  // kUnavailable with "cannot reach outpostd at <url> ...; is it running? ..." when the
  // connection fails; kTimeout when no complete answer arrives within the timeout; kIoError
  // for a malformed answer. Any HTTP status is a successful reply.
  StatusOr<AdminReply> Get(std::string_view target) const;
  StatusOr<AdminReply> Post(std::string_view target, std::string_view json_body) const;
  StatusOr<AdminReply> Send(std::string_view method, std::string_view target,
                            std::string_view body) const;

  // Whole-request deadline (bulk operations on big queues take a while). Default 10 minutes.
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  const std::string& url() const { return url_; }

 private:
  AdminClient(std::string url, std::string host, std::string port, std::string token)
      : url_(std::move(url)), host_(std::move(host)), port_(std::move(port)),
        token_(std::move(token)) {}

  std::string url_;
  std::string host_;
  std::string port_;
  std::string token_;
  std::chrono::milliseconds timeout_{std::chrono::minutes(10)};
};

// The client for --admin-url / --token, falling back to $OUTPOST_ADMIN_URL /
// $OUTPOST_ADMIN_TOKEN, then to http://127.0.0.1:8025 (DESIGN.md default admin.bind).
StatusOr<AdminClient> AdminClientFor(const std::optional<std::string>& url_flag,
                                     const std::optional<std::string>& token_flag);

// What went wrong, for stderr: the {"error": ...} of an API answer, with a hint for 401.
std::string DescribeFailure(const AdminReply& reply);

// Splits "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" into a reply. Pure.
StatusOr<AdminReply> ParseHttpResponse(std::string_view raw);

}  // namespace outpost::cli
