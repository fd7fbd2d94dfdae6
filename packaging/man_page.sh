#!/bin/sh
# Writes hookmcp(1) in roff from the built binary's own --help texts, so that the manual says
# exactly what the program says: the top-level help, then each command's, then each subcommand's
# (those listed in a command's "Commands:" block, or named in its usage line).
# Usage: man_page.sh BINARY VERSION OUTPUT
set -eu
binary=$1
version=$2
output=$3

# The commands of a help text's "Commands:" block: the first word of each line indented by two
# spaces (a description may go on over lines indented further).
commands_in() {
  awk '
    /^Commands:/ { block = 1; next }
    block && /^  [a-z]/ { print $1; next }
    block && /^   / { next }
    { block = 0 }
  '
}

# A help text (stdin) as roff. Paragraphs are filled; "  --option VALUE   what" lines become
# tagged paragraphs, their description going on over the lines indented further below them;
# other indented lines (examples, command lists) keep their layout; a line that ends in ":" is
# a bold heading. The first line, "Usage: ...", is the synopsis, followed by
# the roff line $1 if given.
format_help() {
  awk -v after_usage="${1:-}" '
    function escape(s) {
      gsub(/\\/, "\\e", s)
      gsub(/-/, "\\-", s)
      if (s ~ /^[.'"'"']/) s = "\\&" s
      return s
    }
    function end_literal() {
      if (literal) { print ".fi"; print ".RE"; literal = 0 }
    }
    NR == 1 && /^Usage: / {
      sub(/^Usage: /, "")
      print ".PP"
      print "\\fB" escape($0) "\\fR"
      if (after_usage != "") print after_usage
      print ".PP"
      fresh = 1
      next
    }
    /^$/ {
      end_literal()
      if (!fresh) print ".PP"
      fresh = 1
      next
    }
    /^  (-[a-zA-Z], )?--[a-z]/ {
      end_literal()
      line = substr($0, 3)
      if (match(line, /   */)) {
        option = substr(line, 1, RSTART - 1)
        what = substr(line, RSTART + RLENGTH)
      } else {
        option = line
        what = ""
      }
      print ".TP"
      print "\\fB" escape(option) "\\fR"
      if (what != "") print escape(what)
      fresh = 0
      in_option = 1
      next
    }
    in_option && /^    +[^ ]/ {
      sub(/^ +/, "")
      print escape($0)
      next
    }
    { in_option = 0 }
    /^  / {
      if (!literal) { print ".RS 2"; print ".nf"; literal = 1 }
      print escape(substr($0, 3))
      fresh = 0
      next
    }
    /^[A-Z][^:]*:$/ {
      end_literal()
      print "\\fB" escape($0) "\\fR"
      print ".br"
      fresh = 0
      next
    }
    {
      end_literal()
      print escape($0)
      fresh = 0
    }
    END { end_literal() }
  '
}

section() {
  printf '.SS "%s"\n' "$1"
}

top=$("$binary" --help)
{
  printf '.TH HOOKMCP 1 "" "hookmcp %s" "User Commands"\n' "$version"
  # Left-aligned and unhyphenated, so that options and paths stay whole.
  printf '.nh\n.ad l\n'
  printf '.SH NAME\nhookmcp \\- receive webhooks, store them durably, serve them to AI assistants over MCP\n'
  printf '.SH SYNOPSIS\n'
  printf '%s\n' "$top" | format_help ".SH DESCRIPTION"
  printf '.SH COMMANDS\n'
  for command in $(printf '%s\n' "$top" | commands_in); do
    text=$("$binary" "$command" --help)
    subcommands=$(printf '%s\n' "$text" | commands_in)
    # A command with a single subcommand says so in its usage line: "hookmcp C sub [...]".
    named=$(printf '%s\n' "$text" | sed -n "1s/^Usage: hookmcp $command \\([a-z][a-z-]*\\)\\( .*\\)\\{0,1\\}\$/\\1/p")
    if [ -z "$subcommands" ] && [ -n "$named" ]; then
      section "hookmcp $command $named"
      "$binary" "$command" "$named" --help | format_help
      continue
    fi
    section "hookmcp $command"
    printf '%s\n' "$text" | format_help
    for subcommand in $subcommands; do
      section "hookmcp $command $subcommand"
      "$binary" "$command" "$subcommand" --help | format_help
    done
  done
  printf '.SH EXIT STATUS\n'
  printf '0 on success; 1 on a runtime failure (the database cannot be opened, the address is in use); 2 on a usage or configuration error, with a message that names the flag or field.\n'
} >"$output.tmp"
mv "$output.tmp" "$output"
