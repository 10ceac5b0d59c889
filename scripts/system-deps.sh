#!/usr/bin/env bash
# Installs the real software that the auditor, the demo lab and the test lab run, in two
# sets so that a newcomer's `make demo` does not wait for Chromium, Java and RabbitMQ:
#
#   scripts/system-deps.sh demo   what `make demo` runs (the auditor's own tools included)
#   scripts/system-deps.sh test   everything: the demo's set plus the whole test lab
#
# The table below is the one place that says which Debian package brings which program.
# tests/test_install.py reads it and fails when the code, the lab, the tests or the Makefile
# run a program that no row of the right set installs: a green CI on a machine with hand-
# installed extras can no longer hide a missing install step.
#
# On a fresh Debian nothing is there and apt has no package lists yet. As root this runs
# apt-get; otherwise it says what to install.
set -euo pipefail

want="${1:-test}"
case "$want" in
  demo | test) ;;
  *) echo "usage: $0 [demo|test]" >&2; exit 2 ;;
esac

# set   package                      programs (a name on PATH or in /usr/sbin, or a path)
table=$(cat <<'EOF'
demo    python3-venv                 -
demo    nmap                         nmap
demo    openssh-client               ssh ssh-keygen ssh-keyscan
demo    openssh-server               sshd
demo    iproute2                     ip ss
demo    util-linux                   unshare setsid setpriv findmnt
demo    openssl                      openssl
demo    redis-server                 redis-server
demo    postgresql                   /usr/lib/postgresql/*/bin/postgres /usr/lib/postgresql/*/bin/initdb
demo    mariadb-server               mariadbd mariadb-install-db
demo    samba                        smbd
demo    smbclient                    smbclient
demo    nginx-light                  nginx
demo    snmpd                        snmpd
test    redis-tools                  redis-cli
test    memcached                    memcached
test    etcd-server                  etcd
test    prometheus                   prometheus
test    chromium                     chromium
test    fonts-dejavu-core            /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
test    vsftpd                       vsftpd
test    rsync                        rsync
test    sudo                         sudo
test    procps                       sysctl
test    tigervnc-standalone-server   Xtigervnc
test    tigervnc-tools               tigervncpasswd
test    inetutils-inetd              inetutils-inetd
test    inetutils-telnetd            telnetd
test    zookeeper                    java /usr/share/java/zookeeper.jar
test    rabbitmq-server              rabbitmq-server
test    docker-registry              docker-registry
test    nfs-kernel-server            rpc.mountd exportfs
test    rpcbind                      rpcbind rpcinfo
test    npm                          npm node
test    jq                           jq
test    systemd                      systemd-analyze
test    git                          git
test    nftables                     nft
test    iptables                     iptables iptables-restore
test    debootstrap                  debootstrap
test    coreutils                    chroot
test    mount                        mount
test    ntpsec                       ntpd
test    unbound                      unbound
test    tftpd-hpa                    in.tftpd
test    slapd                        slapd slapadd
test    xvfb                         Xvfb
test    mosquitto                    mosquitto
test    dante-server                 danted
test    ganglia-monitor              gmond
test    openjdk-17-jre-headless      /usr/lib/jvm/java-17-openjdk-amd64/bin/rmiregistry
test    nbd-server                   nbd-server
test    clamav-daemon                clamd
test    nagios-nrpe-server           nrpe
test    cups-daemon                  cupsd
test    xrdp                         xrdp
EOF
)

packages=()
missing=()
while read -r set package programs; do
  [ "$want" = test ] || [ "$set" = demo ] || continue
  packages+=("$package")
  for program in $programs; do
    [ "$program" = - ] && continue
    if [[ "$program" == /* ]]; then
      compgen -G "$program" >/dev/null || missing+=("$package")
    elif ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ]; then
      missing+=("$package")
    fi
  done
done <<<"$table"
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
readarray -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing the $want set's missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The lab starts every daemon itself, on its own addresses. Packages whose postinst would
# start a system instance (rpcbind on 0.0.0.0:111, RabbitMQ and epmd on every address,
# clamd, cupsd, nrpe, xrdp)
# would make every lab host look exposed: Debian's policy-rc.d convention stops them.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
