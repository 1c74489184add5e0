#!/bin/bash
# The bash completion of presencectl: it parses, and completes commands and
# each command's options. bash-completion's own helper is stood in for, so
# this runs where the bash-completion package is not installed.
set -u

script="$1"
fail=0

bash -n "$script" || { echo "not OK: syntax"; exit 1; }

_init_completion()
{
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
}
compopt() { :; }

# shellcheck source=/dev/null
source "$script"

complete_line()
{
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _presencectl
    echo "${COMPREPLY[*]}"
}

expect()
{
    local want="$1"; shift
    local got
    got="$(complete_line "$@")"
    if [[ " $got " == *" $want "* ]]; then
        echo "ok: '$*' offers $want"
    else
        echo "not OK: '$*' offers '$got', not $want"
        fail=1
    fi
}

expect_not()
{
    local unwanted="$1"; shift
    local got
    got="$(complete_line "$@")"
    if [[ " $got " == *" $unwanted "* ]]; then
        echo "not OK: '$*' offers $unwanted"
        fail=1
    else
        echo "ok: '$*' does not offer $unwanted"
    fi
}

expect busy presencectl bu
expect appear-offline presencectl app
expect watch presencectl ""
expect login presencectl lo
expect logout presencectl lo
expect --for presencectl busy --f
expect --until presencectl appear-offline --u
expect 1h30m presencectl busy --for ""
expect 17:00 presencectl busy --for until ""
expect 09:00 presencectl busy --for until tomorrow ""
expect --json presencectl status --j
expect --json presencectl watch --
expect --clear presencectl text --c
expect --server presencectl login --s
expect --start presencectl auto --
expect busy presencectl help b
expect --start presencectl --s
expect status presencectl --start st
expect_not --json presencectl busy --
expect_not --for presencectl status --

exit $fail
