# servers.sh: real web servers for the end-to-end tests, started under $T on
# loopback with free ports, stopped by PID when the test exits.
#
# Sourced after harness.sh (st_init, st_skip, st_fail, st_track_pid,
# st_free_port, st_port_open). The servers run the SHIPPED templates
# (lighttpd/, apache/, cgi-bin/ *.in from $top_srcdir), filled by
# st_edit_template with paths under $T, and only add their own site settings
# around them (ports, TLS, log and runtime paths).
#
# Functions:
#   st_edit_template IN OUT   fill a .in template like Makefile.am's `edit` rule
#   st_install_responders     copy the built responders to $T/libexec and link
#                             $T/etc/singularity/singularity.conf to $SINGULARITY_CONF
#   st_tls_make               local CA + server certificate in $T/tls
#   st_lighttpd_start         lighttpd + mod_fastcgi; sets HTTPS_PORT, HTTP_PORT
#   st_apache_start MODE      Apache, MODE fcgid | proxy-fcgi | cgi; sets HTTPS_PORT, HTTP_PORT
#   st_server_log             print the server's error log (on failure)

# --- templates and runtime files --------------------------------------------

# st_edit_template IN OUT: fill the template IN (a .in file of $top_srcdir)
# into OUT. The substitution list is Makefile.am's `edit` rule, with the
# install directories moved under $T:
#   bindir $T/bin, sbindir $T/sbin, pkglibexecdir $T/libexec,
#   sysconfdir $T/etc, localstatedir $T/var, pkgdatadir $T/share.
st_edit_template() {
	sed \
	    -e "s|@bindir[@]|$T/bin|g" \
	    -e "s|@sbindir[@]|$T/sbin|g" \
	    -e "s|@pkglibexecdir[@]|$T/libexec|g" \
	    -e "s|@sysconfdir[@]|$T/etc|g" \
	    -e "s|@localstatedir[@]|$T/var|g" \
	    -e "s|@pkgdatadir[@]|$T/share|g" \
	    "$1" > "$2.tmp" && mv "$2.tmp" "$2"
	if grep -n '@[a-z]*dir@' "$2" >&2; then
		st_fail "$2: placeholder left unfilled"
	fi
}

# st_install_responders: copy every built responder into $T/libexec (the
# template's @pkglibexecdir@; a web server running as www-data must read and
# run them), and make $T/etc/singularity/singularity.conf (the template's
# default config path) point at $SINGULARITY_CONF.
st_install_responders() {
	local f n=0
	mkdir -p "$T/libexec" "$T/etc/singularity" "$T/share" "$T/run"
	chmod 755 "$T/libexec" "$T/etc" "$T/etc/singularity" "$T/share" "$T/run"
	# Unix socket paths are limited to 107 bytes: a deep build tree gets
	# its sockets in a short directory of its own.
	ST_SOCK_DIR=$T/sock
	if [ "${#ST_SOCK_DIR}" -gt 80 ]; then
		ST_SOCK_DIR=$(mktemp -d /tmp/st-sock.XXXXXX)
		ST_EXTRA_DIRS="${ST_EXTRA_DIRS:-} $ST_SOCK_DIR"
	fi
	mkdir -p "$ST_SOCK_DIR"
	chmod 755 "$ST_SOCK_DIR"
	for f in "$top_builddir"/src/responders/st-*; do
		case $f in *.c|*.o|*.h) continue;; esac
		[ -f "$f" ] && [ -x "$f" ] || continue
		cp "$f" "$T/libexec/" && chmod 755 "$T/libexec/${f##*/}"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || st_fail "no responder built under $top_builddir/src/responders"
	ln -sf "$SINGULARITY_CONF" "$T/etc/singularity/singularity.conf"
}

# --- TLS --------------------------------------------------------------------

# st_tls_make [DIR]: a local CA (DIR/ca.pem, DIR/ca.key) and a server
# certificate for 127.0.0.1 and localhost signed by it (DIR/server.pem,
# DIR/server.key), EC P-256 keys. DIR defaults to $T/tls; sets TLS_DIR and
# CA_FILE.
st_tls_make() {
	TLS_DIR=${1:-$T/tls}
	CA_FILE=$TLS_DIR/ca.pem
	mkdir -p "$TLS_DIR"
	(
		set -e
		cd "$TLS_DIR"
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout ca.key -out ca.pem -days 3650 -sha256 \
		    -subj "/CN=Singularity local CA" \
		    -addext "basicConstraints=critical,CA:TRUE" \
		    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout server.key -out server.csr \
		    -subj "/CN=localhost" 2>/dev/null
		printf '%s\n' \
		    "basicConstraints=CA:FALSE" \
		    "keyUsage=critical,digitalSignature" \
		    "extendedKeyUsage=serverAuth" \
		    "subjectAltName=IP:127.0.0.1,DNS:localhost" > server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		    -CAcreateserial -out server.pem -days 825 -sha256 \
		    -extfile server.ext 2>/dev/null
		rm -f server.csr server.ext ca.srl
		chmod 600 ca.key server.key
	) || st_fail "st_tls_make: openssl failed"
}

# --- common -----------------------------------------------------------------

ST_SERVER_LOG=

# st_server_log: print the error log of the server under test.
st_server_log() {
	local f
	for f in $ST_SERVER_LOG; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 60 "$f" >&2
	done
}

# Start "$@" in its own session (so the harness can kill its whole process
# group), track it, and set ST_SERVER_PID.
st_server_spawn() {
	local log=$1; shift
	setsid "$@" >>"$log" 2>&1 </dev/null &
	ST_SERVER_PID=$!
	st_track_pid "$ST_SERVER_PID"
}

# st_server_ready PID PORT...: wait until every port accepts and the server
# still runs; on failure print the logs and fail.
st_server_ready() {
	local pid=$1 p; shift
	local i
	for p in "$@"; do
		i=0
		until st_port_open "$p"; do
			if ! kill -0 "$pid" 2>/dev/null || [ "$i" -ge 200 ]; then
				st_server_log
				st_fail "server (pid $pid) did not come up on 127.0.0.1:$p"
			fi
			sleep 0.1; i=$((i + 1))
		done
	done
	# The responders behind it answer too (pools spawned, sockets bound).
	i=0
	while [ "$i" -lt 100 ]; do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		    --cacert "$CA_FILE" "https://127.0.0.1:$HTTPS_PORT/ping")" = 200 ]; then
			return 0
		fi
		sleep 0.1; i=$((i + 1))
	done
	st_server_log
	st_fail "GET /ping through the server never answered 200"
}

# The user the web servers run the responders as: www-data when we are root
# (as on CI), else ourselves.
st_web_user() {
	if [ "$(id -u)" = 0 ]; then
		WEB_USER=www-data
		WEB_GROUP=www-data
	else
		WEB_USER=$(id -un)
		WEB_GROUP=$(id -gn)
	fi
}

# --- lighttpd ---------------------------------------------------------------

# st_lighttpd_start: lighttpd with the shipped template, HTTPS on
# 127.0.0.1:$HTTPS_PORT and plain HTTP on 127.0.0.1:$HTTP_PORT. Skips when
# lighttpd or its mod_openssl is missing.
st_lighttpd_start() {
	local bin=${LIGHTTPD:-}
	[ -n "$bin" ] || bin=$(command -v lighttpd 2>/dev/null || echo /usr/sbin/lighttpd)
	[ -x "$bin" ] || st_skip "lighttpd not installed (apt-get install lighttpd)"
	local moddir=${LIGHTTPD_MODULES_DIR:-/usr/lib/lighttpd}
	[ -f "$moddir/mod_openssl.so" ] || st_skip "lighttpd mod_openssl missing (apt-get install lighttpd-mod-openssl)"
	[ -n "${CA_FILE:-}" ] || st_tls_make
	st_install_responders
	st_edit_template "$top_srcdir/lighttpd/singularity.conf.in" "$T/share/lighttpd-singularity.conf"

	HTTPS_PORT=$(st_free_port)
	HTTP_PORT=$(st_free_port)
	while [ "$HTTP_PORT" = "$HTTPS_PORT" ]; do HTTP_PORT=$(st_free_port); done
	mkdir -p "$T/www"
	cat > "$T/lighttpd.conf" <<EOF
# Site part of the test; the API part is the shipped template, included below.
server.modules          = ( "mod_openssl" )
server.document-root    = "$T/www"
server.bind             = "127.0.0.1"
server.port             = $HTTP_PORT
server.errorlog         = "$T/lighttpd-error.log"
server.upload-dirs      = ( "$T/run" )
# No route of the API takes a body with GET, and lighttpd refuses one (400)
# by default; the tests drive the responders' 413 with GET /account + body.
server.http-parseopts   = ( "method-get-body" => "enable" )
\$SERVER["socket"] == "127.0.0.1:$HTTPS_PORT" {
	ssl.engine  = "enable"
	ssl.pemfile = "$TLS_DIR/server.pem"
	ssl.privkey = "$TLS_DIR/server.key"
}
var.singularity_conf       = "$SINGULARITY_CONF"
var.singularity_socket_dir = "$ST_SOCK_DIR"
include "$T/share/lighttpd-singularity.conf"
EOF
	ST_SERVER_LOG="$T/lighttpd-error.log $T/lighttpd.out ${ST_LOG_FILE:-$T/singularity.log}"
	"$bin" -tt -f "$T/lighttpd.conf" >"$T/lighttpd.out" 2>&1 || {
		st_server_log; st_fail "lighttpd refuses the configuration"; }
	st_server_spawn "$T/lighttpd.out" "$bin" -D -f "$T/lighttpd.conf" \
	    -m "${LIGHTTPD_MODULES_DIR:-/usr/lib/lighttpd}"
	LIGHTTPD_PID=$ST_SERVER_PID
	st_server_ready "$LIGHTTPD_PID" "$HTTPS_PORT" "$HTTP_PORT"
}

# --- Apache -----------------------------------------------------------------

# st_apache_module BIN NAME: append the LoadModule line of mod_NAME to
# APACHE_MODS, or nothing when it is compiled in; skip the test when it is
# neither.
st_apache_module() {
	local bin=$1 name=$2
	local dir=${APACHE_MODULES_DIR:-/usr/lib/apache2/modules}
	if [ -f "$dir/mod_$name.so" ]; then
		APACHE_MODS="$APACHE_MODS
LoadModule ${name}_module $dir/mod_$name.so"
	elif ! "$bin" -l 2>/dev/null | grep -q "mod_$name\.c"; then
		st_skip "Apache module mod_$name missing"
	fi
}

# st_apache_start MODE: Apache 2.4 with the shipped template of MODE:
#   fcgid       mod_fcgid spawns the responders      (apache/singularity-fcgid.conf)
#   proxy-fcgi  mod_proxy_fcgi to spawn-fcgi pools   (apache/singularity-proxy-fcgi.conf)
#   cgi         mod_cgid + .htaccess rewrite rules   (apache/singularity-cgi.conf, cgi-bin/htaccess)
# HTTPS on 127.0.0.1:$HTTPS_PORT, plain HTTP on 127.0.0.1:$HTTP_PORT, both
# through the same template. Workers and responders run as www-data when we
# are root: call st_chown_runtime www-data first.
st_apache_start() {
	local mode=$1 bin=${APACHE2:-} m site tmpl
	[ -n "$bin" ] || bin=$(command -v apache2 2>/dev/null || echo /usr/sbin/apache2)
	[ -x "$bin" ] || st_skip "apache2 not installed (apt-get install apache2)"
	[ -n "${CA_FILE:-}" ] || st_tls_make
	st_web_user
	st_install_responders

	APACHE_MODS=
	for m in mpm_event unixd log_config authz_core mime socache_shmcb ssl \
	    setenvif alias dir; do
		st_apache_module "$bin" "$m"
	done
	case $mode in
	fcgid)
		st_apache_module "$bin" fcgid
		tmpl=apache/singularity-fcgid.conf
		site="FcgidIPCDir $T/run/fcgid
FcgidProcessTableFile $T/run/fcgid-shm"
		;;
	proxy-fcgi)
		st_apache_module "$bin" proxy
		st_apache_module "$bin" proxy_fcgi
		tmpl=apache/singularity-proxy-fcgi.conf
		site="Define SINGULARITY_SOCKET_DIR $ST_SOCK_DIR"
		;;
	cgi)
		st_apache_module "$bin" cgid
		st_apache_module "$bin" rewrite
		st_apache_module "$bin" env
		tmpl=apache/singularity-cgi.conf
		site="ScriptSock $T/run/cgid.sock"
		st_cgi_dir
		;;
	*)
		st_fail "st_apache_start: unknown mode '$mode'"
		;;
	esac
	st_edit_template "$top_srcdir/$tmpl.in" "$T/share/apache-singularity.conf"

	HTTPS_PORT=$(st_free_port)
	HTTP_PORT=$(st_free_port)
	while [ "$HTTP_PORT" = "$HTTPS_PORT" ]; do HTTP_PORT=$(st_free_port); done
	mkdir -p "$T/run/apache"
	cat > "$T/httpd.conf" <<EOF
# Site part of the test; the API part is the shipped template, included in
# both virtual hosts below.
$APACHE_MODS
ServerRoot "$T"
ServerName 127.0.0.1
DefaultRuntimeDir "$T/run/apache"
PidFile "$T/run/apache.pid"
Mutex file:$T/run/apache default
ErrorLog "$T/apache-error.log"
LogLevel ${APACHE_LOG_LEVEL:-warn}
User $WEB_USER
Group $WEB_GROUP
TypesConfig $( [ -f /etc/mime.types ] && echo /etc/mime.types || echo /dev/null )
Timeout 60
StartServers 1
ServerLimit 2
ThreadLimit 16
ThreadsPerChild 16
MaxRequestWorkers 32
MinSpareThreads 4
MaxSpareThreads 32
Listen 127.0.0.1:$HTTPS_PORT
Listen 127.0.0.1:$HTTP_PORT
SSLSessionCache "shmcb:$T/run/ssl_scache(512000)"
$site

<VirtualHost 127.0.0.1:$HTTPS_PORT>
	SSLEngine on
	SSLCertificateFile "$TLS_DIR/server.pem"
	SSLCertificateKeyFile "$TLS_DIR/server.key"
	Include "$T/share/apache-singularity.conf"
</VirtualHost>
<VirtualHost 127.0.0.1:$HTTP_PORT>
	Include "$T/share/apache-singularity.conf"
</VirtualHost>
EOF
	ST_SERVER_LOG="$T/apache-error.log $T/apache.out ${ST_LOG_FILE:-$T/singularity.log}"
	if [ "$mode" = proxy-fcgi ]; then
		st_spawn_fcgi_pools
		ST_SERVER_LOG="$ST_SERVER_LOG $T/spawn-fcgi.out"
	fi
	"$bin" -d "$T" -f "$T/httpd.conf" -t >"$T/apache.out" 2>&1 || {
		st_server_log; st_fail "apache2 refuses the configuration"; }
	st_server_spawn "$T/apache.out" "$bin" -d "$T" -f "$T/httpd.conf" -DFOREGROUND
	APACHE_PID=$ST_SERVER_PID
	st_server_ready "$APACHE_PID" "$HTTPS_PORT" "$HTTP_PORT"
}

# The CGI directory of the cgi mode: the template's default
# @pkglibexecdir@/cgi-bin, holding the responders as st-*.cgi and the shipped
# .htaccess.
st_cgi_dir() {
	local f d=$T/libexec/cgi-bin
	mkdir -p "$d"
	chmod 755 "$d"
	for f in "$T"/libexec/st-*; do
		[ -f "$f" ] || continue
		cp "$f" "$d/${f##*/}.cgi"
		chmod 755 "$d/${f##*/}.cgi"
	done
	st_edit_template "$top_srcdir/cgi-bin/htaccess.in" "$d/.htaccess"
	chmod 644 "$d/.htaccess"
}

# proxy-fcgi mode: one spawn-fcgi pool of two processes per responder on
# $ST_SOCK_DIR/<name>.sock, owned by the web user so that Apache can connect; the
# responders get SINGULARITY_CONF from their environment.
st_spawn_fcgi_pools() {
	local bin=${SPAWN_FCGI:-} f name pid ids=
	[ -n "$bin" ] || bin=$(command -v spawn-fcgi 2>/dev/null || echo /usr/bin/spawn-fcgi)
	[ -x "$bin" ] || st_skip "spawn-fcgi not installed (apt-get install spawn-fcgi)"
	[ "$(id -u)" = 0 ] && ids="-u $WEB_USER -g $WEB_GROUP"
	for f in "$T"/libexec/st-*; do
		[ -f "$f" ] || continue
		name=${f##*/}
		# shellcheck disable=SC2086
		SINGULARITY_CONF=$SINGULARITY_CONF "$bin" -s "$ST_SOCK_DIR/$name.sock" \
		    -M 0660 -U "$WEB_USER" -G "$WEB_GROUP" $ids -F 2 \
		    -P "$T/run/$name.pid" -- "$f" >>"$T/spawn-fcgi.out" 2>&1 || {
			cat "$T/spawn-fcgi.out" >&2
			st_fail "spawn-fcgi $name failed"; }
		for pid in $(cat "$T/run/$name.pid"); do
			st_track_pid "$pid"
		done
	done
}
