# The GoCD side of the service-registry exporter's tests (hx/r-gocd), include()d by the exporter's
# CMakeLists.txt (core). Paths are relative to this file, so it may be included from any directory.
#   ESTATE_REGISTRY_GOCD_LIB  the library holding gocd_parse.cpp and gocd_client.cpp (default
#                             estate_registry_gocd; core sets it to its estate_registry)
#   estate_sim_gocd           tools/simestate/sim_gocd.cpp on the simulated estate's library; core drops this
#                             target once sim_gocd.cpp is part of estate_simestate_lib (then it links that).
if(NOT DEFINED ESTATE_REGISTRY_GOCD_LIB)
  set(ESTATE_REGISTRY_GOCD_LIB estate_registry_gocd)
endif()
set(_gocd_tests_dir ${CMAKE_CURRENT_LIST_DIR})

if(NOT TARGET estate_sim_gocd)
  add_library(estate_sim_gocd STATIC ${PROJECT_SOURCE_DIR}/tools/simestate/sim_gocd.cpp)
  target_link_libraries(estate_sim_gocd PUBLIC estate_simestate_lib PRIVATE OpenSSL::Crypto estate::options)
endif()

function(estate_gocd_test name label)
  estate_skip_unless_built(${label})
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE ${ESTATE_REGISTRY_GOCD_LIB} estate_sim_gocd estate::testing
    estate::options GTest::gtest_main)
  gtest_discover_tests(${name} PROPERTIES LABELS ${label} DISCOVERY_TIMEOUT 30)
endfunction()

estate_gocd_test(gocd_parse_test unit ${_gocd_tests_dir}/gocd_parse_test.cpp)
estate_gocd_test(gocd_client_test unit ${_gocd_tests_dir}/gocd_client_test.cpp)
estate_gocd_test(gocd_sim_test unit ${_gocd_tests_dir}/gocd_sim_test.cpp)

if(ESTATE_BUILD_E2E)
  # gocd_bench: 2,000 simulated pipelines at 50 ms per request (issue #12's GoCD figures); label bench.
  add_executable(gocd_bench ${_gocd_tests_dir}/gocd_bench.cpp)
  target_include_directories(gocd_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/bench)
  target_link_libraries(gocd_bench PRIVATE ${ESTATE_REGISTRY_GOCD_LIB} estate_sim_gocd estate::options)
  add_test(NAME gocd_bench COMMAND gocd_bench)
  set_tests_properties(gocd_bench PROPERTIES LABELS bench TIMEOUT 600 RUN_SERIAL TRUE)
endif()
