// Messages per second delivered by SmtpDeliverer to smtp-sink on 127.0.0.1: 2 KiB messages,
// over one reused connection and over 10, with and without PIPELINING (smtp-sink -p), and
// Postfix's smtp-source straight into the same sink as the ceiling. Prints figures only.
//
//   transport_bench [messages]   (default 2000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/libevent_dispatcher.h"
#include "common/logging.h"
#include "tests/transport/smtp/peer_process.h"
#include "tests/transport/smtp/smtp_test_util.h"
#include "transport/smtp/smtp_deliverer.h"
#include "transport/smtp/tls_client.h"

namespace outpost::transport::smtp {
namespace {

using Clock = std::chrono::steady_clock;

std::string Body2K() {
  std::string body = "From: bench@example.org\r\nTo: sink@example.net\r\nSubject: bench\r\n\r\n";
  while (body.size() < 2048) body += "The quick brown fox jumps over the lazy dog, again.\r\n";
  return body;
}

struct Sink {
  uint16_t port;
  std::unique_ptr<testing::PeerProcess> process;
};

Sink StartSink(bool pipelining, const std::string& dir) {
  Sink s;
  s.port = testing::FreePort();
  std::vector<std::string> argv = {"/usr/sbin/smtp-sink", "-u", "root"};
  if (!pipelining) argv.push_back("-p");
  argv.push_back("127.0.0.1:" + std::to_string(s.port));
  argv.push_back("256");
  s.process = std::make_unique<testing::PeerProcess>(argv, s.port, dir + "/sink.log");
  if (!s.process->ok()) {
    std::fprintf(stderr, "smtp-sink did not start\n");
    std::exit(1);
  }
  return s;
}

double RunClient(const Sink& sink, int messages, uint32_t connections) {
  LibeventDispatcher loop;
  FakeClock down_clock;
  auto tls = std::move(TlsClientContext::Create({}).value());
  SmtpDelivererOptions options;
  options.mx_concurrency = connections;  // the limiter queues the rest: N reused connections
  options.pool.max_idle_per_key = connections;
  SmtpDeliverer deliverer(loop, *tls, down_clock, options);
  testing::TestPolicy policy;
  policy.tls.starttls = TlsMode::kDisable;
  auto body = std::make_shared<const std::string>(Body2K());
  int done = 0, delivered = 0;
  auto start = Clock::now();
  for (int i = 0; i < messages; ++i) {
    DeliveryRequest req = testing::MxRequest(&policy, {testing::NumberedAddress(i)});
    req.message.body = body;
    deliverer.Deliver(std::move(req), {testing::Host("sink.test", sink.port)},
                      [&](DeliveryResult r) {
                        delivered += r.outcomes[0].kind == OutcomeKind::kDelivered ? 1 : 0;
                        if (++done == messages) loop.Exit();
                      });
  }
  bool finished = false;
  testing::RunLoop(loop, finished, std::chrono::minutes(5));
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  if (delivered != messages)
    std::fprintf(stderr, "  (only %d of %d delivered)\n", delivered, messages);
  return delivered / secs;
}

double RunSmtpSource(const Sink& sink, int messages, int sessions) {
  std::string cmd =
      "/usr/sbin/smtp-source -d -s " + std::to_string(sessions) + " -l 2048 -m " +
      std::to_string(messages) +
      " -f bench@example.org -t sink@example.net 127.0.0.1:" + std::to_string(sink.port) +
      " >/dev/null 2>&1";
  auto start = Clock::now();
  int rc = std::system(cmd.c_str());
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  if (rc != 0) std::fprintf(stderr, "  (smtp-source exited %d)\n", rc);
  return messages / secs;
}

}  // namespace
}  // namespace outpost::transport::smtp

int main(int argc, char** argv) {
  using namespace outpost::transport::smtp;  // NOLINT
  outpost::SetMinLogLevel(outpost::LogLevel::kWarning);
  int messages = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::string dir = testing::MakeTempDir("transport_bench");
  std::printf("transport_bench: %d messages of 2 KiB to smtp-sink on 127.0.0.1\n", messages);
  for (bool pipelining : {true, false}) {
    Sink sink = StartSink(pipelining, dir);
    const char* mode = pipelining ? "pipelining" : "no pipelining";
    std::printf("  outpost, 1 reused connection, %-13s: %8.0f msg/s\n", mode,
                RunClient(sink, messages, 1));
    std::printf("  outpost, 10 connections,      %-13s: %8.0f msg/s\n", mode,
                RunClient(sink, messages, 10));
    std::printf("  smtp-source -d, 1 session,    %-13s: %8.0f msg/s\n", mode,
                RunSmtpSource(sink, messages, 1));
    std::printf("  smtp-source -d, 10 sessions,  %-13s: %8.0f msg/s\n", mode,
                RunSmtpSource(sink, messages, 10));
  }
  std::string rm = "rm -rf " + dir;
  return std::system(rm.c_str()) == 0 ? 0 : 1;
}
