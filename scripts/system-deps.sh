#!/usr/bin/env bash
# Installs the real software the tests and the demo lab run: nmap, OpenSSH server, Redis,
# nginx, memcached... On a fresh Debian nothing is there and apt has no package lists yet.
set -euo pipefail

packages=(nmap openssh-server openssh-client redis-server redis-tools nginx-light memcached etcd-server prometheus
          chromium fonts-dejavu-core
          vsftpd rsync sudo iproute2 util-linux python3-venv postgresql mariadb-server openssl
          tigervnc-standalone-server tigervnc-tools inetutils-inetd inetutils-telnetd samba smbclient
          zookeeper rabbitmq-server docker-registry nfs-kernel-server rpcbind)
commands=(nmap sshd redis-server nginx memcached vsftpd rsync sudo ss unshare etcd prometheus chromium
          mariadbd openssl Xtigervnc tigervncpasswd inetutils-inetd telnetd smbd smbclient
          java rabbitmq-server docker-registry rpcbind rpc.mountd exportfs rpcinfo)

missing=()
for cmd in "${commands[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
    missing+=("$cmd")
  fi
done
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
# Debian keeps PostgreSQL's server programs off PATH, in /usr/lib/postgresql/<version>/bin.
if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  missing+=(postgresql)
fi
# ZooKeeper is a set of jars, not a command.
if [ ! -e /usr/share/java/zookeeper.jar ]; then
  missing+=(zookeeper)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
  exit 1
fi
echo "installing system packages (missing: ${missing[*]})" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The lab starts every daemon itself, on its own addresses. Packages whose postinst would
# start a system instance (rpcbind on 0.0.0.0:111, RabbitMQ and epmd on every address)
# would make every lab host look exposed: Debian's policy-rc.d convention stops them.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
