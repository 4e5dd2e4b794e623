#!/usr/bin/env bash
# Makes sure the servers the tests talk to are up on 127.0.0.1, starting any that are down.
#   bash test/peers/ensure-services.sh [postgres] [mariadb] [redis]   (default: all three)
set -euo pipefail
log() { printf '[services] %s\n' "$*"; }
tcp_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # wait_port <port> <seconds>
  local end=$(( $(date +%s) + $2 ))
  while [ "$(date +%s)" -lt "$end" ]; do tcp_up "$1" && return 0; sleep 0.2; done
  return 1
}
need_root() { [ "$(id -u)" = 0 ] || { log "$1 is down and starting it needs root"; exit 1; }; }

ensure_postgres() {
  tcp_up 5432 && return 0
  need_root PostgreSQL; log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  wait_port 5432 30 || { log "PostgreSQL did not start"; exit 1; }
}
ensure_mariadb() {
  tcp_up 3306 && return 0
  need_root MariaDB; log "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_port 3306 60 || { log "MariaDB did not start"; exit 1; }
}
ensure_redis() {
  tcp_up 6379 && return 0
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  wait_port 6379 15 || { log "Redis did not start"; exit 1; }
}

for s in ${*:-postgres mariadb redis}; do
  case $s in
    postgres) ensure_postgres ;;
    mariadb) ensure_mariadb ;;
    redis) ensure_redis ;;
    *) log "unknown service $s"; exit 2 ;;
  esac
  log "$s: up"
done
