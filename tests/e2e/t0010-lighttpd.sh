#!/bin/bash
# The foundation through lighttpd + mod_fastcgi (lighttpd/singularity.conf), HTTPS.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"

st_init t0010-lighttpd
st_mariadb_start
st_db_setup
st_account demo
st_lighttpd_start
st_check_common
