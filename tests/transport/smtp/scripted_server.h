#pragma once

// An in-process SMTP/LMTP peer for tests: listens on 127.0.0.1 (port chosen by the kernel) on
// the test's own event loop and plays a script per connection, recording what the client sent.
// Deterministic exact reply sequences: refusals, multi-line replies, drops, hangs, STARTTLS
// (server side TLS with an in-memory certificate) and replies glued after a 220.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/libevent_dispatcher.h"

struct evconnlistener;
struct sockaddr;
struct bufferevent;
typedef struct ssl_ctx_st SSL_CTX;

namespace outpost::transport::smtp::testing {

struct Step {
  enum class Kind { kSend, kExpect, kData, kClose, kHang, kStartTls };
  Kind kind;
  std::string text;  // bytes to send, or the expected command prefix (case-insensitive)
};
using Script = std::vector<Step>;

inline Step Send(std::string bytes) { return {Step::Kind::kSend, std::move(bytes)}; }
inline Step Expect(std::string prefix) { return {Step::Kind::kExpect, std::move(prefix)}; }
// Reads the message up to and including CRLF.CRLF (recorded as "<DATA>").
inline Step Data() { return {Step::Kind::kData, ""}; }
inline Step Close() { return {Step::Kind::kClose, ""}; }
inline Step Hang() { return {Step::Kind::kHang, ""}; }
inline Step StartTls() { return {Step::Kind::kStartTls, ""}; }
// Expect a command, answer it.
inline std::vector<Step> On(std::string prefix, std::string reply) {
  return {Expect(std::move(prefix)), Send(std::move(reply))};
}
Script Concat(std::initializer_list<std::vector<Step>> parts);

class ScriptedServer {
 public:
  // Connection i plays scripts[min(i, size-1)]. `tls` (may be null) is used by StartTls().
  ScriptedServer(LibeventDispatcher& dispatcher, std::vector<Script> scripts,
                 SSL_CTX* tls = nullptr);
  ~ScriptedServer();

  uint16_t port() const { return port_; }
  int connections() const { return static_cast<int>(conns_.size()); }
  // Command lines received on connection `i` ("<DATA>" for a message); "UNEXPECTED: ..." when
  // the client sent something the script did not expect (the connection is then closed).
  const std::vector<std::string>& transcript(int i) const;
  // Raw bytes of the k-th message on connection i (dot-stuffed, with the final ".\r\n").
  const std::string& message(int i, int k) const;
  // The client's source address of connection i, and the SNI it sent (if it did TLS).
  const std::string& peer_ip(int i) const;
  const std::string& sni(int i) const;
  // Every line received on every connection, in order.
  std::vector<std::string> AllLines() const;

 private:
  struct Conn;
  static void OnAccept(evconnlistener*, int fd, struct sockaddr*, int, void* arg);
  static void OnRead(bufferevent*, void* arg);
  static void OnEvent(bufferevent*, short, void* arg);
  static void OnWritten(bufferevent*, void* arg);
  void Advance(Conn* c);

  LibeventDispatcher& dispatcher_;
  std::vector<Script> scripts_;
  SSL_CTX* tls_;
  evconnlistener* listener_ = nullptr;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace outpost::transport::smtp::testing
