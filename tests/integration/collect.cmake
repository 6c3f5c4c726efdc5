# botscope collect: offline conformance against tshark, and the live collector on loopback.
bs_script_test(collect_conformance collect_conformance.sh)
