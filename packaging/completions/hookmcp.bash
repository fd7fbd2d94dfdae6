# bash completion for hookmcp: commands, subcommands, their options, and the values some
# options take. Installed as share/bash-completion/completions/hookmcp, where bash-completion
# loads it the first time `hookmcp` is completed; or source it from ~/.bashrc.

# COMPREPLY from compgen, one candidate a line, so that a file name with spaces stays whole.
_hookmcp_reply() {
  mapfile -t COMPREPLY < <(compgen "$@")
}

_hookmcp() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}

  # hookmcp takes its command first and, for events, triggers, connections and subscriptions, the
  # subcommand
  # next.
  local command="" subcommand=""
  ((COMP_CWORD > 1)) && command=${COMP_WORDS[1]}
  ((COMP_CWORD > 2)) && subcommand=${COMP_WORDS[2]}

  # The value of the option just typed.
  case $prev in
    --config | --db)
      _hookmcp_reply -f -- "$cur"
      compopt -o filenames 2>/dev/null
      return
      ;;
    --log-level)
      _hookmcp_reply -W "trace debug info warn error critical off" -- "$cur"
      return
      ;;
    --status)
      _hookmcp_reply -W "pending acked all" -- "$cur"
      return
      ;;
    --listen | --url | --secret | --type | --header | --delivery-id | --source | --action | \
    --audience | --service-account | --cert-url | --to | --timeout | \
      --since | --until | --limit | --trigger | --before | --repository | --organization | \
      --events | --token | --client-id | --client-secret | --refresh-token | --calendar | --topic | \
      --resource | --tenant | --api-url | --token-url | --public-url)
      return
      ;;
  esac

  local common="--config --db --listen --log-level --help"
  local reading="--config --db --log-level --help"
  local filters="--source --type --action --since --until --status --limit --json"
  local options=""
  case $command in
    "")
      _hookmcp_reply -W "serve stdio check-config events send forward triggers connections subscriptions migrate client-config --version --help" -- "$cur"
      return
      ;;
    serve | stdio | check-config)
      options="$common --allow-unsigned"
      ;;
    events)
      case $subcommand in
        "")
          _hookmcp_reply -W "list show tail search replay --help" -- "$cur"
          return
          ;;
        list | ls | tail | follow | search) options="$reading $filters" ;;
        show | get) options="$reading --json" ;;
        replay) options="$reading --to --secret --timeout" ;;
      esac
      ;;
    forward)
      options="$reading --to --secret --timeout --source --type --action --since --status"
      ;;
    client-config)
      if ((COMP_CWORD == 2)) && [[ $cur != -* ]]; then
        _hookmcp_reply -W "claude-code claude-desktop vscode cursor" -- "$cur"
        return
      fi
      options="--config --db --listen --http --with-secrets --help"
      ;;
    triggers)
      case $subcommand in
        "")
          _hookmcp_reply -W "list runs retry --help" -- "$cur"
          return
          ;;
        list | ls) options="$reading --json" ;;
        runs) options="$reading --trigger --failed --limit --before --json" ;;
        retry) options="$reading --all --trigger" ;;
      esac
      ;;
    connections)
      case $subcommand in
        "")
          _hookmcp_reply -W "list add remove login --help" -- "$cur"
          return
          ;;
        list | ls) options="$reading --json" ;;
        add) options="$reading --source --repository --organization --events --token --client-id --client-secret --refresh-token --calendar --topic --resource --tenant --api-url --token-url --public-url" ;;
        remove | rm) options="$reading" ;;
        login) options="$reading --device --browser --timeout" ;;
      esac
      ;;
    subscriptions)
      if [[ -z $subcommand ]]; then
        _hookmcp_reply -W "list --help" -- "$cur"
        return
      fi
      options="$common --json"
      ;;
    migrate)
      options="--from --to --log-level --help"
      ;;
    send)
      options="--url --secret --source --config --type --header --delivery-id --fresh-id --verbose -v --key --audience --service-account --cert-url --new-key --help"
      if [[ $cur != -* ]]; then
        # The words before this one that are neither options nor their values are the
        # positionals (PROVIDER, then FILE); with --source, the provider is the source's.
        local given=" ${COMP_WORDS[*]:2:COMP_CWORD-2} "
        local i positionals=0
        for ((i = 2; i < COMP_CWORD; i++)); do
          case ${COMP_WORDS[i]} in
            --*=* | --fresh-id | --verbose | -v | --help) ;;
            -*) ((i++)) ;;
            *) ((positionals++)) ;;
          esac
        done
        if ((positionals == 0)) && [[ $given != *" --source "* ]]; then
          _hookmcp_reply -W "github stripe slack standard shopify gitlab google-calendar gmail msgraph mailgun postmark sendgrid sns hmac none" -- "$cur"
        else
          # The payload file, or - for stdin.
          _hookmcp_reply -f -- "$cur"
          compopt -o filenames 2>/dev/null
        fi
        return
      fi
      ;;
  esac
  if [[ -n $options ]]; then
    _hookmcp_reply -W "$options" -- "$cur"
  fi
}
complete -F _hookmcp hookmcp
