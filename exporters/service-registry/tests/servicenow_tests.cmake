# The ServiceNow side's tests (hx/r-snow). Included by exporters/service-registry/tests/CMakeLists.txt (or, until
# the core's build lands, by the temporary exporters/service-registry/CMakeLists.txt). Paths are relative to
# this file, so it works from either. Links the exporter library `estate_registry`.
set(_snow_tests_dir ${CMAKE_CURRENT_LIST_DIR})

function(estate_snow_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE estate_registry estate::testing estate::options GTest::gtest_main)
  gtest_discover_tests(${name} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 30)
endfunction()

estate_snow_test(servicenow_parse_test ${_snow_tests_dir}/servicenow_parse_test.cpp)
estate_snow_test(servicenow_client_test ${_snow_tests_dir}/servicenow_client_test.cpp)

# The simulated ServiceNow (tools/simestate/sim_servicenow.cpp): compiled into the test until the core adds it
# to estate_simestate_lib, then taken from there.
estate_snow_test(servicenow_sim_test ${_snow_tests_dir}/servicenow_sim_test.cpp)
target_link_libraries(servicenow_sim_test PRIVATE estate_simestate_lib)
get_target_property(_snow_sim_sources estate_simestate_lib SOURCES)
list(FILTER _snow_sim_sources INCLUDE REGEX "sim_servicenow\\.cpp$")
if(NOT _snow_sim_sources)
  target_sources(servicenow_sim_test PRIVATE ${PROJECT_SOURCE_DIR}/tools/simestate/sim_servicenow.cpp)
endif()
