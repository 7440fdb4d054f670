// CompiledWhere: a rule's `where` tree (gateway/config/where.h) with its
// fields resolved to indexes into the values the parser extracted from a
// record, evaluated with no allocation and no name lookup (DESIGN.md 13.2):
//
//   - a number field compares numerically with a number literal, a string
//     field bytewise with a string literal;
//   - a type mismatch, a missing field or a JSON null makes a comparison (and
//     an `in` / `not in`) false;
//   - exists(F) is false for a missing F or a null.
//
// Immutable once built; any thread.
#ifndef SENSORGATE_GATEWAY_RULES_WHERE_EVAL_H_
#define SENSORGATE_GATEWAY_RULES_WHERE_EVAL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/where.h"
#include "gateway/parse/field_value.h"

namespace sensorgate {

class CompiledWhere {
 public:
  // `index_of` gives the position, in the array Matches() receives, of each
  // field the expression names.
  CompiledWhere(const WhereExpr& expr, const std::function<uint32_t(const std::string&)>& index_of);

  bool Matches(const FieldValue* values) const { return Eval(0, values); }

 private:
  struct Node {
    WhereExpr::Kind kind;
    CompareOp op = CompareOp::kEq;
    bool negated = false;
    uint32_t field = 0;
    uint32_t first = 0, count = 0;  // kAnd/kOr/kNot: children; kCompare/kIn: literals
    uint32_t next = 0;              // the node after this one's subtree
  };
  uint32_t Build(const WhereExpr& e, const std::function<uint32_t(const std::string&)>& index_of);
  bool Eval(uint32_t node, const FieldValue* values) const;
  bool Compare(const FieldValue& v, CompareOp op, const WhereLiteral& lit) const;

  std::vector<Node> nodes_;  // preorder: a node's children follow it
  std::vector<WhereLiteral> literals_;
};

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_RULES_WHERE_EVAL_H_
