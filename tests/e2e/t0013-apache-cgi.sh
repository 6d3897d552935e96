#!/bin/bash
# The foundation through Apache as plain CGI with the .htaccess rewrite rules (apache/singularity-cgi.conf, cgi-bin/htaccess), HTTPS.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"

st_init t0013-apache-cgi
st_mariadb_start
st_db_setup
st_account demo
st_web_user
st_chown_runtime "$WEB_USER"
st_apache_start cgi
st_check_common
