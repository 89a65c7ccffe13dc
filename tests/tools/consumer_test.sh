#!/bin/sh
# consumer_test.sh BUILD_DIR SOURCE_DIR WORK_DIR: installs attend from BUILD_DIR into a fresh
# prefix and builds examples/consumer against it three ways, as users outside the tree would:
# find_package with the shared library, find_package with the static one, and pkg-config (shared).
# Each program must run and print "consumer ok". Also checks that the installed headers include
# nothing but the standard library, fmt and attend itself (no private dependency leaks).
set -eu
build=$1 source=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"

leaks=$(grep -rhoE '#include <[^>]+>' "$prefix/include" | sed 's/#include <\(.*\)>/\1/' | sort -u |
  grep -E '[/.]' | grep -vE '^(fmt|attend)/' || true)
if [ -n "$leaks" ]; then
  echo "FAIL: installed headers include private dependencies: $leaks"
  exit 1
fi

for kind in shared static; do
  static=OFF
  [ "$kind" = static ] && static=ON
  cmake -S "$source/examples/consumer" -B "$work/cmake-$kind" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -DATTEND_CONSUMER_STATIC=$static > "$work/configure-$kind.log"
  cmake --build "$work/cmake-$kind" > "$work/build-$kind.log" || { cat "$work/build-$kind.log"; exit 1; }
  echo "find_package, $kind: $("$work/cmake-$kind/consumer")"
done

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
libdir=$(pkg-config --variable=libdir attend)
# shellcheck disable=SC2046 # pkg-config's flags are words
c++ -std=c++20 -O1 "$source/examples/consumer/consumer.cc" -o "$work/consumer-pkg-config" \
  $(pkg-config --cflags --libs attend) -Wl,-rpath,"$libdir"
echo "pkg-config (attend $(pkg-config --modversion attend)): $("$work/consumer-pkg-config")"
echo "installed: $(ls "$prefix/lib" | tr '\n' ' ')"
