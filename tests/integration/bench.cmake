# The benchmarks' own tools (bench/): what they report must be true for the figures to be.
bs_script_test(bench_ingest_tools bench_ingest_tools.sh)
