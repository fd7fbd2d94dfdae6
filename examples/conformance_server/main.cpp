// conformance_server: hookmcp's MCP server over Streamable HTTP with the tools, resources and
// prompts the official MCP conformance suite calls by name (test_simple_text,
// test://static-text, test_simple_prompt, ...), added through mcp::ServerOptions::catalog
// beside hookmcp's own. A temporary database backs the webhook side the listener needs.
//
//   conformance_server --listen 127.0.0.1:0
//
// Prints "listening on http://HOST:PORT" on stderr, serves /mcp until SIGINT or SIGTERM.
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "hookmcp/app/node.hpp"
#include "hookmcp/mcp/server.hpp"
#include "hookmcp/transport/http_server.hpp"
#include "multi_round.hpp"

namespace {

using hookmcp::ErrorCode;
using hookmcp::make_error;
using hookmcp::Result;
using hookmcp::mcp::CatalogPrompt;
using hookmcp::mcp::CatalogResource;
using hookmcp::mcp::CatalogTool;
using hookmcp::mcp::RoundTrip;
using hookmcp::mcp::ToolContext;
using nlohmann::json;
using Done = std::function<void(Result<json>)>;

// A 1x1 red PNG and a short silent 8 kHz WAV, base64.
constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg"
    "==";
constexpr const char* kWav =
    "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YRAAAAAAAAAAAAAAAAAAAAAAAAAA";

json text(const std::string& t) { return {{"type", "text"}, {"text", t}}; }
json image() { return {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}; }
json result(json content) { return {{"content", std::move(content)}}; }

// A tool whose answer needs neither time nor the client.
CatalogTool fixed_tool(std::string name, std::string description, json answer) {
  CatalogTool t;
  t.name = std::move(name);
  t.description = std::move(description);
  t.call = [answer = std::move(answer)](const json&, const std::shared_ptr<ToolContext>&,
                                        const Done& done) { done(answer); };
  return t;
}

json object_schema(json properties, json required) {
  return {
      {"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

// Asks the client with elicitation/create and reports what it answered.
void elicit(const std::shared_ptr<ToolContext>& ctx, json params, const Done& done) {
  if (!ctx->client_supports("elicitation")) {
    done(make_error(ErrorCode::kInvalidArgument, "the client does not support elicitation"));
    return;
  }
  ctx->request("elicitation/create", std::move(params), [done](Result<json> answer) {
    if (!answer) {
      done(answer.error());
      return;
    }
    done(result(json::array(
        {text("Elicitation completed: action=" + answer->value("action", std::string("?")) +
              ", content=" + answer->value("content", json::object()).dump())})));
  });
}

std::vector<CatalogTool> tools() {
  std::vector<CatalogTool> out;
  out.push_back(
      fixed_tool("test_simple_text", "Returns a simple text",
                 result(json::array({text("This is a simple text response for testing.")}))));
  out.push_back(
      fixed_tool("test_image_content", "Returns an image", result(json::array({image()}))));
  out.push_back(fixed_tool(
      "test_audio_content", "Returns audio",
      result(json::array({{{"type", "audio"}, {"data", kWav}, {"mimeType", "audio/wav"}}}))));
  json embedded = {{"type", "resource"},
                   {"resource",
                    {{"uri", "test://embedded-resource"},
                     {"mimeType", "text/plain"},
                     {"text", "This is an embedded resource content."}}}};
  out.push_back(fixed_tool("test_embedded_resource", "Returns an embedded resource",
                           result(json::array({embedded}))));
  json mixed_resource = {{"type", "resource"},
                         {"resource",
                          {{"uri", "test://mixed-content-resource"},
                           {"mimeType", "application/json"},
                           {"text", R"({"test":"data","value":123})"}}}};
  out.push_back(fixed_tool(
      "test_multiple_content_types", "Returns text, an image and a resource",
      result(json::array({text("Multiple content types test:"), image(), mixed_resource}))));
  out.push_back(fixed_tool(
      "test_error_handling", "Always fails",
      {{"content", json::array({text("This tool intentionally returns an error for testing")})},
       {"isError", true}}));

  // The suite asks for ~50 ms between the steps; the tool runs on a worker thread, which a
  // short sleep may hold.
  CatalogTool logging;
  logging.name = "test_tool_with_logging";
  logging.description = "Sends three log messages while it runs";
  logging.call = [](const json&, const std::shared_ptr<ToolContext>& ctx, const Done& done) {
    ctx->log("info", "Tool execution started");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ctx->log("info", "Tool processing data");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ctx->log("info", "Tool execution completed");
    done(result(json::array({text("Tool with logging executed successfully")})));
  };
  out.push_back(std::move(logging));

  CatalogTool progress;
  progress.name = "test_tool_with_progress";
  progress.description = "Reports progress 0, 50 and 100 of 100";
  progress.call = [](const json&, const std::shared_ptr<ToolContext>& ctx, const Done& done) {
    ctx->progress(0, 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ctx->progress(50, 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ctx->progress(100, 100);
    done(result(json::array({text("Tool with progress executed successfully")})));
  };
  out.push_back(std::move(progress));

  CatalogTool sampling;
  sampling.name = "test_sampling";
  sampling.description = "Asks the client's model to answer a prompt (sampling/createMessage)";
  sampling.input_schema = object_schema(
      {{"prompt", {{"type", "string"}, {"description", "The prompt to send to the LLM"}}}},
      {"prompt"});
  sampling.call = [](const json& args, const std::shared_ptr<ToolContext>& ctx, const Done& done) {
    if (!ctx->client_supports("sampling")) {
      done(make_error(ErrorCode::kInvalidArgument, "the client does not support sampling"));
      return;
    }
    json params = {
        {"messages",
         json::array({{{"role", "user"}, {"content", text(args["prompt"].get<std::string>())}}})},
        {"maxTokens", 100}};
    ctx->request("sampling/createMessage", std::move(params), [done](Result<json> answer) {
      if (!answer) {
        done(answer.error());
        return;
      }
      std::string reply;
      if (auto c = answer->find("content"); c != answer->end() && c->is_object()) {
        reply = c->value("text", std::string());
      }
      done(result(json::array({text("LLM response: " + reply)})));
    });
  };
  out.push_back(std::move(sampling));

  CatalogTool elicitation;
  elicitation.name = "test_elicitation";
  elicitation.description = "Asks the user for a username and an email (elicitation/create)";
  elicitation.input_schema = object_schema(
      {{"message", {{"type", "string"}, {"description", "The message to show the user"}}}},
      {"message"});
  elicitation.call = [](const json& args, const std::shared_ptr<ToolContext>& ctx,
                        const Done& done) {
    json schema =
        object_schema({{"username", {{"type", "string"}, {"description", "User's response"}}},
                       {"email", {{"type", "string"}, {"description", "User's email address"}}}},
                      {"username", "email"});
    elicit(ctx, {{"message", args["message"]}, {"requestedSchema", std::move(schema)}}, done);
  };
  out.push_back(std::move(elicitation));

  CatalogTool defaults;
  defaults.name = "test_elicitation_sep1034_defaults";
  defaults.description = "Elicitation whose fields all have default values (SEP-1034)";
  defaults.call = [](const json&, const std::shared_ptr<ToolContext>& ctx, const Done& done) {
    json properties = {
        {"name", {{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
        {"age", {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
        {"score", {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
        {"status",
         {{"type", "string"},
          {"description", "User status"},
          {"enum", {"active", "inactive", "pending"}},
          {"default", "active"}}},
        {"verified", {{"type", "boolean"}, {"description", "Verified"}, {"default", true}}}};
    elicit(ctx,
           {{"message", "Please review and update the form fields with defaults"},
            {"requestedSchema", {{"type", "object"}, {"properties", std::move(properties)}}}},
           done);
  };
  out.push_back(std::move(defaults));

  CatalogTool enums;
  enums.name = "test_elicitation_sep1330_enums";
  enums.description = "Elicitation with every kind of enum field (SEP-1330)";
  enums.call = [](const json&, const std::shared_ptr<ToolContext>& ctx, const Done& done) {
    auto titled = [](const char* prefix, std::initializer_list<const char*> titles) {
      json options = json::array();
      int i = 1;
      for (const char* t : titles) {
        options.push_back({{"const", std::string(prefix) + std::to_string(i++)}, {"title", t}});
      }
      return options;
    };
    json properties = {
        {"untitledSingle", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}},
        {"titledSingle",
         {{"type", "string"},
          {"oneOf", titled("value", {"First Option", "Second Option", "Third Option"})}}},
        {"legacyEnum",
         {{"type", "string"},
          {"enum", {"opt1", "opt2", "opt3"}},
          {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
        {"untitledMulti",
         {{"type", "array"},
          {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
        {"titledMulti",
         {{"type", "array"},
          {"items",
           {{"anyOf", titled("value", {"First Choice", "Second Choice", "Third Choice"})}}}}}};
    elicit(ctx,
           {{"message", "Please choose from the options"},
            {"requestedSchema", {{"type", "object"}, {"properties", std::move(properties)}}}},
           done);
  };
  out.push_back(std::move(enums));

  CatalogTool schema2020;
  schema2020.name = "json_schema_2020_12_tool";
  schema2020.description = "Tool with JSON Schema 2020-12 features";
  schema2020.input_schema = {
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"type", "object"},
      {"$defs",
       {{"address",
         {{"$anchor", "addressDef"},
          {"type", "object"},
          {"properties", {{"street", {{"type", "string"}}}, {"city", {{"type", "string"}}}}}}}}},
      {"properties",
       {{"name", {{"type", "string"}}},
        {"address", {{"$ref", "#/$defs/address"}}},
        {"contactMethod", {{"type", "string"}, {"enum", {"phone", "email"}}}},
        {"phone", {{"type", "string"}}},
        {"email", {{"type", "string"}}}}},
      // 2020-12's composition and conditionals, listed as written.
      {"allOf",
       json::array(
           {{{"anyOf", json::array({{{"required", {"phone"}}}, {{"required", {"email"}}}})}}})},
      {"if",
       {{"properties", {{"contactMethod", {{"const", "phone"}}}}},
        {"required", {"contactMethod"}}}},
      {"then", {{"required", {"phone"}}}},
      {"else", {{"required", {"email"}}}},
      {"additionalProperties", false}};
  schema2020.call = [](const json& args, const std::shared_ptr<ToolContext>&, const Done& done) {
    done(result(json::array({text("Received: " + args.dump())})));
  };
  out.push_back(std::move(schema2020));

  // MCP 2026-07-28's custom headers (SEP-2243): clients mirror `region` in Mcp-Param-Region.
  CatalogTool header_param;
  header_param.name = "test_custom_header_param";
  header_param.description = "Echoes its region, which a client also sends as Mcp-Param-Region";
  header_param.input_schema = object_schema(
      {{"region", {{"type", "string"}, {"description", "Any text"}, {"x-mcp-header", "Region"}}}},
      {"region"});
  header_param.call = [](const json& args, const std::shared_ptr<ToolContext>&, const Done& done) {
    done(result(json::array({text("Region: " + args.value("region", std::string()))})));
  };
  out.push_back(std::move(header_param));

  out.push_back(fixed_tool("test_reconnection", "Answers on its own stream (SSE polling test)",
                           result(json::array({text("Reconnection test completed")}))));
  return out;
}

std::vector<CatalogResource> resources() {
  auto fixed = [](const std::string& uri, std::string name, const std::string& mime, json content) {
    CatalogResource r;
    r.uri = uri;
    r.name = std::move(name);
    r.description = "A resource of the conformance suite: " + uri;
    r.mime_type = mime;
    r.read = [uri, mime, content = std::move(content)](
                 const std::string&, const std::map<std::string, std::string>&) -> Result<json> {
      json entry = content;
      entry["uri"] = uri;
      entry["mimeType"] = mime;
      return json::array({std::move(entry)});
    };
    return r;
  };
  std::vector<CatalogResource> out;
  out.push_back(fixed("test://static-text", "static-text", "text/plain",
                      {{"text", "This is the content of the static text resource."}}));
  out.push_back(fixed("test://static-binary", "static-binary", "image/png", {{"blob", kPng}}));
  out.push_back(fixed("test://watched-resource", "watched-resource", "text/plain",
                      {{"text", "Watched resource content"}}));
  CatalogResource data;
  data.uri = "test://template/{id}/data";
  data.is_template = true;
  data.name = "template-data";
  data.description = "Data for one id";
  data.mime_type = "application/json";
  data.read = [](const std::string& uri,
                 const std::map<std::string, std::string>& vars) -> Result<json> {
    const std::string& id = vars.at("id");
    json body = {{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
    return json::array({{{"uri", uri}, {"mimeType", "application/json"}, {"text", body.dump()}}});
  };
  out.push_back(std::move(data));
  return out;
}

std::vector<CatalogPrompt> prompts() {
  auto user = [](json content) { return json{{"role", "user"}, {"content", std::move(content)}}; };
  std::vector<CatalogPrompt> out;
  CatalogPrompt simple;
  simple.name = "test_simple_prompt";
  simple.description = "A prompt without arguments";
  simple.get = [user](const std::map<std::string, std::string>&, const RoundTrip&) -> Result<json> {
    return json{{"messages", json::array({user(text("This is a simple prompt for testing."))})}};
  };
  out.push_back(std::move(simple));

  CatalogPrompt with_args;
  with_args.name = "test_prompt_with_arguments";
  with_args.description = "A prompt with two required arguments";
  with_args.arguments = json::array(
      {{{"name", "arg1"}, {"description", "First test argument"}, {"required", true}},
       {{"name", "arg2"}, {"description", "Second test argument"}, {"required", true}}});
  with_args.get = [user](const std::map<std::string, std::string>& args,
                         const RoundTrip&) -> Result<json> {
    return json{
        {"messages", json::array({user(text("Prompt with arguments: arg1='" + args.at("arg1") +
                                            "', arg2='" + args.at("arg2") + "'"))})}};
  };
  out.push_back(std::move(with_args));

  CatalogPrompt embedded;
  embedded.name = "test_prompt_with_embedded_resource";
  embedded.description = "A prompt that embeds a resource";
  embedded.arguments = json::array({{{"name", "resourceUri"},
                                     {"description", "URI of the resource to embed"},
                                     {"required", true}}});
  embedded.get = [user](const std::map<std::string, std::string>& args,
                        const RoundTrip&) -> Result<json> {
    json resource = {{"type", "resource"},
                     {"resource",
                      {{"uri", args.at("resourceUri")},
                       {"mimeType", "text/plain"},
                       {"text", "Embedded resource content for testing."}}}};
    return json{
        {"messages", json::array({user(std::move(resource)),
                                  user(text("Please process the embedded resource above."))})}};
  };
  out.push_back(std::move(embedded));

  CatalogPrompt with_image;
  with_image.name = "test_prompt_with_image";
  with_image.description = "A prompt with an image";
  with_image.get = [user](const std::map<std::string, std::string>&,
                          const RoundTrip&) -> Result<json> {
    return json{
        {"messages", json::array({user(image()), user(text("Please analyze the image above."))})}};
  };
  out.push_back(std::move(with_image));
  return out;
}

int usage() {
  std::cerr << "usage: conformance_server --listen HOST:PORT\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--listen" && i + 1 < argc) {
      listen = argv[++i];
    } else {
      return usage();
    }
  }
  hookmcp::config::Config cfg;
  auto endpoint = hookmcp::config::parse_endpoint(listen);
  if (!endpoint) {
    std::cerr << "conformance_server: " << endpoint.error().message << "\n";
    return 2;
  }
  cfg.listen = *endpoint;
  spdlog::set_level(spdlog::level::warn);

  // Before any thread starts, so that only the sigwait below sees the stop signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string dir_template =
      (std::filesystem::temp_directory_path() / "conformance-server-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    std::perror("conformance_server: mkdtemp");
    return 1;
  }
  const std::filesystem::path dir = dir_template;
  cfg.database = (dir / "events.db").string();

  auto catalog = std::make_shared<hookmcp::mcp::Catalog>();
  catalog->tools = tools();
  for (auto& t : conformance::multi_round_tools()) catalog->tools.push_back(std::move(t));
  catalog->resources = resources();
  catalog->prompts = prompts();
  for (auto& p : conformance::multi_round_prompts()) catalog->prompts.push_back(std::move(p));
  hookmcp::app::NodeOptions options;
  options.config = cfg;
  options.store.path = cfg.database;
  options.store.fsync_each_commit = false;  // a throwaway database
  options.mcp.version = "0.0.0";
  options.mcp.catalog = std::move(catalog);
  options.http.listen = cfg.listen;
  options.on_listening = [](const hookmcp::transport::HttpServer& server) {
    std::fprintf(stderr, "listening on %s\n", server.url().c_str());
  };
  auto node = hookmcp::app::Node::start(std::move(options));
  if (!node) {
    std::cerr << "conformance_server: " << node.error().message << "\n";
    std::filesystem::remove_all(dir);
    return 1;
  }

  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*node)->stop(std::chrono::milliseconds(1000));
  std::filesystem::remove_all(dir);
  return 0;
}
