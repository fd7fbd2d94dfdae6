// The files under examples/ are copied by people as they are: each must work as it stands.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace hookmcp::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kExamples = fs::path(HOOKMCP_SOURCE_DIR) / "examples";

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> files_in(const fs::path& dir, const std::string& extension) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == extension) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Every `env:NAME` the file refers to, set to a secret that each provider accepts (Standard
// Webhooks wants base64 after whsec_; Postmark's credentials are user:password).
std::map<std::string, std::string> env_for(const std::string& text) {
  static const std::regex kRef(R"re("env:([A-Za-z_][A-Za-z0-9_]*)")re");
  std::map<std::string, std::string> env;
  for (std::sregex_iterator it(text.begin(), text.end(), kRef), end; it != end; ++it) {
    const std::string name = (*it)[1].str();
    env[name] = name.find("POSTMARK") != std::string::npos
                    ? "postmark:whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                    : "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  }
  return env;
}

TEST(Examples, EveryConfigPassesCheckConfig) {
  auto configs = files_in(kExamples / "config", ".json");
  std::set<std::string> names;
  for (const auto& p : configs) names.insert(p.filename().string());
  for (const char* required : {"github.json", "stripe.json", "slack.json", "hmac.json"}) {
    EXPECT_TRUE(names.count(required)) << "examples/config/" << required << " is missing";
  }
  for (const auto& path : configs) {
    std::string text = read_file(path);
    auto env = env_for(text);
    auto r = run(hookmcp_binary(), {"check-config", "--config", path.string()}, env);
    EXPECT_EQ(r.exit_code, 0) << path << ": " << r.err;
    auto effective = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(effective.is_object()) << path << ": " << r.out;
    // Secrets come out redacted, never as their values.
    EXPECT_EQ(r.out.find("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::string::npos) << path;
    // And without the variables set, the message names the one that is missing.
    if (!env.empty()) {
      std::map<std::string, std::string> unset;
      for (const auto& [name, value] : env) unset[name] = "";
      auto missing = run(hookmcp_binary(), {"check-config", "--config", path.string()}, unset);
      EXPECT_EQ(missing.exit_code, 2) << path;
      EXPECT_NE(missing.err.find("is not set"), std::string::npos) << missing.err;
    }
  }
}

TEST(Examples, ClientRegistrationsStartHookmcpStdio) {
  struct Client {
    const char* file;
    const char* key;  // VS Code names its map "servers"; the others "mcpServers"
  };
  for (const Client& c :
       {Client{"claude_desktop_config.json", "mcpServers"}, Client{"cursor-mcp.json", "mcpServers"},
        Client{"vscode-mcp.json", "servers"}, Client{"mcp.json", "mcpServers"}}) {
    auto doc = json::parse(read_file(kExamples / "clients" / c.file), nullptr, false);
    ASSERT_TRUE(doc.is_object()) << c.file << " is not JSON";
    ASSERT_TRUE(doc.contains(c.key)) << c.file;
    const json& server = doc[c.key]["hookmcp"];
    EXPECT_NE(server.value("command", "").find("hookmcp"), std::string::npos) << c.file;
    EXPECT_EQ(server["args"], json::array({"stdio"})) << c.file;
  }
  std::string guide = read_file(kExamples / "clients" / "claude-code.md");
  EXPECT_NE(guide.find("claude mcp add hookmcp -- hookmcp stdio"), std::string::npos);
  EXPECT_NE(guide.find("claude mcp add --transport http hookmcp http://127.0.0.1:8787/mcp"),
            std::string::npos);
  EXPECT_NE(guide.find("--dangerously-load-development-channels server:hookmcp"),
            std::string::npos);
}

TEST(Examples, PayloadsAreJsonWithTheirProviderFields) {
  auto payloads = files_in(kExamples / "payloads", ".json");
  EXPECT_GE(payloads.size(), 4u);
  for (const auto& path : payloads) {
    auto doc = json::parse(read_file(path), nullptr, false);
    // An object, or a list where the provider sends one (SendGrid's events).
    EXPECT_TRUE(doc.is_object() || (doc.is_array() && !doc.empty()))
        << path << " is not a JSON object or list";
  }
  auto pr = json::parse(read_file(kExamples / "payloads" / "github-pull_request-opened.json"));
  EXPECT_EQ(pr["action"], "opened");
  auto stripe =
      json::parse(read_file(kExamples / "payloads" / "stripe-payment_intent.succeeded.json"));
  EXPECT_EQ(stripe["type"], "payment_intent.succeeded");
  auto slack = json::parse(read_file(kExamples / "payloads" / "slack-event_callback.json"));
  EXPECT_EQ(slack["type"], "event_callback");
  EXPECT_TRUE(slack.contains("event_id"));
}

TEST(Examples, SystemdUnitRunsServeHardened) {
  std::string unit = read_file(kExamples / "hookmcp.service");
  for (const char* line :
       {"ExecStart=/usr/local/bin/hookmcp serve", "Restart=on-failure", "StateDirectory=hookmcp",
        "EnvironmentFile=", "NoNewPrivileges=yes", "ProtectSystem=strict"}) {
    EXPECT_NE(unit.find(line), std::string::npos) << "hookmcp.service lacks " << line;
  }
}

// Starts `hookmcp serve` with `args` on port 0, runs send-samples.sh at it, and returns what
// `hookmcp events list --json` then shows.
json send_samples(const std::vector<std::string>& serve_args, std::vector<std::string> script_args,
                  const std::map<std::string, std::string>& env) {
  TempDir dir;
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--db", dir.file("e.db")};
  args.insert(args.end(), serve_args.begin(), serve_args.end());
  Process server(hookmcp_binary(), args, env);
  auto port = server.wait_for_port();
  EXPECT_TRUE(port) << server.stderr_text();
  if (!port) return nullptr;
  script_args.insert(script_args.begin(), (kExamples / "send-samples.sh").string());
  script_args.push_back("http://127.0.0.1:" + std::to_string(*port));
  auto script_env = env;
  script_env["HOOKMCP"] = hookmcp_binary();
  auto sent = run("/bin/bash", script_args, script_env);
  EXPECT_EQ(sent.exit_code, 0) << sent.out << sent.err << server.stderr_text();
  auto listed = run(hookmcp_binary(), {"events", "list", "--json", "--db", dir.file("e.db")});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  return json::parse(listed.out, nullptr, false);
}

TEST(Examples, SendSamplesSignsEachPayloadAsItsProviderWould) {
  std::map<std::string, std::string> env = {{"GITHUB_WEBHOOK_SECRET", "dev-github-secret"},
                                            {"STRIPE_WEBHOOK_SECRET", "whsec_dev-stripe-secret"},
                                            {"SLACK_SIGNING_SECRET", "dev-slack-secret"}};
  json doc = send_samples({"--config", (kExamples / "config" / "all.json").string()}, {}, env);
  ASSERT_TRUE(doc.is_object());
  ASSERT_EQ(doc["events"].size(), 4u) << doc.dump();
  std::set<std::string> types;
  for (const auto& e : doc["events"]) {
    EXPECT_EQ(e["verified"], true) << e.dump();
    types.insert(e["source"].get<std::string>() + ":" + e["type"].get<std::string>());
  }
  EXPECT_EQ(types, (std::set<std::string>{"github:pull_request", "github:push",
                                          "stripe:payment_intent.succeeded", "slack:app_mention"}));
}

TEST(Examples, SendSamplesUnsignedForTheZeroSetupTrial) {
  json doc = send_samples({}, {"--unsigned"}, {});
  ASSERT_TRUE(doc.is_object());
  ASSERT_EQ(doc["events"].size(), 4u) << doc.dump();
  for (const auto& e : doc["events"]) EXPECT_EQ(e["verified"], false);
}

TEST(Examples, SendSamplesScriptIsExecutable) {
  struct stat st {};
  ASSERT_EQ(stat((kExamples / "send-samples.sh").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & S_IXUSR, 0u);
}

}  // namespace
}  // namespace hookmcp::testing
