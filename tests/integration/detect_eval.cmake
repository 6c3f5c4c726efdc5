# C&C detection: evaluation, threat intelligence and exports (docs/DETECTION.md, "Evaluation").
bs_script_test(detect_eval detect_eval.sh)
bs_script_test(detect_eval_intel detect_eval_intel.sh)
bs_script_test(detect_cli detect_cli.sh)
