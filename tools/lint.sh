#!/usr/bin/env bash
# Banned-function check (curl style): these have safer replacements in botscope.
set -euo pipefail
cd "$(dirname "$0")/.."
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atof|strtok|localtime|gmtime|ctime|asctime|strncpy|tmpnam|mktemp)[[:space:]]*\('
if hits=$(git ls-files 'src/*.c' 'src/*.h' | xargs grep -nE "$banned" 2>/dev/null); then
    echo "banned functions used (see docs/STYLE.md):" >&2
    echo "$hits" >&2
    exit 1
fi
echo "lint: no banned functions"
