# Run by `cmake --install` (see CMakeLists.txt): installs PREFIX/lib/systemd/system/hookmcp.service,
# examples/hookmcp.service with ExecStart naming PREFIX/BINDIR/hookmcp. The unit goes to
# lib/systemd/system under any prefix, not LIBDIR (lib/x86_64-linux-gnu on Debian): systemd looks
# in /usr/lib/systemd/system and /usr/local/lib/systemd/system.
# In: HOOKMCP_UNIT_SOURCE, HOOKMCP_UNIT_WORK (a directory of the build), HOOKMCP_BINDIR.
set(bindir "${HOOKMCP_BINDIR}")
if(NOT IS_ABSOLUTE "${bindir}")
  set(bindir "${CMAKE_INSTALL_PREFIX}/${bindir}")
endif()

file(READ "${HOOKMCP_UNIT_SOURCE}" unit)
string(REGEX REPLACE "\nExecStart=[^ \n]*/hookmcp " "\nExecStart=${bindir}/hookmcp " unit "${unit}")
string(FIND "${unit}" "\nExecStart=${bindir}/hookmcp " found)
if(found EQUAL -1)
  message(FATAL_ERROR "${HOOKMCP_UNIT_SOURCE} has no ExecStart=.../hookmcp line to point at ${bindir}")
endif()

string(MD5 destination "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
file(WRITE "${HOOKMCP_UNIT_WORK}/${destination}/hookmcp.service" "${unit}")
file(INSTALL "${HOOKMCP_UNIT_WORK}/${destination}/hookmcp.service"
  DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system"
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
