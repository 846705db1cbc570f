#!/bin/sh
# Install lnopt into its own virtual environment: DIR/venv, with the lnopt-plugin executable
# that lightningd starts directly (plugin=DIR/venv/bin/lnopt-plugin) and the lnopt command.
#
#   contrib/install.sh DIR        e.g. contrib/install.sh /opt/lnopt
#
# PYTHON names the interpreter (3.11 or later; default python3). Running it again upgrades
# the installation in place. Nothing outside DIR is touched.
set -eu

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR   (lnopt goes into DIR/venv)" >&2
    exit 2
fi
python=${PYTHON:-python3}
source_dir=$(cd "$(dirname "$0")/.." && pwd)

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "$0: $python is missing or older than Python 3.11; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
mkdir -p "$1"
target=$(cd "$1" && pwd)
if ! "$python" -m venv "$target/venv"; then
    echo "$0: cannot create a virtual environment with $python" \
        "(on Debian and Ubuntu: apt install python3-venv)" >&2
    exit 1
fi
"$target/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$source_dir"

echo "lnopt is installed in $target/venv. Add this line to lightningd's config file:"
echo "plugin=$target/venv/bin/lnopt-plugin"
