#pragma once
// Every key layout of the store, in one place. Integers in keys are fixed-width big-endian so
// that byte order is numeric order; ids are the 64-bit time-ordered message ids.
//
//  column family  key                                                        value
//  ─────────────  ─────────────────────────────────────────────────────────  ─────────────────
//  msg            ┌─ msg id (8) ─┐                                          MessageRecord
//  body           ┌─ msg id (8) ─┐                                          raw body bytes
//                                                                           (BlobDB files)
//  rcpt           ┌─ msg id (8) ─┬─ rcpt idx (4) ─┐                         RecipientRecord
//  due            ┌─ queue name ─┬─ 0x00 ─┬─ lane (1) ─┬─ due ms (8) ─┬─ msg id (8) ─┬─ rcpt idx (4) ─┐  ""
//  failed         ┌─ failed ms (8) ─┬─ msg id (8) ─┬─ rcpt idx (4) ─┐    ""
//  done           ┌─ completed ms (8) ─┬─ msg id (8) ─┬─ rcpt idx (4) ─┐ ""   (delivered/cancelled)
//  quarantine     ┌─ cf name ─┬─ 0x00 ─┬─ original key ─┐                 QuarantineRecord
//  meta           "schema"                                                  SchemaInfo
//                 "id_hwm"                                                  msg id (8)
//                 "c/" kind "/" name   (kind: state, queue, domain, misc)   int64 counter (8, LE,
//                                                                           merge = add)
//                 "a/" ┌─ msg id (8) ─┐                                     "" (message active)
//                 "sts/" domain                                             cached MTA-STS policy
//                                                                           (tlspolicy text form)
//
// Only the due index is scanned by the scheduler: `queue | 0x00 | lane | due` means a scan for
// one lane of one queue up to `now` touches only due entries. A queue name never contains 0x00.
// The lane (DueLane) separates first attempts from retries so that the scheduler can share its
// time between them: a retry wave that is due earlier than new mail no longer sorts in front of
// it (DESIGN.md §4). Schema 1 had no lane byte; storage/due_lane_migration.h converts it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace outpost::storage {

// Column families, in the order the store opens them.
enum class Cf : int {
  kMessages = 0,
  kBodies,
  kRecipients,
  kDue,
  kFailed,
  kDone,
  kQuarantine,
  kMeta,
};
inline constexpr int kCfCount = 8;
std::string_view CfName(Cf cf);

// A recipient's identity: message id and its index in the message's recipient list.
struct RecipientKey {
  uint64_t msg_id = 0;
  uint32_t idx = 0;
  friend auto operator<=>(const RecipientKey&, const RecipientKey&) = default;
};

void PutBigEndian64(std::string* dst, uint64_t v);
void PutBigEndian32(std::string* dst, uint32_t v);
uint64_t GetBigEndian64(std::string_view src);  // src.size() >= 8
uint32_t GetBigEndian32(std::string_view src);  // src.size() >= 4

// Times before the epoch are clamped to 0 in keys (they sort first, which is what "overdue"
// means anyway).
uint64_t KeyTime(int64_t unix_ms);

std::string MessageKey(uint64_t msg_id);
std::optional<uint64_t> ParseMessageKey(std::string_view key);

std::string RecipientKeyBytes(RecipientKey k);
std::optional<RecipientKey> ParseRecipientKey(std::string_view key);
// [MessageKey(id), MessageKey(id + 1)): all recipients of one message.
std::string RecipientPrefixEnd(uint64_t msg_id);

// The lane of a due key, derived from the recipient record where the key is written: a
// recipient never attempted (retry_num 0: new mail, a replayed one, a DSN) is a first attempt,
// any other one a retry. Byte values are on disk.
enum class DueLane : uint8_t { kFirst = 0, kRetry = 1 };
inline constexpr int kDueLaneCount = 2;
inline constexpr DueLane kDueLanes[kDueLaneCount] = {DueLane::kFirst, DueLane::kRetry};
inline DueLane DueLaneFor(uint32_t retry_num) {
  return retry_num == 0 ? DueLane::kFirst : DueLane::kRetry;
}
std::string_view DueLaneName(DueLane lane);  // "first", "retry"

std::string DueKey(std::string_view queue, DueLane lane, int64_t due_unix_ms, RecipientKey k);
std::string DuePrefix(std::string_view queue);     // queue | 0x00 (both lanes)
std::string DuePrefixEnd(std::string_view queue);  // queue | 0x01
std::string DueLanePrefix(std::string_view queue, DueLane lane);     // queue | 0x00 | lane
std::string DueLanePrefixEnd(std::string_view queue, DueLane lane);  // queue | 0x00 | lane + 1
// The first key of `queue`'s `lane` with due time > `now_unix_ms` (exclusive upper bound).
std::string DueUpperBound(std::string_view queue, DueLane lane, int64_t now_unix_ms);
struct DueEntry {
  std::string queue;
  DueLane lane = DueLane::kFirst;
  int64_t due_unix_ms = 0;
  RecipientKey rcpt;
};
// nullopt for anything but a schema-2 due key (a schema-1 key, without lane, included).
std::optional<DueEntry> ParseDueKey(std::string_view key);

// Used by both the failed and the done index.
std::string TimeIndexKey(int64_t unix_ms, RecipientKey k);
std::string TimeIndexUpperBound(int64_t unix_ms);  // first key with time > unix_ms
struct TimeIndexEntry {
  int64_t unix_ms = 0;
  RecipientKey rcpt;
};
std::optional<TimeIndexEntry> ParseTimeIndexKey(std::string_view key);

std::string QuarantineKey(Cf cf, std::string_view original_key);

inline constexpr std::string_view kMetaSchemaKey = "schema";
inline constexpr std::string_view kMetaIdHighWaterKey = "id_hwm";
inline constexpr std::string_view kMetaCounterPrefix = "c/";
inline constexpr std::string_view kMetaActivePrefix = "a/";
std::string CounterKey(std::string_view kind, std::string_view name);  // "c/kind/name"
std::string CounterPrefix(std::string_view kind);                      // "c/kind/"
std::string ActiveMessageKey(uint64_t msg_id);
// The MTA-STS policy cache (transport/tlspolicy/policy_cache.h): "sts/<domain>", scanned with
// [kMetaMtaStsPrefix, MtaStsPolicyPrefixEnd()).
inline constexpr std::string_view kMetaMtaStsPrefix = "sts/";
std::string MtaStsPolicyKey(std::string_view domain);
std::string MtaStsPolicyPrefixEnd();  // "sts0", the first key after the prefix

// The value format of counters (8 bytes, little-endian two's complement).
std::string EncodeCounter(int64_t v);
std::optional<int64_t> DecodeCounter(std::string_view v);

// Renders ids as 16 lower-case hex digits and parses them back.
std::string FormatMessageId(uint64_t id);
std::optional<uint64_t> ParseMessageId(std::string_view hex);

}  // namespace outpost::storage
