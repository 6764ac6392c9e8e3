#include "router/expression.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "router/if_block.h"

namespace outpost::router {
namespace {

// Evaluates `text` (HOST variable set) against a fixed envelope and returns the display form.
class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest() {
    lookups_.local_domains = {"example.org", "local.test"};
    NamedList domains{"domains", {{"foobar.net", "foobar.net"}, {"foobar.org", "foobar.org"}}};
    NamedList relays{"relays", {{"example.com", "relay-a"}}};
    lookups_.lists = {domains, relays};
    lookups_.list_index = {{"domains", 0}, {"relays", 1}};
    recipients_ = {"a@example.org", "b@foobar.net"};
    env_.rcpt = "a@example.org";
    env_.rcpt_domain = "example.org";
    env_.recipients = recipients_;
    env_.sender = "Bob@Sender.Example";
    env_.sender_domain = "sender.example";
    env_.retry_num = 2;
    env_.last_error = "tls";
    env_.size = 2048;
    env_.source = "authenticated";
    env_.mx = "mx1.foobar.net";
    env_.remote_ip = "192.0.2.7";
    env_.received_from_ip = "10.1.2.3";
  }

  std::string Eval(std::string_view text) {
    auto e = Expression::Compile(text, VariableSet::kHost, &lookups_);
    if (!e.ok()) return "ERROR " + e.status().message();
    EvalScratch scratch;
    EvalInputs in{&env_, &lookups_};
    Value v = e->Evaluate(in, scratch);
    std::string out = v.ToString();
    if (v.is_string()) out = "'" + out + "'";
    return out;
  }

  std::string CompileError(std::string_view text, VariableSet vars = VariableSet::kHost) {
    auto e = Expression::Compile(text, vars, &lookups_);
    return e.ok() ? "ok" : e.status().message();
  }

  Lookups lookups_;
  std::vector<std::string> recipients_;
  Envelope env_;
};

struct Case {
  const char* expr;
  const char* want;
};

TEST_F(ExpressionTest, LiteralsTable) {
  const Case cases[] = {
      {"'local'", "'local'"},
      {"\"dq\"", "'dq'"},
      {"'a\\'b'", "'a'b'"},
      {"'x\\ny'", "'x\ny'"},
      {"'t\\tq'", "'t\tq'"},
      {"42", "42"},
      {"1.5", "1.5"},
      {"true", "1"},
      {"false", "0"},
      {"2m", "120000"},
      {"500ms", "500"},
      {"1h", "3600000"},
      {"3d", "259200000"},
      {"[1, 'a', 2m]", "[1, a, 120000]"},
      {"[]", "[]"},
      {"-5", "-5"},
      {"['a','b'][1]", "'b'"},
      {"['a','b'][5]", "''"},
  };
  for (const Case& c : cases) EXPECT_EQ(Eval(c.expr), c.want) << c.expr;
}

TEST_F(ExpressionTest, PrecedenceTable) {
  const Case cases[] = {
      {"1 + 2 * 3", "7"},
      {"(1 + 2) * 3", "9"},
      {"10 - 4 - 3", "3"},
      {"7 / 2", "3.5"},
      {"1 / 0", "0"},
      {"1 + 2 == 3", "1"},
      {"2 > 1 == 1", "1"},
      {"1 == 1 && 2 == 3", "0"},
      {"1 == 2 || 2 == 2", "1"},
      {"0 || 1 && 0", "0"},   // && binds tighter than ||
      {"1 || 0 && 0", "1"},
      {"1 ^ 1 || 1", "1"},    // ^ binds tighter than ||
      {"1 ^ 0 && 0", "0"},    // ^ binds tighter than &&: (1 ^ 0) && 0
      {"0 && 0 ^ 1", "0"},    // 0 && (0 ^ 1), not (0 && 0) ^ 1
      {"!0 == 1", "1"},       // unary applies before binary ops
      {"!(1 == 1)", "0"},
      {"-2 * 3", "-6"},
      {"- (2 + 3)", "-5"},
      {"1 = 1", "1"},
      {"1 & 1", "1"},
      {"0 | 1", "1"},
      {"2 => 2", "1"},
      {"1 =< 2", "1"},
      {"1 != 2", "1"},
      {"3 >= 4", "0"},
      {"3 < 4", "1"},
      {"3 <= 2", "0"},
  };
  for (const Case& c : cases) EXPECT_EQ(Eval(c.expr), c.want) << c.expr;
}

TEST_F(ExpressionTest, StringAndNumberRules) {
  const Case cases[] = {
      {"'10' == 10", "1"},       // string vs number compares numerically
      {"'abc' == 0", "0"},       // unparsable string never equals a number
      {"1 == 1.0", "1"},
      {"'abc' < 'abd'", "1"},    // lexicographic
      {"'10' > 9", "1"},         // numeric via parse
      {"'a' + 'b'", "'ab'"},     // concatenation
      {"'' + 5", "5"},           // empty operand returns the other
      {"'n' + 5", "'n5'"},
      {"'3' * 2", "6"},          // non-numeric strings parse to numbers
      {"'x' * 2", "0"},
      {"9223372036854775807 + 1", "9223372036854775807"},  // saturating
      {"[1, 2] + 3", "[1, 2, 3]"},
      {"[1, 2, 3] - 2", "[1, 3]"},
      {"'' == ''", "1"},
      {"!''", "1"},
      {"![]", "1"},
  };
  for (const Case& c : cases) EXPECT_EQ(Eval(c.expr), c.want) << c.expr;
}

TEST_F(ExpressionTest, VariablesTable) {
  const Case cases[] = {
      {"rcpt", "'a@example.org'"},
      {"rcpt_domain", "'example.org'"},
      {"recipients", "[a@example.org, b@foobar.net]"},
      {"sender", "'Bob@Sender.Example'"},
      {"sender_domain", "'sender.example'"},
      {"retry_num", "2"},
      {"retry_num > 1", "1"},
      {"last_error == 'tls'", "1"},
      {"size", "2048"},
      {"source", "'authenticated'"},
      {"mx", "'mx1.foobar.net'"},
      {"remote_ip", "'192.0.2.7'"},
      {"local_ip", "''"},
      {"priority + notify_num + expires_in + queue_age + received_via_port", "0"},
      {"last_status", "'Scheduled'"},
      {"queue_name", "''"},
      {"received_from_ip", "'10.1.2.3'"},
  };
  for (const Case& c : cases) EXPECT_EQ(Eval(c.expr), c.want) << c.expr;
}

TEST_F(ExpressionTest, FunctionsTable) {
  const Case cases[] = {
      {"is_local_domain(rcpt_domain)", "1"},
      {"is_local_domain('', rcpt_domain)", "1"},
      {"is_local_domain('*', 'EXAMPLE.org')", "1"},
      {"is_local_domain('foobar.net')", "0"},
      {"is_local_address(rcpt)", "1"},
      {"is_local_address('', 'x@foobar.net')", "0"},
      {"key_exists('domains', 'foobar.net')", "1"},
      {"key_exists('domains', rcpt_domain)", "0"},
      {"key_get('relays', 'example.com')", "'relay-a'"},
      {"key_get('relays', 'nope')", "''"},
      {"key_get('domains', 'foobar.org')", "'foobar.org'"},
      {"contains(recipients, 'b@foobar.net')", "1"},
      {"contains(rcpt, '@example')", "1"},
      {"contains(['a', 'b'], 'c')", "0"},
      {"is_intersect(recipients, ['z', 'a@example.org'])", "1"},
      {"is_intersect(['x'], ['y'])", "0"},
      {"starts_with(rcpt, 'a@')", "1"},
      {"ends_with(rcpt_domain, '.org')", "1"},
      {"ends_with(rcpt_domain, '.net')", "0"},
      {"matches('^[a-z]+@example\\\\.org$', rcpt)", "1"},
      {"matches('^b', rcpt)", "0"},
      {"matches('a{2,3}', 'baab')", "1"},
      {"matches('^x', 'x' + split(rcpt, '@')[0])", "1"},
      {"email_part(rcpt, 'local')", "'a'"},
      {"email_part(rcpt, 'domain')", "'example.org'"},
      {"email_part('nodomain', 'domain')", "''"},
      {"to_lowercase(sender)", "'bob@sender.example'"},
      {"to_uppercase('abc')", "'ABC'"},
      {"to_lowercase(['A', 'b'])", "[a, b]"},
      {"len('abcd')", "4"},
      {"len(recipients)", "2"},
      {"count(recipients)", "2"},
      {"count('x')", "1"},
      {"split('a,b,,c', ',')", "[a, b, , c]"},
      {"split(rcpt, '@')[1]", "'example.org'"},
      {"trim('  x y ')", "'x y'"},
      {"trim(to_uppercase('  q '))", "'Q'"},
      {"is_ip_in_cidr(remote_ip, '192.0.2.0/24')", "1"},
      {"is_ip_in_cidr(remote_ip, '192.0.3.0/24')", "0"},
      {"is_ip_in_cidr('::1', '::1/128')", "1"},
      {"is_ip_in_cidr('10.0.0.1', '10.0.0.1')", "1"},
      {"is_ip_in_cidr('not-an-ip', '10.0.0.0/8')", "0"},
      {"is_ip_in_cidr('10.0.0.1', '::/0')", "0"},
      {"is_empty('')", "1"},
      {"is_empty([])", "1"},
      {"is_empty(local_ip)", "1"},
      {"is_empty('x')", "0"},
      {"is_empty(0)", "0"},
      {"if_then(retry_num > 1, 'fallback', 'mx')", "'fallback'"},
      {"if_then(0, 'a', 'b')", "'b'"},
      {"is_email(rcpt)", "1"},
      {"eq_ignore_case('ABC', 'abc')", "1"},
      {"contains_ignore_case(sender, 'BOB')", "1"},
  };
  for (const Case& c : cases) EXPECT_EQ(Eval(c.expr), c.want) << c.expr;
}

TEST_F(ExpressionTest, ShortCircuitSkipsRightHandSide) {
  // The right operand would read `rcpt`; with && short-circuiting it is never evaluated.
  auto e = Expression::Compile("retry_num > 5 && rcpt == 'x'", VariableSet::kRcpt, &lookups_);
  ASSERT_TRUE(e.ok());
  EvalScratch scratch;
  EvalInputs in{&env_, &lookups_};
  EXPECT_EQ(e->Evaluate(in, scratch).integer(), 0);
  EXPECT_EQ(scratch.read, VariableBit(Variable::kRetryNum));
  scratch.read = 0;
  auto o = Expression::Compile("retry_num > 1 || rcpt == 'x'", VariableSet::kRcpt, &lookups_);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->Evaluate(in, scratch).integer(), 1);
  EXPECT_EQ(scratch.read, VariableBit(Variable::kRetryNum));
}

TEST_F(ExpressionTest, CompileErrorsNameTheColumn) {
  const Case cases[] = {
      {"rcpt_domian == 'x'", "column 1: unknown variable 'rcpt_domian'"},
      {"retry_num > 1 && foo(1)", "column 18: unknown function 'foo'"},
      {"is_local_domain(1, 2, 3)", "column 1: function 'is_local_domain' expects 1 or 2 arguments, got 3"},
      {"len()", "column 1: function 'len' expects 1 argument, got 0"},
      {"matches('(', rcpt)", "column 1: invalid regular expression '('"},
      {"matches(rcpt, rcpt)", "column 1: matches() needs a literal regular expression"},
      {"key_exists('nolist', rcpt)", "column 1: unknown list 'nolist'"},
      {"'open", "column 1: unterminated string"},
      {"1 +", "column 4: unexpected 'end of expression'"},
      {"(1 + 2", "column 7: expected ')'"},
      {"1 2", "column 3: unexpected '2'"},
      {"12x", "column 1: invalid number or duration '12x'"},
      {"a # b", "column 3: unexpected character '#'"},
      {"", "column 1: empty expression"},
      {"$x", "column 1: unknown capture group '$x'"},
      {"matches('a{1000}{1000}', rcpt)", "column 1: regular expression repeats too much"},
      {"matches('a**', rcpt)", "column 1: regular expression has a repetition of a repetition"},
      {"matches('^(||x)*+@', rcpt)", "column 1: regular expression has a repetition of a rep"},
      {"matches('a{2}*', rcpt)", "column 1: regular expression has a repetition of a repetition"},
      {"matches('((a*)*)*b', rcpt)", "column 1: regular expression has repetitions nested more"},
      {"matches('(x(?:a+)+)+', rcpt)", "column 1: regular expression has repetitions nested more"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(CompileError(c.expr).find(c.want), std::string::npos)
        << c.expr << " -> " << CompileError(c.expr);
  }
}

// The backtracking guard refuses only repetitions of repetitions and nesting beyond two: the
// patterns a routing policy uses still compile.
TEST_F(ExpressionTest, OrdinaryRegularExpressionsPassTheBacktrackingGuard) {
  for (const char* expr : {"matches('^([a-z0-9-]+\\.)*example\\.org$', rcpt_domain)",
                           "matches('^(.+)@(.+)$', rcpt)", "matches('a*?b', rcpt)",
                           "matches('[*+?]+x', rcpt)",
                           "matches('(?:ab)+c{2,3}', rcpt)", "matches('(a{2}){3}', rcpt)"}) {
    EXPECT_EQ(CompileError(expr), "ok") << expr;
  }
  EXPECT_EQ(Eval("matches('^([a-z0-9-]+\\.)*foobar\\.net$', 'mx1.foobar.net')"), "1");
}

TEST_F(ExpressionTest, HostVariablesAreRejectedInRcptExpressions) {
  EXPECT_NE(CompileError("mx == 'a'", VariableSet::kRcpt).find("column 1: variable 'mx' is only"),
            std::string::npos);
  EXPECT_EQ(CompileError("mx == 'a'", VariableSet::kHost), "ok");
  EXPECT_NE(CompileError("1 + remote_ip", VariableSet::kRcpt).find("column 5"), std::string::npos);
}

TEST_F(ExpressionTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep(500, '(');
  deep += "1";
  deep += std::string(500, ')');
  EXPECT_NE(CompileError(deep).find("nested too deeply"), std::string::npos);
  std::string nots(500, '!');
  EXPECT_NE(CompileError(nots + "1").find("nested too deeply"), std::string::npos);
}

TEST_F(ExpressionTest, ConstantDetection) {
  auto c = Expression::Compile("'mx'", VariableSet::kRcpt, nullptr);
  ASSERT_TRUE(c.ok());
  ASSERT_NE(c->constant(), nullptr);
  EXPECT_EQ(c->constant()->str(), "mx");
  auto v = Expression::Compile("'m' + 'x'", VariableSet::kRcpt, nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->constant(), nullptr);
}

TEST_F(ExpressionTest, CaptureGroupsReachTheThenBranch) {
  std::vector<IfBlock::Rule> rules;
  rules.push_back({*Expression::Compile("matches('^([a-z]+)@(.*)$', rcpt)", VariableSet::kRcpt, nullptr),
                   *Expression::Compile("'relay-' + $2", VariableSet::kRcpt, nullptr)});
  IfBlock block(std::move(rules), *Expression::Compile("'mx'", VariableSet::kRcpt, nullptr));
  EvalScratch scratch;
  EvalInputs in{&env_, &lookups_};
  IfBlock::Result r = block.Evaluate(in, scratch);
  EXPECT_EQ(r.rule, 0);
  EXPECT_EQ(r.value.ToString(), "relay-example.org");
}

TEST_F(ExpressionTest, IfBlockFallsToElse) {
  std::vector<IfBlock::Rule> rules;
  rules.push_back({*Expression::Compile("retry_num > 5", VariableSet::kRcpt, nullptr),
                   *Expression::Compile("'a'", VariableSet::kRcpt, nullptr)});
  IfBlock block(std::move(rules), *Expression::Compile("'b'", VariableSet::kRcpt, nullptr));
  EvalScratch scratch;
  EvalInputs in{&env_, &lookups_};
  IfBlock::Result r = block.Evaluate(in, scratch);
  EXPECT_EQ(r.rule, -1);
  EXPECT_EQ(r.value.str(), "b");
}

}  // namespace
}  // namespace outpost::router

namespace outpost::router {
namespace {

// Runs of `var == 'literal'` rules are answered by a hash lookup; the answer must be the
// one testing every rule in order gives (first match wins, other rules still honoured).
TEST(IfBlockIndex, EqualityRunsMatchLinearEvaluation) {
  auto rule = [](const std::string& cond, const std::string& then) {
    return IfBlock::Rule{*Expression::Compile(cond, VariableSet::kRcpt, nullptr),
                         *Expression::Compile(then, VariableSet::kRcpt, nullptr)};
  };
  std::vector<IfBlock::Rule> rules = {
      rule("retry_num > 5", "'late'"),
      rule("rcpt_domain == 'a.net'", "'A'"),
      rule("rcpt_domain == 'b.net'", "'B'"),
      rule("rcpt_domain == 'a.net'", "'A2'"),  // duplicate literal: never chosen
      rule("rcpt_domain == 'c.net'", "'C'"),
      rule("rcpt_domain == 'd.net'", "'D'"),
      rule("sender == 'x@y'", "'S'"),           // breaks the run
      rule("rcpt_domain == 'e.net'", "'E'"),
  };
  // The same rules with the run broken up by always-false rules: evaluated one by one.
  std::vector<IfBlock::Rule> linear;
  for (const IfBlock::Rule& r : rules) {
    linear.push_back(r);
    linear.push_back(rule("false", "'never'"));
  }
  IfBlock indexed(rules, *Expression::Compile("'else'", VariableSet::kRcpt, nullptr));
  IfBlock plain(linear, *Expression::Compile("'else'", VariableSet::kRcpt, nullptr));
  for (std::string domain : {"a.net", "b.net", "c.net", "d.net", "e.net", "z.net", ""}) {
    for (int retry : {0, 9}) {
      for (std::string sender : {"x@y", "q@r"}) {
        Envelope env;
        env.rcpt_domain = domain;
        env.retry_num = retry;
        env.sender = sender;
        EvalScratch s1, s2;
        EvalInputs in{&env, nullptr};
        IfBlock::Result a = indexed.Evaluate(in, s1);
        IfBlock::Result b = plain.Evaluate(in, s2);
        std::string what = domain + " " + std::to_string(retry) + " " + sender;
        EXPECT_EQ(a.value.ToString(), b.value.ToString()) << what;
        EXPECT_EQ(a.rule, b.rule < 0 ? -1 : b.rule / 2) << what;
        EXPECT_EQ(s1.read, s2.read) << what;
      }
    }
  }
}

}  // namespace
}  // namespace outpost::router
