#!/usr/bin/env bash
# pmacctd exports NetFlow v9 of a generated capture to botscope and nfcapd; all must agree.
. "$(dirname "$0")/peers_lib.sh"
peers_main pmacctd 9
