// SmtpListener::CreateGroup: every event loop of a group accepts on one listening socket.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/transport/server/server_fixture.h"
#include "tests/transport/server/test_client.h"

namespace outpost::smtp_server {
namespace {

using testing::FakeSink;
using testing::ReplyCode;
using testing::TestClient;
using testing::WaitFor;

ListenerOptions Options() {
  ListenerOptions o;
  o.hostname = "mx.example.org";
  o.local_domains = {"example.org"};
  o.relay_networks = {"127.0.0.0/8"};
  o.bind = "127.0.0.1:0";
  return o;
}

// `n` loops, each on its own thread with its own sink and its member of one listener group.
class GroupFixture {
 public:
  GroupFixture(ListenerOptions options, size_t n) : loops_(n), sinks_(n) {
    std::vector<SmtpListener::Loop> group;
    for (size_t i = 0; i < n; ++i) group.push_back({&loops_[i], &sinks_[i]});
    auto created = SmtpListener::CreateGroup(std::move(options), group);
    if (!created.ok()) {
      error_ = created.status();
      return;
    }
    listeners_ = std::move(*created);
    for (size_t i = 0; i < n; ++i) threads_.emplace_back([this, i] { loops_[i].Run(); });
  }
  ~GroupFixture() {
    for (size_t i = 0; i < threads_.size(); ++i) {
      OnLoop(i, [this, i] {
        listeners_[i].reset();
        return size_t{0};
      });
      loops_[i].Exit();
      threads_[i].join();
    }
  }
  template <typename F>
  size_t OnLoop(size_t i, F f) {
    std::promise<size_t> p;
    loops_[i].Post([&] { p.set_value(f()); });
    return p.get_future().get();
  }
  // Runs `f` while every loop but `i` is held busy, so that only loop `i` can accept.
  template <typename F>
  void WithOnlyLoop(size_t i, F f) {
    auto release = std::make_shared<std::promise<void>>();
    std::shared_future<void> released = release->get_future().share();
    for (size_t j = 0; j < loops_.size(); ++j) {
      if (j == i) continue;
      auto held = std::make_shared<std::promise<void>>();
      loops_[j].Post([held, released] {
        held->set_value();
        released.wait();
      });
      held->get_future().wait();
    }
    f();
    release->set_value();
  }
  size_t Sessions(size_t i) {
    return OnLoop(i, [this, i] { return listeners_[i]->session_count(); });
  }
  const Status& error() const { return error_; }
  int port(size_t i) const { return listeners_[i]->port(); }
  FakeSink& sink(size_t i) { return sinks_[i]; }

 private:
  std::vector<LibeventDispatcher> loops_;
  std::vector<FakeSink> sinks_;
  std::vector<std::unique_ptr<SmtpListener>> listeners_;
  std::vector<std::thread> threads_;
  Status error_;
};

TEST(SmtpListenerGroup, PortZeroGivesEveryLoopTheSamePort) {
  GroupFixture g(Options(), 3);
  ASSERT_TRUE(g.error().ok()) << g.error().ToString();
  EXPECT_NE(g.port(0), 0);
  EXPECT_EQ(g.port(1), g.port(0));
  EXPECT_EQ(g.port(2), g.port(0));
}

TEST(SmtpListenerGroup, ConnectionsAreAcceptedOnEveryLoopAndSubmitToThatLoopsSink) {
  GroupFixture g(Options(), 2);
  ASSERT_TRUE(g.error().ok()) << g.error().ToString();
  // Every loop waits on the one socket and whichever is free accepts: with the other loop
  // busy, each loop in turn must take the connections alone.
  std::vector<std::unique_ptr<TestClient>> clients;
  for (size_t loop = 0; loop < 2; ++loop) {
    g.WithOnlyLoop(loop, [&] {
      for (int i = 0; i < 20; ++i) {
        auto c = TestClient::Connect(g.port(0));
        ASSERT_NE(c, nullptr);
        ASSERT_EQ(ReplyCode(c->ReadReply()), 220);
        clients.push_back(std::move(c));
      }
    });
  }
  EXPECT_EQ(g.Sessions(0), 20u);
  EXPECT_EQ(g.Sessions(1), 20u);
  for (auto& c : clients) {
    ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
    ASSERT_EQ(ReplyCode(c->Command("MAIL FROM:<a@remote.example>")), 250);
    ASSERT_EQ(ReplyCode(c->Command("RCPT TO:<x@example.org>")), 250);
    ASSERT_EQ(ReplyCode(c->Command("DATA")), 354);
    ASSERT_TRUE(c->Send("Subject: s\r\n\r\nbody\r\n.\r\n"));
    EXPECT_EQ(ReplyCode(c->ReadReply()), 250);
  }
  EXPECT_EQ(g.sink(0).count(), 20u);
  EXPECT_EQ(g.sink(1).count(), 20u);
}

TEST(SmtpListenerGroup, PerIpLimitHoldsForTheWholeGroup) {
  ListenerOptions o = Options();
  o.relay_networks = {"10.0.0.0/8"};  // loopback is counted
  o.max_connections_per_ip = 3;
  GroupFixture g(o, 2);
  ASSERT_TRUE(g.error().ok()) << g.error().ToString();
  std::vector<std::unique_ptr<TestClient>> clients;
  int greeted = 0;
  int refused = 0;
  for (int i = 0; i < 12; ++i) {
    auto c = TestClient::Connect(g.port(0));
    ASSERT_NE(c, nullptr);
    int code = ReplyCode(c->ReadReply());
    greeted += code == 220;
    refused += code == 421;
    clients.push_back(std::move(c));
  }
  // Per loop the limit would let up to 6 in.
  EXPECT_EQ(greeted, 3);
  EXPECT_EQ(refused, 9);
}

TEST(SmtpListenerGroup, ABusyPortFailsTheWholeGroupWithTheAddress) {
  GroupFixture first(Options(), 1);
  ASSERT_TRUE(first.error().ok());
  ListenerOptions o = Options();
  o.bind = "127.0.0.1:" + std::to_string(first.port(0));
  GroupFixture second(o, 2);  // the first socket has no SO_REUSEPORT: nobody may share it
  ASSERT_FALSE(second.error().ok());
  EXPECT_NE(second.error().message().find("cannot bind 127.0.0.1:"), std::string::npos)
      << second.error().ToString();
}

TEST(SmtpListenerGroup, AGroupSharesItsSocketWithNobodyElse) {
  // A second group on the address (another listener entry, another daemon) must fail, not
  // take a share of the connections.
  GroupFixture first(Options(), 2);
  ASSERT_TRUE(first.error().ok()) << first.error().ToString();
  ListenerOptions o = Options();
  o.bind = "127.0.0.1:" + std::to_string(first.port(0));
  for (size_t n : {size_t{1}, size_t{2}}) {
    GroupFixture second(o, n);
    ASSERT_FALSE(second.error().ok()) << n;
    EXPECT_NE(second.error().message().find("cannot bind " + o.bind), std::string::npos)
        << second.error().ToString();
  }
}

}  // namespace
}  // namespace outpost::smtp_server
