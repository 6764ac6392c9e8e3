#include "tools/admin/admin_http_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>

#include "common/logging.h"

namespace outpost::admin {
namespace {

std::string MethodName(evhttp_cmd_type cmd) {
  switch (cmd) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_TRACE:
      return "TRACE";
    case EVHTTP_REQ_CONNECT:
      return "CONNECT";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
  }
  return "OTHER";
}

std::string Decode(const char* s) {
  if (s == nullptr) return "";
  size_t n = 0;
  char* d = evhttp_uridecode(s, /*decode_plus=*/0, &n);
  if (d == nullptr) return "";
  std::string out(d, n);
  free(d);
  return out;
}

// Fills path and query of `out` from the request URI; false when it is not a valid URI.
bool ParseUri(evhttp_request* req, HttpRequest* out) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  if (uri == nullptr) return false;
  out->path = Decode(evhttp_uri_get_path(uri));
  // push_back, not = "/": GCC 12 -O3 reports a false -Wrestrict on the literal assignment.
  if (out->path.empty()) out->path.push_back('/');
  const char* q = evhttp_uri_get_query(uri);
  if (q == nullptr || *q == '\0') return true;
  evkeyvalq params;
  params.tqh_first = nullptr;
  params.tqh_last = &params.tqh_first;
  if (evhttp_parse_query_str(q, &params) != 0) {
    evhttp_clear_headers(&params);
    return false;
  }
  for (evkeyval* kv = params.tqh_first; kv != nullptr; kv = kv->next.tqe_next) {
    out->query[kv->key] = kv->value;
  }
  evhttp_clear_headers(&params);
  return true;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return status < 400 ? "OK" : "Error";
  }
}

}  // namespace

StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view bind) {
  std::string_view host, port;
  if (!bind.empty() && bind.front() == '[') {
    size_t close = bind.find(']');
    if (close == std::string_view::npos || close + 1 >= bind.size() || bind[close + 1] != ':') {
      return Status::InvalidArgument("admin.bind '" + std::string(bind) +
                                     "': expected [v6-address]:port");
    }
    host = bind.substr(1, close - 1);
    port = bind.substr(close + 2);
  } else {
    size_t colon = bind.rfind(':');
    if (colon == std::string_view::npos || bind.find(':') != colon) {
      return Status::InvalidArgument("admin.bind '" + std::string(bind) + "': expected host:port");
    }
    host = bind.substr(0, colon);
    port = bind.substr(colon + 1);
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (host.empty() || ec != std::errc() || ptr != port.data() + port.size() || p > 65535) {
    return Status::InvalidArgument("admin.bind '" + std::string(bind) + "': bad host or port");
  }
  return std::make_pair(std::string(host), static_cast<uint16_t>(p));
}

StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(
    LibeventDispatcher& dispatcher, AdminApi& api, const AdminHttpOptions& options) {
  OUTPOST_ASSIGN_OR_RETURN(auto hp, SplitHostPort(options.bind));
  std::unique_ptr<AdminHttpServer> server(new AdminHttpServer(api));
  server->http_ = evhttp_new(dispatcher.base());
  if (server->http_ == nullptr) return Status::Internal("evhttp_new failed");
  evhttp_set_max_body_size(server->http_, static_cast<ev_ssize_t>(options.max_body_bytes));
  evhttp_set_timeout(server->http_, options.timeout_seconds);
  evhttp_set_allowed_methods(server->http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                                EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
  evhttp_set_gencb(server->http_, &AdminHttpServer::OnRequest, server.get());
  evhttp_bound_socket* bound =
      evhttp_bind_socket_with_handle(server->http_, hp.first.c_str(), hp.second);
  if (bound == nullptr) {
    return Status::IoError("admin.bind " + options.bind +
                           ": cannot listen (address in use or not local?)");
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&ss), &len) ==
      0) {
    server->port_ = ss.ss_family == AF_INET6
                        ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                        : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  OUTPOST_LOG_INFO("admin.started", {"bind", options.bind}, {"port", server->port_});
  return server;
}

AdminHttpServer::~AdminHttpServer() {
  *alive_ = false;
  // Frees the listener, every connection and every request still waiting for a response.
  if (http_ != nullptr) evhttp_free(http_);
}

void AdminHttpServer::OnRequest(evhttp_request* req, void* arg) {
  auto* self = static_cast<AdminHttpServer*>(arg);
  HttpRequest r;
  r.method = MethodName(evhttp_request_get_command(req));
  if (!ParseUri(req, &r)) {
    evhttp_send_error(req, 400, "Bad Request");
    return;
  }
  if (const char* auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization")) {
    r.authorization = auth;
  }
  evbuffer* in = evhttp_request_get_input_buffer(req);
  r.body.resize(evbuffer_get_length(in));
  if (!r.body.empty()) evbuffer_remove(in, r.body.data(), r.body.size());

  // evhttp keeps `req` alive until a reply is sent (a closed client connection merely
  // detaches it); evhttp_free in the destructor frees it, hence the alive check.
  self->api_.Handle(std::move(r), [req, alive = std::weak_ptr<bool>(self->alive_)](
                                      HttpResponse resp) {
    auto a = alive.lock();
    if (!a || !*a) return;
    evkeyvalq* headers = evhttp_request_get_output_headers(req);
    evhttp_add_header(headers, "Content-Type", resp.content_type.c_str());
    evhttp_add_header(headers, "Cache-Control", "no-store");
    for (const auto& [k, v] : resp.headers) evhttp_add_header(headers, k.c_str(), v.c_str());
    evbuffer* out = evbuffer_new();
    evbuffer_add(out, resp.body.data(), resp.body.size());
    evhttp_send_reply(req, resp.status, Reason(resp.status), out);
    evbuffer_free(out);
  });
}

}  // namespace outpost::admin
