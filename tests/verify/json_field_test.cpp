// json_string_at against nlohmann's DOM: on valid JSON both must read the same field, and on text
// that is not JSON the scanner must return nothing rather than a guess.
#include "verify/json_field.hpp"

#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

namespace hookmcp::verify::detail {
namespace {

// What the DOM says is at `pointer`: a string, or an integer as its digits.
std::string dom_string_at(const std::string& text, const std::string& pointer) {
  auto doc = nlohmann::json::parse(text);
  try {
    const auto& v = doc.at(nlohmann::json::json_pointer(pointer));
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return v.dump();
  } catch (const nlohmann::json::exception&) {
    // No such member or element: the DOM throws where the scanner finds nothing.
  }
  return {};
}

TEST(JsonField, ReadsWhatTheDomReads) {
  const std::vector<std::string> docs = {
      R"({"action":"opened","number":42,"pull_request":{"title":"Fix \"quotes\"","user":{"login":"octo"}}})",
      R"({"type":"invoice.paid","id":"evt_1","data":{"object":{"type":"nested","amount":-7}}})",
      R"( { "a" : { "b" : [ 1 , {"c":"\u00e9\ud83d\ude00\n"} , "x" ] } , "d":null,"e":true,"f":1.5 } )",
      R"({"k":"first","k":"last"})",
      R"({"esc\"aped":"yes","sla/sh":"s","til~de":"t","":"empty key"})",
      R"([{"type":"in array"},"two",3])",
      R"({"deep":[[[[{"x":"y"}]]]],"after":"z","str":"with } and ] inside"})",
      R"({"event":{"type":"message","subtype":"bot_message"},"event_id":"Ev1","type":"event_callback"})",
      R"({"n":0,"big":9007199254740993,"neg":-12,"exp":1e3,"fl":2.0})",
      R"({"x":"ends in a backslash\\","action":"after \\\" both","y":"\\\\"})",
  };
  const std::vector<std::string> pointers = {"/action",
                                             "/number",
                                             "/pull_request/title",
                                             "/pull_request/user/login",
                                             "/type",
                                             "/id",
                                             "/data/object/type",
                                             "/data/object/amount",
                                             "/a/b/0",
                                             "/a/b/1/c",
                                             "/a/b/2",
                                             "/a/b/3",
                                             "/d",
                                             "/e",
                                             "/f",
                                             "/k",
                                             "/esc\"aped",
                                             "/sla~1sh",
                                             "/til~0de",
                                             "/",
                                             "/0/type",
                                             "/1",
                                             "/2",
                                             "/deep/0/0/0/0/x",
                                             "/after",
                                             "/str",
                                             "/event/type",
                                             "/event/subtype",
                                             "/event_id",
                                             "/n",
                                             "/big",
                                             "/neg",
                                             "/exp",
                                             "/fl",
                                             "/missing",
                                             "/action/deeper",
                                             "/a/b/01",
                                             "/a/b/-"};
  for (const auto& doc : docs) {
    for (const auto& pointer : pointers) {
      EXPECT_EQ(json_string_at(doc, pointer), dom_string_at(doc, pointer))
          << "doc " << doc << " pointer " << pointer;
    }
  }
}

TEST(JsonField, LastOfARepeatedKeyCounts) {
  EXPECT_EQ(json_string_at(R"({"type":"a","x":{"type":"inner"},"type":"b"})", "/type"), "b");
}

TEST(JsonField, WithMemberReplacesOnlyTheValue) {
  const std::string pretty = "{\n  \"id\": \"evt_1\",\n  \"data\": {\"id\": 7}\n}\n";
  EXPECT_EQ(with_member(pretty, "id", R"("evt_2")"),
            "{\n  \"id\": \"evt_2\",\n  \"data\": {\"id\": 7}\n}\n");
  EXPECT_EQ(with_member(R"({"n":1,"id":"a","id":"b"})", "id", "3"), R"({"n":1,"id":"a","id":3})");
  EXPECT_EQ(with_member(R"({"\u0069d":{"x":[1]},"n":2})", "id", R"("y")"),
            R"({"\u0069d":"y","n":2})");
  EXPECT_EQ(with_member(R"({"n":1})", "id", R"("z")"), R"({"id":"z","n":1})");
  EXPECT_EQ(with_member(" { } ", "id", R"("z")"), R"( {"id":"z" } )");
}

TEST(JsonField, WithMemberNeedsOneObject) {
  for (const char* text : {"", "id=1", "[]", R"("id")", R"({"id":1)", R"({"id":1} {})",
                           R"({"id" 1})", R"({"id":1,})"}) {
    EXPECT_EQ(with_member(text, "id", "2"), std::nullopt) << text;
  }
}

TEST(JsonField, NothingFromTextThatIsNotJson) {
  for (const char* text :
       {"", "action=opened", R"({"action":"opened")", R"({"action" "opened"})",
        R"({"action":"open)", R"({"a":{"b":1]})", R"({"action":"\x"})", R"({"action":"\ud800"})",
        R"({"action":"\udc00x"})", R"({"action":"\u12"})", R"("action")", "[", "{"}) {
    EXPECT_EQ(json_string_at(text, "/action"), "") << text;
  }
}

TEST(JsonField, MalformedPointersFindNothing) {
  EXPECT_EQ(json_string_at(R"({"a":"b"})", "a"), "");
  EXPECT_EQ(json_string_at(R"({"a~":"b"})", "/a~"), "");
  EXPECT_EQ(json_string_at(R"({"a":"b"})", ""), "");
}

TEST(JsonField, DeepNestingNeedsNoStack) {
  std::string deep =
      R"({"skip":)" + std::string(100000, '[') + std::string(100000, ']') + R"(,"type":"reached"})";
  EXPECT_EQ(json_string_at(deep, "/type"), "reached");
}

TEST(JsonField, TellsJsonFromForms) {
  EXPECT_TRUE(looks_like_json(" \n{\"a\":1}"));
  EXPECT_TRUE(looks_like_json("[1]"));
  EXPECT_FALSE(looks_like_json("payload=%7B%7D"));
  EXPECT_FALSE(looks_like_json(""));
}

// Random documents built from the same pieces: the two readers agree on every path.
TEST(JsonField, AgreesWithTheDomOnRandomDocuments) {
  std::mt19937 rng(7);
  std::function<nlohmann::json(int)> make = [&](int depth) -> nlohmann::json {
    int kind = static_cast<int>(rng() % (depth > 3 ? 4 : 6));
    switch (kind) {
      case 0:
        return std::string("s") + std::to_string(rng() % 5) + (rng() % 3 ? "" : "\"\\é");
      case 1:
        return static_cast<int64_t>(rng() % 2000) - 1000;
      case 2:
        return rng() % 2 == 0;
      case 3:
        return nullptr;
      case 4: {
        nlohmann::json o = nlohmann::json::object();
        for (int i = static_cast<int>(rng() % 4); i > 0; --i) {
          o["k" + std::to_string(rng() % 4)] = make(depth + 1);
        }
        return o;
      }
      default: {
        nlohmann::json a = nlohmann::json::array();
        for (int i = static_cast<int>(rng() % 4); i > 0; --i) a.push_back(make(depth + 1));
        return a;
      }
    }
  };
  for (int round = 0; round < 500; ++round) {
    std::string text = make(0).dump(rng() % 2 ? 2 : -1);
    for (int p = 0; p < 10; ++p) {
      std::string pointer;
      for (int d = static_cast<int>(rng() % 4); d >= 0; --d) {
        pointer += rng() % 2 ? "/k" + std::to_string(rng() % 4) : "/" + std::to_string(rng() % 3);
      }
      ASSERT_EQ(json_string_at(text, pointer), dom_string_at(text, pointer))
          << "doc " << text << " pointer " << pointer;
    }
  }
}

}  // namespace
}  // namespace hookmcp::verify::detail
