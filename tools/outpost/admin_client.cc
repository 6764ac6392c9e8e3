#include "tools/outpost/admin_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "router/json.h"

namespace outpost::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the descriptor on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

bool WaitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int rc = poll(&p, 1, MillisLeft(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

StatusOr<AdminClient> AdminClient::Create(std::string_view url, std::string token) {
  std::string_view rest = url;
  constexpr std::string_view kScheme = "http://";
  if (rest.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("admin URL '" + std::string(url) +
                                   "' must start with http:// (e.g. http://127.0.0.1:8025)");
  }
  rest.remove_prefix(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("admin URL '" + std::string(url) + "' must not have a path");
  }
  std::string host, port = "80";
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("admin URL '" + std::string(url) + "': unclosed [");
    }
    host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return Status::InvalidArgument("admin URL: bad port");
      port = std::string(rest.substr(close + 2));
    }
  } else {
    size_t colon = rest.rfind(':');
    host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(rest.substr(colon + 1));
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (host.empty() || ec != std::errc() || ptr != port.data() + port.size() || p == 0 ||
      p > 65535) {
    return Status::InvalidArgument("admin URL '" + std::string(url) + "': bad host or port");
  }
  return AdminClient(std::string(url), std::move(host), std::move(port), std::move(token));
}

StatusOr<AdminReply> AdminClient::Get(std::string_view target) const {
  return Send("GET", target, "");
}

StatusOr<AdminReply> AdminClient::Post(std::string_view target, std::string_view body) const {
  return Send("POST", target, body);
}

StatusOr<AdminReply> AdminClient::Send(std::string_view method, std::string_view target,
                                       std::string_view body) const {
  const auto deadline = Clock::now() + timeout_;
  auto unreachable = [&](const std::string& why) {
    return Status::Unavailable("cannot reach outpostd at " + url_ + " (" + why +
                               "); is it running? use --data-dir to read the store offline");
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &res); rc != 0) {
    return unreachable(gai_strerror(rc));
  }
  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (s < 0) continue;
    int rc = connect(s, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      if (WaitFor(s, POLLOUT, std::min(deadline, Clock::now() + std::chrono::seconds(10)))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      fd = s;
    } else {
      last_error = std::strerror(errno);
      close(s);
    }
  }
  freeaddrinfo(res);
  if (fd < 0) return unreachable(last_error);
  Fd sock(fd);

  std::string req;
  req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  req.append(host_).append(":").append(port_).append("\r\n");
  if (!token_.empty()) req.append("Authorization: Bearer ").append(token_).append("\r\n");
  if (method == "POST") {
    req.append("Content-Type: application/json\r\n");
  }
  req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  req.append("Connection: close\r\n\r\n").append(body);
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd, POLLOUT, deadline)) return Status::Timeout("admin API: sending timed out");
    } else {
      return Status::IoError(std::string("admin API: send: ") + std::strerror(errno));
    }
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!WaitFor(fd, POLLIN, deadline)) {
        return Status::Timeout("admin API: no complete answer from " + url_ + " in time");
      }
    } else {
      return Status::IoError(std::string("admin API: recv: ") + std::strerror(errno));
    }
  }
  return ParseHttpResponse(raw);
}

StatusOr<AdminClient> AdminClientFor(const std::optional<std::string>& url_flag,
                                     const std::optional<std::string>& token_flag) {
  std::string url = "http://127.0.0.1:8025";
  std::string token;
  if (const char* env = std::getenv("OUTPOST_ADMIN_URL"); env != nullptr && *env != '\0') url = env;
  if (const char* env = std::getenv("OUTPOST_ADMIN_TOKEN")) token = env;
  if (url_flag) url = *url_flag;
  if (token_flag) token = *token_flag;
  return AdminClient::Create(url, std::move(token));
}

std::string DescribeFailure(const AdminReply& reply) {
  std::string message;
  router::rj::Document d;
  d.Parse(reply.body.c_str());
  if (!d.HasParseError() && d.IsObject() && d.HasMember("error") && d["error"].IsString()) {
    message = d["error"].GetString();
  } else {
    message = reply.body.substr(0, 200);
  }
  message = "HTTP " + std::to_string(reply.status) + ": " + message;
  if (reply.status == 401) {
    message += " (set OUTPOST_ADMIN_TOKEN or --token to the daemon's admin.token)";
  }
  return message;
}

StatusOr<AdminReply> ParseHttpResponse(std::string_view raw) {
  size_t head_end = raw.find("\r\n\r\n");
  if (raw.substr(0, 5) != "HTTP/" || head_end == std::string_view::npos) {
    return Status::IoError("admin API: not an HTTP answer");
  }
  std::string_view head = raw.substr(0, head_end);
  std::string_view body = raw.substr(head_end + 4);
  size_t sp = head.find(' ');
  AdminReply reply;
  if (sp == std::string_view::npos || head.size() < sp + 4) {
    return Status::IoError("admin API: bad status line");
  }
  auto [ptr, ec] = std::from_chars(head.data() + sp + 1, head.data() + sp + 4, reply.status);
  if (ec != std::errc() || ptr != head.data() + sp + 4) {
    return Status::IoError("admin API: bad status line");
  }
  std::optional<size_t> length;
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos) {
    size_t next = head.find("\r\n", pos + 2);
    std::string_view line = head.substr(pos + 2, next == std::string_view::npos ? head.npos
                                                                                 : next - pos - 2);
    pos = next;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = Lower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "content-type") reply.content_type = std::string(value);
    if (name == "transfer-encoding" && Lower(value) != "identity") {
      return Status::IoError("admin API: chunked answers are not supported");
    }
    if (name == "content-length") {
      size_t n = 0;
      auto [p2, ec2] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec2 != std::errc()) return Status::IoError("admin API: bad Content-Length");
      length = n;
    }
  }
  if (length) {
    if (body.size() < *length) return Status::IoError("admin API: answer cut short");
    body = body.substr(0, *length);
  }
  reply.body = std::string(body);
  return reply;
}

}  // namespace outpost::cli
