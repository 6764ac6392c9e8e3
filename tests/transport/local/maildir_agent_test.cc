#include "transport/local/maildir_agent.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "common/fake_dispatcher.h"
#include "tests/transport/local/maildir_test_util.h"

namespace outpost::transport::local {
namespace {

using testing::FilesIn;
using testing::ReadFile;
using testing::TempDir;

DeliveryRequest Request(std::vector<std::string> rcpts, std::string return_path = "s@x.test") {
  DeliveryRequest req;
  req.route_name = "local";
  req.route = LocalRoute{};
  req.message.id = 0x1234;
  req.message.return_path = std::move(return_path);
  req.message.body =
      std::make_shared<const std::string>("Subject: hello\r\n\r\nline1\r\nline2\r\n");
  for (auto& r : rcpts) req.recipients.push_back(DeliveryRecipient{std::move(r), "", {}});
  return req;
}

class MaildirAgentTest : public ::testing::Test {
 protected:
  MaildirAgentOptions Options(const std::string& root) {
    MaildirAgentOptions o;
    o.maildir_root = root;
    o.mailboxes.local_domains = {"example.org"};
    o.hostname = "mx.example.org";
    return o;
  }

  std::optional<DeliveryResult> Deliver(MaildirAgent& agent, DeliveryRequest req) {
    std::optional<DeliveryResult> out;
    agent.Deliver(std::move(req), [&out](DeliveryResult r) { out = std::move(r); });
    EXPECT_FALSE(out.has_value()) << "done ran inside Deliver()";
    EXPECT_TRUE(dispatcher_.RunUntil([&out] { return out.has_value(); }));
    return out;
  }

  FakeClock clock_;
  FakeDispatcher dispatcher_{clock_};
};

TEST_F(MaildirAgentTest, EachRecipientGetsItsOwnFileWithTraceHeaders) {
  TempDir root;
  MaildirAgent agent(dispatcher_, Options(root.path()));
  auto result = Deliver(agent, Request({"alice@example.org", "Bob@Example.org"}));
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->outcomes.size(), 2u);
  for (const auto& o : result->outcomes) {
    EXPECT_EQ(o.kind, OutcomeKind::kDelivered);
    EXPECT_EQ(o.error, ErrorClass::kNone);
    EXPECT_TRUE(o.final_delivery);
    EXPECT_EQ(o.reply.code, 250);
  }
  auto alice = FilesIn(root.path() + "/example.org/alice/new");
  ASSERT_EQ(alice.size(), 1u);
  EXPECT_EQ(ReadFile(alice[0]),
            "Return-Path: <s@x.test>\nDelivered-To: alice@example.org\n"
            "Subject: hello\n\nline1\nline2\n");
  auto bob = FilesIn(root.path() + "/example.org/bob/new");
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_NE(ReadFile(bob[0]).find("Delivered-To: Bob@Example.org\n"), std::string::npos);
}

TEST_F(MaildirAgentTest, NullSenderAndHeaderInjectionAttempt) {
  TempDir root;
  MaildirAgent agent(dispatcher_, Options(root.path()));
  auto req = Request({"alice@example.org"}, "");
  auto result = Deliver(agent, std::move(req));
  ASSERT_TRUE(result && result->outcomes[0].kind == OutcomeKind::kDelivered);
  auto files = FilesIn(root.path() + "/example.org/alice/new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(ReadFile(files[0]).rfind("Return-Path: <>\n", 0), 0u);

  auto evil = Request({"alice@example.org"}, "a@b>\r\nX-Injected: yes");
  result = Deliver(agent, std::move(evil));
  ASSERT_TRUE(result && result->outcomes[0].kind == OutcomeKind::kDelivered);
  for (const auto& f : FilesIn(root.path() + "/example.org/alice/new")) {
    EXPECT_EQ(ReadFile(f).find("\nX-Injected"), std::string::npos);
  }
}

TEST_F(MaildirAgentTest, BadRecipientsFailPermanentlyOthersAreDelivered) {
  TempDir root;
  MaildirAgentOptions o = Options(root.path());
  o.mailboxes.users = std::vector<std::string>{"alice"};
  MaildirAgent agent(dispatcher_, o);
  auto result = Deliver(agent, Request({"../evil@example.org", "alice@example.org",
                                        "nobody@example.org", "alice@remote.test"}));
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->outcomes.size(), 4u);
  EXPECT_EQ(result->outcomes[0].kind, OutcomeKind::kPermFail);
  EXPECT_EQ(result->outcomes[0].reply.enhanced, "5.1.3");
  EXPECT_EQ(result->outcomes[1].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(result->outcomes[2].reply.enhanced, "5.1.1");
  EXPECT_EQ(result->outcomes[3].reply.enhanced, "5.1.2");
  std::vector<std::string> dirs;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root.path())) {
    if (e.is_directory()) dirs.push_back(e.path());
  }
  EXPECT_EQ(dirs.size(), 5u) << "only example.org/alice/{tmp,new,cur} may exist";
}

TEST_F(MaildirAgentTest, AllRecipientsRejectedStillAnswersAsynchronously) {
  TempDir root;
  MaildirAgent agent(dispatcher_, Options(root.path()));
  auto result = Deliver(agent, Request({".hidden@example.org"}));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcomes[0].kind, OutcomeKind::kPermFail);
}

TEST_F(MaildirAgentTest, WriteFailureIsTemporaryIo) {
  TempDir root;
  MaildirAgent agent(dispatcher_, Options(root.path() + "/missing"));
  auto result = Deliver(agent, Request({"alice@example.org"}));
  ASSERT_TRUE(result.has_value());
  const auto& o = result->outcomes[0];
  EXPECT_EQ(o.kind, OutcomeKind::kTempFail);
  EXPECT_EQ(o.error, ErrorClass::kIo);
  EXPECT_EQ(o.reply.code, 451);
  EXPECT_EQ(o.reply.enhanced, "4.3.0");
  EXPECT_FALSE(o.final_delivery);
}

TEST_F(MaildirAgentTest, DestroyingTheAgentFinishesStartedWrites) {
  TempDir root;
  std::optional<DeliveryResult> out;
  {
    MaildirAgent agent(dispatcher_, Options(root.path()));
    agent.Deliver(Request({"alice@example.org"}), [&out](DeliveryResult r) { out = r; });
  }
  EXPECT_TRUE(dispatcher_.RunUntil([&out] { return out.has_value(); }));
  EXPECT_EQ(out->outcomes[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(FilesIn(root.path() + "/example.org/alice/new").size(), 1u);
}

}  // namespace
}  // namespace outpost::transport::local
