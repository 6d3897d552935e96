#!/bin/sh
# build.sh: build libFuzzer targets with clang, outside automake's compiler
# settings: each target is its harness plus the src/lib files it needs,
# compiled with -fsanitize=fuzzer,address,undefined.
#
#   CLANG=clang top_srcdir=SRC top_builddir=BUILD sh build.sh TARGET...
#
# Binaries go to $top_builddir/tests/fuzz/bin/TARGET. Works from a VPATH
# build: sources are read from $top_srcdir only.
set -eu

: "${top_srcdir:?top_srcdir must be set}"
: "${top_builddir:?top_builddir must be set}"
CLANG=${CLANG:-}
[ -n "$CLANG" ] || CLANG=clang
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "build.sh: $CLANG not found: install the Debian package clang" >&2
	exit 1
fi

out=$top_builddir/tests/fuzz/bin
inc=$top_builddir/tests/fuzz/include
mkdir -p "$out"

# Some lib sources include "config.h": use the configured one when there is
# one, else a stub with what AC_USE_SYSTEM_EXTENSIONS would have defined.
if [ -f "$top_builddir/config.h" ]; then
	cfginc=$top_builddir
else
	mkdir -p "$inc"
	printf '#ifndef _GNU_SOURCE\n#define _GNU_SOURCE 1\n#endif\n' > "$inc/config.h"
	cfginc=$inc
fi

pkgs="fcgi libcrypto libcjson libmariadb uuid"
# shellcheck disable=SC2086 # one word per package
pcflags=$(pkg-config --cflags $pkgs)
# shellcheck disable=SC2086
plibs=$(pkg-config --libs $pkgs)
lib=$top_srcdir/src/lib

for t in "$@"; do
	case $t in
	fuzz_request)	srcs="http.c route.c auth.c util.c" ;;
	fuzz_auth)	srcs="auth.c util.c" ;;
	fuzz_b64)	srcs="b64.c" ;;
	fuzz_registry)	srcs="registry.c json.c seal.c batch.c job.c retry.c dataset.c db.c log.c util.c store.c joblog.c" ;;
	fuzz_shard_path) srcs="route.c util.c dataset.c db.c log.c store.c joblog.c" ;;
	fuzz_batch)	srcs="batch.c json.c job.c retry.c dataset.c db.c log.c util.c store.c joblog.c" ;;
	fuzz_promote)	srcs="promote.c json.c batch.c job.c retry.c dataset.c db.c log.c util.c store.c joblog.c" ;;
	fuzz_docker_inspect) srcs="../dispatcher/docker-parse.c util.c" ;;
	fuzz_docker_logs) srcs="../dispatcher/docker-parse.c util.c" ;;
	fuzz_range)	srcs="http.c auth.c util.c joblog.c store.c log.c" ;;
	fuzz_docker_events) srcs="../dispatcher/docker-parse.c util.c" ;;
	*)		echo "build.sh: unknown target $t (add its sources here)" >&2; exit 1 ;;
	esac
	files=
	for s in $srcs; do
		files="$files $lib/$s"
	done
	echo "  FUZZ     $t"
	# shellcheck disable=SC2086 # word splitting of the flag lists is wanted
	"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	    -DST_SYSCONFDIR='"/etc"' -DST_LOCALSTATEDIR='"/var"' \
	    -DST_SQLDIR='"/usr/share/singularity/sql"' -DST_VERSION='"fuzz"' \
	    -I"$cfginc" -I"$lib" $pcflags \
	    -o "$out/$t" "$top_srcdir/tests/fuzz/$t.c" $files $plibs
done
