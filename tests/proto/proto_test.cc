#include <gtest/gtest.h>

#include "outpost_queue.pb.h"

namespace outpost::proto {
namespace {

// Field numbers are part of the on-disk format: this test fails if one is renumbered.
TEST(ProtoSchema, FieldNumbersNeverChange) {
  struct Expect {
    const google::protobuf::Descriptor* d;
    const char* field;
    int number;
  };
  const Expect expects[] = {
      {MessageRecord::descriptor(), "id", 1},
      {MessageRecord::descriptor(), "return_path", 2},
      {MessageRecord::descriptor(), "received_unix_ms", 4},
      {MessageRecord::descriptor(), "recipients", 13},
      {MessageRecord::descriptor(), "stored_recipients", 17},
      {RecipientRecord::descriptor(), "state", 6},
      {RecipientRecord::descriptor(), "retry_num", 7},
      {RecipientRecord::descriptor(), "next_attempt_unix_ms", 11},
      {RecipientRecord::descriptor(), "virtual_queue", 15},
      {RecipientRecord::descriptor(), "attempts", 19},
      {RecipientRecord::descriptor(), "due_unix_ms", 21},
      {AttemptRecord::descriptor(), "duration_ms", 6},
      {SchemaInfo::descriptor(), "version", 1},
  };
  for (const auto& e : expects) {
    const auto* f = e.d->FindFieldByName(e.field);
    ASSERT_NE(f, nullptr) << e.d->name() << "." << e.field;
    EXPECT_EQ(f->number(), e.number) << e.d->name() << "." << e.field;
  }
}

TEST(ProtoSchema, RecipientRoundTrip) {
  RecipientRecord r;
  r.set_msg_id(0x0190000000000001ULL);
  r.set_idx(3);
  r.set_address("a@example.org");
  r.set_state(STATE_DEFERRED);
  auto* a = r.add_attempts();
  a->set_at_unix_ms(1767225600000);
  a->mutable_reply()->set_code(451);
  RecipientRecord back;
  ASSERT_TRUE(back.ParseFromString(r.SerializeAsString()));
  EXPECT_EQ(back.msg_id(), r.msg_id());
  EXPECT_EQ(back.state(), STATE_DEFERRED);
  EXPECT_EQ(back.attempts(0).reply().code(), 451);
}

TEST(ProtoSchema, StateValuesMatchTheDesign) {
  EXPECT_EQ(STATE_SCHEDULED, 1);
  EXPECT_EQ(STATE_DEFERRED, 2);
  EXPECT_EQ(STATE_DELIVERED, 3);
  EXPECT_EQ(STATE_FAILED, 4);
  EXPECT_EQ(STATE_HELD, 5);
  EXPECT_EQ(STATE_CANCELLED, 6);
}

}  // namespace
}  // namespace outpost::proto
