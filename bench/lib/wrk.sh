# Shared by bench/intake.sh and bench/postgres.sh (sourced): the load wrk sends through
# bench/intake.lua, and the helpers that read wrk's RESULT lines.

# pad_body BYTES: a JSON body of BYTES bytes, shaped like a GitHub push event.
pad_body() {
  local prefix='{"ref":"refs/heads/main","action":"synchronize","repository":{"pad":"'
  local suffix='"}}'
  local pad
  pad=$(head -c $(($1 - ${#prefix} - ${#suffix})) /dev/zero | tr '\0' 'x')
  printf '%s' "$prefix$pad$suffix"
}

# github_signature SECRET BODY: the X-Hub-Signature-256 value GitHub would send.
github_signature() {
  printf 'sha256=%s' "$(printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | awk '{print $NF}')"
}

# github_config SECRET: a config with one github source of that secret and no retention.
github_config() {
  cat <<JSON
{"sources": {"github": {"provider": "github", "secrets": ["$1"]}},
 "retention": {"max_age_days": 0, "max_events": 0}}
JSON
}

# The median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# field NAME: the value of NAME=... in each line on stdin.
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
# col NAME, range NAME: the median, and "min-max", of NAME over the lines of $runs_file (one per
# run, which the script sets).
col() { field "$1" < "$runs_file" | median; }
range() { field "$1" < "$runs_file" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }
