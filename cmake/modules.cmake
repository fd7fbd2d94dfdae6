# hookmcp_module(NAME SOURCES ... DEPS ... PRIVATE_DEPS ...)
# One static library per module, public headers in include/hookmcp/NAME/. A module links only
# the modules and third-party libraries it names, so code that reaches past them fails to link.
function(hookmcp_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(hookmcp_${name} STATIC ${ARG_SOURCES})
  add_library(hookmcp::${name} ALIAS hookmcp_${name})
  target_include_directories(hookmcp_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(hookmcp_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()
