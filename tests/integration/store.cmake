bs_script_test(store_cli store_cli.sh)
bs_script_test(store_crash store_crash.sh)
bs_script_test(store_enospc store_enospc.sh)
bs_script_test(import_c2dev import_c2dev.sh)
