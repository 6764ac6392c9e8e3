#include "transport/local/mailbox_address.h"

#include <gtest/gtest.h>

namespace outpost::transport::local {
namespace {

LocalMailboxPolicy Policy() {
  LocalMailboxPolicy p;
  p.local_domains = {"Example.org", "other.test"};
  return p;
}

TEST(LookupMailbox, AcceptsASafeLocalPartInALocalDomain) {
  auto r = LookupMailbox("Alice.Smith+tag@EXAMPLE.org", Policy());
  ASSERT_TRUE(r.mailbox.has_value()) << r.rejection.text;
  EXPECT_EQ(r.mailbox->domain, "example.org");
  EXPECT_EQ(r.mailbox->local, "alice.smith+tag");
}

struct RejectCase {
  const char* scenario;
  std::string address;
  const char* enhanced;
};

class RejectTable : public ::testing::TestWithParam<RejectCase> {};

TEST_P(RejectTable, IsPermanent) {
  LocalMailboxPolicy p = Policy();
  auto r = LookupMailbox(GetParam().address, p);
  ASSERT_FALSE(r.mailbox.has_value());
  EXPECT_EQ(r.rejection.code, 550);
  EXPECT_EQ(r.rejection.enhanced, GetParam().enhanced);
  EXPECT_FALSE(r.rejection.text.empty());
}

INSTANTIATE_TEST_SUITE_P(
    LookupMailbox, RejectTable,
    ::testing::Values(RejectCase{"DotDot", "..@example.org", "5.1.3"},
                      RejectCase{"Dot", ".@example.org", "5.1.3"},
                      RejectCase{"ParentTraversal", "../../etc/passwd@example.org", "5.1.3"},
                      RejectCase{"Slash", "a/b@example.org", "5.1.3"},
                      RejectCase{"LeadingDot", ".hidden@example.org", "5.1.3"},
                      RejectCase{"Newline", "a\nb@example.org", "5.1.3"},
                      RejectCase{"Nul", std::string("a\0b@example.org", 15), "5.1.3"},
                      RejectCase{"Del", "a\x7f@example.org", "5.1.3"},
                      RejectCase{"Empty", "@example.org", "5.1.3"},
                      RejectCase{"TooLong", std::string(256, 'a') + "@example.org", "5.1.3"},
                      RejectCase{"NoAt", "alice", "5.1.3"},
                      RejectCase{"NonLocalDomain", "alice@remote.example", "5.1.2"},
                      RejectCase{"EmptyDomain", "alice@", "5.1.2"},
                      RejectCase{"DomainTraversal", "alice@../example.org", "5.1.2"}),
    [](const auto& info) { return std::string(info.param.scenario); });

TEST(LookupMailbox, UsersListRefusesUnknownUsersWith511) {
  LocalMailboxPolicy p = Policy();
  p.users = std::vector<std::string>{"Bob", "carol@other.test"};
  EXPECT_TRUE(LookupMailbox("bob@example.org", p).mailbox.has_value());
  EXPECT_TRUE(LookupMailbox("BOB@other.test", p).mailbox.has_value());
  EXPECT_TRUE(LookupMailbox("carol@other.test", p).mailbox.has_value());
  auto r = LookupMailbox("carol@example.org", p);
  ASSERT_FALSE(r.mailbox.has_value());
  EXPECT_EQ(r.rejection.enhanced, "5.1.1");
  EXPECT_EQ(LookupMailbox("mallory@example.org", p).rejection.enhanced, "5.1.1");
}

}  // namespace
}  // namespace outpost::transport::local
