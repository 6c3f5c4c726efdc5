# survey_lablib.sh - builds the survey lab in two network namespaces with no route out, for
# the integration tests and the benchmark. Source it after lib.sh; call lab_up, then lab_down
# (the caller's EXIT trap). Needs root, ip, busybox (Debian busybox-static), dropbear,
# dropbearkey, lighttpd (+ mod_openssl), openssl.
#
# Scanner namespace $LAB_S: s0 = 198.18.0.1, route to 198.18.1.0/24 via the device namespace
# and nothing else (no default route). Device namespace $LAB_D: every address of
# 198.18.1.0/24 is local (closed ports answer with a reset at once); the devices:
#   .2  busybox telnetd, root / xc3511 (weak: in the credentials list)
#   .3  busybox telnetd, root / a strong password
#   .4  dropbear, admin / admin (weak), the pre-login banner of a Ubiquiti EdgeRouter (-b)
#   .5  dropbear, admin / a strong password
#   .6  lighttpd: HTTP Basic admin/admin on 80, HTTPS Digest admin/admin on 443 (weak)
#   .7  lighttpd: HTTP Digest with a strong password, an NVR-like page, patched firmware
#       (Server: GoAhead-Webs/3.6.5, the fixed release of CVE-2017-17562)
#   .8  lighttpd: an open page, no authentication, vulnerable firmware (GoAhead-Webs/2.5.0)
#   .9  busybox telnetd, root / xc3511: in the scope but blocklisted
#   .10 infected: Telnet shows the notice Linux.Wifatch leaves when it closes Telnet, then
#       hangs up (signs.c)
#   .13 infected: port 23 held the way Mirai's killer holds it: connections are accepted by
#       the kernel and nothing ever answers (a listening socket that never accepts)
#   .16 busybox telnetd, root / xc3511: just outside the scope 198.18.1.0/28
#   .17 lighttpd Basic admin/admin: just outside the scope
# Credentials file $LAB_W/creds: root:root, admin:admin, root:xc3511.
# LAB_ASSESS: the survey options that load identification and vulnerability data.

LAB_S="bs_svs_$$"
LAB_D="bs_svd_$$"
LAB_W=""
LAB_PIDS=()

lab_need() {
    [ "$(id -u)" -eq 0 ] || skip "needs root for ip netns"
    for t in ip busybox dropbear dropbearkey lighttpd openssl unshare; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
    done
    [ -e /usr/lib/lighttpd/mod_openssl.so ] || skip "lighttpd mod_openssl not installed"
}

lab_s() { ip netns exec "$LAB_S" "$@"; }
lab_d() { ip netns exec "$LAB_D" "$@"; }

# Starts a command in the device namespace, in its own mount namespace where FILES (pairs of
# "source target") are bind-mounted, e.g. a device's own /etc/passwd and /etc/shadow.
lab_spawn() {
    local binds="$1"; shift
    ip netns exec "$LAB_D" unshare -m --propagation private sh -c '
        b="$1"; shift
        set -- "$@"
        for pair in $b; do mount --bind "${pair%%=*}" "${pair#*=}" || exit 1; done
        exec "$@"' sh "$binds" "$@" >>"$LAB_W/devices.log" 2>&1 &
    LAB_PIDS+=($!)
}

# lab_users DIR USER PASSWORD: passwd/shadow files with root and USER (MD5-crypt hash).
lab_users() {
    local dir="$1" user="$2" pass="$3" hash
    mkdir -p "$dir"
    hash=$(openssl passwd -1 "$pass")
    {
        echo "root:x:0:0:root:/root:/bin/sh"
        [ "$user" = root ] || echo "$user:x:0:0:$user:/root:/bin/sh"
    } >"$dir/passwd"
    {
        if [ "$user" = root ]; then echo "root:$hash:19000:0:99999:7:::"
        else echo "root:*:19000:0:99999:7:::"; echo "$user:$hash:19000:0:99999:7:::"; fi
    } >"$dir/shadow"
    chmod 600 "$dir/shadow"
}

lab_telnetd() { # ADDR PASSWORD ISSUE-TEXT
    local d="$LAB_W/tn_$1"
    lab_users "$d" root "$2"
    printf '%s\n' "$3" >"$d/issue"
    lab_spawn "$d/passwd=/etc/passwd $d/shadow=/etc/shadow" \
        busybox telnetd -F -b "$1:23" -l /bin/login -f "$d/issue"
}

lab_dropbear() { # ADDR PASSWORD BANNER
    local d="$LAB_W/db_$1"
    lab_users "$d" admin "$2"
    printf '%s\n' "$3" >"$d/banner"
    dropbearkey -t ed25519 -f "$d/key" >/dev/null 2>&1
    lab_spawn "$d/passwd=/etc/passwd $d/shadow=/etc/shadow" \
        dropbear -F -E -p "$1:22" -r "$d/key" -b "$d/banner"
}

# lab_lighttpd ADDR NAME AUTH80 AUTH443 PASSWORD TITLE SERVER: AUTH is none, basic or digest.
lab_lighttpd() {
    local addr="$1" name="$2" a80="$3" a443="$4" pass="$5" title="$6" server="$7"
    local d="$LAB_W/web_$addr"
    mkdir -p "$d/www"
    printf '<html><head><title>%s</title></head><body>login</body></html>\n' "$title" \
        >"$d/www/index.html"
    printf 'admin:%s\n' "$pass" >"$d/plain"
    printf 'admin:%s:%s\n' "$name" "$(printf 'admin:%s:%s' "$name" "$pass" | md5sum | cut -d' ' -f1)" \
        >"$d/digest"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/O=$name/CN=$addr" \
        -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1
    cat "$d/key.pem" "$d/cert.pem" >"$d/both.pem"
    auth_block() { # SCHEME
        case "$1" in
        none) ;;
        basic) echo 'auth.backend = "plain"'; echo "auth.backend.plain.userfile = \"$d/plain\""
               echo "auth.require = ( \"/\" => ( \"method\" => \"basic\", \"realm\" => \"$name\", \"require\" => \"valid-user\" ) )" ;;
        digest) echo 'auth.backend = "htdigest"'; echo "auth.backend.htdigest.userfile = \"$d/digest\""
               echo "auth.require = ( \"/\" => ( \"method\" => \"digest\", \"realm\" => \"$name\", \"require\" => \"valid-user\" ) )" ;;
        esac
    }
    {
        echo 'server.modules = ( "mod_auth", "mod_authn_file", "mod_openssl" )'
        echo "server.document-root = \"$d/www\""
        echo "server.bind = \"$addr\""
        echo 'server.port = 80'
        echo "server.tag = \"$server\""
        echo "server.errorlog = \"$d/error.log\""
        echo 'index-file.names = ( "index.html" )'
        echo 'mimetype.assign = ( ".html" => "text/html" )'
        echo "server.pid-file = \"$d/pid\""
        auth_block "$a80"
        if [ "$a443" != off ]; then
            echo "\$SERVER[\"socket\"] == \"$addr:443\" {"
            echo '  ssl.engine = "enable"'
            echo "  ssl.pemfile = \"$d/both.pem\""
            echo '  ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.2")'
            auth_block "$a443"
            echo '}'
        fi
    } >"$d/lighttpd.conf"
    lab_spawn "" lighttpd -D -f "$d/lighttpd.conf"
}

# lab_botport ADDR PORT MODE: a port as a bot leaves it. notice: sends Wifatch's notice and
# hangs up; silent: listens and never accepts (the backlog is large so that every test run's
# connection is still taken, where Mirai's backlog of 1 would soon drop SYNs).
lab_botport() {
    lab_spawn "" python3 -c '
import socket, sys
addr, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(128)
while mode == "silent":
    # never accept(): the kernel completes handshakes into the backlog
    __import__("time").sleep(3600)
while True:
    c, _ = s.accept()
    c.sendall(b"\r\nTelnet has been closed to avoid further infection of this device. "
              b"Please disable telnet, change telnet passwords, and/or update the firmware.\r\n")
    c.close()
' "$1" "$2" "$3"
}

lab_wait_port() { # ADDR PORT
    for _ in $(seq 100); do
        lab_d bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "lab device $1:$2 did not start (see $LAB_W/devices.log)"
}

lab_up() {
    lab_need
    LAB_W=$(mktemp -d)
    ip netns add "$LAB_S" 2>/dev/null || skip "cannot create a network namespace"
    ip netns add "$LAB_D" || skip "cannot create a network namespace"
    lab_s ip link set lo up
    lab_d ip link set lo up
    lab_s ip link add s0 type veth peer name d0 || skip "veth not available"
    lab_s ip link set d0 netns "$LAB_D"
    lab_s ip addr add 198.18.0.1/24 dev s0
    lab_d ip addr add 198.18.0.2/24 dev d0
    lab_s ip link set s0 up
    lab_d ip link set d0 up
    lab_s ip route add 198.18.1.0/24 via 198.18.0.2 dev s0
    lab_d ip route add local 198.18.1.0/24 dev lo
    # Nothing can leave: no default route in either namespace.
    lab_s ip route | grep -q '^default' && fail "scanner namespace has a default route"
    lab_d ip route | grep -q '^default' && fail "device namespace has a default route"
    printf 'root:root\nadmin:admin\nroot:xc3511\n' >"$LAB_W/creds"
    lab_telnetd 198.18.1.2 xc3511 "Welcome to HiLinux (BusyBox v1.35.0) camera IPC-HFW1320S"
    lab_telnetd 198.18.1.3 'Str0ng-and-unlisted!' "BusyBox v1.35.0 router"
    lab_dropbear 198.18.1.4 admin "Welcome to EdgeOS"
    lab_dropbear 198.18.1.5 'Str0ng-and-unlisted!' "Router SSH"
    lab_lighttpd 198.18.1.6 IPCamera basic digest admin "IP Camera" "Boa/0.94.14rc21"
    lab_lighttpd 198.18.1.7 NVR digest off 'Str0ng-and-unlisted!' "NVR Web Service" "GoAhead-Webs/3.6.5"
    lab_lighttpd 198.18.1.8 Open none off x "Router Status" "GoAhead-Webs/2.5.0"
    lab_telnetd 198.18.1.9 xc3511 "blocklisted device"
    lab_botport 198.18.1.10 23 notice
    lab_botport 198.18.1.13 23 silent
    lab_telnetd 198.18.1.16 xc3511 "outside the scope"
    lab_lighttpd 198.18.1.17 Out basic off admin "outside" "httpd"
    for hp in 198.18.1.2:23 198.18.1.3:23 198.18.1.4:22 198.18.1.5:22 198.18.1.6:80 \
              198.18.1.6:443 198.18.1.7:80 198.18.1.8:80 198.18.1.9:23 198.18.1.10:23 \
              198.18.1.13:23 198.18.1.16:23 198.18.1.17:80; do
        lab_wait_port "${hp%:*}" "${hp#*:}"
    done
    LAB_ASSESS=(--fingerprints "$BS_SOURCE_DIR/data/fingerprints"
                --fingerprints "$BS_SOURCE_DIR/../shared/recog/xml"
                --kev "$BS_SOURCE_DIR/../shared/vulndb/kev/known_exploited_vulnerabilities.json"
                --nvd "$BS_SOURCE_DIR/../shared/vulndb/nvd"
                --high-risk "$BS_SOURCE_DIR/data/high-risk.txt")
    echo "198.18.1.0/28" >"$LAB_W/scope"
    echo "198.18.1.9" >"$LAB_W/blocklist"
}

lab_down() {
    for p in "${LAB_PIDS[@]}"; do
        pkill -P "$p" 2>/dev/null
        kill "$p" 2>/dev/null
    done
    ip netns pids "$LAB_D" 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns pids "$LAB_S" 2>/dev/null | xargs -r kill 2>/dev/null
    sleep 0.2
    ip netns del "$LAB_S" 2>/dev/null
    ip netns del "$LAB_D" 2>/dev/null
    [ -n "$LAB_W" ] && rm -rf "$LAB_W"
}
