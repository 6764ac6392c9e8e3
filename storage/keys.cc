#include "storage/keys.h"

#include <array>

namespace outpost::storage {

std::string_view CfName(Cf cf) {
  static constexpr std::array<std::string_view, kCfCount> kNames = {
      "msg", "body", "rcpt", "due", "failed", "done", "quarantine", "meta"};
  return kNames[static_cast<int>(cf)];
}

void PutBigEndian64(std::string* dst, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) dst->push_back(static_cast<char>(v >> shift));
}

void PutBigEndian32(std::string* dst, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) dst->push_back(static_cast<char>(v >> shift));
}

uint64_t GetBigEndian64(std::string_view src) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(src[i]);
  return v;
}

uint32_t GetBigEndian32(std::string_view src) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(src[i]);
  return v;
}

uint64_t KeyTime(int64_t unix_ms) { return unix_ms < 0 ? 0 : static_cast<uint64_t>(unix_ms); }

std::string MessageKey(uint64_t msg_id) {
  std::string k;
  PutBigEndian64(&k, msg_id);
  return k;
}

std::optional<uint64_t> ParseMessageKey(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  return GetBigEndian64(key);
}

std::string RecipientKeyBytes(RecipientKey k) {
  std::string out = MessageKey(k.msg_id);
  PutBigEndian32(&out, k.idx);
  return out;
}

std::optional<RecipientKey> ParseRecipientKey(std::string_view key) {
  if (key.size() != 12) return std::nullopt;
  return RecipientKey{GetBigEndian64(key), GetBigEndian32(key.substr(8))};
}

std::string RecipientPrefixEnd(uint64_t msg_id) {
  // msg_id + 1 overflows only for the all-ones id, which the generator never produces.
  return MessageKey(msg_id + 1);
}

std::string DuePrefix(std::string_view queue) {
  std::string k(queue);
  k.push_back('\0');
  return k;
}

std::string DuePrefixEnd(std::string_view queue) {
  std::string k(queue);
  k.push_back('\1');
  return k;
}

std::string_view DueLaneName(DueLane lane) {
  return lane == DueLane::kFirst ? "first" : "retry";
}

std::string DueLanePrefix(std::string_view queue, DueLane lane) {
  std::string k = DuePrefix(queue);
  k.push_back(static_cast<char>(lane));
  return k;
}

std::string DueLanePrefixEnd(std::string_view queue, DueLane lane) {
  std::string k = DuePrefix(queue);
  k.push_back(static_cast<char>(static_cast<uint8_t>(lane) + 1));
  return k;
}

std::string DueKey(std::string_view queue, DueLane lane, int64_t due_unix_ms, RecipientKey k) {
  std::string out = DueLanePrefix(queue, lane);
  PutBigEndian64(&out, KeyTime(due_unix_ms));
  out += RecipientKeyBytes(k);
  return out;
}

std::string DueUpperBound(std::string_view queue, DueLane lane, int64_t now_unix_ms) {
  std::string out = DueLanePrefix(queue, lane);
  PutBigEndian64(&out, KeyTime(now_unix_ms) + 1);
  return out;
}

std::optional<DueEntry> ParseDueKey(std::string_view key) {
  size_t zero = key.find('\0');
  if (zero == std::string_view::npos || key.size() != zero + 1 + 1 + 8 + 12) return std::nullopt;
  const auto lane = static_cast<uint8_t>(key[zero + 1]);
  if (lane >= kDueLaneCount) return std::nullopt;
  DueEntry e;
  e.queue = std::string(key.substr(0, zero));
  e.lane = static_cast<DueLane>(lane);
  e.due_unix_ms = static_cast<int64_t>(GetBigEndian64(key.substr(zero + 2)));
  auto rk = ParseRecipientKey(key.substr(zero + 10));
  if (!rk) return std::nullopt;
  e.rcpt = *rk;
  return e;
}

std::string TimeIndexKey(int64_t unix_ms, RecipientKey k) {
  std::string out;
  PutBigEndian64(&out, KeyTime(unix_ms));
  out += RecipientKeyBytes(k);
  return out;
}

std::string TimeIndexUpperBound(int64_t unix_ms) {
  std::string out;
  PutBigEndian64(&out, KeyTime(unix_ms) + 1);
  return out;
}

std::optional<TimeIndexEntry> ParseTimeIndexKey(std::string_view key) {
  if (key.size() != 20) return std::nullopt;
  auto rk = ParseRecipientKey(key.substr(8));
  if (!rk) return std::nullopt;
  return TimeIndexEntry{static_cast<int64_t>(GetBigEndian64(key)), *rk};
}

std::string QuarantineKey(Cf cf, std::string_view original_key) {
  std::string k(CfName(cf));
  k.push_back('\0');
  k.append(original_key);
  return k;
}

std::string CounterKey(std::string_view kind, std::string_view name) {
  std::string k = CounterPrefix(kind);
  k.append(name);
  return k;
}

std::string CounterPrefix(std::string_view kind) {
  std::string k(kMetaCounterPrefix);
  k.append(kind);
  k.push_back('/');
  return k;
}

std::string ActiveMessageKey(uint64_t msg_id) {
  std::string k(kMetaActivePrefix);
  PutBigEndian64(&k, msg_id);
  return k;
}

std::string EncodeCounter(int64_t v) {
  std::string out(8, '\0');
  auto u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(u >> (8 * i));
  return out;
}

std::optional<int64_t> DecodeCounter(std::string_view v) {
  if (v.size() != 8) return std::nullopt;
  uint64_t u = 0;
  for (int i = 7; i >= 0; --i) u = (u << 8) | static_cast<uint8_t>(v[i]);
  return static_cast<int64_t>(u);
}

std::string FormatMessageId(uint64_t id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, id >>= 4) out[i] = kHex[id & 0xf];
  return out;
}

std::optional<uint64_t> ParseMessageId(std::string_view hex) {
  if (hex.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : hex) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

std::string MtaStsPolicyKey(std::string_view domain) {
  std::string key(kMetaMtaStsPrefix);
  key.append(domain);
  return key;
}

std::string MtaStsPolicyPrefixEnd() { return "sts0"; }  // '0' follows '/'

}  // namespace outpost::storage
