#include "router/router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "router/config_loader.h"
#include "router/json.h"

namespace outpost::router {
namespace {

std::shared_ptr<const Config> MustLoad(std::string_view json) {
  auto c = LoadConfig(json, nullptr);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return *c;
}

constexpr const char* kComputed = R"j({
  "localDomains": ["example.org"],
  "routes": [{"@type": "Relay", "name": "relay-a.net", "address": "127.0.0.1"}],
  "lists": {"relays": {"a.net": "relay-a.net", "b.net": "relay-missing"}},
  "strategy": {
    "route": {"match": [{"if": "key_exists('relays', rcpt_domain)", "then": "key_get('relays', rcpt_domain)"},
                        {"if": "rcpt_domain == 'num.net'", "then": "retry_num"}],
              "else": "'mx'"},
    "tls": {"match": [{"if": "mx == 'mx.bad-tls.net'", "then": "'invalid-tls'"}], "else": "'default'"}
  }
})j";

Envelope For(std::string_view rcpt, std::string_view domain) {
  Envelope env;
  env.rcpt = rcpt;
  env.rcpt_domain = domain;
  return env;
}

TEST(Router, ComputedNameThatExists) {
  Router router(MustLoad(kComputed));
  auto d = router.DecideRoute(For("u@a.net", "a.net"));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->object->name, "relay-a.net");
  EXPECT_EQ(d->rule, 0);
  EXPECT_EQ(d->object->kind, Route::Kind::kRelay);
}

TEST(Router, ComputedNameThatDoesNotExistIsAnErrorValue) {
  Router router(MustLoad(kComputed));
  auto d = router.DecideRoute(For("u@b.net", "b.net"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kNotFound);
  EXPECT_NE(d.status().message().find("returned 'relay-missing'"), std::string::npos)
      << d.status().message();
  EXPECT_NE(d.status().message().find("rule 0"), std::string::npos);
}

TEST(Router, NonStringResultIsAnErrorValue) {
  Router router(MustLoad(kComputed));
  auto d = router.DecideRoute(For("u@num.net", "num.net"));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("returned 0, which is not a route name"), std::string::npos)
      << d.status().message();
}

TEST(Router, HostVariablesDriveTls) {
  Router router(MustLoad(kComputed));
  Envelope env = For("u@bad-tls.net", "bad-tls.net");
  EXPECT_EQ(router.DecideTls(env)->object->name, "default");  // before a host is chosen
  env.mx = "mx.bad-tls.net";
  auto d = router.DecideTls(env);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->object->name, "invalid-tls");
  EXPECT_TRUE(d->object->allow_invalid_certs);
  EXPECT_EQ(d->variables_read, VariableBit(Variable::kMx));
}

TEST(Router, DefaultStrategiesFollowDesign) {
  Router router(MustLoad(R"j({"localDomains": ["example.org"]})j"));
  Envelope local = For("u@example.org", "example.org");
  Envelope remote = For("u@remote.net", "remote.net");
  EXPECT_EQ(router.DecideRoute(local)->object->name, "local");
  EXPECT_EQ(router.DecideRoute(remote)->object->name, "mx");
  EXPECT_EQ(router.DecideSchedule(local)->object->name, "local");
  EXPECT_EQ(router.DecideSchedule(remote)->object->name, "remote");
  remote.source = "dsn";
  EXPECT_EQ(router.DecideSchedule(remote)->object->name, "dsn");
  remote.source = "report";
  EXPECT_EQ(router.DecideSchedule(remote)->object->name, "report");
  EXPECT_EQ(router.DecideConnection(remote)->object->name, "default");
  remote.retry_num = 1;
  remote.last_error = "tls";
  EXPECT_EQ(router.DecideTls(remote)->object->name, "invalid-tls");
  remote.retry_num = 0;
  EXPECT_EQ(router.DecideTls(remote)->object->name, "default");
}

TEST(Router, ExplanationJsonHasTheDesignShape) {
  Router router(MustLoad(kComputed));
  Envelope env = For("u@a.net", "a.net");
  env.retry_num = 3;
  Explanation e = Explain(router, env);
  ASSERT_TRUE(e.ok());
  rj::Document doc;
  std::string json = ExplanationToJson(e);
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_STREQ(doc["route"]["name"].GetString(), "relay-a.net");
  EXPECT_EQ(doc["route"]["rule"].GetInt(), 0);
  EXPECT_STREQ(doc["route"]["variables"]["rcpt_domain"].GetString(), "a.net");
  EXPECT_STREQ(doc["schedule"]["name"].GetString(), "remote");
  EXPECT_STREQ(doc["schedule"]["rule"].GetString(), "else");
  EXPECT_STREQ(doc["connection"]["name"].GetString(), "default");
  EXPECT_TRUE(doc["connection"]["variables"].ObjectEmpty());
  EXPECT_STREQ(doc["tls"]["name"].GetString(), "default");
  EXPECT_STREQ(doc["tls"]["variables"]["mx"].GetString(), "");
}

TEST(Router, ExplanationCarriesErrors) {
  Router router(MustLoad(kComputed));
  Explanation e = Explain(router, For("u@b.net", "b.net"));
  EXPECT_FALSE(e.ok());
  EXPECT_NE(e.route.error.find("relay-missing"), std::string::npos);
  std::string json = ExplanationToJson(e);
  EXPECT_NE(json.find("\"error\""), std::string::npos);
  EXPECT_NE(ExplanationToText(e).find("route:      ERROR"), std::string::npos);
}

TEST(Router, ExplanationTextNamesRuleAndVariables) {
  Router router(MustLoad(kComputed));
  Envelope env = For("u@a.net", "a.net");
  std::string text = ExplanationToText(Explain(router, env));
  EXPECT_NE(text.find("route:      relay-a.net  (rule 0)  with rcpt_domain='a.net'"),
            std::string::npos)
      << text;
}

// `route explain` shows the TLS policy that would apply: DANE/MTA-STS per MX host on Mx routes,
// startTls only on a relay route, and a relay route whose strategy requires DANE is an error.
TEST(Router, ExplanationShowsTheTlsPolicy) {
  Router router(MustLoad(R"j({
    "routes": [{"@type": "Relay", "name": "hub", "address": "10.0.0.1"}],
    "tlsStrategies": [{"name": "strict", "dane": "require", "mtaSts": "disable"}],
    "strategy": {"route": {"match": [{"if": "rcpt_domain == 'hub.net'", "then": "'hub'"}], "else": "'mx'"},
                 "tls": {"match": [{"if": "rcpt_domain != 'hub.net'", "then": "'strict'"},
                                   {"if": "rcpt_domain == 'hub.net' && retry_num > 0", "then": "'strict'"}],
                         "else": "'default'"}}
  })j"));
  Explanation mx = Explain(router, For("u@dane.test", "dane.test"));
  ASSERT_TRUE(mx.ok());
  std::string json = ExplanationToJson(mx);
  rj::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_STREQ(doc["tls"]["policy"]["dane"].GetString(), "require");
  EXPECT_STREQ(doc["tls"]["policy"]["mtaSts"].GetString(), "disable");
  EXPECT_NE(std::string(doc["tls"]["policy"]["applies"].GetString()).find("DANE require"),
            std::string::npos);
  EXPECT_NE(ExplanationToText(mx).find("policy: startTls=optional dane=require"),
            std::string::npos)
      << ExplanationToText(mx);

  Explanation relay = Explain(router, For("u@hub.net", "hub.net"));
  ASSERT_TRUE(relay.ok());
  EXPECT_EQ(relay.tls.policy.back().second,
            "startTls only: DANE and MTA-STS are not used on relay routes");

  Envelope retry = For("u@hub.net", "hub.net");
  retry.retry_num = 1;
  Explanation bad = Explain(router, retry);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.tls.error.find("tlsStrategies.strict.dane: 'require' cannot apply to relay route "
                               "'hub'"),
            std::string::npos)
      << bad.tls.error;
}

// A reload swaps the shared pointer while other threads decide; each decision sees one
// complete config (old or new), never a mix, and the old one stays alive while in use.
TEST(Router, AtomicSwapWhileDeciding) {
  auto old_router = std::make_shared<const Router>(MustLoad(R"j({"strategy": {"route": "'mx'"}})j"));
  auto new_router = std::make_shared<const Router>(MustLoad(R"j({"strategy": {"route": "'local'"}})j"));
  std::shared_ptr<const Router> current = old_router;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      Envelope env = For("u@x.net", "x.net");
      while (!stop.load()) {
        std::shared_ptr<const Router> r = std::atomic_load(&current);
        auto d = r->DecideRoute(env);
        if (!d.ok() || (d->object->name != "mx" && d->object->name != "local")) ++bad;
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    std::atomic_store(&current, (i % 2) ? old_router : new_router);
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace outpost::router
