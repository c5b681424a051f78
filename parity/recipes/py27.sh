#!/bin/sh
# The Python 2.7 legacy stack, built inside a Debian bullseye root (a chroot or a Docker image):
# Python 2.7, the thesis's pinned packages (legacy spec, section 8) and pycaffe for 2.7 on
# Debian's libcaffe 1.0 (the same C++ library as the bullseye stack's python3-caffe).
#
#   sh py27.sh WHEELHOUSE SOURCES
#
# Run as root inside the root.  WHEELHOUSE holds every file py27-requirements.txt and
# py27-build-requirements.txt (beside this script) name; nothing is fetched from a Python
# package index.  SOURCES caches Debian's caffe and boost1.74 source packages: missing ones are
# downloaded there with `apt-get source --download-only` (a deb-src line is added beside each
# `deb` line of /etc/apt/sources.list).  Each step prints "[py27] STEP" first, so a failure names
# its step.
#
# pycaffe for 2.7: Debian builds Boost.Python for Python 3.9 only, so the 31 source files of
# Boost.Python 1.74 (libs/python/src, numpy/ excepted) and Caffe's python/caffe/_caffe.cpp are
# compiled against Python 2.7 and numpy 1.11.0's headers and linked into one _caffe.so with
# Debian's libcaffe (no libboost_python27 to install, no b2).  Debian's caffe.pb.h does not
# compile against bullseye's protobuf headers, so caffe.pb.h is regenerated with bullseye's protoc
# 3.12 from the source package's caffe.proto (libcaffe was built by protoc 3.12.3: same layout).
# caffe_pb2.py is written by the protoc of grpcio-tools 1.11.0 (protobuf 3.5), which the
# protobuf 3.5.2 runtime can load.  Debian's caffe and boost patches change neither _caffe.cpp,
# pycaffe's .py files nor Boost.Python's sources used here, so the upstream tarballs are used.
set -eu

WHEELHOUSE=$1
SOURCES=$2
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=/tmp/mfv-py27-build
SITE=/usr/local/lib/python2.7/dist-packages
CAFFE_SOURCE=caffe_1.0.0+git20180821.99bd997
BOOST_SOURCE=boost1.74_1.74.0
PACKAGES="python2.7 python2.7-dev libcaffe1 libcaffe-dev libopenblas0-pthread libopenblas-dev g++
  libboost-dev libgoogle-glog-dev libgflags-dev libprotobuf-dev protobuf-compiler xz-utils"

step() { echo "[py27] $*"; }

step "apt-get install"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES

step "Debian sources"
mkdir -p "$SOURCES"
if ! ls "$SOURCES/$CAFFE_SOURCE.orig.tar.gz" "$SOURCES/$BOOST_SOURCE.orig.tar.xz" >/dev/null 2>&1; then
  sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/mfv-py27-src.list
  apt-get update -qq
  (cd "$SOURCES" && apt-get source -qq --download-only caffe boost1.74)
fi

step "unpack"
rm -rf "$BUILD"
mkdir -p "$BUILD/gen/caffe/proto" "$BUILD/obj" "$BUILD/tools"
tar xzf "$SOURCES/$CAFFE_SOURCE.orig.tar.gz" -C "$BUILD" python/caffe src/caffe/proto/caffe.proto
tar xJf "$SOURCES/$BOOST_SOURCE.orig.tar.xz" -C "$BUILD" boost/libs/python/src

step "pip install"
python2.7 "$WHEELHOUSE"/pip-20.3.4-py2.py3-none-any.whl/pip install -q --no-index \
  --find-links "$WHEELHOUSE" pip==20.3.4 setuptools==44.1.1 wheel==0.37.1
python2.7 -m pip install -q --no-index --find-links "$WHEELHOUSE" --no-build-isolation \
  -r "$HERE/py27-requirements.txt"
python2.7 -m pip install -q --no-index --find-links "$WHEELHOUSE" --no-deps --target "$BUILD/tools" \
  -r "$HERE/py27-build-requirements.txt"

step "compile pycaffe"
cd "$BUILD"
NUMPY_INCLUDE=$(python2.7 -c "import numpy; print(numpy.get_include())")
protoc --proto_path=src/caffe/proto --cpp_out=gen/caffe/proto src/caffe/proto/caffe.proto
for source in $(find boost/libs/python/src -name '*.cpp' ! -path '*/numpy/*' | sort) python/caffe/_caffe.cpp; do
  g++ -O2 -fPIC -std=c++11 -DNDEBUG -DCPU_ONLY -DCAFFE_VERSION=1.0.0 -DBOOST_PYTHON_STATIC_LIB \
    -DBOOST_PYTHON_SOURCE -Igen -I/usr/include/python2.7 -I"$NUMPY_INCLUDE" \
    -w -c "$source" -o "obj/$(echo "$source" | tr / _).o"
done
g++ -shared -o _caffe.so obj/*.o -lcaffe -lglog -lprotobuf

step "install pycaffe"
rm -rf "$SITE/caffe"
mkdir -p "$SITE/caffe/proto"
cp python/caffe/*.py _caffe.so "$SITE/caffe/"
: > "$SITE/caffe/proto/__init__.py"
PYTHONPATH="$BUILD/tools" python2.7 -m grpc_tools.protoc --proto_path=src/caffe/proto \
  --python_out="$SITE/caffe/proto" src/caffe/proto/caffe.proto

step "clean"
cd /
rm -rf "$BUILD" /etc/apt/sources.list.d/mfv-py27-src.list
apt-get clean

step "verify"
env -i PATH=/usr/bin:/bin GLOG_minloglevel=2 python2.7 -c \
  "import caffe, numpy, scipy, skimage, IPython, PIL, cStringIO; from scipy.misc import imresize; print(caffe.__version__)"
