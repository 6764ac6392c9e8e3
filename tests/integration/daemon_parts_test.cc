// Unit tests of outpostd's own parts (tools/outpostd): the data-dir lock, the ingest sink
// over a real QueueStore, the relay host lookup and MX plan failures over FakeResolver, the
// reloadable agent. The daemon as a whole is exercised by e2e_test.py.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/fake_dispatcher.h"
#include "queue/queue_store.h"
#include "tests/common/temp_dir.h"
#include "tools/outpostd/data_dir_lock.h"
#include "tools/outpostd/mx_agent.h"
#include "tools/outpostd/queue_ingest_sink.h"
#include "tools/outpostd/reloadable_agent.h"
#include "tools/outpostd/resolver_host_lookup.h"
#include "transport/dns/fake_resolver.h"

namespace outpost::daemon {
namespace {

using transport::DeliveryRequest;
using transport::DeliveryResult;
using transport::dns::DnsOutcome;
using transport::dns::DnsType;

using ::outpost::testing::TempDir;

TEST(DataDirLock, SecondHolderGetsAClearMessageWithThePid) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  auto first = DataDirLock::Acquire(data);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = DataDirLock::Acquire(data);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            "another outpostd is running on " + data + " (pid " + std::to_string(getpid()) + ")");
  first->reset();
  EXPECT_TRUE(DataDirLock::Acquire(data).ok());  // released with its holder
}

TEST(DataDirLock, UncreatableDirectoryIsAnIoError) {
  auto lock = DataDirLock::Acquire("/proc/outpostd-cannot-exist/data");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), Status::Code::kIoError);
}

TEST(IngestErrorFor, WatermarkIs452AndEveryStoreErrorIs451) {
  EXPECT_EQ(IngestErrorFor(Status::IoError("x"), true).code(), Status::Code::kNoSpace);
  EXPECT_EQ(IngestErrorFor(Status::NoSpace("disk full"), false).code(), Status::Code::kIoError);
  EXPECT_EQ(IngestErrorFor(Status::Unavailable("resuming"), false).code(),
            Status::Code::kUnavailable);
}

smtp_server::IngestedMessage SampleIngested() {
  smtp_server::IngestedMessage m;
  m.return_path = "sender@example.org";
  m.recipients.push_back({"a@example.net", "rfc822;a@example.net", {}});
  m.recipients.back().notify.failure = true;
  m.recipients.back().notify.delay = true;
  m.recipients.push_back({"b@example.net", "", {}});
  m.body = "Subject: x\r\n\r\nbody\r\n";
  m.source = "authenticated";
  m.envid = "env-1";
  m.ret = transport::DsnRet::kHeaders;
  m.smtputf8 = true;
  m.eight_bit = true;
  m.client_ip = "127.0.0.5";
  m.client_port = 40000;
  m.received_unix_ms = 1700000000000;
  return m;
}

TEST(ToNewMessage, CarriesTheWholeEnvelope) {
  queue::NewMessage m = ToNewMessage(SampleIngested());
  EXPECT_EQ(m.return_path, "sender@example.org");
  EXPECT_EQ(m.source, proto::SOURCE_AUTHENTICATED);
  EXPECT_EQ(m.env_id, "env-1");
  EXPECT_EQ(m.ret, proto::RET_HEADERS);
  EXPECT_TRUE(m.smtputf8);
  EXPECT_TRUE(m.eight_bit_mime);
  EXPECT_EQ(m.client_ip, "127.0.0.5");
  EXPECT_EQ(m.client_port, 40000u);
  EXPECT_EQ(m.received_unix_ms, 1700000000000);
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_EQ(m.recipients[0].orcpt, "rfc822;a@example.net");
  EXPECT_EQ(m.recipients[0].notify_flags, queue::kNotifyFailure | queue::kNotifyDelay);
  EXPECT_EQ(m.recipients[1].notify_flags, 0u);
  EXPECT_TRUE(m.recipients[0].virtual_queue.empty());  // policy is the submit step's job
}

class IngestSinkTest : public ::testing::Test {
 protected:
  IngestSinkTest() : dispatcher_(clock_) {
    queue::QueueStoreOptions o;
    o.store.path = dir_.path() + "/q";
    o.store.min_free_space_bytes = 0;
    auto store = queue::QueueStore::Open(o, dispatcher_);
    if (!store.ok()) std::abort();
    store_ = std::move(*store);
  }
  ~IngestSinkTest() override {
    store_.reset();
    dispatcher_.RunPending();
  }
  StatusOr<uint64_t> SubmitAndWait(QueueIngestSink& sink) {
    std::optional<StatusOr<uint64_t>> got;
    sink.Submit(SampleIngested(), [&](StatusOr<uint64_t> id) { got.emplace(std::move(id)); });
    EXPECT_TRUE(dispatcher_.RunUntil([&] { return got.has_value(); }));
    return got.value_or(Status::Internal("never called"));
  }

  TempDir dir_;
  FakeClock clock_;
  FakeDispatcher dispatcher_;
  std::unique_ptr<queue::QueueStore> store_;
};

TEST_F(IngestSinkTest, AnswersWithTheIdOnlyOnceTheMessageIsStored) {
  QueueIngestSink sink(*store_, [&](queue::NewMessage m, QueueIngestSink::SubmitDone done) {
    for (auto& r : m.recipients) {
      r.virtual_queue = "remote";
      r.schedule = "remote";
    }
    store_->Enqueue(std::move(m), std::move(done));
  });
  auto id = SubmitAndWait(sink);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto stored = store_->Get(*id);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->message.return_path(), "sender@example.org");
  EXPECT_EQ(stored->recipients.size(), 2u);
  EXPECT_EQ(sink.accepted(), 1u);
}

TEST_F(IngestSinkTest, ARefusedWriteIsMappedFor451) {
  QueueIngestSink sink(*store_, [&](queue::NewMessage, QueueIngestSink::SubmitDone done) {
    dispatcher_.Post([done] { done(Status::NoSpace("No space left on device")); });
  });
  auto id = SubmitAndWait(sink);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), Status::Code::kIoError);  // 451 4.3.0, not 452
  EXPECT_EQ(sink.refused(), 1u);
}

class LookupTest : public ::testing::Test {
 protected:
  LookupTest() : dispatcher_(clock_), resolver_(dispatcher_), lookup_(dispatcher_, resolver_) {}
  StatusOr<std::vector<std::string>> Resolve(const std::string& host,
                                             transport::IpLookupStrategy s) {
    std::optional<StatusOr<std::vector<std::string>>> got;
    lookup_.Lookup(host, s, [&](StatusOr<std::vector<std::string>> r) { got.emplace(r); });
    EXPECT_FALSE(got.has_value()) << "called from inside Lookup()";
    dispatcher_.RunPending();
    EXPECT_TRUE(got.has_value());
    return got.value_or(Status::Internal("never called"));
  }
  FakeClock clock_;
  FakeDispatcher dispatcher_;
  transport::dns::FakeResolver resolver_;
  ResolverHostLookup lookup_;
};

TEST_F(LookupTest, IpLiteralAndLocalhostNeverAskDns) {
  auto lit = Resolve("127.0.0.9", transport::IpLookupStrategy::kV4ThenV6);
  ASSERT_TRUE(lit.ok());
  EXPECT_EQ(*lit, std::vector<std::string>{"127.0.0.9"});
  auto local = Resolve("LocalHost.", transport::IpLookupStrategy::kV6ThenV4);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(*local, (std::vector<std::string>{"::1", "127.0.0.1"}));
  EXPECT_TRUE(resolver_.queries().empty());
}

TEST_F(LookupTest, NameGetsAddressesInStrategyOrder) {
  resolver_.SetAddresses("relay.test", DnsType::kA, {"192.0.2.1"});
  resolver_.SetAddresses("relay.test", DnsType::kAaaa, {"2001:db8::1"});
  auto r = Resolve("relay.test", transport::IpLookupStrategy::kV6ThenV4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"2001:db8::1", "192.0.2.1"}));
}

TEST_F(LookupTest, NoAddressIsAnErrorThatSaysWhy) {
  resolver_.SetOutcome("gone.test", DnsType::kA, DnsOutcome::kNxDomain);
  auto r = Resolve("gone.test", transport::IpLookupStrategy::kV4Only);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("gone.test"), std::string::npos);
}

TEST(PlanFailureResult, EveryRecipientGetsThePlannersVerdict) {
  DeliveryRequest req;
  req.route = transport::MxRoute{"null.test"};
  req.recipients.resize(2);
  transport::dns::MxPlan plan;
  plan.failure =
      transport::dns::MxPlanFailure{transport::OutcomeKind::kPermFail, transport::ErrorClass::kDns,
                                    transport::SmtpReply{556, "5.1.10", "null MX"}};
  DeliveryResult r = PlanFailureResult(req, plan);
  ASSERT_EQ(r.outcomes.size(), 2u);
  for (const auto& o : r.outcomes) {
    EXPECT_EQ(o.kind, transport::OutcomeKind::kPermFail);
    EXPECT_EQ(o.reply.enhanced, "5.1.10");
    EXPECT_EQ(o.host, "null.test");
  }
  ASSERT_EQ(r.hosts_tried.size(), 1u);
  EXPECT_EQ(r.hosts_tried[0].host, "null.test");
}

// Completes deliveries when the test says so; records how many it got.
class ManualAgent final : public transport::DeliveryAgent {
 public:
  void Deliver(DeliveryRequest, DoneCallback done) override { pending.push_back(done); }
  std::vector<DoneCallback> pending;
};

TEST(ReloadableAgent, ReplacedAgentFinishesItsDeliveryAndIsFreedAfterwards) {
  FakeClock clock;
  FakeDispatcher dispatcher(clock);
  auto first = std::make_unique<ManualAgent>();
  ManualAgent* old_raw = first.get();
  ReloadableAgent agent(dispatcher, std::move(first));
  int done_count = 0;
  agent.Deliver({}, [&](DeliveryResult) { ++done_count; });
  auto second = std::make_unique<ManualAgent>();
  ManualAgent* fresh_raw = second.get();
  agent.Replace(std::move(second));
  agent.Deliver({}, [&](DeliveryResult) { ++done_count; });
  EXPECT_EQ(fresh_raw->pending.size(), 1u);
  EXPECT_EQ(agent.retired_count_for_test(), 1u);  // its delivery is still running
  old_raw->pending.front()(DeliveryResult{});
  EXPECT_EQ(done_count, 1);
  EXPECT_EQ(agent.retired_count_for_test(), 0u);
  dispatcher.RunPending();  // the old agent is destroyed here, outside its callback
  fresh_raw->pending.front()(DeliveryResult{});
  EXPECT_EQ(done_count, 2);
}

TEST(ReloadableAgent, DestroyedWithDeliveriesPendingLeaksNothing) {
  FakeClock clock;
  FakeDispatcher dispatcher(clock);
  auto holder = std::make_unique<ReloadableAgent>(dispatcher, std::make_unique<ManualAgent>());
  holder->Deliver({}, [](DeliveryResult) { ADD_FAILURE() << "must not run"; });
  holder->Replace(std::make_unique<ManualAgent>());
  holder->Deliver({}, [](DeliveryResult) { ADD_FAILURE() << "must not run"; });
  holder.reset();  // LeakSanitizer checks that no agent/callback cycle survives
  dispatcher.RunPending();
}

}  // namespace
}  // namespace outpost::daemon
