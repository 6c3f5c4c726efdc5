bs_script_test(survey_lab survey_lab.sh)
set_tests_properties(survey_lab PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
