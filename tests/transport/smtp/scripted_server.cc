#include "tests/transport/smtp/scripted_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace outpost::transport::smtp::testing {

Script Concat(std::initializer_list<std::vector<Step>> parts) {
  Script out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct ScriptedServer::Conn {
  ScriptedServer* server;
  int fd;
  bufferevent* bev = nullptr;
  bool tls = false;
  const Script* script;
  size_t step = 0;
  bool closed = false;
  bool draining = false;
  std::string peer_ip;
  std::string sni;
  std::vector<std::string> transcript;
  std::vector<std::string> messages;
};

ScriptedServer::ScriptedServer(LibeventDispatcher& dispatcher, std::vector<Script> scripts,
                               SSL_CTX* tls)
    : dispatcher_(dispatcher), scripts_(std::move(scripts)), tls_(tls) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = 0;
  listener_ = evconnlistener_new_bind(dispatcher_.base(), &ScriptedServer::OnAccept, this,
                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                      reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  if (listener_ == nullptr) throw std::runtime_error("cannot listen on 127.0.0.1");
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  getsockname(evconnlistener_get_fd(listener_), reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.sin_port);
}

ScriptedServer::~ScriptedServer() {
  evconnlistener_free(listener_);
  for (auto& c : conns_) {
    if (c->bev != nullptr) bufferevent_free(c->bev);
    if (!c->tls && !c->closed) ::close(c->fd);
  }
}

const std::vector<std::string>& ScriptedServer::transcript(int i) const {
  return conns_.at(static_cast<size_t>(i))->transcript;
}

const std::string& ScriptedServer::peer_ip(int i) const {
  return conns_.at(static_cast<size_t>(i))->peer_ip;
}

const std::string& ScriptedServer::sni(int i) const {
  return conns_.at(static_cast<size_t>(i))->sni;
}

const std::string& ScriptedServer::message(int i, int k) const {
  return conns_.at(static_cast<size_t>(i))->messages.at(static_cast<size_t>(k));
}

std::vector<std::string> ScriptedServer::AllLines() const {
  std::vector<std::string> out;
  for (const auto& c : conns_) out.insert(out.end(), c->transcript.begin(), c->transcript.end());
  return out;
}

void ScriptedServer::OnAccept(evconnlistener*, int fd, sockaddr* addr, int, void* arg) {
  auto* self = static_cast<ScriptedServer*>(arg);
  auto c = std::make_unique<Conn>();
  char ip[INET6_ADDRSTRLEN] = "";
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(addr)->sin_addr, ip, sizeof(ip));
  }
  c->peer_ip = ip;
  c->server = self;
  c->fd = fd;
  size_t idx = std::min(self->conns_.size(), self->scripts_.size() - 1);
  c->script = &self->scripts_[idx];
  c->bev = bufferevent_socket_new(self->dispatcher_.base(), fd, 0);
  Conn* raw = c.get();
  self->conns_.push_back(std::move(c));
  bufferevent_setcb(raw->bev, &ScriptedServer::OnRead, nullptr, &ScriptedServer::OnEvent, raw);
  bufferevent_enable(raw->bev, EV_READ | EV_WRITE);
  self->Advance(raw);
}

void ScriptedServer::OnRead(bufferevent*, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  if (c->draining) {
    evbuffer* in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  c->server->Advance(c);
}

void ScriptedServer::OnWritten(bufferevent* bev, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  if (c->draining && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    ::shutdown(c->fd, SHUT_WR);
  }
}

void ScriptedServer::OnEvent(bufferevent*, short events, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  if ((events & BEV_EVENT_CONNECTED) && c->tls) {
    const char* name =
        SSL_get_servername(bufferevent_openssl_get_ssl(c->bev), TLSEXT_NAMETYPE_host_name);
    c->sni = name ? name : "";
    return;
  }
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    bufferevent_free(c->bev);
    c->bev = nullptr;
    if (!c->tls) ::close(c->fd);
    c->closed = true;
  }
}

void ScriptedServer::Advance(Conn* c) {
  while (!c->closed && !c->draining && c->bev != nullptr && c->step < c->script->size()) {
    const Step& s = (*c->script)[c->step];
    evbuffer* in = bufferevent_get_input(c->bev);
    switch (s.kind) {
      case Step::Kind::kSend: {
        bool tls_next = c->step + 1 < c->script->size() &&
                        (*c->script)[c->step + 1].kind == Step::Kind::kStartTls;
        if (tls_next && !c->tls) {
          // Must be on the wire before the socket switches to TLS: write it directly.
          (void)::write(c->fd, s.text.data(), s.text.size());
        } else {
          bufferevent_write(c->bev, s.text.data(), s.text.size());
        }
        ++c->step;
        break;
      }
      case Step::Kind::kExpect: {
        size_t len = 0;
        char* line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF_STRICT);
        if (line == nullptr) return;
        std::string got(line, len);
        free(line);
        if (strncasecmp(got.c_str(), s.text.c_str(), s.text.size()) != 0) {
          c->transcript.push_back("UNEXPECTED: " + got);
          c->step = c->script->size();
          bufferevent_free(c->bev);
          c->bev = nullptr;
          if (!c->tls) ::close(c->fd);
          c->closed = true;
          return;
        }
        c->transcript.push_back(got);
        ++c->step;
        break;
      }
      case Step::Kind::kData: {
        size_t n = evbuffer_get_length(in);
        const char* data = reinterpret_cast<const char*>(evbuffer_pullup(in, -1));
        std::string_view v(data == nullptr ? "" : data, n);
        size_t end;
        if (v.substr(0, 3) == ".\r\n") {
          end = 3;
        } else {
          size_t p = v.find("\r\n.\r\n");
          if (p == std::string_view::npos) return;
          end = p + 5;
        }
        c->messages.emplace_back(v.substr(0, end));
        evbuffer_drain(in, end);
        c->transcript.push_back("<DATA>");
        ++c->step;
        break;
      }
      case Step::Kind::kClose:
        ++c->step;
        if (!c->tls) {
          // Half-close and keep reading until the client closes too: closing with unread
          // input would send a RST that can destroy our last reply in flight.
          c->draining = true;
          evbuffer_drain(in, evbuffer_get_length(in));
          if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
            ::shutdown(c->fd, SHUT_WR);
          } else {  // FIN only after the replies still buffered are on the wire
            bufferevent_setcb(c->bev, &ScriptedServer::OnRead, &ScriptedServer::OnWritten,
                              &ScriptedServer::OnEvent, c);
          }
          return;
        }
        bufferevent_free(c->bev);
        c->bev = nullptr;
        c->closed = true;
        return;
      case Step::Kind::kHang:
        return;  // keep the connection open and silent
      case Step::Kind::kStartTls: {
        ++c->step;
        evbuffer_drain(in, evbuffer_get_length(in));
        bufferevent_free(c->bev);
        SSL* ssl = SSL_new(tls_);
        c->bev = bufferevent_openssl_socket_new(dispatcher_.base(), c->fd, ssl,
                                                BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
        c->tls = true;
        bufferevent_setcb(c->bev, &ScriptedServer::OnRead, nullptr, &ScriptedServer::OnEvent, c);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        break;
      }
    }
  }
}

}  // namespace outpost::transport::smtp::testing
