# botscope collect: offline conformance against tshark, and the live collector on loopback.
bs_script_test(collect_conformance collect_conformance.sh)
bs_script_test(collect_live collect_live.sh)
bs_script_test(collect_restart collect_restart.sh)
bs_script_test(collect_http collect_http.sh)
bs_script_test(collect_tmplflood collect_tmplflood.sh)
bs_script_test(collect_garbage collect_garbage.sh)
bs_script_test(collect_manyexp collect_manyexp.sh)
# The live collector's threads (receive, decode, store writer, HTTP) under ThreadSanitizer in
# CI: `make test` runs this label in the tsan preset (see the Makefile).
set_tests_properties(collect_live collect_restart collect_http collect_tmplflood
                     PROPERTIES LABELS "integration;tsan")
