#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/utf8.h"

namespace outpost::smtp_server {

// An RFC 5321 mailbox as the client wrote it. A quoted local part keeps its quotes and
// backslashes, so `ToString()` is the address exactly as it appeared between the brackets.
struct Mailbox {
  std::string local_part;  // "user" or "\"a b\"", never empty for a real mailbox
  std::string domain;      // "example.org", "[192.0.2.1]", "[IPv6:::1]"; "" only for postmaster
  std::string ToString() const;
  // False when the address holds UTF-8 (needs SMTPUTF8).
  bool IsAscii() const;
};

struct ParsedPath {
  bool null_path = false;  // "<>"
  Mailbox mailbox;         // empty when null_path
  size_t consumed = 0;     // bytes of the input taken by the path, brackets included
};

struct PathOptions {
  bool allow_null = false;        // MAIL FROM:<>
  bool allow_postmaster = false;  // RCPT TO:<Postmaster> without a domain (RFC 5321 4.1.1.3)
};

// Parses a Path ("<" [source-route ":"] mailbox ">") at the start of `in`. A source route is
// accepted and dropped (RFC 5321 4.1.1.3). UTF-8 is accepted in the local part and domain;
// callers refuse non-ASCII mailboxes unless SMTPUTF8 is in effect. Pure and total: any input
// gives a value or kInvalidArgument with a human-readable reason.
StatusOr<ParsedPath> ParsePath(std::string_view in, const PathOptions& options);

// Well-formed UTF-8: outpost::IsValidUtf8 (common/utf8.h).
using ::outpost::IsValidUtf8;

// Domain or address literal, as used in a mailbox or an EHLO argument.
bool IsValidDomainOrLiteral(std::string_view s, bool allow_utf8);

// Case-insensitive ASCII comparison.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace outpost::smtp_server
