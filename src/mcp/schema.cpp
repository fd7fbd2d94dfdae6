// The tools' schemas come from schemas/tools/*.json, embedded at build time, so the files in
// the repository are exactly what tools/list sends and what arguments are checked against.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "internal.hpp"

namespace hookmcp::mcp {

// Generated from schemas/tools by cmake/embed_files.cmake.
const std::map<std::string, std::string_view>& embedded_schemas();

namespace {

std::string type_of(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

bool has_type(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer() || v.is_number_unsigned()) return true;
    // 3.0 is an integer in JSON Schema.
    return v.is_number_float() && std::floor(v.get<double>()) == v.get<double>();
  }
  return true;
}

// Every integer a tool takes is read as a signed 64-bit one (an event id, a limit): a value past
// that range would wrap, and a huge float does not convert at all.
bool fits_int64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t{INT64_MAX};
  if (v.is_number_integer()) return true;
  double d = v.get<double>();
  return d >= -0x1p63 && d < 0x1p63;
}

std::string name_of(const std::string& where) {
  return where.empty() ? "the arguments" : "argument " + where;
}

std::optional<std::string> check(const json& root, const json& schema, const json& v,
                                 const std::string& where) {
  if (auto ref = schema.find("$ref"); ref != schema.end() && ref->is_string()) {
    const std::string& r = ref->get_ref<const std::string&>();
    const json* target =
        r.size() > 1 && r[0] == '#' ? resolve_json_pointer(root, r.substr(1)) : nullptr;
    if (target == nullptr) return "schema error: unresolved $ref " + r;
    return check(root, *target, v, where);
  }
  if (auto t = schema.find("type"); t != schema.end()) {
    std::vector<std::string> types;
    if (t->is_string()) types.push_back(t->get<std::string>());
    if (t->is_array()) {
      for (const auto& x : *t) {
        if (x.is_string()) types.push_back(x.get<std::string>());
      }
    }
    bool ok = false;
    for (const auto& type : types) ok |= has_type(v, type);
    if (!ok) {
      std::string want;
      for (const auto& type : types) want += (want.empty() ? "" : " or ") + type;
      return name_of(where) + " must be " + want + ", not " + type_of(v);
    }
    bool integer = std::find(types.begin(), types.end(), "integer") != types.end();
    if (integer && v.is_number() && !fits_int64(v)) {
      return name_of(where) + " is out of range: " + v.dump() +
             " (integers here lie between -2^63 and 2^63-1)";
    }
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    bool found = false;
    for (const auto& x : *e) found |= x == v;
    if (!found) return name_of(where) + " must be one of " + e->dump() + ", not " + v.dump();
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && d < m->get<double>()) {
      return name_of(where) + " must be at least " + m->dump() + ", not " + v.dump();
    }
    if (auto m = schema.find("maximum"); m != schema.end() && d > m->get<double>()) {
      return name_of(where) + " must be at most " + m->dump() + ", not " + v.dump();
    }
  }
  if (v.is_string()) {
    size_t n = v.get_ref<const std::string&>().size();
    if (auto m = schema.find("minLength"); m != schema.end() && n < m->get<size_t>()) {
      return name_of(where) + " must not be empty";
    }
    if (auto m = schema.find("maxLength"); m != schema.end() && n > m->get<size_t>()) {
      return name_of(where) + " must be at most " + m->dump() + " characters long";
    }
  }
  if (v.is_array()) {
    if (auto m = schema.find("minItems"); m != schema.end() && v.size() < m->get<size_t>()) {
      return name_of(where) + " needs at least " + m->dump() + " item(s)";
    }
    if (auto m = schema.find("maxItems"); m != schema.end() && v.size() > m->get<size_t>()) {
      return name_of(where) + " takes at most " + m->dump() + " items";
    }
    if (auto items = schema.find("items"); items != schema.end() && items->is_object()) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (auto err = check(root, *items, v[i], where + "[" + std::to_string(i) + "]")) {
          return err;
        }
      }
    }
  }
  if (v.is_object()) {
    static const json kEmpty = json::object();
    auto p = schema.find("properties");
    const json& props = p != schema.end() ? *p : kEmpty;
    if (auto req = schema.find("required"); req != schema.end()) {
      for (const auto& name : *req) {
        if (!v.contains(name.get<std::string>())) {
          std::string inner = where.empty() ? "" : " of " + where;
          return "missing required argument " + name.get<std::string>() + inner;
        }
      }
    }
    auto additional = schema.find("additionalProperties");
    for (const auto& [key, value] : v.items()) {
      std::string at = where.empty() ? key : where + "." + key;
      if (auto ps = props.find(key); ps != props.end()) {
        if (auto err = check(root, *ps, value, at)) return err;
        continue;
      }
      if (additional == schema.end()) continue;
      if (additional->is_boolean() && !additional->get<bool>()) {
        std::string known;
        for (const auto& [name, s] : props.items()) known += (known.empty() ? "" : ", ") + name;
        return "unknown argument " + at +
               (known.empty() ? "; this takes no arguments" : "; the arguments are " + known);
      }
      if (additional->is_object()) {
        if (auto err = check(root, *additional, value, at)) return err;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

const json& tool_schema(const std::string& name) {
  static const std::map<std::string, json> kSchemas = [] {
    std::map<std::string, json> out;
    for (const auto& [path, text] : embedded_schemas()) {
      // "tools/list_events.input.json" -> "list_events.input"
      std::string key = path.substr(path.rfind('/') + 1);
      key = key.substr(0, key.size() - std::string_view(".json").size());
      out.emplace(std::move(key), json::parse(text, nullptr, /*allow_exceptions=*/false));
    }
    return out;
  }();
  static const json kNone;
  auto it = kSchemas.find(name);
  return it == kSchemas.end() ? kNone : it->second;
}

std::optional<std::string> check_schema(const json& schema, const json& value,
                                        const std::string& where) {
  return check(schema, schema, value, where);
}

}  // namespace hookmcp::mcp
