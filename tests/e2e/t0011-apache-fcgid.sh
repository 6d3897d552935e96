#!/bin/bash
# The foundation through Apache + mod_fcgid (apache/singularity-fcgid.conf), HTTPS.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"

st_init t0011-apache-fcgid
st_mariadb_start
st_db_setup
st_account demo
st_web_user
st_chown_runtime "$WEB_USER"
st_apache_start fcgid
st_check_common
