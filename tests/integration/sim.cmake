# Simulator integration tests (docs/SIMULATOR.md).
bs_script_test(sim_determinism sim_determinism.sh)
bs_script_test(sim_decoders sim_decoders.sh)
bs_script_test(sim_truth sim_truth.sh)
bs_script_test(sim_send sim_send.sh)
bs_script_test(sim_nfcapd sim_nfcapd.sh)
bs_script_test(sim_live sim_live.sh)
