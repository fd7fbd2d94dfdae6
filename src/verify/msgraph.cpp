// Microsoft Graph change notifications: no signature. Each notification in the POSTed `value`
// array carries the `clientState` the subscription was created with, which the source holds as
// its secret; every item must carry it, so one forged item refuses the whole request. Before any
// notification, Graph proves the URL by POSTing `?validationToken=...`, which must be echoed as
// text/plain within 10 s. Lifecycle notifications (reauthorizationRequired, subscriptionRemoved,
// missed) have the same shape with `lifecycleEvent` instead of `changeType`.
// https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
// https://learn.microsoft.com/graph/change-notifications-lifecycle-events
#include "hookmcp/core/form.hpp"
#include "hookmcp/core/json.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

using nlohmann::json;

// Graph's validation tokens are a few hundred characters; a longer one is not Graph's.
constexpr size_t kMaxValidationToken = 4096;

class MsGraphVerifier final : public Verifier {
 public:
  explicit MsGraphVerifier(const std::vector<std::string>& secrets) : client_states_(secrets) {}

  std::optional<std::string> validation(std::string_view query) const override {
    for (std::string_view pair : split(query, '&')) {
      size_t eq = pair.find('=');
      if (pair.substr(0, eq) != "validationToken" || eq == std::string_view::npos) continue;
      auto token = url_decode(pair.substr(eq + 1));
      if (!token || token->empty() || token->size() > kMaxValidationToken) return std::nullopt;
      return token;
    }
    return std::nullopt;
  }

  Verdict verify(const Headers&, std::string_view body, int64_t) const override {
    auto doc = parse_json(body);
    if (!doc.ok() || !doc.value.is_object()) {
      return Verdict::rejected_in_public("a Graph notification is a JSON object");
    }
    auto value = doc.value.find("value");
    if (value == doc.value.end() || !value->is_array() || value->empty()) {
      return Verdict::rejected_in_public("a Graph notification has a non-empty \"value\" array");
    }
    for (size_t i = 0; i < value->size(); ++i) {
      const json& item = (*value)[i];
      if (!item.is_object()) {
        return Verdict::rejected_in_public("value[" + std::to_string(i) + "] is not an object");
      }
      auto state = item.find("clientState");
      if (state == item.end() || !state->is_string()) {
        return Verdict::rejected("value[" + std::to_string(i) +
                                 "] has no clientState (create the subscription with the "
                                 "source's secret as its clientState)");
      }
      if (!client_states_.match(state->get_ref<const std::string&>())) {
        return Verdict::rejected("value[" + std::to_string(i) + "]'s clientState does not match");
      }
    }
    return Verdict::verified_ok();
  }

  Normalized normalize(const Headers&, std::string_view body) const override {
    Normalized n;
    auto doc = parse_json(body);
    if (!doc.ok() || !doc.value.is_object() || !doc.value.contains("value")) return n;
    for (const json& item : doc.value["value"]) {
      if (!item.is_object()) continue;
      Normalized::Item out;
      std::string lifecycle = string_member(item, "lifecycleEvent");
      out.type = lifecycle.empty() ? string_member(item, "changeType") : lifecycle;
      // Graph gives a notification no id of its own: its subscription, the change and the
      // resource name it, and the resource's etag tells two changes of one resource apart. A
      // lifecycle event names the subscription's expiry instead.
      std::string etag;
      if (auto data = item.find("resourceData"); data != item.end() && data->is_object()) {
        etag = string_member(*data, "@odata.etag");
      }
      out.delivery_id = string_member(item, "subscriptionId") + ":" + out.type + ":" +
                        (lifecycle.empty() ? string_member(item, "resource")
                                           : string_member(item, "subscriptionExpirationDateTime"));
      if (!etag.empty()) out.delivery_id += ":" + etag;
      // The clientState is the source's secret: kept out of what assistants read.
      json stored = item;
      stored["clientState"] = "[redacted]";
      out.body = stored.dump(-1, ' ', false, json::error_handler_t::replace);
      n.items.push_back(std::move(out));
    }
    return n;
  }

 private:
  SecretTokens client_states_;
};

}  // namespace

std::unique_ptr<Verifier> make_msgraph(const config::Source& source) {
  return std::make_unique<MsGraphVerifier>(secret_values(source));
}

}  // namespace hookmcp::verify::detail
