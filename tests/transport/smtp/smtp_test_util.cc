#include "tests/transport/smtp/smtp_test_util.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace outpost::transport::smtp::testing {

void RunLoop(LibeventDispatcher& loop, const bool& done, std::chrono::milliseconds limit) {
  if (done) return;
  auto watchdog = loop.CreateTimer([&loop] { loop.Exit(); });
  watchdog->Enable(limit);
  loop.Run();
}

DeliveryResult DeliverAndWait(LibeventDispatcher& loop, SmtpDeliverer& deliverer,
                              DeliveryRequest request, std::vector<TargetHost> hosts) {
  bool done = false;
  DeliveryResult out;
  deliverer.Deliver(std::move(request), std::move(hosts), [&](DeliveryResult r) {
    out = std::move(r);
    done = true;
    loop.Exit();
  });
  RunLoop(loop, done);
  EXPECT_TRUE(done) << "delivery did not finish";
  return out;
}

TestPolicy::TestPolicy() {
  using std::chrono::milliseconds;
  connection.strategy_name = "default";
  connection.ehlo_hostname = "client.test";
  connection.connect_timeout = milliseconds(3000);
  connection.greeting_timeout = milliseconds(3000);
  connection.ehlo_timeout = milliseconds(3000);
  connection.mail_from_timeout = milliseconds(3000);
  connection.rcpt_to_timeout = milliseconds(3000);
  connection.data_timeout = milliseconds(3000);
  tls.strategy_name = "default";
  tls.starttls = TlsMode::kOptional;
  tls.tls_timeout = milliseconds(3000);
}

bool TestPolicy::ConnectionFor(const HostContext& host, ConnectionPolicy* out, std::string* error) {
  asked.push_back(host);
  if (!fail_with.empty()) {
    *error = fail_with;
    return false;
  }
  *out = connection;
  return true;
}

bool TestPolicy::TlsFor(const HostContext&, TlsPolicy* out, std::string* error) {
  if (!fail_with.empty()) {
    *error = fail_with;
    return false;
  }
  *out = tls;
  return true;
}

namespace {
DeliveryRequest BaseRequest(TestPolicy* policy, std::vector<std::string> rcpts, std::string body) {
  DeliveryRequest r;
  r.message.id = 0x1234;
  r.message.return_path = "alice@example.org";
  r.message.body = std::make_shared<const std::string>(std::move(body));
  for (auto& a : rcpts) r.recipients.push_back(DeliveryRecipient{a, "", {}});
  r.policy = policy;
  return r;
}
}  // namespace

DeliveryRequest MxRequest(TestPolicy* policy, std::vector<std::string> rcpts, std::string body) {
  DeliveryRequest r = BaseRequest(policy, std::move(rcpts), std::move(body));
  r.route_name = "mx";
  r.route = MxRoute{"example.net"};
  return r;
}

DeliveryRequest RelayRequest(TestPolicy* policy, RelayRoute route, std::vector<std::string> rcpts,
                             std::string body) {
  DeliveryRequest r = BaseRequest(policy, std::move(rcpts), std::move(body));
  r.route_name = "relay";
  r.route = std::move(route);
  return r;
}

TargetHost Host(const std::string& name, uint16_t port, std::string ip) {
  return TargetHost{name, {std::move(ip)}, port};
}

std::vector<Step> Greet(std::vector<std::string> caps, const std::string& verb) {
  std::string reply = "250";
  reply += caps.empty() ? " " : "-";
  reply += "test.peer greets you\r\n";
  for (size_t i = 0; i < caps.size(); ++i) {
    reply += (i + 1 == caps.size() ? "250 " : "250-") + caps[i] + "\r\n";
  }
  return {Send("220 test.peer ESMTP\r\n"), Expect(verb), Send(reply)};
}

std::vector<Step> AcceptMessage(int rcpts) {
  std::vector<Step> s = On("MAIL FROM:", "250 2.1.0 Ok\r\n");
  for (int i = 0; i < rcpts; ++i) {
    auto r = On("RCPT TO:", "250 2.1.5 Ok\r\n");
    s.insert(s.end(), r.begin(), r.end());
  }
  auto d = On("DATA", "354 go ahead\r\n");
  s.insert(s.end(), d.begin(), d.end());
  s.push_back(Data());
  s.push_back(Send("250 2.0.0 Ok: queued\r\n"));
  return s;
}

std::string NumberedAddress(int i) {
  std::string out = "r";
  out += std::to_string(i);
  out += "@example.net";
  return out;
}

uint16_t ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  socklen_t len = sizeof(sin);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  ::close(fd);
  return ntohs(sin.sin_port);
}

}  // namespace outpost::transport::smtp::testing
