#!/usr/bin/env bash
# Sends the sample payloads in examples/payloads to a running hookmcp, signed exactly as GitHub,
# Stripe and Slack sign theirs, so that a setup can be tried end to end without those services.
#
# Usage: examples/send-samples.sh [--unsigned] [--fresh-id] [BASE_URL]
#        (BASE_URL: http://127.0.0.1:8787)
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
# Each sample is reported as stored (with its event id) or as a duplicate of an event stored
# before: the Stripe and Slack samples carry their delivery id in the payload, and an unsigned
# one is known by its bytes, so running the script twice stores them once. --fresh-id (signed
# only) gives each a new delivery id, so that every run stores four new events. The exit code is
# 1 when a sample was refused or not delivered.
#
# Then: hookmcp events list
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
payloads="$here/payloads"
hookmcp="${HOOKMCP:-hookmcp}"
unsigned=0
fresh=()
while [ $# -gt 0 ]; do
  case "$1" in
    --unsigned) unsigned=1 ;;
    --fresh-id) fresh=(--fresh-id) ;;
    *) break ;;
  esac
  shift
done
if [ "$unsigned" = 1 ] && [ ${#fresh[@]} -gt 0 ]; then
  echo "send-samples: --fresh-id signs with hookmcp send; it does not go with --unsigned" >&2
  exit 2
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

errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT
failed=0

# report SOURCE FILE ANSWER: what the server did with it, from its {"duplicate":bool,"id":N}.
report() {
  local source="$1" file="$2" answer="$3" id
  id="$(printf '%s' "$answer" | sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p')"
  if [ -n "$id" ] && printf '%s' "$answer" | grep -q '"duplicate":true'; then
    printf '%-7s duplicate of id %s (%s)\n' "$source" "$id" "$file"
  elif [ -n "$id" ]; then
    printf '%-7s stored id %s (%s)\n' "$source" "$id" "$file"
  elif printf '%s' "$answer" | grep -q '"filtered":true'; then
    printf '%-7s filtered by the source'"'"'s ignore_types (%s)\n' "$source" "$file"
  else
    printf '%-7s answered %s (%s)\n' "$source" "$answer" "$file"
  fi
}

# send SOURCE PROVIDER TYPE FILE
send() {
  local source="$1" provider="$2" type="$3" file="$payloads/$4" out
  if [ "$unsigned" = 1 ]; then
    if ! out="$(curl --silent --show-error --fail-with-body -X POST \
      -H "Content-Type: application/json" -H "X-Event-Type: $type" \
      --data-binary "@$file" "$base/hooks/$source" 2>"$errors")"; then
      printf '%-7s not stored: %s%s (%s)\n' "$source" "$out" "$(cat "$errors")" "$4"
      failed=1
      return
    fi
    report "$source" "$4" "$out"
    return
  fi
  local secret_var
  case "$provider" in
    github) secret_var=GITHUB_WEBHOOK_SECRET ;;
    stripe) secret_var=STRIPE_WEBHOOK_SECRET ;;
    slack) secret_var=SLACK_SIGNING_SECRET ;;
  esac
  local type_args=()
  [ "$provider" = github ] && type_args=(--type "$type")
  # stdout: the status line, then the answer's body.
  if ! out="$("$hookmcp" send "$provider" --url "$base/hooks/$source" \
    --secret "env:$secret_var" "${type_args[@]}" "${fresh[@]}" "$file" 2>"$errors")"; then
    printf '%-7s not stored: %s (%s)\n' "$source" \
      "$(printf '%s' "$out" | tr '\n' ' ')$(cat "$errors")" "$4"
    failed=1
    return
  fi
  report "$source" "$4" "$(printf '%s\n' "$out" | sed -n '2,$p')"
}

send github github pull_request github-pull_request-opened.json
send github github push github-push.json
send stripe stripe payment_intent.succeeded stripe-payment_intent.succeeded.json
send slack slack app_mention slack-event_callback.json

echo "see them with: hookmcp events list" >&2
exit "$failed"
