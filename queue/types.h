#pragma once
// Plain data exchanged with QueueStore. Policy (when to retry, which queue, when a message
// expires) is decided by the scheduler and handed in here; the store only records it.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "outpost_queue.pb.h"
#include "queue/recipient_state.h"
#include "storage/keys.h"

namespace outpost::queue {

using storage::RecipientKey;

// NOTIFY flags bits of RecipientRecord::notify_flags.
inline constexpr uint32_t kNotifyNever = 1u << 0;
inline constexpr uint32_t kNotifySuccess = 1u << 1;
inline constexpr uint32_t kNotifyFailure = 1u << 2;
inline constexpr uint32_t kNotifyDelay = 1u << 3;
// DSN-sent bits of RecipientRecord::dsn_sent_flags.
inline constexpr uint32_t kDsnSentDelay = 1u << 0;
inline constexpr uint32_t kDsnSentFailure = 1u << 1;
inline constexpr uint32_t kDsnSentSuccess = 1u << 2;

// Bounds applied to everything stored that came from a peer or a client.
inline constexpr size_t kMaxAddressBytes = 1024;
inline constexpr size_t kMaxReplyTextBytes = 1024;
inline constexpr size_t kMaxNameBytes = 256;  // queue, schedule, route, host, ip, error class
inline constexpr size_t kMaxRecipients = 10000;
inline constexpr size_t kAttemptHistory = 10;

struct NewRecipient {
  std::string address;
  std::string orcpt;
  uint32_t notify_flags = 0;
  // Decided by the router/scheduler.
  std::string virtual_queue;  // non-empty, no NUL byte
  std::string schedule;
  int64_t next_attempt_unix_ms = 0;
  int64_t next_notify_unix_ms = 0;  // 0 = no delay notice
  int64_t expiry_unix_ms = 0;       // 0 = no TTL
  uint32_t max_attempts = 0;        // 0 = no attempt limit
};

struct NewMessage {
  std::string return_path;  // "" = null sender
  std::string body;         // CRLF, not dot-stuffed
  int64_t received_unix_ms = 0;
  proto::MessageSource source = proto::SOURCE_UNSPECIFIED;
  std::string env_id;
  proto::DsnRet ret = proto::RET_UNSPECIFIED;
  bool smtputf8 = false;
  bool eight_bit_mime = false;
  int32_t priority = 0;
  std::string client_ip;
  uint32_t client_port = 0;
  std::vector<NewRecipient> recipients;
};

// A message as stored: the envelope and every recipient record still kept.
struct QueuedMessage {
  proto::MessageRecord message;
  std::vector<proto::RecipientRecord> recipients;
};

struct DueItem {
  RecipientKey rcpt;
  int64_t due_unix_ms = 0;
  storage::DueLane lane = storage::DueLane::kFirst;
};

enum class OutcomeKind { kDelivered, kTemporary, kPermanent };

// What one attempt of one recipient produced (recorded in the history of the last 10).
struct AttemptInfo {
  int64_t at_unix_ms = 0;
  OutcomeKind kind = OutcomeKind::kTemporary;
  std::string route;
  std::string host;
  std::string ip;
  int reply_code = 0;
  std::string reply_enhanced;
  std::string reply_text;
  std::string error_class = "none";  // last_error class name
  int64_t duration_ms = 0;
  // False for a deferral that reached no network (destination marked down): it counts as an
  // attempt (retry_num, last_error, last_reply) but the history keeps real attempts only.
  bool in_history = true;
};

// A change of one recipient decided by the scheduler. Fields left nullopt stay as they are.
struct RecipientChange {
  uint32_t idx = 0;
  RecipientState new_state = RecipientState::kDeferred;
  std::optional<AttemptInfo> attempt;  // set when an attempt ended
  uint32_t retry_increment = 0;        // 1 for a counted attempt, 0 e.g. for 'config'
  uint32_t notify_increment = 0;       // a delay notice was sent
  uint32_t dsn_sent_flags = 0;         // OR-ed into the record
  std::optional<int64_t> next_attempt_unix_ms;
  std::optional<int64_t> next_notify_unix_ms;  // 0 = none left
  std::optional<int64_t> expiry_unix_ms;
  std::optional<std::string> virtual_queue;
  std::optional<std::string> schedule;
};

// ApplyOutcome's input: changes to recipients of ONE message, and optionally a message
// (a DSN composed by the engine) to enqueue in the same atomic batch.
struct OutcomeBatch {
  uint64_t msg_id = 0;
  std::vector<RecipientChange> changes;
  std::optional<NewMessage> also_enqueue;
  // Optional: the message as the caller read it, with QueueStore::SnapshotEpoch() taken just
  // before that read. ApplyOutcome uses it instead of reading the message again when no write
  // was issued since (and none was in flight then); otherwise it is ignored.
  std::shared_ptr<const QueuedMessage> snapshot;
  std::optional<uint64_t> snapshot_epoch;
};

struct OutcomeResult {
  std::optional<uint64_t> enqueued_id;  // id of `also_enqueue`
  // Operator actions that waited for the attempt to end and were applied with it.
  uint32_t deferred_ops_applied = 0;
};

// Selects recipients for List and the bulk operations. Empty/unset fields match everything;
// a message matches when at least one of its recipients matches every recipient-level field.
struct Filter {
  std::optional<RecipientState> state;
  std::string rcpt_domain;            // case-insensitive
  std::optional<std::string> sender;  // exact return path ("" = null sender)
  std::string virtual_queue;
  int64_t received_before_unix_ms = 0;  // 0 = any age
  std::string error_class;              // last_error (replay --error)
  int64_t failed_since_unix_ms = 0;     // replay --since: failed at or after
  int64_t failed_until_unix_ms = 0;     // replay --until: failed at or before (0 = any)
};

struct ListOptions {
  Filter filter;
  size_t limit = 100;        // messages returned at most
  std::string cursor;        // "" = from the start; else the previous page's cursor
  size_t max_scan = 100000;  // messages examined at most per call (bounds the cost)
};

struct ListPage {
  std::vector<QueuedMessage> items;
  std::string cursor;  // "" when the end was reached; otherwise pass it to continue
};

// Bulk operations: explicit ids, or a filter walked in bounded pages.
struct Selection {
  std::vector<uint64_t> ids;
  std::optional<Filter> filter;
  std::string cursor;  // for filter pages
  size_t max_messages = 1000;
};

struct OpCounts {
  uint32_t messages = 0;   // messages visited
  uint32_t changed = 0;    // recipients changed
  uint32_t skipped = 0;    // recipients for which the operation is not legal
  uint32_t in_flight = 0;  // leased: takes effect when the attempt ends (hold, cancel)
  uint32_t not_found = 0;  // ids that do not exist
  std::string cursor;      // filter selections: "" = done, else continue from here
};

struct QueueStats {
  std::map<std::string, int64_t> by_state;                        // every stored recipient
  std::map<std::string, int64_t> by_queue;                        // active recipients
  std::vector<std::pair<std::string, int64_t>> top_destinations;  // active, by domain
  int64_t messages = 0;
  int64_t active_messages_oldest_received_unix_ms = 0;  // 0 = no active message
  int64_t quarantined = 0;
};

struct PurgeCounts {
  uint32_t recipients_removed = 0;
  uint32_t messages_removed = 0;
  uint32_t bodies_removed = 0;
  bool more = false;  // the limit was hit; call again
};

}  // namespace outpost::queue
