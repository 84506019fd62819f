#!/usr/bin/env bash
# Install (when missing) and start the system services the tests use: PostgreSQL, Redis, Chromium, CJK fonts.
# Uses what is already there; installs only what is missing. Needs root or sudo for apt.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

packages=(postgresql redis-server chromium fonts-noto-cjk fonts-wqy-microhei python3-venv)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
as_postgres="runuser -u postgres --"
[ -z "$sudo" ] || as_postgres="sudo -u postgres"
psql_admin() { (cd / && $as_postgres psql -v ON_ERROR_STOP=1 -qtAc "$1"); }
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='hotline'")" != "1" ]; then
  psql_admin "CREATE ROLE hotline LOGIN CREATEDB PASSWORD 'hotline'"
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname='hotline_test'")" != "1" ]; then
  psql_admin "CREATE DATABASE hotline_test OWNER hotline"
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
