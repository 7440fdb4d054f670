// CompiledWhere: the `where` semantics of DESIGN.md 13.2, case by case, and
// against a plain tree-walking model on random expressions and records.
#include "gateway/rules/where_eval.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace sensorgate {
namespace {

using K = FieldValue::Kind;

const std::map<std::string, uint32_t> kFields = {{"a", 0}, {"b", 1}, {"c", 2}, {"DstPort", 3}};

CompiledWhere Compile(const std::string& text) {
  WhereExpr e;
  WhereError err;
  EXPECT_TRUE(ParseWhere(text, &e, &err)) << text << ": " << err.what;
  return CompiledWhere(e, [](const std::string& f) { return kFields.at(f); });
}

FieldValue Num(double v) { return FieldValue{K::kNumber, {}, v}; }
FieldValue Str(std::string_view s) { return FieldValue{K::kString, s, 0}; }
FieldValue Of(K k) { return FieldValue{k, {}, 0}; }

bool Match(const std::string& text, FieldValue port) {
  FieldValue v[4] = {Of(K::kAbsent), Of(K::kAbsent), Of(K::kAbsent), port};
  return Compile(text).Matches(v);
}

TEST(WhereEval, InAndNotInCompareByTypeAndAreFalseWhenMissingOrNull) {
  EXPECT_TRUE(Match("DstPort in (443, 8000)", Num(443)));
  EXPECT_TRUE(Match("DstPort in (443, 8000)", Num(8000)));
  EXPECT_FALSE(Match("DstPort in (443, 8000)", Num(22)));
  EXPECT_FALSE(Match("DstPort in (443, 8000)", Str("443")));  // a string is not the number
  EXPECT_FALSE(Match("DstPort in (443, 8000)", Of(K::kAbsent)));
  EXPECT_FALSE(Match("DstPort in (443, 8000)", Of(K::kNull)));
  EXPECT_TRUE(Match("DstPort not in (443, 8000)", Num(22)));
  EXPECT_FALSE(Match("DstPort not in (443, 8000)", Num(443)));
  EXPECT_FALSE(Match("DstPort not in (443, 8000)", Str("22")));
  EXPECT_FALSE(Match("DstPort not in (443, 8000)", Of(K::kAbsent)));
  EXPECT_TRUE(Match("DstPort in (\"http\", 443)", Str("http")));
}

TEST(WhereEval, ComparisonsNotAndExists) {
  EXPECT_TRUE(Match("DstPort >= 1024", Num(1024)));
  EXPECT_FALSE(Match("DstPort >= 1024", Num(1023.5)));
  EXPECT_FALSE(Match("DstPort != 1", Of(K::kAbsent)));  // missing: false, even for !=
  EXPECT_TRUE(Match("not (DstPort = 1)", Of(K::kAbsent)));
  EXPECT_TRUE(Match("DstPort < \"b\"", Str("ab")));      // bytewise
  EXPECT_FALSE(Match("DstPort < \"b\"", Str("b")));
  EXPECT_FALSE(Match("DstPort < \"b\"", Num(1)));
  EXPECT_FALSE(Match("exists(DstPort)", Of(K::kNull)));
  EXPECT_FALSE(Match("exists(DstPort)", Of(K::kAbsent)));
  EXPECT_TRUE(Match("exists(DstPort)", Of(K::kOther)));  // an object is there
  EXPECT_TRUE(Match("exists(DstPort)", Str("")));
}

// The model: the tree itself, walked.
bool Model(const WhereExpr& e, const FieldValue* v) {
  auto cmp = [](const FieldValue& f, CompareOp op, const WhereLiteral& l) {
    if (l.is_string) {
      if (f.kind != K::kString) return false;
      const int c = f.text.compare(l.text);
      return op == CompareOp::kEq ? c == 0 : op == CompareOp::kNe ? c != 0 : op == CompareOp::kLt ? c < 0
           : op == CompareOp::kLe ? c <= 0 : op == CompareOp::kGt ? c > 0 : c >= 0;
    }
    if (f.kind != K::kNumber) return false;
    const double a = f.number, b = l.number;
    return op == CompareOp::kEq ? a == b : op == CompareOp::kNe ? a != b : op == CompareOp::kLt ? a < b
         : op == CompareOp::kLe ? a <= b : op == CompareOp::kGt ? a > b : a >= b;
  };
  switch (e.kind) {
    case WhereExpr::Kind::kOr:
      for (const WhereExpr& c : e.children) {
        if (Model(c, v)) return true;
      }
      return false;
    case WhereExpr::Kind::kAnd:
      for (const WhereExpr& c : e.children) {
        if (!Model(c, v)) return false;
      }
      return true;
    case WhereExpr::Kind::kNot: return !Model(e.children[0], v);
    case WhereExpr::Kind::kCompare: return cmp(v[kFields.at(e.field)], e.op, e.literals[0]);
    case WhereExpr::Kind::kIn: {
      const FieldValue& f = v[kFields.at(e.field)];
      if (f.kind != K::kString && f.kind != K::kNumber) return false;
      bool in = false, typed = false;
      for (const WhereLiteral& l : e.literals) {
        in = in || cmp(f, CompareOp::kEq, l);
        typed = typed || l.is_string == (f.kind == K::kString);
      }
      return e.negated ? (!in && typed) : in;
    }
    case WhereExpr::Kind::kExists: {
      const K k = v[kFields.at(e.field)].kind;
      return k != K::kAbsent && k != K::kNull;
    }
  }
  return false;
}

TEST(WhereEval, EqualsATreeWalkOnRandomExpressions) {
  std::mt19937_64 rng(11);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const char* fields[] = {"a", "b", "c"};
  const char* ops[] = {"=", "!=", "<", "<=", ">", ">="};
  const char* lits[] = {"1", "2", "2.5", "\"x\"", "\"y\""};
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    const size_t kind = depth > 3 ? 3 + pick(3) : pick(6);
    switch (kind) {
      case 0: return "(" + gen(depth + 1) + " or " + gen(depth + 1) + ")";
      case 1: return "(" + gen(depth + 1) + " and " + gen(depth + 1) + " and " + gen(depth + 1) + ")";
      case 2: return "not " + gen(depth + 1);
      case 3: return std::string(fields[pick(3)]) + " " + ops[pick(6)] + " " + lits[pick(5)];
      case 4: return std::string(fields[pick(3)]) + (pick(2) ? " not in (" : " in (") + lits[pick(5)] + ", " + lits[pick(5)] + ")";
      default: return std::string("exists(") + fields[pick(3)] + ")";
    }
  };
  const FieldValue choices[] = {Of(K::kAbsent), Of(K::kNull), Of(K::kOther), Num(1), Num(2), Num(2.5), Num(3),
                                Str("x"), Str("y"), Str("")};
  for (int i = 0; i < 3000; ++i) {
    const std::string text = gen(0);
    WhereExpr e;
    WhereError err;
    ASSERT_TRUE(ParseWhere(text, &e, &err)) << text << ": " << err.what;
    const CompiledWhere w(e, [](const std::string& f) { return kFields.at(f); });
    for (int r = 0; r < 20; ++r) {
      FieldValue v[4] = {choices[pick(10)], choices[pick(10)], choices[pick(10)], Of(K::kAbsent)};
      ASSERT_EQ(w.Matches(v), Model(e, v)) << text;
    }
  }
}

}  // namespace
}  // namespace sensorgate
