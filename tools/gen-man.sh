#!/usr/bin/env bash
# Writes the botscope(1) man page from the binary's own --help texts, so the man page and
# --help can never disagree. Usage: tools/gen-man.sh BOTSCOPE OUT.1
set -euo pipefail
bin=$1; out=$2
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"; }
version=$("$bin" --version | awk '{print $NF}')
{
    echo ".TH BOTSCOPE 1 \"\" \"botscope $version\" \"User Commands\""
    echo ".SH NAME"
    echo "botscope \\- find IoT botnets from the network side: flows, darknet, simulation"
    echo ".SH SYNOPSIS"
    echo ".B botscope"
    echo "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]"
    echo ".SH DESCRIPTION"
    echo ".nf"
    "$bin" --help | esc
    echo ".fi"
    for cmd in $("$bin" --help | awk '/^Commands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}'); do
        echo ".SH \"COMMAND: $cmd\""
        echo ".nf"
        "$bin" "$cmd" --help | esc
        echo ".fi"
    done
    echo ".SH FILES"
    echo "One configuration file for every command (\\fB--config\\fR); \\fBbotscope config --defaults\\fR"
    echo "prints every key with its default and meaning."
    echo ".SH SEE ALSO"
    echo ".BR nfdump (1),"
    echo ".BR nfcapd (1),"
    echo ".BR tshark (1)"
} >"$out"
