#pragma once

// Composes RFC 3464 delivery status notifications: a multipart/report message with a human
// readable part, a message/delivery-status part and the original headers (or the original
// message for RET=FULL failures). Pure: no I/O, no clock; the caller passes `now` and a
// source of random bits, and enqueues the result (source 'dsn', null return path).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "queue/dsn/dsn_types.h"

namespace outpost::dsn {

// Random bits for MIME boundaries and Message-IDs. Called on the composer's thread only.
using RandomBits = std::function<uint64_t()>;
// A RandomBits over std::mt19937_64 seeded with `seed`. The composition root seeds it from
// std::random_device; tests pass a fixed seed or a hand-written sequence.
RandomBits SeededRandomBits(uint64_t seed);

struct DsnComposerOptions {
  // Our host name: "Reporting-MTA: dns; <host>", "MAILER-DAEMON@<host>", the Message-ID.
  std::string reporting_mta;
  // RET=FULL failure reports attach the whole message up to this size; a larger message (or
  // one with a line over 998 octets) gets its headers attached instead, and the text says so.
  size_t max_full_message_bytes = 10u << 20;
  // The attached header block is cut (at a header boundary) beyond this size.
  size_t max_header_bytes = 64u << 10;
};

struct ComposedDsn {
  std::string envelope_from;  // always "": a DSN is sent with the null return path
  std::string envelope_to;    // the original return path, the single recipient
  std::string message;        // the complete message, CRLF line endings, lines <= 998 octets
  std::string message_id;     // without angle brackets
  bool smtputf8 = false;      // a non-ASCII address is in it: needs SMTPUTF8 (RFC 6533 types)
  bool eight_bit = false;     // 8-bit content is attached: needs 8BITMIME
  bool full_message_attached = false;  // message/rfc822 (true) or headers only (false)
};

// Not thread-safe (it draws from its RandomBits); one composer per thread, or serialize.
class DsnComposer {
 public:
  DsnComposer(DsnComposerOptions options, RandomBits random);

  // Composes one report for `event` covering `recipients` (in that order).
  // InvalidArgument when: the return path is null (never a DSN for <>), there are no
  // recipients, a recipient's Action does not belong to `event`, or reporting_mta is not a
  // plausible host name. Everything taken from peers or envelopes is sanitized: no input can
  // add a header line or exceed the line limit.
  StatusOr<ComposedDsn> Compose(const OriginalMessage& original, DsnEvent event,
                                const std::vector<RecipientReport>& recipients,
                                int64_t now_unix_ms) const;

 private:
  DsnComposerOptions options_;
  RandomBits random_;
};

}  // namespace outpost::dsn
