#include "gateway/rules/where_eval.h"

namespace sensorgate {
namespace {

template <typename T>
bool Ordered(CompareOp op, const T& a, const T& b) {
  switch (op) {
    case CompareOp::kEq: return a == b;
    case CompareOp::kNe: return a != b;
    case CompareOp::kLt: return a < b;
    case CompareOp::kLe: return a <= b;
    case CompareOp::kGt: return a > b;
    case CompareOp::kGe: return a >= b;
  }
  return false;
}

}  // namespace

CompiledWhere::CompiledWhere(const WhereExpr& expr, const std::function<uint32_t(const std::string&)>& index_of) {
  Build(expr, index_of);
}

uint32_t CompiledWhere::Build(const WhereExpr& e, const std::function<uint32_t(const std::string&)>& index_of) {
  const uint32_t at = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back(Node{e.kind});
  switch (e.kind) {
    case WhereExpr::Kind::kOr:
    case WhereExpr::Kind::kAnd:
    case WhereExpr::Kind::kNot:
      nodes_[at].count = static_cast<uint32_t>(e.children.size());
      for (const WhereExpr& c : e.children) Build(c, index_of);
      break;
    case WhereExpr::Kind::kCompare:
    case WhereExpr::Kind::kIn:
      nodes_[at].first = static_cast<uint32_t>(literals_.size());
      nodes_[at].count = static_cast<uint32_t>(e.literals.size());
      literals_.insert(literals_.end(), e.literals.begin(), e.literals.end());
      [[fallthrough]];
    case WhereExpr::Kind::kExists:
      nodes_[at].field = index_of(e.field);
      nodes_[at].op = e.op;
      nodes_[at].negated = e.negated;
      break;
  }
  nodes_[at].next = static_cast<uint32_t>(nodes_.size());
  return at;
}

bool CompiledWhere::Compare(const FieldValue& v, CompareOp op, const WhereLiteral& lit) const {
  if (lit.is_string) return v.kind == FieldValue::Kind::kString && Ordered(op, v.text, std::string_view(lit.text));
  return v.kind == FieldValue::Kind::kNumber && Ordered(op, v.number, lit.number);
}

bool CompiledWhere::Eval(uint32_t i, const FieldValue* values) const {
  const Node& n = nodes_[i];
  switch (n.kind) {
    case WhereExpr::Kind::kOr:
    case WhereExpr::Kind::kAnd: {
      const bool is_and = n.kind == WhereExpr::Kind::kAnd;
      uint32_t child = i + 1;
      for (uint32_t k = 0; k < n.count; ++k) {
        if (Eval(child, values) != is_and) return !is_and;  // and: a false; or: a true
        child = nodes_[child].next;
      }
      return is_and;
    }
    case WhereExpr::Kind::kNot:
      return !Eval(i + 1, values);
    case WhereExpr::Kind::kCompare:
      return Compare(values[n.field], n.op, literals_[n.first]);
    case WhereExpr::Kind::kIn: {
      const FieldValue& v = values[n.field];
      if (v.kind != FieldValue::Kind::kString && v.kind != FieldValue::Kind::kNumber) return false;
      bool found = false;
      for (uint32_t k = 0; k < n.count && !found; ++k) found = Compare(v, CompareOp::kEq, literals_[n.first + k]);
      if (found) return !n.negated;
      // `not in` holds for a value of a type the list has, not in it.
      if (!n.negated) return false;
      for (uint32_t k = 0; k < n.count; ++k) {
        if (literals_[n.first + k].is_string == (v.kind == FieldValue::Kind::kString)) return true;
      }
      return false;
    }
    case WhereExpr::Kind::kExists:
      return values[n.field].kind != FieldValue::Kind::kAbsent && values[n.field].kind != FieldValue::Kind::kNull;
  }
  return false;
}

}  // namespace sensorgate
