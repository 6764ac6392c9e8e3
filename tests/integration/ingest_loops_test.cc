// IngestLoops (tools/outpostd): the SMTP listeners' sessions on ingest loop threads, the
// queue's sink on the main loop. Real sockets on 127.0.0.1, a sink that records on which
// thread it runs and can hold its completions.
#include "tools/outpostd/ingest_loops.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/transport/server/test_client.h"

namespace outpost::daemon {
namespace {

using smtp_server::IngestedMessage;
using smtp_server::ListenerOptions;
using smtp_server::testing::ReplyCode;
using smtp_server::testing::TestClient;
using smtp_server::testing::WaitFor;

// The queue's stand-in: lives on the main loop. Counts calls made off that loop's thread.
class MainLoopSink final : public smtp_server::IngestSink {
 public:
  explicit MainLoopSink(LibeventDispatcher& main) : main_(main) {}
  void Submit(IngestedMessage, Done done) override {
    if (!main_.IsLoopThread()) ++off_loop_;
    std::lock_guard<std::mutex> lock(mu_);
    if (hold_) {
      held_.push_back(std::move(done));
      return;
    }
    ++submitted_;
    done(submitted_);
  }
  bool BelowFreeSpaceWatermark() override { return false; }

  void set_hold(bool v) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = v;
  }
  size_t held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  // Main loop thread: completes the held submissions.
  void Release() {
    std::vector<Done> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (auto& d : held) d(uint64_t{7});
  }
  uint64_t submitted() {
    std::lock_guard<std::mutex> lock(mu_);
    return submitted_;
  }
  int off_loop() const { return off_loop_.load(); }

 private:
  LibeventDispatcher& main_;
  std::mutex mu_;
  bool hold_ = false;
  std::vector<Done> held_;
  uint64_t submitted_ = 0;
  std::atomic<int> off_loop_{0};
};

ListenerOptions Options() {
  ListenerOptions o;
  o.name = "test";
  o.hostname = "mx.example.org";
  o.local_domains = {"example.org"};
  o.relay_networks = {"127.0.0.0/8"};
  o.bind = "127.0.0.1:0";
  return o;
}

// Connects, reads the greeting and sends EHLO, MAIL, RCPT and DATA; false on any surprise.
// MAIL, RCPT, DATA of one message, up to the 354.
bool Envelope(TestClient& c) {
  return ReplyCode(c.Command("MAIL FROM:<a@remote.example>")) == 250 &&
         ReplyCode(c.Command("RCPT TO:<x@example.org>")) == 250 && ReplyCode(c.Command("DATA")) == 354;
}

bool Begin(TestClient& c) {
  return ReplyCode(c.ReadReply()) == 220 && ReplyCode(c.Command("EHLO c")) == 250 && Envelope(c);
}

// The main loop on a thread of its own for the test's duration.
class MainLoop {
 public:
  ~MainLoop() { Stop(); }
  void Start() {
    thread_ = std::thread([this] { dispatcher.Run(); });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    dispatcher.Exit();
    thread_.join();
  }
  LibeventDispatcher dispatcher;

 private:
  std::thread thread_;
};

TEST(IngestLoops, SessionsOnEveryLoopSubmitOnTheMainLoopAndGetTheir250) {
  MainLoop main;
  MainLoopSink sink(main.dispatcher);
  IngestLoops loops(2, main.dispatcher, sink);
  ASSERT_TRUE(loops.AddListener(Options()).ok());
  ASSERT_TRUE(loops.AddListener([] {
                auto o = Options();
                o.name = "second";
                return o;
              }())
                  .ok());
  ASSERT_EQ(loops.ports().size(), 2u);
  loops.Start();
  main.Start();

  std::vector<std::unique_ptr<TestClient>> clients;
  for (int port : loops.ports()) {
    for (int i = 0; i < 20; ++i) {
      auto c = TestClient::Connect(port);
      ASSERT_NE(c, nullptr);
      ASSERT_TRUE(Begin(*c));
      clients.push_back(std::move(c));
    }
  }
  auto counts = loops.SessionCountsForTest();
  ASSERT_EQ(counts.size(), 2u);
  // Which loop accepts is a race (whichever is free; listener_group_test holds loops busy to
  // show each one accepts): only the total is certain here.
  EXPECT_EQ(counts[0] + counts[1], 40u);

  sink.set_hold(true);
  for (auto& c : clients) ASSERT_TRUE(c->Send("Subject: s\r\n\r\nbody\r\n.\r\n"));
  ASSERT_TRUE(WaitFor([&] { return sink.held() == clients.size(); }));
  // The queue has not answered yet: nobody may have a reply.
  for (auto& c : clients) EXPECT_FALSE(c->HasPendingData());
  main.dispatcher.Post([&] { sink.Release(); });
  for (auto& c : clients) EXPECT_EQ(c->ReadReply(), "250 2.0.0 Ok: queued as 0000000000000007\r\n");
  EXPECT_EQ(sink.off_loop(), 0);

  main.Stop();
  loops.Stop();
}

TEST(IngestLoops, TwoListenersOnOneAddressIsAnError) {
  // e.g. "submit" with AUTH and "mx" without on one bind: the second must not silently take
  // half of the connections.
  MainLoop main;
  MainLoopSink sink(main.dispatcher);
  IngestLoops loops(2, main.dispatcher, sink);
  ASSERT_TRUE(loops.AddListener(Options()).ok());
  auto o = Options();
  o.name = "mx";
  o.bind = "127.0.0.1:" + std::to_string(loops.ports()[0]);
  Status second = loops.AddListener(o);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.message().find("listener mx: cannot bind " + o.bind), std::string::npos)
      << second.ToString();
  IngestLoops other_daemon(2, main.dispatcher, sink);
  EXPECT_FALSE(other_daemon.AddListener(o).ok());
}

TEST(IngestLoops, StopClosesSessionsOpenOnEveryLoopAndDropsLateCompletions) {
  MainLoop main;
  MainLoopSink sink(main.dispatcher);
  auto loops = std::make_unique<IngestLoops>(2, main.dispatcher, sink);
  ASSERT_TRUE(loops->AddListener(Options()).ok());
  int port = loops->ports()[0];
  loops->Start();
  main.Start();

  std::vector<std::unique_ptr<TestClient>> idle;     // between commands
  std::vector<std::unique_ptr<TestClient>> waiting;  // their message is with the queue
  for (int i = 0; i < 40; ++i) {
    auto c = TestClient::Connect(port);
    ASSERT_NE(c, nullptr);
    if (i % 2 == 0) {
      ASSERT_EQ(ReplyCode(c->ReadReply()), 220);
      ASSERT_EQ(ReplyCode(c->Command("EHLO c")), 250);
      idle.push_back(std::move(c));
    } else {
      ASSERT_TRUE(Begin(*c));
      waiting.push_back(std::move(c));
    }
  }
  auto counts = loops->SessionCountsForTest();
  EXPECT_EQ(counts[0] + counts[1], 40u);
  sink.set_hold(true);
  for (auto& c : waiting) ASSERT_TRUE(c->Send("Subject: s\r\n\r\nbody\r\n.\r\n"));
  ASSERT_TRUE(WaitFor([&] { return sink.held() == waiting.size(); }));

  // Graceful drain first: no new connections, open sessions still answer.
  loops->StopAccepting();
  ASSERT_TRUE(WaitFor([&] { return TestClient::Connect(port) == nullptr; }));
  EXPECT_EQ(ReplyCode(idle[0]->Command("NOOP")), 250);

  loops->Stop();  // sessions on both loops closed on their threads
  for (auto& c : idle) EXPECT_TRUE(c->WaitForEof());
  for (auto& c : waiting) EXPECT_TRUE(c->WaitForEof());
  // The queue answers after the loops are gone: the completions have nowhere to go.
  main.dispatcher.Post([&] { sink.Release(); });
  ASSERT_TRUE(WaitFor([&] { return sink.held() == 0; }));
  loops.reset();
  main.Stop();
}

// Sends the message body after Begin/Envelope while `sink` holds its completion; returns once
// the sink has it (counted in flight, no reply yet).
void SendHeld(TestClient& c, MainLoopSink& sink, IngestLoops& loops) {
  sink.set_hold(true);
  ASSERT_TRUE(c.Send("Subject: s\r\n\r\nbody\r\n.\r\n"));
  ASSERT_TRUE(WaitFor([&] { return sink.held() == 1; }));
  EXPECT_EQ(loops.in_flight_submissions(), 1u);
}

TEST(IngestLoops, A250HandedToASessionReachesItsClientThoughTheLoopsStop) {
  MainLoop main;
  MainLoopSink sink(main.dispatcher);
  IngestLoops loops(1, main.dispatcher, sink);
  ASSERT_TRUE(loops.AddListener(Options()).ok());
  loops.Start();
  main.Start();
  auto c = TestClient::Connect(loops.ports()[0]);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(Begin(*c));
  ASSERT_NO_FATAL_FAILURE(SendHeld(*c, sink, loops));
  // The message is stored and its completion posted back; the loops stop right after (the
  // daemon's exit): the 250 must still be written before the session is closed.
  std::promise<void> stopped;
  main.dispatcher.Post([&] {
    sink.Release();
    EXPECT_EQ(loops.in_flight_submissions(), 0u);
    loops.Stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  main.Stop();
  EXPECT_EQ(c->ReadReply(), "250 2.0.0 Ok: queued as 0000000000000007\r\n");
}

TEST(IngestLoops, ASubmissionReachingTheMainLoopAfterTheExitDecisionIsRefused) {
  MainLoop main;  // not running yet: the session's message waits in its queue
  MainLoopSink sink(main.dispatcher);
  IngestLoops loops(1, main.dispatcher, sink);
  ASSERT_TRUE(loops.AddListener(Options()).ok());
  loops.Start();
  auto c = TestClient::Connect(loops.ports()[0]);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(Begin(*c));
  ASSERT_TRUE(c->Send("Subject: s\r\n\r\nbody\r\n.\r\n"));
  // The daemon must not call the store idle while this is in flight.
  ASSERT_TRUE(WaitFor([&] { return loops.in_flight_submissions() == 1; }));
  loops.RefuseSubmissions();  // the exit decision (main loop thread: it is not running)
  main.Start();               // its drain runs the submission
  EXPECT_EQ(ReplyCode(c->ReadReply()), 451);
  EXPECT_EQ(sink.submitted(), 0u);
  EXPECT_EQ(sink.held(), 0u);
  EXPECT_EQ(loops.in_flight_submissions(), 0u);
  main.Stop();
  loops.Stop();
}

TEST(IngestLoops, ZeroThreadsRunsTheListenersOnTheMainLoop) {
  MainLoop main;
  MainLoopSink sink(main.dispatcher);
  IngestLoops loops(0, main.dispatcher, sink);
  ASSERT_TRUE(loops.AddListener(Options()).ok());
  EXPECT_EQ(loops.loop_count(), 0u);
  loops.Start();
  main.Start();
  auto c = TestClient::Connect(loops.ports()[0]);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(Begin(*c));
  ASSERT_TRUE(c->Send("Subject: s\r\n\r\nbody\r\n.\r\n"));
  EXPECT_EQ(c->ReadReply(), "250 2.0.0 Ok: queued as 0000000000000001\r\n");
  EXPECT_EQ(sink.off_loop(), 0);
  main.Stop();
  loops.Stop();
}

// With the listeners on the main loop (threads = 0) a submission is counted in flight until its
// completion, and once the daemon stops (Shutdown refuses submissions) a session still open
// gets 451 for its next message instead of having it stored.
TEST(IngestLoops, ZeroThreadsCountsSubmissionsAndRefusesThemWhenStopping) {
  MainLoop main;
  MainLoopSink sink(main.dispatcher);
  IngestLoops loops(0, main.dispatcher, sink);
  ASSERT_TRUE(loops.AddListener(Options()).ok());
  loops.Start();
  main.Start();
  auto c = TestClient::Connect(loops.ports()[0]);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(Begin(*c));
  ASSERT_NO_FATAL_FAILURE(SendHeld(*c, sink, loops));
  main.dispatcher.Post([&] { sink.Release(); });
  EXPECT_EQ(c->ReadReply(), "250 2.0.0 Ok: queued as 0000000000000007\r\n");
  ASSERT_TRUE(WaitFor([&] { return loops.in_flight_submissions() == 0; }));

  std::promise<void> refused;
  main.dispatcher.Post([&] {
    loops.RefuseSubmissions();
    refused.set_value();
  });
  refused.get_future().wait();
  sink.set_hold(false);
  ASSERT_TRUE(Envelope(*c));
  ASSERT_TRUE(c->Send("Subject: t\r\n\r\nbody\r\n.\r\n"));
  EXPECT_EQ(ReplyCode(c->ReadReply()), 451);
  EXPECT_EQ(sink.submitted(), 0u);
  EXPECT_EQ(loops.in_flight_submissions(), 0u);
  main.Stop();
  loops.Stop();
}

TEST(IngestLoops, ABindErrorNamesTheAddress) {
  MainLoop main;
  MainLoopSink sink(main.dispatcher);
  IngestLoops first(1, main.dispatcher, sink);
  ASSERT_TRUE(first.AddListener(Options()).ok());
  IngestLoops second(2, main.dispatcher, sink);
  auto o = Options();
  o.bind = "127.0.0.1:" + std::to_string(first.ports()[0]);
  Status st = second.AddListener(o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot bind " + o.bind), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace outpost::daemon
