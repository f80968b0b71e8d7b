# One library target per top-level folder, with the link rules of DESIGN
# section 1 enforced at configure time: a layer may link only the layers and
# third-party packages listed for it. The core links nothing but the C++
# standard library.

set(SLUICE_ALLOWED_sluice_core "")
set(SLUICE_ALLOWED_sluice_sim "sluice_core;sluice_wire")
set(SLUICE_ALLOWED_sluice_storage "sluice_core;RocksDB::rocksdb")
set(SLUICE_ALLOWED_sluice_wire "sluice_core;CapnProto::capnp;CapnProto::kj")
set(SLUICE_ALLOWED_sluice_net "sluice_core;sluice_wire;sluice_storage;sluice_metrics;sluice_http;Boost::boost;Boost::program_options;yaml-cpp;Threads::Threads")
set(SLUICE_ALLOWED_sluice_metrics "sluice_core")
set(SLUICE_ALLOWED_sluice_client "sluice_core;sluice_wire;Boost::boost")
set(SLUICE_ALLOWED_sluice_http "sluice_core;Boost::boost;nlohmann_json::nlohmann_json")
set_property(GLOBAL PROPERTY SLUICE_LAYERS "")

# Warnings for project code only: third-party headers come in through
# imported targets, which CMake marks as SYSTEM includes.
function(sluice_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor)
endfunction()

function(sluice_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(${name} STATIC ${L_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${L_DEPENDS})
  sluice_warnings(${name})
  set_property(GLOBAL APPEND PROPERTY SLUICE_LAYERS ${name})
endfunction()

function(sluice_check_layers)
  get_property(layers GLOBAL PROPERTY SLUICE_LAYERS)
  foreach(layer IN LISTS layers)
    get_target_property(linked ${layer} LINK_LIBRARIES)
    if(NOT linked)
      set(linked "")
    endif()
    foreach(dep IN LISTS linked)
      if(NOT dep IN_LIST SLUICE_ALLOWED_${layer})
        message(FATAL_ERROR "layering: ${layer} may not link ${dep} (allowed: '${SLUICE_ALLOWED_${layer}}'); see DESIGN section 1")
      endif()
    endforeach()
  endforeach()
endfunction()
