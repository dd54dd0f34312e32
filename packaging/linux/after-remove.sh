#!/bin/sh
# Debian post-remove of PackScope: the launcher and the udev rule go with the package.
set -e
if type update-alternatives >/dev/null 2>&1; then
  update-alternatives --remove '${executable}' '/usr/bin/${executable}' || true
else
  rm -f '/usr/bin/${executable}'
fi
rm -f /etc/udev/rules.d/99-packscope.rules
if command -v udevadm >/dev/null 2>&1; then udevadm control --reload-rules || true; fi
