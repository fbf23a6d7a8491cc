#!/bin/sh
# Debian's nginx and openssl, for tests/test_deploy_nginx.py (CI runs it before the tests; needs root).
set -e
command -v nginx >/dev/null 2>&1 && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends nginx-light openssl >/dev/null 2>&1 || apt-get install -y --no-install-recommends nginx openssl
