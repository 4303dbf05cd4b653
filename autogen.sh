#!/bin/sh
# Regenerates the build system. tap-driver.sh comes from automake's own data
# directory (the automake manual's recipe) and is not kept in git.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf --install --force
am_dir=$(automake --print-libdir)
cp -f "$am_dir/tap-driver.sh" build-aux/tap-driver.sh
