#!/usr/bin/env bash
# Sends the sample payloads in examples/payloads to a running hookmcp, signed exactly as GitHub,
# Stripe and Slack sign theirs, so that a setup can be tried end to end without those services.
#
# Usage: examples/send-samples.sh [--unsigned] [BASE_URL]      (BASE_URL: http://127.0.0.1:8787)
#
# Signed (the default): the server needs the sources github, stripe and slack, with the secrets
# in GITHUB_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET and SLACK_SIGNING_SECRET. For example:
#
#   export GITHUB_WEBHOOK_SECRET=dev-github-secret
#   export STRIPE_WEBHOOK_SECRET=whsec_dev-stripe-secret
#   export SLACK_SIGNING_SECRET=dev-slack-secret
#   hookmcp serve --config examples/config/all.json &
#   examples/send-samples.sh
#
# --unsigned: plain curl POSTs for a server started with no config at all (the zero-setup trial,
# which accepts unsigned webhooks on any /hooks/{source} from loopback).
#
# Then: hookmcp events list
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
payloads="$here/payloads"
hookmcp="${HOOKMCP:-hookmcp}"
unsigned=0
if [ "${1:-}" = "--unsigned" ]; then
  unsigned=1
  shift
fi
base="${1:-http://127.0.0.1:8787}"
base="${base%/}"

if [ "$unsigned" = 0 ]; then
  if ! "$hookmcp" send --help >/dev/null 2>&1; then
    echo "send-samples: '$hookmcp send' is not available; put hookmcp on PATH (or set HOOKMCP=path)," >&2
    echo "  or use --unsigned against a server with no config" >&2
    exit 2
  fi
  missing=()
  for v in GITHUB_WEBHOOK_SECRET STRIPE_WEBHOOK_SECRET SLACK_SIGNING_SECRET; do
    [ -n "${!v:-}" ] || missing+=("$v")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "send-samples: set ${missing[*]} to the secrets the server's sources use" >&2
    echo "  (see the top of $0), or use --unsigned against a server with no config" >&2
    exit 2
  fi
fi

# send SOURCE PROVIDER TYPE FILE
send() {
  local source="$1" provider="$2" type="$3" file="$payloads/$4"
  echo "-> $source: $4" >&2
  if [ "$unsigned" = 1 ]; then
    curl --silent --show-error --fail-with-body -X POST \
      -H "Content-Type: application/json" -H "X-Event-Type: $type" \
      --data-binary "@$file" "$base/hooks/$source"
    echo
  else
    local secret_var
    case "$provider" in
      github) secret_var=GITHUB_WEBHOOK_SECRET ;;
      stripe) secret_var=STRIPE_WEBHOOK_SECRET ;;
      slack) secret_var=SLACK_SIGNING_SECRET ;;
    esac
    local type_args=()
    [ "$provider" = github ] && type_args=(--type "$type")
    "$hookmcp" send "$provider" --url "$base/hooks/$source" --secret "env:$secret_var" \
      "${type_args[@]}" "$file"
  fi
}

send github github pull_request github-pull_request-opened.json
send github github push github-push.json
send stripe stripe payment_intent.succeeded stripe-payment_intent.succeeded.json
send slack slack app_mention slack-event_callback.json

echo "sent 4 events; see them with: hookmcp events list" >&2
