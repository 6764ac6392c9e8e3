// The record decoders on hostile bytes, and the queue keeping records readable whatever bytes
// peers and clients put in them (OpenSMTPD CVE-2020-8794 / Exim 21Nails class: what a peer
// says must be stored bounded and binary-safe and can never break or forge a record).
#include "tests/reliability/record_decoder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "outpost_queue.pb.h"
#include "storage/keys.h"
#include "tests/queue/queue_fixture.h"

namespace outpost::testing {
namespace {

using reliability::CheckRecordDecoders;

std::string Check(const std::string& bytes) {
  return CheckRecordDecoders(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// Not valid UTF-8, with NUL, bare CR/LF and a forged "header".
constexpr char kHostileBytes[] = "busy \xff\xfe\xc3\r\nX-Injected: 1\r\n\0tail";
const std::string kHostile(kHostileBytes, sizeof(kHostileBytes) - 1);

TEST(RecordDecoder, PropertiesHoldForValidKeysAndRecords) {
  EXPECT_EQ(Check(storage::MessageKey(0x0123456789abcdef)), "");
  EXPECT_EQ(Check(storage::RecipientKeyBytes({42, 7})), "");
  EXPECT_EQ(Check(storage::DueKey("remote", storage::DueLane::kFirst, 1700000000000, {42, 7})), "");
  EXPECT_EQ(Check(storage::DueKey("remote", storage::DueLane::kRetry, 1700000000000, {42, 7})), "");
  EXPECT_EQ(Check(storage::TimeIndexKey(1700000000000, {42, 7})), "");
  EXPECT_EQ(Check(storage::EncodeCounter(-5)), "");
  EXPECT_EQ(Check(storage::FormatMessageId(0xfeedface)), "");
  proto::RecipientRecord r;
  r.set_msg_id(42);
  r.set_address(kHostile);
  r.mutable_last_reply()->set_text(kHostile);
  EXPECT_EQ(Check(r.SerializeAsString()), "");
}

TEST(RecordDecoder, RandomBytesNeverBreakAProperty) {
  std::mt19937_64 rng(20261122);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    ASSERT_EQ(Check(bytes), "") << "input #" << i;
  }
}

TEST(RecordDecoder, FuzzCorpusPasses) {
  const char* src = std::getenv("OUTPOST_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(src) +
                                                           "/tests/fuzz/corpus/record_decoder")) {
    std::ifstream f(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(Check(bytes), "") << e.path();
    ++files;
  }
  EXPECT_GT(files, 0);
}

// Regression: proto3 `string` fields refused to parse bytes that are not UTF-8, so a peer
// reply such as "450 busy \xff" made the recipient record undecodable and the recipient
// disappeared from `queue show` (and from delivery). Text fields are `bytes` now.
TEST(RecordDecoder, RecordsWithNonUtf8FieldsRoundTrip) {
  proto::RecipientRecord r;
  r.set_address(kHostile);
  r.set_orcpt(kHostile);
  r.mutable_last_reply()->set_text(kHostile);
  r.mutable_last_reply()->set_host(kHostile);
  auto* a = r.add_attempts();
  a->set_host(kHostile);
  a->mutable_reply()->set_text(kHostile);
  proto::RecipientRecord back;
  ASSERT_TRUE(back.ParseFromString(r.SerializeAsString()));
  EXPECT_EQ(back.address(), kHostile);
  EXPECT_EQ(back.last_reply().text(), kHostile);
  EXPECT_EQ(back.attempts(0).reply().text(), kHostile);
  proto::MessageRecord m;
  m.set_return_path(kHostile);
  m.set_env_id(kHostile);
  m.add_recipients(kHostile);
  proto::MessageRecord mback;
  ASSERT_TRUE(mback.ParseFromString(m.SerializeAsString()));
  EXPECT_EQ(mback.return_path(), kHostile);
}

class HostileReplyInQueue : public QueueFixture {};

TEST_F(HostileReplyInQueue, ReplyTextIsStoredBoundedAndTheRecordStaysReadable) {
  queue::NewMessage msg = SimpleMessage(2, Now());
  msg.env_id = kHostile;
  uint64_t id = Enqueue(std::move(msg));
  ASSERT_NE(id, 0u);
  queue::OutcomeBatch b;
  b.msg_id = id;
  b.changes.push_back(TempFail(0, Millis(60000)));
  b.changes.back().attempt->reply_text = kHostile;
  // 1500 bytes of a two-byte UTF-8 character: the 1024-byte bound cuts one in half.
  std::string huge;
  for (int i = 0; i < 750; ++i) huge += "\xc3\xa9";
  b.changes.push_back(TempFail(1, Millis(60000)));
  b.changes.back().attempt->reply_text = huge + "\r\n250-forged\r\n";
  ASSERT_TRUE(Apply(std::move(b)).ok());

  for (int round = 0; round < 2; ++round) {  // before and after a reopen (recovery)
    auto r0 = qs_->GetRecipient({id, 0});
    ASSERT_TRUE(r0.ok()) << r0.status().ToString();
    EXPECT_EQ(r0->last_reply().text(), kHostile);
    EXPECT_EQ(r0->state(), proto::STATE_DEFERRED);
    EXPECT_EQ(r0->address(), "user0@dest0.example");  // no other field changed
    auto r1 = qs_->GetRecipient({id, 1});
    ASSERT_TRUE(r1.ok()) << r1.status().ToString();
    EXPECT_LE(r1->last_reply().text().size(), queue::kMaxReplyTextBytes);
    EXPECT_EQ(r1->retry_num(), 1u);
    auto m = qs_->Get(id);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->recipients.size(), 2u);
    EXPECT_EQ(m->message.env_id(), kHostile);
    Reopen();
  }
}

}  // namespace
}  // namespace outpost::testing
