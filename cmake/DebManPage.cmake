# Writes an exporter's manual page (section 1, gzipped) from its --help, for the Debian packages.
# cmake -DEXE=<binary> -DPKG=<package> -DNAME=<short name> -DVERSION=<version> -DGZIP=<gzip> -DOUT=<x.1.gz>
#       -P cmake/DebManPage.cmake           (run by cmake/Packaging.cmake after the binary is built)
execute_process(COMMAND "${EXE}" --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --help failed (${rc})")
endif()
# troff escapes: backslashes, minus signs, and lines that would start with a request character.
string(REPLACE "\\" "\\e" help "${help}")
string(REPLACE "-" "\\-" help "${help}")
string(REGEX REPLACE "\n([.'])" "\n\\\\&\\1" help "${help}")
string(REGEX REPLACE "\n+$" "" help "${help}")
# The --help text: "usage: ...", a blank line, the one-line description, a blank line, "Flags:" and the flags.
string(REGEX MATCH "^usage:[^\n]*\n\n([^\n]*)\n\n(.*)$" _ "${help}")
set(summary "${CMAKE_MATCH_1}")
set(flags "${CMAKE_MATCH_2}")
if(summary STREQUAL "" OR flags STREQUAL "")
  message(FATAL_ERROR "${EXE} --help: unexpected layout")
endif()
string(REGEX REPLACE "^Flags:\n" "" flags "${flags}")
string(TOUPPER "${PKG}" title)
string(REPLACE "-" "\\-" pkg_e "${PKG}")
string(REPLACE "-" "\\-" name_e "${NAME}")
file(WRITE "${OUT}.tmp" ".TH ${title} 1 \"\" \"estate-exporters ${VERSION}\" \"User Commands\"
.SH NAME
${pkg_e} \\- Prometheus exporter: ${summary}
.SH SYNOPSIS
.B ${pkg_e}
[\\fIflags\\fR]
.SH DESCRIPTION
${summary}.
The exporter collects in the background, on each source's own interval, and answers
a scrape of \\fB/metrics\\fR from its latest snapshot.
It also serves a landing page (\\fB/\\fR), \\fB/\\-/healthy\\fR, \\fB/\\-/ready\\fR,
\\fB/\\-/reload\\fR and \\fB/probe?target=\\fR.
.PP
The Debian package runs it as the systemd service \\fB${pkg_e}\\fR, as the system
user \\fBestate\\-${name_e}\\fR, with the flags in \\fBARGS\\fR of
\\fI/etc/default/${pkg_e}\\fR.
.SH OPTIONS
.nf
${flags}
.fi
.SH SIGNALS
.TP
.B SIGHUP
Re\\-read the configuration file; a file with errors is rejected and the previous
configuration keeps running (\\fBsystemctl reload ${pkg_e}\\fR).
.TP
.BR SIGTERM \", \" SIGINT
Stop.
.SH EXIT STATUS
0 on success, 1 on a configuration error, 2 on a usage error.
.SH FILES
.TP
.I /etc/estate/${name_e}.yml
The exporter's configuration (YAML); check it with \\fB\\-\\-config.check\\fR.
.TP
.I /etc/default/${pkg_e}
Extra flags for the service (\\fBARGS=\\fR).
.TP
.I /var/lib/estate\\-${name_e}
The service's state directory.
.SH SEE ALSO
The exporter's documentation, docs/${name_e}.md, and the common flags and web configuration file,
docs/configuration.md, in the source (https://github.com/estate\\-exporters/estate\\-exporters).
")
execute_process(COMMAND "${GZIP}" -9nf "${OUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed")
endif()
file(RENAME "${OUT}.tmp.gz" "${OUT}")
