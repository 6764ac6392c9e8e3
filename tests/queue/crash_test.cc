// Crash atomicity: a child process enqueues (and applies outcomes) in a loop and is killed
// with SIGKILL at random moments. The child reports an id on a pipe only AFTER its completion
// fired. After each kill the parent reopens the store and checks that every reported message
// is present and whole, and that indexes and counters agree with the records.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <thread>

#include "queue/consistency.h"
#include "queue/queue_store.h"
#include "tests/queue/test_util.h"

namespace outpost::testing {
namespace {

struct Ack {
  uint64_t id;
  uint64_t seq;
};

std::string BodyFor(uint64_t seq) {
  return "Subject: seq " + std::to_string(seq) + "\r\n\r\n" + std::string((seq % 7) * 1500, 'x') +
         "\r\n";
}
int RecipientsFor(uint64_t seq) { return 1 + static_cast<int>(seq % 4); }

// Runs in the child until killed. Never returns.
[[noreturn]] void ChildLoop(const std::string& path, int fd, uint64_t first_seq) {
  FakeClock clock;
  FakeDispatcher loop(clock);
  queue::QueueStoreOptions o;
  o.store.path = path;
  o.store.min_free_space_bytes = 0;
  auto qs_or = queue::QueueStore::Open(o, loop);
  if (!qs_or.ok()) _exit(3);
  auto& qs = *qs_or;
  uint64_t seq = first_seq;
  int outstanding = 0;
  for (;;) {
    while (outstanding < 16) {
      const uint64_t my = seq++;
      queue::NewMessage m =
          SimpleMessage(RecipientsFor(my), clock.NowUnixMs(), "remote", BodyFor(my));
      m.env_id = "seq-" + std::to_string(my);
      ++outstanding;
      qs->Enqueue(std::move(m), [&, my](StatusOr<uint64_t> id) {
        --outstanding;
        if (!id.ok()) _exit(4);
        Ack a{*id, my};
        if (write(fd, &a, sizeof(a)) != sizeof(a)) _exit(5);
        // Exercise outcome batches too: defer, deliver or fail with a DSN.
        queue::OutcomeBatch b;
        b.msg_id = *id;
        queue::RecipientChange c;
        c.idx = 0;
        c.retry_increment = 1;
        c.next_attempt_unix_ms = clock.NowUnixMs() + 60000;
        c.new_state = my % 3 == 0   ? queue::RecipientState::kDeferred
                      : my % 3 == 1 ? queue::RecipientState::kDelivered
                                    : queue::RecipientState::kFailed;
        if (my % 3 == 2) {
          queue::NewMessage dsn = SimpleMessage(1, clock.NowUnixMs(), "dsn", "dsn\r\n");
          dsn.source = proto::SOURCE_DSN;
          dsn.env_id = "dsn";
          b.also_enqueue = std::move(dsn);
        }
        b.changes.push_back(c);
        ++outstanding;
        qs->ApplyOutcome(std::move(b), [&](StatusOr<queue::OutcomeResult> r) {
          --outstanding;
          if (!r.ok()) _exit(6);
        });
      });
    }
    loop.RunUntil([&] { return outstanding < 16; }, std::chrono::seconds(5));
  }
}

TEST(CrashAtomicity, KilledWriterLosesNothingAcknowledgedAndLeavesNoHalfWrites) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  std::mt19937 rng(20260101);
  std::map<uint64_t, uint64_t> acked;  // id -> seq
  uint64_t next_seq = 0;
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      ChildLoop(path, fds[1], next_seq);
    }
    close(fds[1]);
    // Wait for the first acknowledgement, then kill at a random moment.
    Ack first;
    ASSERT_EQ(read(fds[0], &first, sizeof(first)), static_cast<ssize_t>(sizeof(first)))
        << "child produced nothing (round " << round << ")";
    acked[first.id] = first.seq;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 300));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    Ack a;
    while (read(fds[0], &a, sizeof(a)) == static_cast<ssize_t>(sizeof(a))) {
      acked[a.id] = a.seq;
      next_seq = std::max(next_seq, a.seq + 1);
    }
    next_seq = std::max(next_seq, first.seq + 1) + 1000;  // never reuse a seq
    close(fds[0]);

    // Reopen (recovery) and verify.
    FakeClock clock;
    FakeDispatcher loop(clock);
    queue::QueueStoreOptions o;
    o.store.path = path;
    o.store.min_free_space_bytes = 0;
    auto qs = queue::QueueStore::Open(o, loop);
    ASSERT_TRUE(qs.ok()) << qs.status().ToString();
    for (const auto& [id, seq] : acked) {
      auto m = (*qs)->Get(id);
      ASSERT_TRUE(m.ok()) << "acknowledged message lost: " << storage::FormatMessageId(id);
      EXPECT_EQ(m->message.env_id(), "seq-" + std::to_string(seq));
      EXPECT_EQ(m->message.recipients_size(), RecipientsFor(seq));
      EXPECT_EQ(static_cast<int>(m->recipients.size()), RecipientsFor(seq));
      if (!m->message.body_deleted()) {
        EXPECT_EQ(*(*qs)->GetBody(id), BodyFor(seq));
      }
      EXPECT_GT((*qs)->last_issued_id(), id - 1);
    }
    auto report = queue::CheckConsistency((*qs)->store());
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok()) << "round " << round << ": " << report->problem_count
                              << " problems, first: "
                              << (report->problems.empty() ? "" : report->problems[0]);
    EXPECT_EQ(report->quarantined, 0u);
  }
  EXPECT_GT(acked.size(), static_cast<size_t>(kRounds));
  std::cout << "acknowledged messages verified after " << kRounds << " SIGKILLs: " << acked.size()
            << "\n";
}

}  // namespace
}  // namespace outpost::testing
