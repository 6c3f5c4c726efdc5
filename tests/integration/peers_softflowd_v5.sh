#!/usr/bin/env bash
# softflowd exports NetFlow v5 of a generated capture to botscope and nfcapd; all must agree.
. "$(dirname "$0")/peers_lib.sh"
peers_main softflowd 5
