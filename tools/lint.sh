#!/usr/bin/env bash
# The tree's checks beside the compiler's: banned functions, the dependency rule, and
# .clang-format over every C file (`make format` fixes the last).
set -euo pipefail
cd "$(dirname "$0")/.."
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atof|strtok|localtime|gmtime|ctime|asctime|strncpy|tmpnam|mktemp)[[:space:]]*\('
if hits=$(git ls-files 'src/*.c' 'src/*.h' | xargs grep -nE "$banned" 2>/dev/null); then
    echo "banned functions used (see docs/STYLE.md):" >&2
    echo "$hits" >&2
    exit 1
fi
echo "lint: no banned functions"

# The dependency rule (docs/ARCHITECTURE.md): core <- proto <- components <- cli. Each folder
# may include only the folders listed for it here.
declare -A allowed=(
    [core]="core"
    [proto]="core proto"
    [capture]="core proto capture"
    [http]="core http"
    [collect]="core proto capture store http collect"
    [store]="core store"
    [query]="core store query"
    [telescope]="core proto capture store telescope"
    [sim]="core sim"
    [detect]="core store query detect"
    [survey]="core store survey"
    [cli]="core proto capture http collect store query telescope sim detect survey cli"
)
bad=0
for dir in src/*/; do
    d=$(basename "$dir")
    [ -n "${allowed[$d]+x}" ] || { echo "lint: src/$d is not in the dependency table (tools/lint.sh)" >&2; bad=1; continue; }
    while IFS=: read -r file inc; do
        dep=${inc#*\"}; dep=${dep%%/*}
        case " ${allowed[$d]} " in *" $dep "*) ;; *)
            echo "lint: $file includes $dep/, which src/$d may not depend on" >&2; bad=1 ;;
        esac
    done < <(grep -HoE '#include "[a-z_]+/' "$dir"* 2>/dev/null || true)
done
[ $bad -eq 0 ] || exit 1
echo "lint: dependency rule holds"

# Formatting: every tracked C file as clang-format (Debian 12's, 14) leaves it.
if ! command -v clang-format >/dev/null; then
    echo "lint: clang-format is missing (tools/install-deps.sh installs it)" >&2
    exit 1
fi
if ! out=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror 2>&1); then
    echo "$out" | grep -E '^[^ ].*: (error|warning):' | head -20 >&2
    echo "lint: files not formatted as .clang-format says (make format)" >&2
    exit 1
fi
echo "lint: clang-format holds"
