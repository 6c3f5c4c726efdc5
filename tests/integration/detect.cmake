# C&C detection: evaluation, threat intelligence and exports (docs/DETECTION-eval.md).
bs_script_test(detect_eval detect_eval.sh)
bs_script_test(detect_eval_intel detect_eval_intel.sh)
bs_script_test(detect_cli detect_cli.sh)
