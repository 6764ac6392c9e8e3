#pragma once
// Helpers shared by the queue and storage tests: a temp dir removed at the end, and a way to
// wait for an async completion while pumping a FakeDispatcher.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "common/fake_dispatcher.h"
#include "queue/queue_store.h"
#include "tests/common/temp_dir.h"

namespace outpost::testing {

// Calls `start(callback)` and pumps `d` until the callback ran; returns its argument.
template <typename T, typename Start>
T Await(FakeDispatcher& d, Start start) {
  std::optional<T> result;
  start([&result](T v) { result.emplace(std::move(v)); });
  bool ok = d.RunUntil([&] { return result.has_value(); }, std::chrono::seconds(30));
  if (!ok) {
    ADD_FAILURE() << "completion never ran";
    std::abort();
  }
  return std::move(*result);
}

inline queue::NewMessage SimpleMessage(int recipients, int64_t due_unix_ms,
                                       const std::string& queue_name = "remote",
                                       std::string body = "Subject: t\r\n\r\nhello\r\n") {
  queue::NewMessage m;
  m.return_path = "sender@example.org";
  m.body = std::move(body);
  m.received_unix_ms = due_unix_ms;
  m.source = proto::SOURCE_AUTHENTICATED;
  for (int i = 0; i < recipients; ++i) {
    queue::NewRecipient r;
    r.address = "user" + std::to_string(i) + "@dest" + std::to_string(i % 3) + ".example";
    r.virtual_queue = queue_name;
    r.schedule = "remote";
    r.next_attempt_unix_ms = due_unix_ms;
    r.expiry_unix_ms = due_unix_ms + 5LL * 24 * 3600 * 1000;
    m.recipients.push_back(std::move(r));
  }
  return m;
}

}  // namespace outpost::testing
