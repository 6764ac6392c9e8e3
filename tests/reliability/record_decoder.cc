#include "tests/reliability/record_decoder.h"

#include <string_view>

#include "outpost_queue.pb.h"
#include "queue/types.h"
#include "router/json.h"
#include "storage/keys.h"
#include "tools/admin/queue_json.h"

namespace outpost::reliability {
namespace {

namespace rj = router::rj;
using storage::RecipientKey;

std::string CheckKeys(std::string_view in) {
  if (auto id = storage::ParseMessageKey(in); id && storage::MessageKey(*id) != in) {
    return "message key does not round-trip";
  }
  if (auto rk = storage::ParseRecipientKey(in); rk && storage::RecipientKeyBytes(*rk) != in) {
    return "recipient key does not round-trip";
  }
  if (auto due = storage::ParseDueKey(in)) {
    if (due->queue.find('\0') != std::string::npos) return "due key queue holds NUL";
    if (due->due_unix_ms >= 0 &&
        storage::DueKey(due->queue, due->lane, due->due_unix_ms, due->rcpt) != in) {
      return "due key does not round-trip";
    }
  }
  if (auto t = storage::ParseTimeIndexKey(in);
      t && t->unix_ms >= 0 && storage::TimeIndexKey(t->unix_ms, t->rcpt) != in) {
    return "time index key does not round-trip";
  }
  if (auto c = storage::DecodeCounter(in); c && storage::EncodeCounter(*c) != in) {
    return "counter does not round-trip";
  }
  if (auto id = storage::ParseMessageId(in)) {
    auto again = storage::ParseMessageId(storage::FormatMessageId(*id));
    if (!again || *again != *id) return "message id does not round-trip";
  }
  return "";
}

template <typename Record>
std::string CheckRecord(std::string_view in, const char* what, Record* out) {
  if (!out->ParseFromArray(in.data(), static_cast<int>(in.size()))) return "";
  std::string bytes = out->SerializeAsString();
  Record again;
  if (!again.ParseFromString(bytes) || again.SerializeAsString() != bytes) {
    return std::string(what) + " does not survive serialize/parse";
  }
  return "";
}

std::string CheckJson(const proto::MessageRecord& m, const proto::RecipientRecord& r) {
  queue::QueuedMessage qm;
  qm.message = m;
  qm.recipients.push_back(r);
  std::string json = admin::MessageToJson(qm);
  rj::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return "admin JSON of a decoded record is malformed";
  if (!doc.HasMember("recipients") || !doc["recipients"].IsArray() ||
      doc["recipients"].Size() != 1) {
    return "admin JSON lost the recipient";
  }
  // A stored reply can never forge another field: the text comes back as one string.
  const rj::Value& reply = doc["recipients"][0]["lastReply"];
  if (!reply.IsObject() || !reply.HasMember("text") || !reply["text"].IsString()) {
    return "admin JSON lastReply.text is not a string";
  }
  return "";
}

}  // namespace

std::string CheckRecordDecoders(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (std::string e = CheckKeys(in); !e.empty()) return e;
  proto::MessageRecord m;
  proto::RecipientRecord r;
  proto::QuarantineRecord q;
  proto::SchemaInfo s;
  if (std::string e = CheckRecord(in, "MessageRecord", &m); !e.empty()) return e;
  if (std::string e = CheckRecord(in, "RecipientRecord", &r); !e.empty()) return e;
  if (std::string e = CheckRecord(in, "QuarantineRecord", &q); !e.empty()) return e;
  if (std::string e = CheckRecord(in, "SchemaInfo", &s); !e.empty()) return e;
  // The same bytes split in two: a message record and one of its recipients.
  size_t half = size / 2;
  proto::MessageRecord m2;
  proto::RecipientRecord r2;
  if (m2.ParseFromArray(data, static_cast<int>(half)) &&
      r2.ParseFromArray(data + half, static_cast<int>(size - half))) {
    if (std::string e = CheckJson(m2, r2); !e.empty()) return e;
  }
  return "";
}

}  // namespace outpost::reliability
