bs_script_test(pcapw_tshark pcapw_tshark.sh)
