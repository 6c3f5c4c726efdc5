# Real exporters (softflowd, pmacctd) feeding botscope and nfcapd the same datagrams; each
# script skips (77) when a peer tool is missing. See peers_lib.sh.
foreach(t softflowd_v5 softflowd_v9 softflowd_ipfix pmacctd_v9 pmacctd_ipfix)
  bs_script_test(peers_${t} peers_${t}.sh)
  set_tests_properties(peers_${t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 LABELS "integration;peers")
endforeach()
