#pragma once
// The SMTP server's base64 is the common one (common/base64.h).
#include "common/base64.h"

namespace outpost::smtp_server {

using ::outpost::Base64Decode;
using ::outpost::Base64Encode;

}  // namespace outpost::smtp_server
